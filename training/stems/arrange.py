"""Multi-track arrangements for rendering training data: parts, roles and where they come from.

A :class:`Clip` is a few seconds of music as a list of :class:`Part` objects, each a GM program
(or the drum channel) playing timed notes. Every part has a *role*, the stem it belongs to:

- ``drums``: the GM percussion channel (MIDI channel 10);
- ``bass``: GM programs 32-39 (acoustic, electric, fretless, slap and synth basses);
- ``vocals``: choir and voice programs (52 choir aahs, 53 voice oohs, 54 synth voice,
  85 lead voice, 91 choir pad), the stand-in for sung lines;
- ``other``: everything else.

Two sources feed clips, both yielding the same :class:`Clip` objects:

- :func:`clips_from_voices`: polyphonic corpus pieces (music21's Bach chorales, Palestrina and
  Monteverdi; see :func:`voices_from_music21`) arranged as a band: the top voice sung, the
  lowest voice on a bass program, the inner voices and a chord comping part on other
  instruments, and a generated drum part at the clip's tempo;
- :func:`clips_from_midi`: any multi-track Standard MIDI File (the project's text-to-MIDI
  output and idiom library, for instance), roles taken from each track's channel and program.

Nothing here renders audio (see ``render.py``) and nothing imports torch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from promptdaw.core.music.gm import DRUM_CHANNEL

__all__ = [
    "BASS_PROGRAMS",
    "DRUM_KITS",
    "OTHER_PROGRAMS",
    "ROLES",
    "VOCAL_PROGRAMS",
    "Clip",
    "Note",
    "Part",
    "Voice",
    "clips_from_midi",
    "clips_from_voices",
    "corpus_pieces",
    "drum_part",
    "example_clip",
    "is_held_out",
    "role_for_program",
    "voices_from_music21",
]

#: Stem order everywhere: model outputs, files, wire.
ROLES = ("drums", "bass", "vocals", "other")
VOCAL_PROGRAMS = (52, 53, 54, 85, 91)
BASS_PROGRAMS = tuple(range(32, 40))
#: Programs an "other" part is drawn from: melodic GM programs that are neither bass nor voice
#: (sound effects 112-127 and the noisy synth effects 96-103 are left out).
OTHER_PROGRAMS = tuple(
    p for p in range(112) if p not in BASS_PROGRAMS and p not in VOCAL_PROGRAMS and not 96 <= p <= 103
)
#: Comping instruments for the chord part: pianos, organs, guitars, strings, pads.
COMPING_PROGRAMS = (0, 1, 2, 4, 5, 16, 17, 19, 24, 25, 26, 27, 29, 48, 49, 50, 88, 89, 90, 92, 94)
#: GM drum kits (bank 128 programs) present in both FluidR3_GM and TimGM6mb.
DRUM_KITS = (0, 8, 16, 24, 25, 32, 40)
#: Weights of the vocal programs: mostly the choir and voice samples, sometimes the synths.
_VOCAL_WEIGHTS = np.array([0.35, 0.35, 0.1, 0.1, 0.1])

# GM percussion keys used by the drum generator.
KICK, SIDE_STICK, SNARE, CLAP, SNARE_2 = 36, 37, 38, 39, 40
HH_CLOSED, HH_PEDAL, HH_OPEN = 42, 44, 46
CRASH, RIDE, RIDE_BELL, TAMBOURINE, COWBELL, SHAKER = 49, 51, 53, 54, 56, 70
TOMS = (41, 43, 45, 47, 48, 50)


def role_for_program(program: int, is_drum: bool) -> str:
    """The stem a GM program belongs to (see the module docstring)."""
    if is_drum:
        return "drums"
    if program in BASS_PROGRAMS:
        return "bass"
    if program in VOCAL_PROGRAMS:
        return "vocals"
    return "other"


@dataclass(frozen=True)
class Note:
    start_s: float
    end_s: float
    pitch: int
    velocity: int


@dataclass
class Part:
    role: str
    program: int
    notes: list[Note]
    is_drum: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {self.role!r}")


@dataclass
class Clip:
    """``duration_s`` seconds of music; ``piece`` names where it came from (for held-out splits)."""

    name: str
    piece: str
    duration_s: float
    parts: list[Part]
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Voice:
    """One monophonic or polyphonic line of a source piece, in quarter-note units."""

    name: str
    notes: tuple[tuple[float, float, int], ...]  # (start_ql, length_ql, pitch)

    @property
    def mean_pitch(self) -> float:
        return float(np.mean([n[2] for n in self.notes])) if self.notes else 0.0


# ---------------------------------------------------------------------- sources


def corpus_pieces(composers: Sequence[str] = ("bach", "palestrina", "monteverdi")) -> list[Path]:
    """music21 corpus files of polyphonic vocal music, sorted (MusicXML and Humdrum only)."""
    from music21 import corpus

    paths = []
    for composer in composers:
        paths += [Path(p) for p in corpus.getComposer(composer) if Path(p).suffix in (".mxl", ".xml", ".krn")]
    return sorted(set(paths))


def is_held_out(piece: str, fraction: float = 0.125) -> bool:
    """Deterministic piece-level split: a stable hash of the name puts ``fraction`` aside."""
    digest = hashlib.sha256(piece.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def voices_from_music21(path: Path) -> tuple[list[Voice], int]:
    """The voices of a corpus piece (ties merged, chords kept) and its beats per bar.

    Pieces notated in half-note beats (Palestrina's 4/2) are halved so one beat is one quarter.

    Raises:
        ValueError: the piece has fewer than two voices with notes.
    """
    from music21 import converter

    score = converter.parse(str(path))
    voices = []
    for index, part in enumerate(score.parts):
        notes = []
        for element in part.stripTies().flatten().notes:
            start, length = float(element.offset), float(element.quarterLength)
            if length <= 0:
                continue
            for pitch in element.pitches:
                notes.append((start, length, int(pitch.midi)))
        if notes:
            voices.append(Voice(part.partName or f"part{index}", tuple(sorted(notes))))
    if len(voices) < 2:
        raise ValueError(f"{path.name}: {len(voices)} voices with notes; need at least 2")
    signatures = score.recurse().getElementsByClass("TimeSignature")
    numerator = signatures[0].numerator if signatures else 4
    if signatures and signatures[0].denominator == 2:  # half-note beats (4/2, 3/2): count them as quarters
        voices = [Voice(v.name, tuple((s / 2, d / 2, p) for s, d, p in v.notes)) for v in voices]
    return voices, 3 if numerator in (3, 6, 9) else 4


def clips_from_voices(
    piece: str,
    voices: Sequence[Voice],
    rng: np.random.Generator,
    *,
    n_clips: int,
    duration_s: float,
    beats_per_bar: int = 4,
) -> Iterator[Clip]:
    """Arrange ``n_clips`` random excerpts of a polyphonic piece as band clips.

    Each clip draws its own tempo (70-150 bpm), transposition (-5..+5 semitones), instruments,
    drum style and kit, and drops some inner parts (part dropout).
    """
    ordered = sorted(voices, key=lambda v: v.mean_pitch, reverse=True)
    end_ql = max(n[0] + n[1] for v in ordered for n in v.notes)
    for index in range(n_clips):
        bpm = float(rng.uniform(70, 150))
        sec_per_ql = 60.0 / bpm
        span_ql = duration_s / sec_per_ql
        start_ql = 0.0 if end_ql <= span_ql else float(np.floor(rng.uniform(0, end_ql - span_ql)))
        transpose = int(rng.integers(-5, 6))

        def excerpt(
            voice: Voice, shift: int = 0, start_ql=start_ql, span_ql=span_ql, sec_per_ql=sec_per_ql, transpose=transpose
        ) -> list[tuple[float, float, int]]:
            out = []
            for start, length, pitch in voice.notes:
                if start + length <= start_ql or start >= start_ql + span_ql:
                    continue
                s = max(start, start_ql) - start_ql
                e = min(start + length, start_ql + span_ql) - start_ql
                out.append((s * sec_per_ql, e * sec_per_ql, pitch + transpose + shift))
            return out

        parts: list[Part] = []
        # Vocals: usually the top line, sometimes an inner one (a harmony or a tenor lead).
        vocal_index = 0 if rng.random() < 0.8 or len(ordered) < 3 else int(rng.integers(1, len(ordered) - 1))
        vocal_program = int(rng.choice(VOCAL_PROGRAMS, p=_VOCAL_WEIGHTS))
        vocal = excerpt(ordered[vocal_index], 12 * int(rng.integers(-1, 1)) if vocal_index == 0 else 0)
        parts.append(Part("vocals", vocal_program, _humanise(vocal, rng, 70, 110), name="vocal line"))
        if rng.random() < 0.2 and len(ordered) >= 3:  # a second voice in the vocal stem (harmony)
            second = excerpt(ordered[1 if vocal_index != 1 else 2])
            program = int(rng.choice(VOCAL_PROGRAMS, p=_VOCAL_WEIGHTS))
            parts.append(Part("vocals", program, _humanise(second, rng, 55, 95), name="vocal harmony"))

        # Bass: the lowest line, an octave down when it sits high, sometimes re-struck in eighths.
        bass_line = excerpt(ordered[-1])
        if bass_line and np.median([n[2] for n in bass_line]) > 48:
            bass_line = [(s, e, p - 12) for s, e, p in bass_line]
        bass_line = [(s, e, p) for s, e, p in bass_line if p >= 24]
        if rng.random() < 0.5:
            bass_line = _restrike(bass_line, sec_per_ql * float(rng.choice([0.5, 1.0])))
        parts.append(Part("bass", int(rng.choice(BASS_PROGRAMS)), _humanise(bass_line, rng, 75, 115), name="bass"))

        # Other: inner voices on random instruments (each may drop out) plus chord comping.
        for k, voice in enumerate(ordered[:-1]):
            if k == vocal_index or rng.random() < 0.3:
                continue
            program = int(rng.choice(OTHER_PROGRAMS))
            octave = 12 * int(rng.choice([-1, 0, 0, 1])) if program not in range(40, 48) else 0
            parts.append(Part("other", program, _humanise(excerpt(voice, octave), rng, 55, 100), name=voice.name))
        if rng.random() < 0.75:
            chords = _comping(ordered, excerpt, span_ql, sec_per_ql, beats_per_bar, rng)
            parts.append(Part("other", int(rng.choice(COMPING_PROGRAMS)), chords, name="comping"))
        if not any(p.role == "other" for p in parts):  # keep "other" non-empty more often than not
            voice = ordered[min(1, len(ordered) - 2)]
            parts.append(Part("other", int(rng.choice(OTHER_PROGRAMS)), _humanise(excerpt(voice), rng, 55, 100)))

        if rng.random() < 0.92:
            parts.append(drum_part(duration_s, bpm, beats_per_bar, rng))
        yield Clip(
            name=f"{piece}#{index}",
            piece=piece,
            duration_s=duration_s,
            parts=[p for p in parts if p.notes],
            meta={"bpm": round(bpm, 2), "transpose": transpose, "start_ql": start_ql},
        )


def clips_from_midi(path: Path, rng: np.random.Generator, *, n_clips: int, duration_s: float) -> Iterator[Clip]:
    """Random ``duration_s`` excerpts of a multi-track MIDI file; roles from channel and program.

    Channel 10 (index 9) is drums; program changes pick each other channel's role. Excerpts that
    would be empty are skipped.
    """
    from promptdaw.core.midi_files import read_midi

    midi = read_midi(Path(path).read_bytes(), str(path))  # InvalidMidi naming the file
    now, programs, sounding = 0.0, dict.fromkeys(range(16), 0), {}
    notes: dict[tuple[int, int], list[Note]] = {}
    for message in midi:  # iterating a MidiFile yields times in seconds
        now += message.time
        if message.type == "program_change":
            programs[message.channel] = message.program
        elif message.type == "note_on" and message.velocity > 0:
            sounding[(message.channel, message.note)] = (now, message.velocity, programs[message.channel])
        elif message.type in ("note_on", "note_off") and (message.channel, message.note) in sounding:
            start, velocity, program = sounding.pop((message.channel, message.note))
            notes.setdefault((message.channel, program), []).append(Note(start, now, message.note, velocity))
    length = max((n.end_s for ns in notes.values() for n in ns), default=0.0)
    for index in range(n_clips):
        offset = float(rng.uniform(0, max(length - duration_s, 0.0)))
        parts = []
        for (channel, program), part_notes in sorted(notes.items()):
            inside = [
                Note(max(n.start_s - offset, 0.0), min(n.end_s - offset, duration_s), n.pitch, n.velocity)
                for n in part_notes
                if n.end_s > offset and n.start_s < offset + duration_s
            ]
            if inside:
                role = role_for_program(program, channel == DRUM_CHANNEL)
                parts.append(Part(role, program, inside, is_drum=channel == DRUM_CHANNEL, name=f"ch{channel + 1}"))
        if parts:
            yield Clip(f"{path.stem}#{index}", path.stem, duration_s, parts, {"offset_s": round(offset, 3)})


# ---------------------------------------------------------------------- helpers


def _humanise(notes: Sequence[tuple[float, float, int]], rng: np.random.Generator, lo: int, hi: int) -> list[Note]:
    """Notes with a part-wide loudness, per-note velocity jitter and slight timing jitter."""
    base = rng.uniform(lo, hi)
    out = []
    for start, end, pitch in notes:
        if not 12 <= pitch <= 115 or end - start < 0.02:
            continue
        jitter = float(rng.normal(0, 0.006))
        velocity = int(np.clip(base + rng.normal(0, 6), 20, 127))
        out.append(Note(max(start + jitter, 0.0), max(end + jitter - 0.01, start + 0.03), pitch, velocity))
    return out


def _restrike(notes: Sequence[tuple[float, float, int]], step_s: float) -> list[tuple[float, float, int]]:
    """Split long notes into repeated notes every ``step_s`` (a driving bass line)."""
    out = []
    for start, end, pitch in notes:
        t = start
        while t < end - 0.05:
            out.append((t, min(t + step_s * 0.9, end), pitch))
            t += step_s
    return out


def _comping(ordered, excerpt, span_ql, sec_per_ql, beats_per_bar, rng) -> list[Note]:
    """A chord part: the pitch classes sounding on each beat, voiced between C3 and C5."""
    sounding = [excerpt(v) for v in ordered]
    pattern = rng.choice(["beat", "bar", "offbeat", "arpeggio"])
    step_ql = {"beat": 1.0, "bar": float(beats_per_bar), "offbeat": 1.0, "arpeggio": 0.5}[pattern]
    base_velocity = rng.uniform(50, 90)
    notes = []
    t_ql = 0.0
    while t_ql < span_ql:
        t = t_ql * sec_per_ql
        classes = sorted({p % 12 for line in sounding for s, e, p in line if s <= t + 1e-3 < e})
        if classes:
            voicing = sorted(48 + c + (12 if 48 + c < 55 else 0) for c in classes)
            start = t + (0.5 * sec_per_ql if pattern == "offbeat" else 0.0)
            length = step_ql * sec_per_ql * (0.45 if pattern == "offbeat" else 0.92)
            if pattern == "arpeggio":
                pitch = voicing[int(t_ql * 2) % len(voicing)]
                notes.append(Note(start, start + length, pitch, int(base_velocity)))
            else:
                for pitch in voicing:
                    velocity = int(np.clip(base_velocity + rng.normal(0, 5), 20, 127))
                    notes.append(Note(start, start + length, pitch, velocity))
        t_ql += step_ql
    span_s = span_ql * sec_per_ql
    return [Note(n.start_s, min(n.end_s, span_s), n.pitch, n.velocity) for n in notes if n.start_s < span_s]


# ---------------------------------------------------------------------- drums

# One bar per pattern on a grid of `steps` per bar: {key: "x" hit, "o" accent-less ghost}.
_STYLES_4 = {
    "rock": (16, {KICK: "x.......x.x.....", SNARE: "....x.......x...", HH_CLOSED: "x.x.x.x.x.x.x.x."}),
    "pop16": (16, {KICK: "x.....x...x.....", SNARE: "....x.......x...", HH_CLOSED: "xoxoxoxoxoxoxoxo"}),
    "four": (16, {KICK: "x...x...x...x...", CLAP: "....x.......x...", HH_OPEN: "..x...x...x...x.",
                  HH_CLOSED: "x...x...x...x..."}),
    "halftime": (16, {KICK: "x.........x.....", SNARE: "........x.......", HH_CLOSED: "x.x.x.x.x.x.x.x."}),
    "funk": (16, {KICK: "x..x..x...x..x..", SNARE: "....x..o.o..x..o", HH_CLOSED: "xoxoxoxoxoxoxoxo"}),
    "shuffle": (12, {KICK: "x.....x.....", SNARE: "...x.....x..", HH_CLOSED: "x.xx.xx.xx.x"}),
    "jazz": (12, {RIDE: "x..x.xx..x.x", HH_PEDAL: "...x.....x..", KICK: "x.....o.....", SIDE_STICK: ".........o.."}),
    "train": (16, {KICK: "x.......x.......", SNARE: "oooxooooooooxooo", TAMBOURINE: "..x...x...x...x."}),
    "ride": (16, {KICK: "x.....x...x.....", SNARE: "....x.......x...", RIDE: "x.x.x.x.x.x.x.x.",
                  RIDE_BELL: "x...x...x...x..."}),
    "latin": (16, {KICK: "x..x....x..x....", SIDE_STICK: "..x..x....x..x..", SHAKER: "xxxxxxxxxxxxxxxx",
                   COWBELL: "x...x...x...x..."}),
}  # fmt: skip
_STYLES_3 = {
    "waltz": (12, {KICK: "x...........", SNARE: "....x...x...", HH_CLOSED: "x.x.x.x.x.x."}),
    "waltz_ride": (12, {KICK: "x.......o...", RIDE: "x...x.xx..x.", HH_PEDAL: "....x...x..."}),
}


def drum_part(duration_s: float, bpm: float, beats_per_bar: int, rng: np.random.Generator) -> Part:
    """A generated drum part: a style's bar pattern with accents, ghost notes, fills and crashes."""
    styles = _STYLES_3 if beats_per_bar == 3 else _STYLES_4
    name = str(rng.choice(sorted(styles)))
    steps, pattern = styles[name]
    bar_s = beats_per_bar * 60.0 / bpm
    step_s = bar_s / steps
    swing = float(rng.uniform(0, 0.25)) if steps == 16 and rng.random() < 0.3 else 0.0
    level = rng.uniform(80, 120)
    notes: list[Note] = []

    def hit(t: float, key: int, velocity: float) -> None:
        if 0 <= t < duration_s:
            t = max(t + float(rng.normal(0, 0.004)), 0.0)
            v = int(np.clip(velocity + rng.normal(0, 7), 15, 127))
            notes.append(Note(t, min(t + 0.1, duration_s), key, v))

    n_bars = int(np.ceil(duration_s / bar_s))
    for bar in range(n_bars):
        fill = bar % 4 == 3 and rng.random() < 0.4
        if (bar == 0 and rng.random() < 0.5) or (bar > 0 and (bar % 4 == 0) and rng.random() < 0.5):
            hit(bar * bar_s, CRASH, level)
        for key, row in pattern.items():
            for step, mark in enumerate(row):
                if mark == "." or (fill and step >= steps * 3 // 4):
                    continue
                t = bar * bar_s + step * step_s + (swing * step_s if step % 2 else 0.0)
                accent = 1.0 if step % (steps // beats_per_bar) == 0 else 0.8
                hit(t, key, level * (0.45 if mark == "o" else accent))
        if fill:
            for step in range(steps * 3 // 4, steps):
                key = int(rng.choice((*TOMS, SNARE, SNARE_2)))
                hit(bar * bar_s + step * step_s, key, level * rng.uniform(0.7, 1.0))
    return Part("drums", int(rng.choice(DRUM_KITS)), sorted(notes, key=lambda n: n.start_s),
                is_drum=True, name=f"drums:{name}")  # fmt: skip


def example_clip(duration_s: float = 6.0, bpm: float = 100.0, seed: int = 0) -> Clip:
    """A fixed four-stem band clip (tests, demos): rock drums, a bass line, a sung melody, piano chords.

    The harmony is I-vi-IV-V in C, one chord per bar; everything is derived from ``seed``.
    """
    rng = np.random.default_rng(seed)
    beat = 60.0 / bpm
    chords = [(48, 52, 55), (45, 48, 52), (41, 45, 48), (43, 47, 50)]  # C, Am, F, G (low voicings)
    melody_steps = [0, 2, 4, 5, 7, 5, 4, 2]
    bass, piano, melody = [], [], []
    bar = 0
    while bar * 4 * beat < duration_s:
        root, third, fifth = chords[bar % 4]
        t0 = bar * 4 * beat
        for b in range(4):
            start = t0 + b * beat
            bass.append(Note(start, start + 0.9 * beat, root - 12 if b % 2 == 0 else root - 5, 100))
            for pitch in (root + 12, third + 12, fifth + 12):
                piano.append(Note(start + 0.5 * beat, start + 0.95 * beat, pitch, 70))
        for k in range(2):
            step = melody_steps[(2 * bar + k) % len(melody_steps)]
            melody.append(Note(t0 + 2 * k * beat, t0 + (2 * k + 1.8) * beat, 72 + step, 95))
        bar += 1

    def clip_notes(notes: list[Note]) -> list[Note]:
        return [Note(n.start_s, min(n.end_s, duration_s), n.pitch, n.velocity) for n in notes if n.start_s < duration_s]

    parts = [
        drum_part(duration_s, bpm, 4, rng),
        Part("bass", 33, clip_notes(bass), name="bass"),
        Part("vocals", 52, clip_notes(melody), name="choir melody"),
        Part("other", 0, clip_notes(piano), name="piano chords"),
    ]
    return Clip("example", "example", duration_s, parts, {"bpm": bpm})
