"""Write note events as a Standard MIDI File."""

from __future__ import annotations

import io
from collections.abc import Iterable

import mido

from promptdaw.runtime.transcription.notes import NoteEvent

TICKS_PER_BEAT = 480
_CHANNEL = 0


def _clip_same_pitch_overlaps(notes: list[NoteEvent]) -> list[tuple[float, float, int, int]]:
    """Return ``(start, end, pitch, velocity)`` with same-pitch overlaps cut at the next start.

    MIDI cannot express two sounding notes on one key and channel: the first note-off would
    silence both. Cutting the earlier note keeps every onset and lets each note end cleanly.
    """
    clipped: list[tuple[float, float, int, int]] = []
    by_pitch: dict[int, list[NoteEvent]] = {}
    for note in notes:
        by_pitch.setdefault(note.pitch, []).append(note)
    for pitch, group in by_pitch.items():
        group.sort(key=lambda n: n.start_s)
        for i, note in enumerate(group):
            end = note.end_s
            if i + 1 < len(group):
                end = min(end, group[i + 1].start_s)
            clipped.append((note.start_s, end, pitch, note.velocity))
    return clipped


def notes_to_midi(
    notes: Iterable[NoteEvent],
    *,
    tempo_bpm: float = 120.0,
    program: int = 0,
    track_name: str = "transcription",
) -> bytes:
    """Encode notes as a type-1 Standard MIDI File.

    Track 0 holds the tempo; track 1 holds the track name, a program change and the notes on
    channel 1. Times are converted at ``TICKS_PER_BEAT`` (480) ticks per beat; every note lasts
    at least one tick.

    Args:
        notes: Note events (any order).
        tempo_bpm: Tempo written to the file, in beats per minute.
        program: General MIDI program (0-127) for the note track.
        track_name: Name of the note track.

    Returns:
        The file's bytes.

    Raises:
        ValueError: If ``tempo_bpm`` is not positive, ``program`` is outside 0..127, or a note
            has a pitch outside 0..127 or a negative start time.
    """
    if not tempo_bpm > 0:
        raise ValueError(f"tempo_bpm must be > 0, got {tempo_bpm}")
    if not 0 <= program <= 127:
        raise ValueError(f"program must be in 0..127, got {program}")
    note_list = list(notes)
    for note in note_list:
        if not 0 <= note.pitch <= 127:
            raise ValueError(f"note pitch must be in 0..127, got {note.pitch}")
        if note.start_s < 0:
            raise ValueError(f"note start must be >= 0 s, got {note.start_s}")

    tempo = mido.bpm2tempo(tempo_bpm)  # microseconds per beat, as stored in the file

    def to_ticks(seconds: float) -> int:
        return round(mido.second2tick(seconds, TICKS_PER_BEAT, tempo))

    # (tick, order, message): at equal ticks note-offs (order 0) go before note-ons (order 1) so
    # a repeated note is not cut by the previous note's release.
    events: list[tuple[int, int, int, mido.Message]] = []
    for start_s, end_s, pitch, velocity in _clip_same_pitch_overlaps(note_list):
        on = to_ticks(start_s)
        off = max(to_ticks(end_s), on + 1)
        vel = min(max(int(velocity), 1), 127)
        events.append((on, 1, pitch, mido.Message("note_on", note=pitch, velocity=vel)))
        events.append((off, 0, pitch, mido.Message("note_off", note=pitch, velocity=0)))
    events.sort(key=lambda e: e[:3])

    tempo_track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0)])
    note_track = mido.MidiTrack(
        [
            mido.MetaMessage("track_name", name=track_name, time=0),
            mido.Message("program_change", program=program, channel=_CHANNEL, time=0),
        ]
    )
    previous = 0
    for tick, _, _, message in events:
        note_track.append(message.copy(channel=_CHANNEL, time=tick - previous))
        previous = tick

    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.extend([tempo_track, note_track])
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()
