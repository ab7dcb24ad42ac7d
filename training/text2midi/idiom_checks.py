"""Producer-level idiom checks: does a MIDI clip behave like its genre and its parts?

The checks are the ones ``/work/shared/eval/README.md`` (section "Idioms") defines for
``groove_dev.jsonl``: drum placement (``kick_downbeat``, ``four_on_floor``, ``backbeat``,
hats), groove and bass repetition, pad sustain, arpeggio regularity, bass figures and
melody shape. Each check returns ``(passed, detail)`` so a report can say why, e.g.
``(False, "0.50 of bars")``.

Roles come from the notes, never from track names: drums are the notes on MIDI channel 10
(index 9); each other track is bass (median pitch below G3 and >= 70 % single-note
onsets), polyphonic (>= half of its onsets strike 3 or more notes) or monophonic (>= 80 %
single-note onsets), tested in that order; a track that is none of them plays no role.
Positions are in beats (quarter notes) from the bar start, with a tolerance of 0.13 beat;
a note belongs to the bar its start falls in. The clip spans as many bars as its notes
reach (a last note ending up to 0.01 bar past a bar line does not open a new bar).

Everything here is pure (no file I/O) and stdlib-only apart from ``mido`` for parsing,
so training can call :func:`judge` or :func:`judge_clip` for validation metrics.
"""

from __future__ import annotations

import io
import itertools
import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import mido

__all__ = [
    "CHECKS",
    "DRUM_CLASSES",
    "MidiClip",
    "Note",
    "Roles",
    "drum_class",
    "drum_pattern",
    "judge",
    "judge_clip",
    "read_clip",
    "recognise_roles",
]

DRUM_CHANNEL = 9  # MIDI channel 10
KICK, SNARE, HATS, OPEN_HAT = frozenset({35, 36}), frozenset({37, 38, 39, 40}), frozenset({42, 44, 46}), 46
DRUM_CLASSES = ("kick", "snare", "hat", "other")
TOLERANCE = 0.13  # beats: how far an onset may sit from the position a check asks for
ONSET_GRID = 48  # notes whose starts round to the same 1/48 beat strike together
EPSILON = 1e-9  # thresholds are inclusive; float sums must not push an exact tie below them

Result = tuple[bool, str]


@dataclass(frozen=True, order=True, slots=True)
class Note:
    """One note; times in beats (quarter notes) from the start of the clip."""

    start: float
    duration: float
    pitch: int
    velocity: int
    channel: int


@dataclass(frozen=True)
class MidiClip:
    """The notes of a Standard MIDI File: one sorted note list per track that has notes."""

    tracks: tuple[tuple[Note, ...], ...]
    bar: float  # beats per bar: numerator * 4 / denominator of the first time signature
    bars: int  # bars the notes span, >= 1


@dataclass(frozen=True)
class Roles:
    """The clip's parts as :func:`recognise_roles` finds them; pitched roles keep track order."""

    drums: tuple[Note, ...]
    bass: tuple[tuple[Note, ...], ...]
    polyphonic: tuple[tuple[Note, ...], ...]
    monophonic: tuple[tuple[Note, ...], ...]


# ---------------------------------------------------------------------- reading


def read_clip(midi_bytes: bytes) -> MidiClip:
    """Parse a Standard MIDI File into notes in beats, per track.

    A note-on for a key that already sounds on that channel ends the sounding note there;
    a note still open at the end of its track ends with the track. Tempo is irrelevant:
    every time is in beats.
    """
    midi = mido.MidiFile(file=io.BytesIO(midi_bytes))
    tpb, meter = midi.ticks_per_beat, None
    tracks = []
    for track in midi.tracks:
        tick, sounding, notes = 0, {}, []
        for message in track:
            tick += message.time
            if message.type == "time_signature" and meter is None:
                meter = (message.numerator, message.denominator)
            elif message.type in ("note_on", "note_off"):
                key = (message.channel, message.note)
                if key in sounding:
                    start, velocity = sounding.pop(key)
                    notes.append(Note(start / tpb, (tick - start) / tpb, message.note, velocity, message.channel))
                if message.type == "note_on" and message.velocity > 0:
                    sounding[key] = (tick, message.velocity)
        for (channel, pitch), (start, velocity) in sounding.items():
            notes.append(Note(start / tpb, (tick - start) / tpb, pitch, velocity, channel))
        if notes:
            tracks.append(tuple(sorted(notes)))
    numerator, denominator = meter or (4, 4)
    bar = numerator * 4 / denominator
    end = max((n.start + n.duration for track in tracks for n in track), default=0.0)
    return MidiClip(tuple(tracks), bar, max(1, math.ceil(end / bar - 0.01)))


