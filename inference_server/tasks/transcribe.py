"""``transcribe``: audio in, notes and a Standard MIDI File out (Basic Pitch network)."""

from __future__ import annotations

import numpy as np

from ..audio import to_model_input
from ..jobs import JobContext, TaskResult
from ..params import number_param, single_audio, string_param
from ..protocol import Midi
from ..transcription import (
    DEFAULT_FRAME_THRESHOLD,
    DEFAULT_MIN_NOTE_MS,
    DEFAULT_ONSET_THRESHOLD,
    notes_to_midi,
)
from ..transcription import transcribe as transcribe_audio

KIND = "audio-to-midi"


def transcribe(ctx: JobContext) -> TaskResult:
    request = ctx.request
    audio = single_audio(request)
    onset_threshold = number_param(request, "onset_threshold", DEFAULT_ONSET_THRESHOLD, lo=0.01, hi=0.99)
    frame_threshold = number_param(request, "frame_threshold", DEFAULT_FRAME_THRESHOLD, lo=0.01, hi=0.99)
    min_note_ms = number_param(request, "min_note_ms", DEFAULT_MIN_NOTE_MS, lo=10.0, hi=2000.0)
    tempo_bpm = number_param(request, "tempo_bpm", 120.0, lo=20.0, hi=400.0)
    program = int(number_param(request, "program", 0, lo=0, hi=127, integer=True))
    name = string_param(request, "model") or ctx.registry.default_for(KIND)

    model = ctx.registry.get(name)
    ctx.progress(0.02, "resampling")
    mono = to_model_input(audio.samples, audio.sample_rate, model.manifest.sample_rate)

    def run_model(batch: np.ndarray) -> dict[str, np.ndarray]:
        return model.run({"audio": batch}, ["note", "onset"])

    notes = transcribe_audio(
        mono,
        run_model,
        onset_threshold=onset_threshold,
        frame_threshold=frame_threshold,
        min_note_ms=min_note_ms,
        progress=lambda fraction: ctx.progress(0.05 + 0.9 * fraction, "transcribing"),
    )
    midi = notes_to_midi(notes, tempo_bpm=tempo_bpm, program=program)
    result = {
        "model": name,
        "model_version": model.manifest.version,
        "duration_s": round(audio.samples.shape[0] / audio.sample_rate, 4),
        "note_count": len(notes),
        "notes": [[round(n.start_s, 4), round(n.end_s, 4), n.pitch, n.velocity] for n in notes],
    }
    return result, (Midi(midi),)
