"""WAV files with loop metadata that DAWs read: an ``acid`` chunk and a ``smpl`` chunk.

- ``acid`` (Sony ACID; read by Ableton Live, FL Studio, Reaper, Bitwig, ...): tempo in
  quarter-note bpm, the loop's length in beats (beats as the meter counts them: a bar of
  6/8 has 6), the meter and the root note; flags mark it a stretchable loop, not a one-shot.
- ``smpl`` (the RIFF sampler chunk; read by samplers and Logic): the unity note and one
  forward loop over the whole file, end sample inclusive.

Files are PCM 16/24-bit or 32-bit float, written atomically (a temporary file, then a
rename). :func:`read_wav` reads them back, metadata included (the tests use it).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from promptdaw.core.files import atomic_write_bytes

__all__ = ["AcidChunk", "LoopInfo", "SmplChunk", "WavData", "read_wav", "wav_bytes", "write_wav"]

_PCM, _FLOAT = 1, 3
#: ACID flags: one-shot, root note set, stretch, disk-based, high octave.
ACID_ONE_SHOT, ACID_ROOT_SET, ACID_STRETCH = 0x01, 0x02, 0x04


@dataclass(frozen=True)
class LoopInfo:
    """What a DAW needs to lock a loop to its tempo."""

    bpm: float  # quarter notes per minute
    beats: int  # the loop's length in beats of the meter (bars * numerator)
    meter: tuple[int, int] = (4, 4)
    root_note: int = 60  # MIDI note of the key's tonic


@dataclass(frozen=True)
class AcidChunk:
    flags: int
    root_note: int
    beats: int
    meter: tuple[int, int]
    bpm: float

    @property
    def one_shot(self) -> bool:
        return bool(self.flags & ACID_ONE_SHOT)


@dataclass(frozen=True)
class SmplChunk:
    sample_period_ns: int
    unity_note: int
    loops: tuple[tuple[int, int], ...]  # (start, end) sample frames, end inclusive


@dataclass(frozen=True)
class WavData:
    samples: np.ndarray  # [frames, channels] float32
    sample_rate: int
    bit_depth: int
    acid: AcidChunk | None = None
    smpl: SmplChunk | None = None


def _chunk(tag: bytes, payload: bytes) -> bytes:
    return tag + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")


def _pcm_bytes(audio: np.ndarray, bit_depth: int) -> bytes:
    if bit_depth == 32:
        return np.ascontiguousarray(audio, dtype="<f4").tobytes()
    scale = 2 ** (bit_depth - 1)
    ints = np.clip(np.round(audio.astype(np.float64) * scale), -scale, scale - 1).astype("<i4")
    if bit_depth == 16:
        return ints.astype("<i2").tobytes()
    as_bytes = ints.reshape(-1, 1).view(np.uint8)  # little-endian: the low three bytes
    return np.ascontiguousarray(as_bytes[:, :3]).tobytes()


def wav_bytes(audio: np.ndarray, sample_rate: int, *, bit_depth: int = 24, loop: LoopInfo | None = None) -> bytes:
    """A complete WAV file of ``[frames, channels]`` float audio as bytes (see :func:`write_wav`)."""
    samples = np.asarray(audio, dtype=np.float32)
    samples = samples[:, None] if samples.ndim == 1 else samples
    if samples.ndim != 2 or not 1 <= samples.shape[1] <= 8:
        raise ValueError(f"audio must be [frames, channels] with 1..8 channels, got shape {samples.shape}")
    if bit_depth not in (16, 24, 32):
        raise ValueError(f"bit_depth must be 16, 24 or 32 (float), got {bit_depth!r}")
    if not isinstance(sample_rate, int) or not 1 <= sample_rate <= 768_000:
        raise ValueError(f"sample_rate must be an integer in [1, 768000] Hz, got {sample_rate!r}")
    if not np.isfinite(samples).all():
        raise ValueError("audio contains NaN or infinite samples")
    frames, channels = samples.shape
    block_align = channels * bit_depth // 8
    fmt = struct.pack("<HHIIHH", _FLOAT if bit_depth == 32 else _PCM, channels, sample_rate,
                      sample_rate * block_align, block_align, bit_depth)  # fmt: skip
    chunks = [_chunk(b"fmt ", fmt)]
    if bit_depth == 32:
        chunks.append(_chunk(b"fact", struct.pack("<I", frames)))
    if loop is not None:
        if not 0 <= loop.root_note <= 127 or loop.beats < 1 or not loop.bpm > 0:
            raise ValueError(f"loop info out of range (root note 0..127, beats >= 1, bpm > 0): {loop}")
        acid = struct.pack("<IHHfIHHf", ACID_ROOT_SET | ACID_STRETCH, loop.root_note, 0x8000, 0.0, loop.beats,
                           loop.meter[1], loop.meter[0], float(loop.bpm))  # fmt: skip
        smpl = struct.pack("<9I", 0, 0, round(1e9 / sample_rate), loop.root_note, 0, 0, 0, 1, 0)
        smpl += struct.pack("<6I", 0, 0, 0, max(frames - 1, 0), 0, 0)  # id, forward, start, end (inclusive)
        chunks += [_chunk(b"acid", acid), _chunk(b"smpl", smpl)]
    chunks.append(_chunk(b"data", _pcm_bytes(samples, bit_depth)))
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write_wav(
    path: str | Path, audio: np.ndarray, sample_rate: int, *, bit_depth: int = 24, loop: LoopInfo | None = None
) -> Path:
    """Write a WAV file atomically; with ``loop``, add ``acid`` and ``smpl`` chunks.

    Args:
        audio: ``[frames, channels]`` (or mono 1-D) float samples in [-1, 1]; PCM clips outside.
        bit_depth: 16 or 24 (PCM) or 32 (IEEE float).
        loop: tempo, beats, meter and root note; the ``smpl`` loop spans the whole file.

    Raises:
        ValueError: bad shape, bit depth, rate, loop info, or non-finite samples.
        OSError: the file cannot be written (nothing is left behind).
    """
    return atomic_write_bytes(Path(path), wav_bytes(audio, sample_rate, bit_depth=bit_depth, loop=loop))


def read_wav(path: str | Path) -> WavData:
    """Read a PCM (8/16/24/32-bit) or float WAV file and its ``acid``/``smpl`` chunks.

    Raises:
        ValueError: not a RIFF/WAVE file, no ``fmt``/``data`` chunk, or an unsupported format.
    """
    data = Path(path).read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{path} is not a RIFF/WAVE file")
    position, fmt, payload = 12, None, None
    acid = smpl = None
    while position + 8 <= len(data):
        tag, size = data[position : position + 4], struct.unpack("<I", data[position + 4 : position + 8])[0]
        body = data[position + 8 : position + 8 + size]
        if tag == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif tag == b"data":
            payload = body
        elif tag == b"acid" and len(body) >= 24:
            flags, root, _, _, beats, denominator, numerator, bpm = struct.unpack("<IHHfIHHf", body[:24])
            acid = AcidChunk(flags, root, beats, (numerator, denominator), bpm)
        elif tag == b"smpl" and len(body) >= 36:
            head = struct.unpack("<9I", body[:36])
            loops = tuple(
                tuple(struct.unpack("<6I", body[36 + 24 * k : 60 + 24 * k])[2:4]) for k in range(head[7])
                if len(body) >= 60 + 24 * k
            )  # fmt: skip
            smpl = SmplChunk(head[2], head[3], loops)  # type: ignore[arg-type]
        position += 8 + size + (size & 1)
    if fmt is None or payload is None:
        raise ValueError(f"{path} has no {'fmt' if fmt is None else 'data'} chunk")
    tag, channels, sample_rate, _, _, bits = fmt
    if tag == 0xFFFE:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes say PCM or float
        tag = _FLOAT if bits == 32 and len(payload) % 4 == 0 and _is_float_ext(data) else _PCM
    width = bits // 8
    usable = len(payload) - len(payload) % (width * channels)
    raw = np.frombuffer(payload[:usable], np.uint8)
    if tag == _FLOAT and bits == 32:
        samples = raw.view("<f4").astype(np.float32)
    elif tag == _PCM and bits == 8:
        samples = (raw.astype(np.float32) - 128) / 128
    elif tag == _PCM and bits in (16, 24, 32):
        grouped = raw.reshape(-1, width)
        padded = np.zeros((grouped.shape[0], 4), np.uint8)
        padded[:, 4 - width :] = grouped  # into the high bytes: sign extension for free
        samples = (padded.view("<i4").ravel() / 2.0**31).astype(np.float32)
    else:
        raise ValueError(f"{path}: unsupported WAV format (tag {tag}, {bits} bits)")
    return WavData(samples.reshape(-1, channels), sample_rate, bits, acid, smpl)


def _is_float_ext(data: bytes) -> bool:
    start = data.find(b"fmt ")
    return start >= 0 and struct.unpack("<H", data[start + 8 + 24 : start + 8 + 26])[0] == _FLOAT