def _onset_sizes(notes: Iterable[Note]) -> list[int]:
    """How many notes strike at each onset (starts within the same 1/48 beat)."""
    return list(Counter(round(n.start * ONSET_GRID) for n in notes).values())


def recognise_roles(clip: MidiClip) -> Roles:
    """Drums (all channel-10 notes), then per other track: bass, polyphonic or monophonic."""
    drums: list[Note] = []
    bass, poly, mono = [], [], []
    for track in clip.tracks:
        drums += [n for n in track if n.channel == DRUM_CHANNEL]
        pitched = tuple(n for n in track if n.channel != DRUM_CHANNEL)
        if not pitched:
            continue
        sizes = _onset_sizes(pitched)
        single = sum(s == 1 for s in sizes) / len(sizes)
        if statistics.median(n.pitch for n in pitched) < 55 and single >= 0.7:
            bass.append(pitched)
        elif sum(s >= 3 for s in sizes) / len(sizes) >= 0.5:
            poly.append(pitched)
        elif single >= 0.8:
            mono.append(pitched)
    return Roles(tuple(sorted(drums)), tuple(bass), tuple(poly), tuple(mono))


# ---------------------------------------------------------------------- helpers


def drum_class(pitch: int) -> int:
    """Index into :data:`DRUM_CLASSES` of a GM percussion key."""
    return 0 if pitch in KICK else 1 if pitch in SNARE else 2 if pitch in HATS else 3


def drum_pattern(clip: MidiClip) -> frozenset[tuple[int, int]]:
    """The clip's drums as a set of (16th step from the clip start, drum class)."""
    return frozenset((round(n.start * 4), drum_class(n.pitch)) for n in recognise_roles(clip).drums)


