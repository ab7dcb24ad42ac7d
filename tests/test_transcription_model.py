"""End-to-end transcription with the real Basic Pitch ONNX model on synthesised audio."""

from __future__ import annotations

import io
from pathlib import Path

import mido
import numpy as np
import pytest
from utils import RefNote, note_f1, synth_notes

from promptdaw.runtime.registry import ModelRegistry
from promptdaw.runtime.transcription import (
    AUDIO_SAMPLE_RATE,
    NoteEvent,
    notes_to_midi,
    transcribe,
)

ONSET_TOLERANCE_S = 0.05


# ~20 notes over ~12 s across C3..C6 (4 octaves): a melody over sustained bass notes, two
# dyads and a chord, so several notes overlap.
MELODY = [
    RefNote(0.40, 1.60, 48, 100),  # C3 bass under the first phrase
    RefNote(0.40, 0.85, 67, 110),
    RefNote(1.00, 1.45, 69, 95),
    RefNote(1.60, 2.10, 72, 105),
    RefNote(2.20, 3.40, 55, 90),  # G3 bass
    RefNote(2.30, 2.75, 76, 100),
    RefNote(2.90, 3.35, 74, 90),
    RefNote(3.60, 4.40, 60, 100),  # dyad C4 + E4
    RefNote(3.60, 4.40, 64, 95),
    RefNote(4.70, 5.20, 79, 110),
    RefNote(5.40, 5.85, 81, 100),
    RefNote(6.00, 7.20, 53, 95),  # F3 bass
    RefNote(6.10, 6.60, 77, 100),
    RefNote(6.80, 7.30, 84, 105),
    RefNote(7.60, 8.80, 57, 90),  # chord A3 + C4 + E4
    RefNote(7.60, 8.80, 60, 90),
    RefNote(7.60, 8.80, 64, 90),
    RefNote(9.20, 9.70, 71, 100),
    RefNote(9.90, 10.40, 62, 95),
    RefNote(10.60, 11.80, 50, 100),  # D3 bass with the last note
    RefNote(10.70, 11.60, 74, 105),
]
MELODY_SECONDS = 12.5
# A faint noise floor, as any recording has: without it the model (which normalises each
# window's spectrogram) turns the decaying upper partials of these perfectly clean synthetic
# tones into ghost notes at harmonic intervals (note creation drops most of them now, see the
# 24-note melody below, but this test is about everything else).
NOISE_FLOOR = 0.002

# The ghost-note report: a 24-note melody over C3..G5, one note at a time, as pure sines and as
# harmonic-rich tones with partials at 0.4, 0.2 and 0.1 of the fundamental. Over digital silence
# the model echoed the rich tones' partials as 12 extra notes an octave above real ones (36 notes,
# note F1 0.80) before harmonic ghosts were suppressed; pure sines gave 24 notes, F1 1.0.
HARMONIC_PARTIALS = (0.4, 0.2, 0.1)
_MELODY_24_PITCHES = [48, 52, 55, 60, 64, 62, 59, 57, 55, 60, 67, 72, 71, 69, 65, 64, 62, 53, 57, 60, 74, 79, 76, 72]
_MELODY_24_LENGTHS = (0.45, 0.35, 0.6, 0.4)  # s, each followed by a 0.1 s gap
_MELODY_24_STARTS = 0.3 + np.cumsum([0.0] + [_MELODY_24_LENGTHS[i % 4] + 0.1 for i in range(23)])
MELODY_24 = [
    RefNote(round(start, 2), round(start + _MELODY_24_LENGTHS[i % 4], 2), pitch, (100, 90, 110)[i % 3])
    for i, (start, pitch) in enumerate(zip(_MELODY_24_STARTS.tolist(), _MELODY_24_PITCHES, strict=True))
]
MELODY_24_SECONDS = 14.0

# Deliberate doublings at equal loudness, an octave, a twelfth or two octaves apart: harmonic
# intervals too, but each upper note is a real one and must survive ghost suppression.
DOUBLINGS = [
    RefNote(0.3 + 0.8 * i, 0.8 + 0.8 * i, pitch, 100)
    for i, (low, interval) in enumerate(
        zip([43, 48, 52, 55, 57, 60, 62, 65], [12, 19, 24, 12, 19, 24, 12, 12], strict=True)
    )
    for pitch in (low, low + interval)
]
DOUBLINGS_SECONDS = 7.0

# Notes around one minute into a long, otherwise digitally silent file: by then a frame clock
# that ignored the per-window drift would be ~0.3 s late. A few early notes give a reference.
LATE_NOTES = [
    RefNote(1.00, 1.60, 60, 100),
    RefNote(2.00, 2.60, 67, 100),
    RefNote(56.40, 57.00, 62, 100),
    RefNote(57.20, 58.20, 50, 100),
    RefNote(57.40, 57.90, 74, 100),
    RefNote(58.50, 59.20, 55, 100),
    RefNote(59.30, 60.00, 64, 100),
    RefNote(60.10, 61.30, 48, 100),
    RefNote(60.20, 60.80, 72, 100),
    RefNote(61.00, 61.60, 76, 100),
    RefNote(62.00, 62.70, 69, 100),
    RefNote(62.90, 63.50, 59, 100),
]
LATE_SECONDS = 64.0


@pytest.fixture(scope="module")
def run_model(basic_pitch_onnx: Path):
    registry = ModelRegistry(basic_pitch_onnx.parent.parent, providers=["CPUExecutionProvider"])
    model = registry.get("basic_pitch")  # verified against the manifest's sha256, names from it
    return lambda batch: model.run({"audio": batch}, ["note", "onset"])


