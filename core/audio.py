"""Audio checks and conversions the daemon applies before a model sees a signal."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import soxr

from promptdaw.core.errors import InvalidAudio

__all__ = ["RESAMPLE_CHUNK_FRAMES", "SILENCE_DBFS", "level_dbfs", "resample", "to_model_input", "validate_audio"]

#: Level reported for digital silence (a finite number keeps the JSON valid).
SILENCE_DBFS = -300.0

#: Longest input accepted by any audio task: one hour.
MAX_DURATION_S = 3600.0

#: Input frames per step of :func:`resample` (6 s at 44.1 kHz: milliseconds of soxr's work).
RESAMPLE_CHUNK_FRAMES = 2**18


def validate_audio(samples: np.ndarray, sample_rate: int) -> None:
    """Refuse empty, non-finite or absurdly long audio with one clear message.

    Raises:
        InvalidAudio: naming what is wrong.
    """
    if samples.ndim != 2 or samples.shape[1] == 0:
        raise InvalidAudio(f"audio must be [frames, channels] with at least one channel, got {samples.shape}")
    if samples.shape[0] == 0:
        raise InvalidAudio("audio is empty (0 frames)")
    duration_s = samples.shape[0] / sample_rate
    if duration_s > MAX_DURATION_S:
        raise InvalidAudio(f"audio is {duration_s:.0f} s long; the limit is {MAX_DURATION_S:.0f} s")
    if not np.isfinite(samples).all():
        raise InvalidAudio("audio contains NaN or infinite samples")


def resample(
    samples: np.ndarray,
    in_rate: int,
    out_rate: int,
    *,
    quality: str = "HQ",
    progress: Callable[[float], None] | None = None,
    chunk_frames: int = RESAMPLE_CHUNK_FRAMES,
) -> np.ndarray:
    """``soxr.resample``, bit for bit, as a stream of bounded steps that can be stopped between steps.

    Args:
        samples: ``[frames]`` or ``[frames, channels]``, float32 or float64 (other types become float32).
        in_rate: the rate of ``samples``.
        out_rate: the rate wanted.
        quality: soxr's quality setting.
        progress: called as ``progress(fraction of the input done)`` after every step; an
            exception it raises (cancellation) stops the work there and propagates.
        chunk_frames: input frames per step.

    Returns:
        The resampled signal, same number of dimensions and dtype, ``round(frames * out_rate / in_rate)``
        frames long (halves rounded up), as ``soxr.resample`` gives.
    """
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
    if samples.dtype not in (np.float32, np.float64):
        samples = samples.astype(np.float32)
    samples = np.ascontiguousarray(samples)
    n = samples.shape[0]
    stream = soxr.ResampleStream(in_rate, out_rate, 1 if samples.ndim == 1 else samples.shape[1],
                                 samples.dtype, quality)  # fmt: skip
    # soxr's output length (for whole-number rates; the loop grows or trims the buffer otherwise)
    expected = int((2 * n * out_rate + in_rate) // (2 * in_rate))
    out = np.empty((expected, *samples.shape[1:]), samples.dtype)
    filled = 0
    starts = range(0, n, chunk_frames)
    for step, start in enumerate(starts, 1):
        chunk = stream.resample_chunk(samples[start : start + chunk_frames], last=start + chunk_frames >= n)
        if filled + chunk.shape[0] > out.shape[0]:
            out = np.concatenate([out[:filled], chunk])
        else:
            out[filled : filled + chunk.shape[0]] = chunk
        filled += chunk.shape[0]
        if progress is not None:
            progress(step / len(starts))
    return out[:filled]


def to_model_input(
    samples: np.ndarray,
    sample_rate: int,
    target_rate: int,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Validate, downmix to mono and resample to ``target_rate``; returns 1-D float32.

    ``progress`` is called with the fraction of the resampling done after each of its bounded
    steps (see :func:`resample`); an exception it raises stops the work there.
    """
    validate_audio(samples, sample_rate)
    mono = samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0]
    if sample_rate != target_rate:
        mono = resample(mono, sample_rate, target_rate, progress=progress)
    return np.ascontiguousarray(mono, dtype=np.float32)


def level_dbfs(sum_squares: float, count: int) -> float:
    """RMS level in dB relative to full scale (a full-scale sine is -3 dBFS); silence is -300."""
    if count == 0 or sum_squares <= 0:
        return SILENCE_DBFS
    return round(max(10 * float(np.log10(sum_squares / count)), SILENCE_DBFS), 2)
