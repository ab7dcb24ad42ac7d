"""Reading audio files at the CLI's edge (WAV, FLAC, MP3, AIFF, OGG via pedalboard.io)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile

from promptdaw.inference_server.errors import InvalidAudio

__all__ = ["read_audio", "write_audio"]


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Return ``(samples [frames, channels] float32, sample_rate)``.

    Raises:
        InvalidAudio: the file is missing, unreadable or truncated, in one line.
    """
    try:
        with AudioFile(str(path)) as f:
            samples = f.read(f.frames)
            sample_rate = int(f.samplerate)
    except FileNotFoundError:
        raise InvalidAudio(f"{path}: no such file") from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise InvalidAudio(f"cannot read {path}: {exc}") from None
    return np.ascontiguousarray(samples.T, dtype=np.float32), sample_rate


def write_audio(path: Path, samples: np.ndarray, sample_rate: int, *, bit_depth: int = 24) -> Path:
    """Write ``[frames, channels]`` (or mono 1-D) float audio atomically; format from the suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.asarray(samples, dtype=np.float32)
    frames = frames[:, None] if frames.ndim == 1 else frames
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")  # same suffix: it picks the format
    try:
        with AudioFile(str(tmp), "w", sample_rate, frames.shape[1], bit_depth=bit_depth) as f:
            f.write(frames.T)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
