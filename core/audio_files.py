"""Reading audio files at the CLI's edge (WAV, FLAC, MP3, AIFF, OGG via pedalboard.io)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile

from promptdaw.core.errors import InvalidAudio

__all__ = ["read_audio", "write_audio"]


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Return ``(samples [frames, channels] float32, sample_rate)``.

    Raises:
        InvalidAudio: the file is missing, unreadable or truncated, in one line.
    """
    try:
        _check_wav_complete(Path(path))
        with AudioFile(str(path)) as f:
            if f.frames <= 0:
                raise InvalidAudio(f"{path}: no audio frames (empty or truncated file)")
            samples = f.read(f.frames)
            sample_rate = int(f.samplerate)
    except FileNotFoundError:
        raise InvalidAudio(f"{path}: no such file") from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise InvalidAudio(f"cannot read {path}: {exc}") from None
    return np.ascontiguousarray(samples.T, dtype=np.float32), sample_rate


def _check_wav_complete(path: Path) -> None:
    """Refuse a RIFF/WAVE file whose data chunk promises more bytes than the file holds.

    Decoders pad such files with silence, so a cut-off download would otherwise be
    processed as if it were whole. Sizes 0 and 0xFFFFFFFF mean "unknown" (streaming
    writers) and are accepted.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(12)[8:12] != b"WAVE":
            return
        position = 12
        while position + 8 <= size:
            f.seek(position)
            header = f.read(8)
            chunk_id, chunk_size = header[:4], int.from_bytes(header[4:8], "little")
            if chunk_id == b"data":
                available = size - position - 8
                if chunk_size not in (0, 0xFFFFFFFF) and chunk_size > available:
                    raise InvalidAudio(
                        f"{path} is truncated: its data chunk declares {chunk_size} bytes but {available} are present"
                    )
                return
            position += 8 + chunk_size + (chunk_size & 1)  # chunks are word-aligned
        raise InvalidAudio(f"{path} is truncated: no complete data chunk")


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
