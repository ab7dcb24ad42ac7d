"""``separate``: one audio buffer in, four stereo stems out (drums, bass, vocals, other).

The reply's buffers are the stems in ``SOURCES`` order, each ``[frames, 2]`` float32 at the
input's rate and length. The result names them and reports the residual: the mixture (the
input as stereo: mono duplicated, more channels averaged) minus the sum of the stems.

``model`` names the model; without it the default (the project's own) serves. Opt-in models
(``htdemucs``, fetched by ``promptdaw fetch-models htdemucs --accept-license``) serve only when
named; ``runtime.catalog.stem_separator`` picks each model's processing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from promptdaw.core.audio import SILENCE_DBFS, level_dbfs, validate_audio
from promptdaw.inference_server.jobs import JobContext, TaskResult
from promptdaw.inference_server.params import bool_param, single_audio, string_param
from promptdaw.inference_server.protocol import Audio
from promptdaw.runtime.catalog import DRUM_SEPARATION, STEM_SEPARATION, model_for, stem_separator
from promptdaw.runtime.onnx import OnnxModel
from promptdaw.runtime.separation import SOURCES, iter_blocks, to_stereo
from promptdaw.runtime.separation.drums import DRUM_SOURCES, SplitDrums, drum_splitter

__all__ = ["SILENCE_DBFS", "add_drum_stems", "level_dbfs", "separate", "separate_audio"]


def separate_audio(
    model: OnnxModel,
    samples: np.ndarray,
    sample_rate: int,
    progress: Callable[[float, str], None] = lambda fraction, stage: None,
) -> TaskResult:
    """The whole separation, socket-free: used by the task and by in-process benchmarks.

    Raises:
        InvalidAudio: empty, non-finite or over-long input.
        InferenceFailed: onnxruntime failed.
    """
    validate_audio(samples, sample_rate)
    separate_stream = stem_separator(model)
    n = samples.shape[0]

    def on_segment(done: int, total: int) -> None:
        progress(0.02 + 0.96 * min(done / max(total, 1), 1.0), f"separating segment {min(done, total)}/{total}")

    progress(0.01, "separating")
    stems = [np.empty((n, 2), np.float32) for _ in SOURCES]
    mix_energy = residual_energy = 0.0
    stem_energy = [0.0] * len(SOURCES)
    filled = 0
    for block in separate_stream(iter_blocks(samples), sample_rate, n, on_segment):
        count = block.shape[1]
        mix = to_stereo(samples[filled : filled + count])
        residual = mix - block.sum(axis=0)
        mix_energy += float(np.square(mix, dtype=np.float64).sum())
        residual_energy += float(np.square(residual, dtype=np.float64).sum())
        for k, stem in enumerate(stems):
            stem[filled : filled + count] = block[k]
            stem_energy[k] += float(np.square(block[k], dtype=np.float64).sum())
        filled += count
    values = 2 * n
    residual_dbfs, mix_dbfs = level_dbfs(residual_energy, values), level_dbfs(mix_energy, values)
    result = {
        "model": model.manifest.name,
        "model_version": model.manifest.version,
        "sources": list(SOURCES),
        "sample_rate": sample_rate,
        "channels": 2,
        "duration_s": round(n / sample_rate, 4),
        "mixture_dbfs": mix_dbfs,
        "stem_dbfs": {name: level_dbfs(e, values) for name, e in zip(SOURCES, stem_energy, strict=True)},
        "residual_dbfs": residual_dbfs,
        # relative to the mixture; null for a silent mixture, where it means nothing
        "residual_db": None if mix_energy <= 0 else round(residual_dbfs - mix_dbfs, 2),
    }
    return result, tuple(Audio(stem, sample_rate) for stem in stems)


def separate(ctx: JobContext) -> TaskResult:
    request = ctx.request
    audio = single_audio(request)
    model = model_for(ctx.registry, STEM_SEPARATION, string_param(request, "model"))
    if not bool_param(request, "drums", False):
        return separate_audio(model, audio.samples, audio.sample_rate, ctx.progress)
    split = drum_splitter(model_for(ctx.registry, DRUM_SEPARATION))  # a missing model fails before any work
    result, stems = separate_audio(model, audio.samples, audio.sample_rate,
                                   lambda fraction, stage: ctx.progress(0.5 * fraction, stage))  # fmt: skip
    return add_drum_stems(split, result, stems, ctx.progress)


def add_drum_stems(
    split: SplitDrums,
    result: dict,
    stems: tuple[Audio, ...],
    progress: Callable[[float, str], None] = lambda fraction, stage: None,
) -> TaskResult:
    """``drums: true``: the drum stem split into ``DRUM_SOURCES``, five more buffers after the four
    stems, and ``drum_sources``, ``drum_stem_dbfs`` in the result (progress from 0.5 on)."""
    drums = stems[SOURCES.index("drums")]

    def on_segment(done: int, total: int) -> None:
        progress(0.5 + 0.48 * min(done / max(total, 1), 1.0), f"splitting drums segment {min(done, total)}/{total}")

    sub = split(drums.samples, drums.sample_rate, on_segment)
    values = sub.shape[1] * sub.shape[2]
    energy = np.square(sub, dtype=np.float64).sum(axis=(1, 2))
    levels = {name: level_dbfs(float(e), values) for name, e in zip(DRUM_SOURCES, energy, strict=True)}
    result = {**result, "drum_sources": list(DRUM_SOURCES), "drum_stem_dbfs": levels}
    return result, (*stems, *(Audio(s, drums.sample_rate) for s in sub))