def _per_bar(notes: Iterable[Note], clip: MidiClip) -> list[list[tuple[float, Note]]]:
    """(position in beats from the bar start, note) for each of the clip's bars."""
    bars: list[list[tuple[float, Note]]] = [[] for _ in range(clip.bars)]
    for n in notes:
        index = int(n.start // clip.bar)
        if 0 <= index < clip.bars:
            bars[index].append((n.start - index * clip.bar, n))
    return bars


def _near(positions: Iterable[float], target: float) -> bool:
    return any(abs(p - target) <= TOLERANCE for p in positions)


def _jaccard(a: set, b: set) -> float:
    """Shared share of two sets; two empty sets share nothing (0.0)."""
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def _mean_best_match(patterns: Sequence[set]) -> float:
    """Mean over bars of each bar's Jaccard similarity with its best-matching other bar (1.0 for one bar)."""
    if len(patterns) < 2:
        return 1.0
    best = [max(_jaccard(p, q) for j, q in enumerate(patterns) if j != i) for i, p in enumerate(patterns)]
    return sum(best) / len(best)


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _at_least(value: float, threshold: float) -> bool:
    return value >= threshold - EPSILON


def _beats(clip: MidiClip) -> range:
    return range(int(clip.bar))


def _positions(bar: Sequence[tuple[float, Note]], keys: frozenset[int]) -> list[float]:
    return [pos for pos, n in bar if n.pitch in keys]


def _bars_where(clip: MidiClip, roles: Roles, test: Callable[[list[tuple[float, Note]]], bool]) -> float:
    return _share([test(bar) for bar in _per_bar(roles.drums, clip)])


def _melody(roles: Roles) -> tuple[Note, ...] | None:
    """The longest (most notes) monophonic track with median pitch >= A3, first on ties."""
    candidates = [t for t in roles.monophonic if statistics.median(n.pitch for n in t) >= 57]
    return max(candidates, key=len) if candidates else None


# ---------------------------------------------------------------------- drum checks


def kick_downbeat(clip: MidiClip, roles: Roles) -> Result:
    """A kick at beat 0 in >= 75 % of bars."""
    share = _bars_where(clip, roles, lambda bar: _near(_positions(bar, KICK), 0))
    return _at_least(share, 0.75), f"kick on the downbeat in {share:.2f} of bars"


def four_on_floor(clip: MidiClip, roles: Roles) -> Result:
    """A kick on every beat in >= 90 % of bars."""
    share = _bars_where(clip, roles, lambda bar: all(_near(_positions(bar, KICK), k) for k in _beats(clip)))
    return _at_least(share, 0.9), f"kick on every beat in {share:.2f} of bars"


def backbeat(clip: MidiClip, roles: Roles, beats: Sequence[float], share: float = 0.75) -> Result:
    """A snare or clap at every listed position in >= ``share`` of bars."""
    found = _bars_where(clip, roles, lambda bar: all(_near(_positions(bar, SNARE), b) for b in beats))
    where = ", ".join(f"{b:g}" for b in beats)
    return _at_least(found, share), f"snare at beats [{where}] in {found:.2f} of bars (need {share:.2f})"


def hat_density(clip: MidiClip, roles: Roles, min: float) -> Result:
    """Mean hat onsets per bar >= ``min``."""
    mean = sum(len(_positions(bar, HATS)) for bar in _per_bar(roles.drums, clip)) / clip.bars
    return _at_least(mean, min), f"{mean:.1f} hats per bar (need {min:g})"


def _has_roll(hat_positions: list[float]) -> bool:
    """Two or more consecutive gaps of <= 0.18 beat between hat onsets."""
    run = 0
    for a, b in itertools.pairwise(hat_positions):
        run = run + 1 if b - a <= 0.18 else 0
        if run >= 2:
            return True
    return False


def hat_rolls(clip: MidiClip, roles: Roles) -> Result:
    """A hat roll (two or more consecutive gaps of <= 0.18 beat) in at least one bar in four."""
    rolls = sum(_has_roll(sorted(_positions(bar, HATS))) for bar in _per_bar(roles.drums, clip))
    need = max(1, clip.bars // 4)
    return rolls >= need, f"{rolls} of {clip.bars} bars with hat rolls (need {need})"


def offbeat_open_hat(clip: MidiClip, roles: Roles) -> Result:
    """Open hats on at least two off-beats (k + 0.5) in >= 75 % of bars."""

    def two_offbeats(bar: list[tuple[float, Note]]) -> bool:
        opens = _positions(bar, frozenset({OPEN_HAT}))
        return sum(_near(opens, k + 0.5) for k in _beats(clip)) >= 2

    share = _bars_where(clip, roles, two_offbeats)
    return _at_least(share, 0.75), f"open hats on 2+ off-beats in {share:.2f} of bars"


def groove_repeat(clip: MidiClip, roles: Roles) -> Result:
    """Bars' drum patterns (16th x drum class) match their best other bar with Jaccard >= 0.6 on average."""
    patterns = [{(round(pos * 4), drum_class(n.pitch)) for pos, n in bar} for bar in _per_bar(roles.drums, clip)]
    similarity = _mean_best_match(patterns)
    return _at_least(similarity, 0.6), f"drum pattern repeat {similarity:.3f} (need 0.6)"


def drum_dynamics(clip: MidiClip, roles: Roles) -> Result:
    """Drum velocities have a (population) standard deviation >= 8."""
    sd = statistics.pstdev(n.velocity for n in roles.drums)
    return _at_least(sd, 8), f"drum velocity sd {sd:.1f} (need 8)"


# ---------------------------------------------------------------------- pitched checks


def pad_sustain(clip: MidiClip, roles: Roles) -> Result:
    """Some polyphonic track has mean note length >= 1.9 beats and <= 2.5 chord onsets per bar."""
    details = []
    for track in roles.polyphonic:
        length = statistics.fmean(n.duration for n in track)
        per_bar = len(_onset_sizes(track)) / clip.bars
        detail = f"mean note {length:.2f} beats, {per_bar:.1f} chord onsets per bar"
        if _at_least(length, 1.9) and per_bar <= 2.5 + EPSILON:
            return True, detail
        details.append(detail)
    return False, details[0] if details else "no polyphonic track"


def arp_regular(clip: MidiClip, roles: Roles) -> Result:
    """Some monophonic or bass track with >= 8 notes: >= 80 % of onset gaps equal the most common
    gap (to 1/12 beat), >= 1.9 notes per beat, a median of >= 3 pitch classes per bar."""
    detail = "no monophonic or bass track with 8 notes"
    for track in (*roles.monophonic, *roles.bass):
        if len(track) < 8:
            continue
        gaps = Counter(round((b.start - a.start) * 12) for a, b in itertools.pairwise(track))
        gap, count = gaps.most_common(1)[0]
        regular = count / (len(track) - 1)
        density = len(track) / (clip.bars * clip.bar)
        classes = statistics.median(len({n.pitch % 12 for _, n in bar}) for bar in _per_bar(track, clip) if bar)
        detail = f"{regular:.2f} of gaps {gap / 12:.3g} beat, {density:.1f} notes/beat, {classes:g} pitch classes/bar"
        if _at_least(regular, 0.8) and _at_least(density, 1.9) and classes >= 3:
            return True, detail
    return False, detail


def bass_kick_lock(clip: MidiClip, roles: Roles) -> Result:
    """>= 50 % of the (first) bass track's onsets coincide with a kick."""
    kicks = [n.start for n in roles.drums if n.pitch in KICK]
    share = _share([_near(kicks, n.start) for n in roles.bass[0]]) if kicks else 0.0
    return _at_least(share, 0.5), f"{share:.2f} of bass onsets on a kick"


def bass_walking(clip: MidiClip, roles: Roles) -> Result:
    """>= 75 % of bars have a bass onset on every beat and at most one more note."""

    def walks(bar: list[tuple[float, Note]]) -> bool:
        positions = [pos for pos, _ in bar]
        return all(_near(positions, k) for k in _beats(clip)) and len(bar) <= clip.bar + 1

    share = _share([walks(bar) for bar in _per_bar(roles.bass[0], clip)])
    return _at_least(share, 0.75), f"bass walks in quarters in {share:.2f} of bars"


def _rhythms(track: Sequence[Note], clip: MidiClip) -> list[set[int]]:
    """Each bar's onsets as a set of 16th steps from the bar start."""
    return [{round(pos * 4) for pos, _ in bar} for bar in _per_bar(track, clip)]


def bass_repeat(clip: MidiClip, roles: Roles) -> Result:
    """Bars' bass rhythms (16th grid) match their best other bar with Jaccard >= 0.5 on average."""
    similarity = _mean_best_match(_rhythms(roles.bass[0], clip))
    return _at_least(similarity, 0.5), f"bass rhythm repeat {similarity:.3f} (need 0.5)"


def melody_stepwise(clip: MidiClip, roles: Roles) -> Result:
    """Melody: >= 45 % steps (<= 2 semitones), <= 15 % leaps wider than a fifth (> 7), range <= 19."""
    melody = _melody(roles)
    if melody is None:
        return False, "no melody"
    intervals = [abs(b.pitch - a.pitch) for a, b in itertools.pairwise(melody)]
    steps = _share([i <= 2 for i in intervals])
    leaps = _share([i > 7 for i in intervals]) if intervals else 1.0
    span = max(n.pitch for n in melody) - min(n.pitch for n in melody)
    passed = _at_least(steps, 0.45) and leaps <= 0.15 + EPSILON and span <= 19
    return passed, f"steps {steps:.2f}, leaps over a fifth {leaps:.2f}, range {span} semitones"


def melody_motif(clip: MidiClip, roles: Roles) -> Result:
    """Some two bars of the melody share a rhythm (16th grid) with Jaccard >= 0.7."""
    melody = _melody(roles)
    if melody is None:
        return False, "no melody"
    bars = [r for r in _rhythms(melody, clip) if r]
    best = max((_jaccard(a, b) for i, a in enumerate(bars) for b in bars[i + 1 :]), default=0.0)
    return _at_least(best, 0.7), f"best bar-rhythm repeat {best:.2f} (need 0.7)"


# ---------------------------------------------------------------------- judging

#: name -> (check, the role it needs: a check without its role fails with "no <role>").
CHECKS: dict[str, tuple[Callable[..., Result], str | None]] = {
    "kick_downbeat": (kick_downbeat, "drums"),
    "four_on_floor": (four_on_floor, "drums"),
    "backbeat": (backbeat, "drums"),
    "hat_density": (hat_density, "drums"),
    "hat_rolls": (hat_rolls, "drums"),
    "offbeat_open_hat": (offbeat_open_hat, "drums"),
    "groove_repeat": (groove_repeat, "drums"),
    "drum_dynamics": (drum_dynamics, "drums"),
    "pad_sustain": (pad_sustain, None),
    "arp_regular": (arp_regular, None),
    "bass_kick_lock": (bass_kick_lock, "bass"),
    "bass_walking": (bass_walking, "bass"),
    "bass_repeat": (bass_repeat, "bass"),
    "melody_stepwise": (melody_stepwise, None),
    "melody_motif": (melody_motif, None),
}


def judge_clip(clip: MidiClip, checks: dict[str, dict[str, Any]]) -> dict[str, Result]:
    """Run ``checks`` ({name: arguments}, as a ``groove_dev.jsonl`` line has them) on a parsed clip.

    Raises:
        KeyError: an unknown check name.
    """
    roles = recognise_roles(clip)
    results = {}
    for name, arguments in checks.items():
        check, needs = CHECKS[name]
        if needs is not None and not getattr(roles, needs):
            results[name] = (False, f"no {needs}")
        else:
            results[name] = check(clip, roles, **(arguments or {}))
    return results


def judge(midi_bytes: bytes, checks: dict[str, dict[str, Any]]) -> dict[str, Result]:
    """Run ``checks`` ({name: arguments}) on a Standard MIDI File: {name: (passed, detail)}."""
    return judge_clip(read_clip(midi_bytes), checks)
