"""Reading and writing audio files at the CLI's edge (WAV, FLAC, MP3, AIFF, OGG via pedalboard.io)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile

from promptdaw.core.errors import InvalidAudio
from promptdaw.core.files import atomic_write_bytes
from promptdaw.core.wav import check_wav_complete, wav_bytes

__all__ = ["audio_bytes", "read_audio", "write_audio"]


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Return ``(samples [frames, channels] float32, sample_rate)``.

    Raises:
        InvalidAudio: the file is missing, unreadable or truncated, in one line naming ``path``.
    """
    try:
        check_wav_complete(path)  # decoders would pad a cut-off WAV with silence
        with AudioFile(str(path)) as f:
            if f.frames <= 0:
                raise InvalidAudio(f"{path}: no audio frames (empty or truncated file)")
            samples = f.read(f.frames)
            sample_rate = int(f.samplerate)
    except InvalidAudio:
        raise
    except FileNotFoundError:
        raise InvalidAudio(f"{path}: no such file") from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise InvalidAudio(f"cannot read {path}: {exc}") from None
    return np.ascontiguousarray(samples.T, dtype=np.float32), sample_rate


def audio_bytes(samples: np.ndarray, sample_rate: int, suffix: str, *, bit_depth: int = 24) -> bytes:
    """A complete audio file of ``[frames, channels]`` (or mono 1-D) float audio; format from ``suffix``.

    Encoded in memory so that the file itself is written by plain writes, whose errors (a full
    disk) always surface: an encoder writing to disk can report them late or not at all.
    """
    frames = np.asarray(samples, dtype=np.float32)
    frames = frames[:, None] if frames.ndim == 1 else frames
    if suffix.lower() == ".wav":
        return wav_bytes(frames, sample_rate, bit_depth=bit_depth)
    buffer = io.BytesIO()
    with AudioFile(buffer, "w", sample_rate, frames.shape[1], bit_depth=bit_depth, format=suffix.lstrip(".")) as f:
        f.write(np.ascontiguousarray(frames.T))
    return buffer.getvalue()


def write_audio(path: Path, samples: np.ndarray, sample_rate: int, *, bit_depth: int = 24) -> Path:
    """Write ``[frames, channels]`` (or mono 1-D) float audio atomically; format from the suffix."""
    path = Path(path)
    return atomic_write_bytes(path, audio_bytes(samples, sample_rate, path.suffix, bit_depth=bit_depth))
