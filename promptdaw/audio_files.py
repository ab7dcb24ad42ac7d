"""Reading audio files at the CLI's edge (WAV, FLAC, MP3, AIFF, OGG via pedalboard.io)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile

from promptdaw.inference_server.errors import InvalidAudio

__all__ = ["read_audio"]


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
