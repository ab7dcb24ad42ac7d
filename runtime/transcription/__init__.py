"""Audio-to-MIDI transcription with the pretrained Basic Pitch ONNX model.

Typical use::

    model = registry.get("basic_pitch")  # tensor names come from its manifest
    notes = transcribe(audio_22k_mono, lambda batch: model.run({"audio": batch}, ["note", "onset"]))
    midi_bytes = notes_to_midi(notes)
"""

from promptdaw.runtime.transcription.constants import (
    AUDIO_SAMPLE_RATE,
    DEFAULT_FRAME_THRESHOLD,
    DEFAULT_MIN_NOTE_MS,
    DEFAULT_ONSET_THRESHOLD,
    MIDI_OFFSET,
    N_PITCH_BINS,
    WINDOW_FRAMES,
    WINDOW_SAMPLES,
)
from promptdaw.runtime.transcription.midi import notes_to_midi
from promptdaw.runtime.transcription.notes import NoteEvent, frames_to_seconds, posteriorgrams_to_notes
from promptdaw.runtime.transcription.transcribe import RunModel, transcribe
from promptdaw.runtime.transcription.windowing import count_windows, iter_window_batches, n_output_frames, unwrap

__all__ = [
    "AUDIO_SAMPLE_RATE",
    "DEFAULT_FRAME_THRESHOLD",
    "DEFAULT_MIN_NOTE_MS",
    "DEFAULT_ONSET_THRESHOLD",
    "MIDI_OFFSET",
    "N_PITCH_BINS",
    "WINDOW_FRAMES",
    "WINDOW_SAMPLES",
    "NoteEvent",
    "RunModel",
    "count_windows",
    "frames_to_seconds",
    "iter_window_batches",
    "n_output_frames",
    "notes_to_midi",
    "posteriorgrams_to_notes",
    "transcribe",
    "unwrap",
]
