"""Audio checks and conversions the daemon applies before a model sees a signal."""

from __future__ import annotations

import numpy as np
import soxr

from promptdaw.core.errors import InvalidAudio

__all__ = ["SILENCE_DBFS", "level_dbfs", "to_model_input", "validate_audio"]

#: Level reported for digital silence (a finite number keeps the JSON valid).
SILENCE_DBFS = -300.0

#: Longest input accepted by any audio task: one hour.
MAX_DURATION_S = 3600.0


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


def to_model_input(samples: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """Validate, downmix to mono and resample to ``target_rate``; returns 1-D float32."""
    validate_audio(samples, sample_rate)
    mono = samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0]
    if sample_rate != target_rate:
        mono = soxr.resample(mono, sample_rate, target_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def level_dbfs(sum_squares: float, count: int) -> float:
    """RMS level in dB relative to full scale (a full-scale sine is -3 dBFS); silence is -300."""
    if count == 0 or sum_squares <= 0:
        return SILENCE_DBFS
    return round(max(10 * float(np.log10(sum_squares / count)), SILENCE_DBFS), 2)