@pytest.fixture(scope="module")
def melody_notes(run_model) -> list[NoteEvent]:
    audio = synth_notes(MELODY, MELODY_SECONDS, noise_level=NOISE_FLOOR)
    return transcribe(audio, run_model)


def test_melody_note_f1(melody_notes: list[NoteEvent]) -> None:
    scores = note_f1(MELODY, melody_notes, ONSET_TOLERANCE_S)
    assert scores.f1 >= 0.9, (scores, melody_notes)
    assert scores.recall >= 0.9, scores


def test_notes_late_in_a_long_file_keep_accurate_onsets(run_model) -> None:
    audio = synth_notes(LATE_NOTES, LATE_SECONDS)
    fractions: list[float] = []
    notes = transcribe(audio, run_model, progress=fractions.append)
    scores = note_f1(LATE_NOTES, notes, ONSET_TOLERANCE_S)
    assert scores.f1 >= 0.9, (scores, notes)
    errors = dict(zip((i for i, _ in scores.matches), scores.onset_errors_s, strict=True))
    early = [errors[i] for i in errors if LATE_NOTES[i].start_s < 10]
    late = [errors[i] for i in errors if LATE_NOTES[i].start_s > 50]
    assert early and late
    # The onset error must not grow along the file (uncorrected drift would add ~0.3 s).
    assert abs(np.mean(late) - np.mean(early)) < 0.02, errors
    assert max(abs(e) for e in errors.values()) < 0.03, errors
    assert fractions[-1] == 1.0


def test_midi_bytes_contain_the_notes(melody_notes: list[NoteEvent]) -> None:
    data = notes_to_midi(melody_notes, tempo_bpm=120.0)
    midi = mido.MidiFile(file=io.BytesIO(data))
    assert midi.type == 1 and midi.ticks_per_beat == 480
    now = 0.0
    onsets: list[tuple[float, int]] = []
    for message in midi:  # merged, times in seconds at the file's tempo
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            onsets.append((now, message.note))
    assert len(onsets) == len(melody_notes)
    scores = note_f1([(start, 0.0, pitch) for start, pitch in onsets], melody_notes, onset_tolerance_s=0.002)
    assert scores.f1 == 1.0
    assert note_f1(MELODY, [(s, 0.0, p) for s, p in onsets], ONSET_TOLERANCE_S).f1 >= 0.9


def test_audio_at_other_level_and_batch_size(run_model) -> None:
    # Batching must not change the result; quieter input must still transcribe.
    audio = synth_notes(MELODY[:8], 5.0, noise_level=NOISE_FLOOR) * 0.1
    one = transcribe(audio, run_model, batch_size=1)
    many = transcribe(audio, run_model, batch_size=16)
    assert [(n.pitch, n.start_s, n.end_s) for n in one] == [(n.pitch, n.start_s, n.end_s) for n in many]
    assert note_f1(MELODY[:8], one, ONSET_TOLERANCE_S).f1 >= 0.9
    assert all(0 < n.start_s < n.end_s <= len(audio) / AUDIO_SAMPLE_RATE for n in one)


@pytest.mark.parametrize("noise_level", [0.0, NOISE_FLOOR], ids=["silence", "noise-floor"])
@pytest.mark.parametrize("partials", [(), HARMONIC_PARTIALS], ids=["pure", "harmonic"])
def test_24_note_melody_of_pure_and_harmonic_tones(run_model, partials: tuple[float, ...], noise_level: float) -> None:
    audio = synth_notes(MELODY_24, MELODY_24_SECONDS, partials=partials, noise_level=noise_level)
    notes = transcribe(audio, run_model)
    scores = note_f1(MELODY_24, notes, ONSET_TOLERANCE_S)
    assert scores.f1 >= 0.9, (scores, notes)
    assert len(notes) <= len(MELODY_24) + 2, notes


def test_suppression_removes_only_harmonic_ghosts(run_model) -> None:
    audio = synth_notes(MELODY_24, MELODY_24_SECONDS, partials=HARMONIC_PARTIALS)
    raw = transcribe(audio, run_model, suppress_harmonics=False)
    kept = transcribe(audio, run_model)
    removed = [n for n in raw if n not in kept]
    assert removed, "harmonic-rich tones over silence should make the model echo their partials"
    # None of the removed notes is a real one ...
    assert note_f1(MELODY_24, removed, ONSET_TOLERANCE_S).precision == 0.0, removed
    # ... and each lies a harmonic interval above a kept note that starts with it.
    for ghost in removed:
        assert any(
            ghost.pitch - n.pitch in (12, 19, 24, 28, 31, 34, 36) and abs(ghost.start_s - n.start_s) <= 0.06
            for n in kept
        ), ghost
    assert note_f1(MELODY_24, kept, ONSET_TOLERANCE_S).f1 > note_f1(MELODY_24, raw, ONSET_TOLERANCE_S).f1


@pytest.mark.parametrize("noise_level", [0.0, NOISE_FLOOR], ids=["silence", "noise-floor"])
def test_deliberate_harmonic_doublings_survive(run_model, noise_level: float) -> None:
    audio = synth_notes(DOUBLINGS, DOUBLINGS_SECONDS, partials=HARMONIC_PARTIALS, noise_level=noise_level)
    notes = transcribe(audio, run_model)
    scores = note_f1(DOUBLINGS, notes, ONSET_TOLERANCE_S)
    assert scores.recall == 1.0, (scores, notes)  # every upper note of a doubling is kept
    assert scores.f1 >= 0.9, (scores, notes)
