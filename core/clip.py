"""A generated clip (spec + one track of notes per part) and its Standard MIDI File form."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import mido

from promptdaw.core.midi_files import read_midi
from promptdaw.core.music.gm import DRUM_CHANNEL
from promptdaw.core.music.spec import MusicSpec
from promptdaw.core.music.theory import FLAT_MAJOR_TONICS, pitch_class_name

__all__ = ["TICKS_PER_STEP", "Clip", "ClipNote", "ClipTrack", "clip_from_midi", "clip_to_midi", "note_strokes"]

TICKS_PER_BEAT = 480
TICKS_PER_STEP = TICKS_PER_BEAT // 4  # one 16th note


@dataclass(frozen=True)
class ClipNote:
    start: int  # 16th-note steps from the clip start
    duration: int  # steps, >= 1
    pitch: int
    velocity: int
    #: Hits played within the note's first step, as a drum machine's ratchet plays one step:
    #: 1 is a single hit, 2 two 32nds, 3 a 32nd-note triplet (a hi-hat roll).
    strokes: int = 1


#: A roll's first stroke, as a share of the note's velocity: the strokes rise into the last.
ROLL_START_LEVEL = 0.6
#: Hits of one drum closer than this (in steps) to the first hit of a group are one roll.
ROLL_SPAN_STEPS = 0.9


def note_strokes(note: ClipNote) -> list[tuple[float, float, int]]:
    """(start, length, velocity) of each hit of ``note``, in steps: one for a plain note, evenly
    spaced within the first step and rising in velocity for a roll."""
    n = note.strokes
    if n <= 1:
        return [(float(note.start), float(note.duration), note.velocity)]
    levels = [ROLL_START_LEVEL + (1 - ROLL_START_LEVEL) * k / (n - 1) for k in range(n)]
    return [(note.start + k / n, 1 / n, max(1, round(note.velocity * level))) for k, level in enumerate(levels)]


@dataclass
class ClipTrack:
    role: str
    program: int
    name: str
    notes: list[ClipNote] = field(default_factory=list)


@dataclass
class Clip:
    spec: MusicSpec
    tracks: list[ClipTrack]

    @property
    def steps(self) -> int:
        return self.spec.bars * self.spec.steps_per_bar

    def track(self, role: str) -> ClipTrack | None:
        return next((t for t in self.tracks if t.role == role), None)


def _key_signature(spec: MusicSpec) -> str | None:
    """mido key name ("F#m", "Bb"); modes other than major/minor are written as their major key."""
    if spec.key_mode == "minor":
        relative_major = (spec.key_tonic + 3) % 12
        return pitch_class_name(spec.key_tonic, flats=relative_major in FLAT_MAJOR_TONICS) + "m"
    offsets = {"major": 0, "dorian": 10, "phrygian": 8, "lydian": 7, "mixolydian": 5, "locrian": 1}
    major = (spec.key_tonic + offsets[spec.key_mode]) % 12
    return pitch_class_name(major, flats=major in FLAT_MAJOR_TONICS)


def clip_to_midi(clip: Clip) -> bytes:
    """Type-1 SMF: a conductor track (tempo, meter, key) and one named track per part.

    Every track ends exactly at the clip's last bar line, so the file is exactly N bars long.
    """
    spec = clip.spec
    end_tick = clip.steps * TICKS_PER_STEP
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name="promptdaw", time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(spec.bpm), time=0))
    numerator, denominator = spec.meter
    conductor.append(mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator, time=0))
    conductor.append(mido.MetaMessage("key_signature", key=_key_signature(spec), time=0))
    conductor.append(mido.MetaMessage("end_of_track", time=end_tick))
    midi.tracks.append(conductor)
    melodic_channels = iter(c for c in range(16) if c != DRUM_CHANNEL)
    for track in clip.tracks:
        channel = DRUM_CHANNEL if track.role == "drums" else next(melodic_channels)
        midi.tracks.append(_track_events(track, channel, end_tick))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def _track_events(track: ClipTrack, channel: int, end_tick: int) -> mido.MidiTrack:
    events: list[tuple[int, int, mido.Message]] = []  # (tick, order: offs before ons, message)
    for note in track.notes:
        for first, length, velocity in note_strokes(note):
            start = round(first * TICKS_PER_STEP)
            stop = min(round((first + length) * TICKS_PER_STEP), end_tick)
            if start >= end_tick or stop <= start:
                continue
            events.append((start, 1, mido.Message("note_on", channel=channel, note=note.pitch, velocity=velocity)))
            events.append((stop, 0, mido.Message("note_off", channel=channel, note=note.pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1], e[2].note))
    out = mido.MidiTrack()
    out.append(mido.MetaMessage("track_name", name=track.name, time=0))
    if channel != DRUM_CHANNEL:
        out.append(mido.Message("program_change", channel=channel, program=track.program, time=0))
    tick = 0
    for at, _, message in events:
        out.append(message.copy(time=at - tick))
        tick = at
    out.append(mido.MetaMessage("end_of_track", time=end_tick - tick))
    return out


def clip_from_midi(data: bytes, spec: MusicSpec, what: str = "midi buffer") -> list[ClipTrack]:
    """Tracks of a Standard MIDI File on the 16th grid, roles guessed from channel and register.

    ``spec`` supplies nothing but the track names/roles of a clip this project wrote; other
    files get roles from channel 10 (drums), median pitch (bass) and polyphony (chords).

    Raises:
        InvalidMidi: ``data`` is not a readable Standard MIDI File (the message names ``what``).
    """
    midi = read_midi(data, what)
    ticks_per_step = midi.ticks_per_beat / 4
    tracks = []
    for raw in midi.tracks:
        name, program, channel, tick = "", 0, None, 0
        open_notes: dict[int, tuple[int, int]] = {}
        hits: list[tuple[int, int, int, int]] = []  # (start tick, end tick, pitch, velocity)
        for message in raw:
            tick += message.time
            if message.type == "track_name":
                name = message.name
            elif message.type == "program_change":
                program = message.program
            elif message.type in ("note_on", "note_off"):
                channel = message.channel
                if message.type == "note_on" and message.velocity > 0:
                    open_notes[message.note] = (tick, message.velocity)
                elif message.note in open_notes:
                    start, velocity = open_notes.pop(message.note)
                    hits.append((start, tick, message.note, velocity))
        notes = _on_grid(hits, ticks_per_step, rolls=channel == DRUM_CHANNEL)
        if notes:
            notes.sort(key=lambda n: (n.start, n.pitch))
            role = _guess_role(name, channel, notes, spec)
            tracks.append(ClipTrack(role, program, name or role, notes))
    return tracks


def _on_grid(hits: list[tuple[int, int, int, int]], ticks_per_step: float, rolls: bool) -> list[ClipNote]:
    """Notes on the 16th grid; on drums, hits of one pitch within a step of each other are one
    roll (its strokes counted, its velocity the loudest stroke's)."""
    groups: list[list[tuple[int, int, int, int]]] = []
    for hit in sorted(hits, key=lambda h: (h[2], h[0])):
        first = groups[-1][0] if groups else None
        if rolls and first is not None and first[2] == hit[2] and hit[0] - first[0] < ROLL_SPAN_STEPS * ticks_per_step:
            groups[-1].append(hit)
        else:
            groups.append([hit])
    notes = []
    for group in groups:
        start = round(group[0][0] / ticks_per_step)
        end = round(max(h[1] for h in group) / ticks_per_step)
        velocity = max(h[3] for h in group)
        notes.append(ClipNote(start, max(end - start, 1), group[0][2], velocity, len(group)))
    return notes


def _guess_role(name: str, channel: int | None, notes: list[ClipNote], spec: MusicSpec) -> str:
    for part in spec.parts:
        if part.name == name:
            return part.role
    if channel == DRUM_CHANNEL:
        return "drums"
    pitches = sorted(n.pitch for n in notes)
    if pitches[len(pitches) // 2] < 55:
        return "bass"
    onsets: dict[int, int] = {}
    for n in notes:
        onsets[n.start] = onsets.get(n.start, 0) + 1
    chordal = sum(count >= 3 for count in onsets.values()) >= len(onsets) / 2
    return "chords" if chordal else "melody"
