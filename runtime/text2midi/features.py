"""What the text-to-MIDI network sees and predicts, in numpy (shared by training and the daemon).

One network plays every part, one 16th-note step at a time. Per part and step it sees a
*static* context (where in the bar and phrase, which role, mode, chord, genre, density,
tempo) and the part's own piano roll of the previous step; it predicts which pitches start
(onset) and which keep sounding (sustain) at this step.

Pitches are key-relative: a piece is shifted so its tonic is C (by -5..+6 semitones), and
each role reads a 49-semitone window starting at ``ROLE_BASE[role]`` (drums read GM drum
notes 35..83 as they are). Notes outside a window are folded in by octaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from promptdaw.core.music.spec import PART_ROLES
from promptdaw.core.music.theory import MODES

__all__ = [
    "MAX_STEPS_PER_BAR",
    "MODE_NAMES",
    "N_PITCHES",
    "ROLE_BASE",
    "Context",
    "fold_into_window",
    "static_features",
    "static_size",
    "tonic_shift",
]

N_PITCHES = 49
MAX_STEPS_PER_BAR = 32  # 16/8 or 8/4 at the 16th-note grid
#: Lowest pitch of each role's window, in the tonic-on-C frame.
ROLE_BASE = {"drums": 35, "bass": 24, "chords": 45, "pad": 45, "melody": 55, "arp": 55}
#: The mode one-hot order is the theory table's; trained weights depend on it (a test pins it).
MODE_NAMES = tuple(MODES)
PHRASE_BARS = 4
N_METRIC = 5  # bar start, beat, eighth, off-beat sixteenth, compound meter
N_PHRASE = PHRASE_BARS + 2  # bar within phrase, first bar, last bar
N_CHORD = 25  # root one-hot, chord pitch classes, has chord
N_SCALARS = 3  # density, tempo, bar length


def static_size(n_genres: int) -> int:
    return MAX_STEPS_PER_BAR + N_METRIC + N_PHRASE + len(PART_ROLES) + len(MODE_NAMES) + N_CHORD + n_genres + N_SCALARS


def tonic_shift(tonic: int) -> int:
    """Semitones a piece in ``tonic`` is moved by to sit on C: -5..+6, the smaller move."""
    return tonic if tonic <= 6 else tonic - 12


def fold_into_window(pitch_rel: int, role: str) -> int | None:
    """Window index of a tonic-relative pitch (octave-folded); None for drums outside GM range."""
    index = pitch_rel - ROLE_BASE[role]
    if role == "drums":
        return index if 0 <= index < N_PITCHES else None
    while index < 0:
        index += 12
    while index >= N_PITCHES:
        index -= 12
    return index


def beat_steps(meter: tuple[int, int]) -> list[int]:
    """Steps of the bar that start a beat: dotted quarters in compound meters, 2+2+3 in 7/8."""
    numerator, denominator = meter
    steps = numerator * 16 // denominator
    if denominator == 8 and numerator in (6, 9, 12):
        return list(range(0, steps, 6))
    if denominator == 8 and numerator == 7:
        return [0, 4, 8]
    if denominator == 8 and numerator == 5:
        return [0, 4]
    step = 16 // denominator if denominator <= 4 else 4
    return list(range(0, steps, step))


@dataclass(frozen=True)
class Context:
    """Everything static about one part of a clip; chords are tonic-relative (root, pitch classes)."""

    role: str
    meter: tuple[int, int]
    bars: int
    mode: str
    genre_index: int | None
    n_genres: int
    density: float
    bpm: float
    #: One entry per step (len = bars * steps_per_bar), or None where no chord is known.
    chords: Sequence[tuple[int, tuple[int, ...]] | None]

    @property
    def steps_per_bar(self) -> int:
        return self.meter[0] * 16 // self.meter[1]


def static_features(ctx: Context) -> np.ndarray:
    """float32 ``[steps, static_size]`` for one part: no dependence on what was played."""
    spb = ctx.steps_per_bar
    total = ctx.bars * spb
    out = np.zeros((total, static_size(ctx.n_genres)), np.float32)
    t = np.arange(total)
    pos, bar = t % spb, t // spb
    col = 0
    out[t, col + np.minimum(pos, MAX_STEPS_PER_BAR - 1)] = 1
    col += MAX_STEPS_PER_BAR
    beats = np.zeros(spb, bool)
    beats[beat_steps(ctx.meter)] = True
    out[:, col] = pos == 0
    out[:, col + 1] = beats[pos]
    out[:, col + 2] = pos % 2 == 0
    out[:, col + 3] = pos % 2 == 1
    out[:, col + 4] = ctx.meter[1] == 8 and ctx.meter[0] % 3 == 0
    col += N_METRIC
    out[t, col + bar % PHRASE_BARS] = 1
    out[:, col + PHRASE_BARS] = bar == 0
    out[:, col + PHRASE_BARS + 1] = bar == ctx.bars - 1
    col += N_PHRASE
    out[:, col + PART_ROLES.index(ctx.role)] = 1  # one-hot in PART_ROLES order: reordering it means retraining
    col += len(PART_ROLES)
    out[:, col + MODE_NAMES.index(ctx.mode)] = 1
    col += len(MODE_NAMES)
    for step, chord in enumerate(ctx.chords[:total]):
        if chord is not None:
            root, pcs = chord
            out[step, col + root % 12] = 1
            out[step, [col + 12 + pc % 12 for pc in pcs]] = 1
            out[step, col + 24] = 1
    col += N_CHORD
    if ctx.genre_index is not None:
        out[:, col + ctx.genre_index] = 1
    col += ctx.n_genres
    out[:, col] = ctx.density
    out[:, col + 1] = (ctx.bpm - 120.0) / 60.0
    out[:, col + 2] = spb / MAX_STEPS_PER_BAR
    return out
