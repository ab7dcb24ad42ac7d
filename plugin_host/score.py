"""The renderer's timeline: parts of notes in quarter-note beats, from a clip or a MIDI file.

A generated :class:`~promptdaw.core.clip.Clip` sits on a straight
16th grid; :meth:`Score.from_clip` applies the spec's swing while converting it. A Standard
MIDI File keeps its own (already performed) timing, read at tick precision by
:meth:`Score.from_midi`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import mido

from promptdaw.core.clip import Clip, note_strokes
from promptdaw.core.errors import InvalidInput, InvalidMidi
from promptdaw.core.midi_files import read_midi
from promptdaw.core.music.gm import DRUM_CHANNEL
from promptdaw.core.music.lexicon import TRACK_NAME_ROLES
from promptdaw.core.music.prompt import parse_key

__all__ = ["Score", "ScoreNote", "ScorePart", "loop_length_samples", "swing_position"]

#: Off-beat delay at swing 1: the second of two equal notes moves to the triplet position,
#: 2/3 of the pair instead of 1/2, i.e. by a third of one note.
_FULL_SWING = 1 / 3


def loop_length_samples(bars: int, meter: tuple[int, int], bpm: float, sample_rate: int) -> int:
    """Exact loop length: ``round(bars * bar_quarters * 60 / bpm * sample_rate)``, rounded once.

    ``bar_quarters = numerator * 4 / denominator``; the order of operations is the one the
    evaluation uses, so the two agree to the sample.
    """
    numerator, denominator = meter
    bar_quarters = numerator * 4 / denominator
    return round(bars * bar_quarters * 60 / bpm * sample_rate)


def swing_position(step: float, swing: float, unit: int, steps_per_bar: int) -> float:
    """Where 16th-grid ``step`` sounds with ``swing`` (0..1), in steps.

    Pairs of ``unit``-step notes (16ths: unit 1, 8ths: unit 2) counted from each bar line are
    swung: the second of the pair is delayed by ``swing / 3`` of a note, so swing 1 is a
    triplet feel. Positions between grid points move with them (piecewise linear), bar lines
    never move, and a bar with an odd number of units leaves its last unit straight.
    """
    if swing <= 0:
        return step
    bar, within = divmod(step, steps_per_bar)
    pair = 2 * unit
    start = (within // pair) * pair
    if start + pair > steps_per_bar:
        return step
    offset = within - start
    middle = unit * (1 + swing * _FULL_SWING)
    moved = offset * middle / unit if offset <= unit else middle + (offset - unit) * (pair - middle) / unit
    return bar * steps_per_bar + start + moved


@dataclass(frozen=True)
class ScoreNote:
    start_beats: float  # quarter notes from the score start
    duration_beats: float
    pitch: int
    velocity: int


@dataclass(frozen=True)
class ScorePart:
    role: str  # "drums", "bass", ... or a name-derived role for foreign MIDI files
    name: str  # track name
    program: int
    notes: tuple[ScoreNote, ...]

    @property
    def is_drums(self) -> bool:
        return self.role == "drums"


@dataclass(frozen=True)
class Score:
    bpm: float  # quarter notes per minute
    meter: tuple[int, int]
    bars: int
    parts: tuple[ScorePart, ...]
    key: tuple[int, str] | None = None  # (tonic pitch class, mode) when known

    @property
    def bar_quarters(self) -> float:
        return self.meter[0] * 4 / self.meter[1]

    @property
    def length_beats(self) -> float:
        return self.bars * self.bar_quarters

    def length_samples(self, sample_rate: int) -> int:
        return loop_length_samples(self.bars, self.meter, self.bpm, sample_rate)

    def seconds(self, beats: float) -> float:
        return beats * 60.0 / self.bpm

    def part(self, key: str) -> ScorePart | None:
        """The part whose role or name is ``key`` (case-insensitive)."""
        wanted = key.casefold()
        return next((p for p in self.parts if wanted in (p.role.casefold(), p.name.casefold())), None)

    def with_tempo(self, bpm: float) -> Score:
        if not 1.0 <= bpm <= 1000.0:
            raise ValueError(f"bpm must be in [1, 1000], got {bpm!r}")
        return replace(self, bpm=float(bpm))

    def transposed(self, semitones: int) -> Score:
        """Every pitched part moved by ``semitones`` (drum parts keep their notes)."""
        if semitones == 0:
            return self
        parts = []
        for part in self.parts:
            if part.is_drums:
                parts.append(part)
                continue
            notes = tuple(replace(n, pitch=n.pitch + semitones) for n in part.notes if 0 <= n.pitch + semitones <= 127)
            parts.append(replace(part, notes=notes))
        key = None if self.key is None else ((self.key[0] + semitones) % 12, self.key[1])
        return replace(self, parts=tuple(parts), key=key)

    # ---------------------------------------------------------------------------- sources

    @classmethod
    def from_clip(cls, clip: Clip) -> Score:
        """A generated clip, swung by its spec's ``swing``.

        16ths are swung when any part plays an off-beat 16th, else 8ths are.
        """
        spec = clip.spec
        steps_per_bar = spec.steps_per_bar
        swing = min(max(float(spec.swing), 0.0), 1.0)
        odd_steps = any(note.start % 2 for track in clip.tracks for note in track.notes)
        unit = 1 if odd_steps else 2

        def beats(step: float) -> float:
            return swing_position(step, swing, unit, steps_per_bar) / 4  # a step is a 16th

        parts = []
        for track in clip.tracks:
            notes = []
            for note in track.notes:
                for first, length, velocity in note_strokes(note):
                    end = min(first + length, clip.steps)
                    if first >= clip.steps or end <= first:
                        continue
                    start_beats = beats(first)
                    notes.append(ScoreNote(start_beats, beats(end) - start_beats, note.pitch, velocity))
            parts.append(ScorePart(track.role, track.name, track.program, tuple(notes)))
        return cls(float(spec.bpm), spec.meter, spec.bars, tuple(parts), (spec.key_tonic, spec.key_mode))

    @classmethod
    def from_midi(cls, data: bytes, *, bars: int | None = None, what: str = "midi buffer") -> Score:
        """A Standard MIDI File: one part per track (and channel) with notes.

        Tempo and meter come from the first ``set_tempo`` and ``time_signature`` (120 bpm and
        4/4 without them); later tempo changes are not followed. The length is the last note
        or end of track rounded up to whole bars, unless ``bars`` is given. Channel 10 parts
        play the drums role; other roles come from the track name when it names one, else
        from the register (bass below G3) or "part N".

        Raises:
            InvalidMidi: (a ValueError) the data is not a readable Standard MIDI File, or holds
                no notes; the message names ``what``.
        """
        midi = read_midi(data, what)
        ticks_per_beat = midi.ticks_per_beat
        tempo: int | None = None
        meter: tuple[int, int] | None = None
        key: tuple[int, str] | None = None
        end_tick = 0
        raw_parts: list[tuple[str, int, int, list[tuple[int, int, int, int]]]] = []
        for index, track in enumerate(midi.tracks):
            tick, name = 0, ""
            programs: dict[int, int] = {}
            open_notes: dict[tuple[int, int], list[tuple[int, int]]] = {}
            by_channel: dict[int, list[tuple[int, int, int, int]]] = {}
            for message in track:
                tick += message.time
                if message.type == "set_tempo" and tempo is None:
                    tempo = message.tempo
                elif message.type == "time_signature" and meter is None:
                    meter = (message.numerator, message.denominator)
                elif message.type == "key_signature" and key is None:
                    key = _key_of(message.key)
                elif message.type == "track_name" and not name:
                    name = message.name.strip()
                elif message.type == "program_change":
                    programs.setdefault(message.channel, message.program)
                elif message.type == "note_on" and message.velocity > 0:
                    open_notes.setdefault((message.channel, message.note), []).append((tick, message.velocity))
                elif message.type in ("note_on", "note_off"):
                    started = open_notes.get((message.channel, message.note))
                    if started:
                        start, velocity = started.pop(0)
                        by_channel.setdefault(message.channel, []).append((start, tick, message.note, velocity))
            for (channel, pitch), pending in open_notes.items():  # never released: end with the track
                for start, velocity in pending:
                    by_channel.setdefault(channel, []).append((start, max(tick, start + 1), pitch, velocity))
            end_tick = max(end_tick, tick)
            for channel, notes in sorted(by_channel.items()):
                label = name or f"track {index}"
                if len(by_channel) > 1:
                    label = f"{label} ch{channel + 1}"
                raw_parts.append((label, channel, programs.get(channel, 0), notes))
        if not raw_parts:
            raise InvalidMidi(f"{what}: the MIDI file holds no notes")
        meter = meter or (4, 4)
        bar_ticks = ticks_per_beat * meter[0] * 4 / meter[1]
        last = max(end for *_, notes in raw_parts for _, end, _, _ in notes)
        if bars is None:
            # Whole bars up to the last note or the end of track; an end of track a 32nd or
            # less past a bar line is padding, not the start of another bar.
            extent = max(last, end_tick - ticks_per_beat / 8)
            bars = max(1, -int(-extent // bar_ticks))
        parts, used_roles = [], set()
        for label, channel, program, notes in raw_parts:
            role = _role_of(label, channel, notes, used_roles, len(parts))
            used_roles.add(role)
            score_notes = tuple(
                ScoreNote(start / ticks_per_beat, max(end - start, 1) / ticks_per_beat, pitch, velocity)
                for start, end, pitch, velocity in sorted(notes)
            )
            parts.append(ScorePart(role, label, program, score_notes))
        # A file stores microseconds per beat: 97.5 bpm comes back as 97.49994; the thousandth
        # of a bpm that was asked for is what the file means.
        bpm = round(float(mido.tempo2bpm(tempo)), 3) if tempo else 120.0
        return cls(bpm, meter, int(bars), tuple(parts), key)


def _role_of(label: str, channel: int, notes: Sequence[tuple[int, int, int, int]], used: set[str], index: int) -> str:
    if channel == DRUM_CHANNEL:
        role = "drums"
    else:
        words = label.casefold()
        role = next((r for r, keys in TRACK_NAME_ROLES.items() if any(k in words for k in keys)), "")
        if not role:
            pitches = sorted(n[2] for n in notes)
            role = "bass" if pitches[len(pitches) // 2] < 55 else ""
    if not role or role in used:
        slug = re.sub(r"[^a-z0-9]+", "-", label.casefold()).strip("-")
        role = slug if slug and slug not in used else f"part{index + 1}"
    return role


def _key_of(name: str) -> tuple[int, str] | None:
    """(tonic, mode) of a key signature as mido names it ("F#m", "Bb"); None for a name that is no key."""
    try:
        return parse_key(name)
    except InvalidInput:
        return None
