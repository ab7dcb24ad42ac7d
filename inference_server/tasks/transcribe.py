"""``transcribe``: audio in, notes and a Standard MIDI File out (Basic Pitch network)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from promptdaw.core.audio import to_model_input
from promptdaw.core.errors import InvalidAudio
from promptdaw.inference_server.jobs import JobContext, TaskResult
from promptdaw.inference_server.params import number_param, single_audio, string_param
from promptdaw.inference_server.protocol import Midi, Request
from promptdaw.runtime.catalog import AUDIO_TO_MIDI, model_for
from promptdaw.runtime.onnx import OnnxModel
from promptdaw.runtime.transcription import (
    DEFAULT_FRAME_THRESHOLD,
    DEFAULT_MIN_NOTE_MS,
    DEFAULT_ONSET_THRESHOLD,
    notes_to_midi,
)
from promptdaw.runtime.transcription import transcribe as audio_to_notes

__all__ = ["TranscribeOptions", "transcribe", "transcribe_to_midi"]


@dataclass(frozen=True)
class TranscribeOptions:
    onset_threshold: float = DEFAULT_ONSET_THRESHOLD
    frame_threshold: float = DEFAULT_FRAME_THRESHOLD
    min_note_ms: float = DEFAULT_MIN_NOTE_MS
    tempo_bpm: float = 120.0
    program: int = 0

    @classmethod
    def from_request(cls, request: Request) -> TranscribeOptions:
        d = cls()
        return cls(
            onset_threshold=number_param(request, "onset_threshold", d.onset_threshold, lo=0.01, hi=0.99),
            frame_threshold=number_param(request, "frame_threshold", d.frame_threshold, lo=0.01, hi=0.99),
            min_note_ms=number_param(request, "min_note_ms", d.min_note_ms, lo=10.0, hi=2000.0),
            tempo_bpm=number_param(request, "tempo_bpm", d.tempo_bpm, lo=20.0, hi=400.0),
            program=int(number_param(request, "program", d.program, lo=0, hi=127, integer=True)),
        )


def transcribe_to_midi(
    model: OnnxModel,
    samples: np.ndarray,
    sample_rate: int,
    options: TranscribeOptions,
    progress: Callable[[float, str], None] = lambda fraction, stage: None,
) -> TaskResult:
    """The whole transcription, socket-free: used by the task and by in-process benchmarks."""
    progress(0.02, "resampling")
    mono = to_model_input(samples, sample_rate, model.manifest.sample_rate,
                          progress=lambda fraction: progress(0.02 + 0.03 * fraction, "resampling"))  # fmt: skip
    if mono.size == 0:  # a few frames at a high rate: less than one sample at the model's
        raise InvalidAudio(f"audio is too short: {samples.shape[0]} frames at {sample_rate} Hz are less than one "
                           f"sample at the model's {model.manifest.sample_rate} Hz")  # fmt: skip

    def run_model(batch: np.ndarray) -> dict[str, np.ndarray]:
        return model.run({"audio": batch}, ["note", "onset"])

    progress(0.05, "transcribing")  # then after every batch of windows
    notes = audio_to_notes(
        mono,
        run_model,
        onset_threshold=options.onset_threshold,
        frame_threshold=options.frame_threshold,
        min_note_ms=options.min_note_ms,
        progress=lambda fraction: progress(0.05 + 0.9 * fraction, "transcribing"),
    )
    midi = notes_to_midi(notes, tempo_bpm=options.tempo_bpm, program=options.program)
    result = {
        "model": model.manifest.name,
        "model_version": model.manifest.version,
        "duration_s": round(samples.shape[0] / sample_rate, 4),
        "note_count": len(notes),
        "notes": [[round(n.start_s, 4), round(n.end_s, 4), n.pitch, n.velocity] for n in notes],
    }
    return result, (Midi(midi),)


def transcribe(ctx: JobContext) -> TaskResult:
    request = ctx.request
    audio = single_audio(request)
    options = TranscribeOptions.from_request(request)
    model = model_for(ctx.registry, AUDIO_TO_MIDI, string_param(request, "model"))
    return transcribe_to_midi(model, audio.samples, audio.sample_rate, options, ctx.progress)
