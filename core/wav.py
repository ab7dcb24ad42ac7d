"""WAV files with loop metadata that DAWs read: an ``acid`` chunk and a ``smpl`` chunk.

- ``acid`` (Sony ACID; read by Ableton Live, FL Studio, Reaper, Bitwig, ...): tempo in
  quarter-note bpm, the loop's length in beats (beats as the meter counts them: a bar of
  6/8 has 6), the meter and the root note; flags mark it a stretchable loop, not a one-shot.
- ``smpl`` (the RIFF sampler chunk; read by samplers and Logic): the unity note and one
  forward loop over the whole file, end sample inclusive.

Files are PCM 16/24-bit or 32-bit float, written atomically (a temporary file, then a
rename; ``core/files.py``); :class:`WavWriter` streams one of any length block by block.
:func:`read_wav` reads them back, metadata included. :func:`check_wav_complete` is the one
check that refuses a truncated WAV, for every reader of audio files.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from promptdaw.core.errors import InvalidAudio
from promptdaw.core.files import atomic_write_bytes

__all__ = [
    "AcidChunk",
    "LoopInfo",
    "SmplChunk",
    "WavData",
    "WavWriter",
    "check_wav_complete",
    "read_wav",
    "wav_bytes",
    "write_wav",
]

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


def _check_audio(audio: np.ndarray, channels: int | None = None) -> np.ndarray:
    samples = np.asarray(audio, dtype=np.float32)
    samples = samples[:, None] if samples.ndim == 1 else samples
    if samples.ndim != 2 or not 1 <= samples.shape[1] <= 8:
        raise ValueError(f"audio must be [frames, channels] with 1..8 channels, got shape {samples.shape}")
    if channels is not None and samples.shape[1] != channels:
        raise ValueError(f"audio must have {channels} channels, got shape {samples.shape}")
    if not np.isfinite(samples).all():
        raise ValueError("audio contains NaN or infinite samples")
    return samples


def _header(frames: int, channels: int, sample_rate: int, bit_depth: int, loop: LoopInfo | None) -> bytes:
    """Everything before the samples: RIFF, fmt, fact, acid, smpl and the data chunk's header.

    Its length depends only on the format and ``loop``, so a streaming writer can rewrite it in
    place once it knows ``frames``.
    """
    if bit_depth not in (16, 24, 32):
        raise ValueError(f"bit_depth must be 16, 24 or 32 (float), got {bit_depth!r}")
    if not isinstance(sample_rate, int) or not 1 <= sample_rate <= 768_000:
        raise ValueError(f"sample_rate must be an integer in [1, 768000] Hz, got {sample_rate!r}")
    block_align = channels * bit_depth // 8
    data_size = frames * block_align
    if data_size > 0xFFFFFFFF - 1024:
        raise ValueError(f"{frames} frames of {channels} x {bit_depth}-bit audio do not fit in a WAV file (4 GiB)")
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
    body = b"WAVE" + b"".join(chunks) + b"data" + struct.pack("<I", data_size)
    riff_size = len(body) + data_size + (data_size & 1)
    return b"RIFF" + struct.pack("<I", riff_size) + body


def wav_bytes(audio: np.ndarray, sample_rate: int, *, bit_depth: int = 24, loop: LoopInfo | None = None) -> bytes:
    """A complete WAV file of ``[frames, channels]`` float audio as bytes (see :func:`write_wav`)."""
    samples = _check_audio(audio)
    frames, channels = samples.shape
    header = _header(frames, channels, sample_rate, bit_depth, loop)  # checks the format first
    payload = _pcm_bytes(samples, bit_depth)
    return header + payload + (b"\x00" if len(payload) % 2 else b"")


class WavWriter:
    """A WAV file written block by block into a seekable binary file (stems of any length).

    The header is written first with no frames and rewritten by :meth:`close` with the count,
    so memory stays one block whatever the length. Use it inside :meth:`OutputSet.open
    <promptdaw.core.files.OutputSet.open>` so a half-written file never takes the final name.
    """

    def __init__(self, file: BinaryIO, sample_rate: int, channels: int, *, bit_depth: int = 32,
                 loop: LoopInfo | None = None) -> None:  # fmt: skip
        self._file, self._format = file, (channels, sample_rate, bit_depth, loop)
        self.frames = 0
        file.write(_header(0, *self._format))

    def write(self, audio: np.ndarray) -> None:
        """Append ``[frames, channels]`` float samples."""
        samples = _check_audio(audio, self._format[0])
        self._file.write(_pcm_bytes(samples, self._format[2]))
        self.frames += samples.shape[0]

    def close(self) -> None:
        """Pad the data chunk to a word and write the final sizes into the header."""
        header = _header(self.frames, *self._format)  # checks the size before anything is written
        if (self.frames * self._format[0] * self._format[2] // 8) % 2:
            self._file.write(b"\x00")
        end = self._file.tell()
        self._file.seek(0)
        self._file.write(header)
        self._file.seek(end)


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


def check_wav_complete(path: str | Path) -> None:
    """Refuse a RIFF/WAVE file whose data chunk promises more bytes than the file holds.

    Decoders pad such files with silence, so a cut-off download or copy would otherwise be
    processed as if it were whole. Every reader of audio files calls this (:func:`read_wav`,
    ``audio_files.read_audio``). Reads chunk headers only; files that are not RIFF/WAVE pass
    (their own decoder judges them). Sizes 0 and 0xFFFFFFFF mean "unknown" (streaming writers).

    Raises:
        InvalidAudio: ``"<path> is truncated: ..."``.
        OSError: the file cannot be opened.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
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


def read_wav(path: str | Path) -> WavData:
    """Read a PCM (8/16/24/32-bit) or float WAV file and its ``acid``/``smpl`` chunks.

    Raises:
        InvalidAudio (a ValueError): not a RIFF/WAVE file, truncated, no ``fmt`` chunk, or an
            unsupported format; the message names ``path``.
        OSError: the file cannot be read.
    """
    data = Path(path).read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise InvalidAudio(f"{path} is not a RIFF/WAVE file")
    check_wav_complete(path)
    position, fmt, payload = 12, None, None
    acid = smpl = None
    while position + 8 <= len(data):
        tag, size = data[position : position + 4], struct.unpack("<I", data[position + 4 : position + 8])[0]
        body = data[position + 8 : position + 8 + size]
        if tag == b"fmt ":
            if len(body) < 16:
                raise InvalidAudio(f"{path} has a fmt chunk of {len(body)} bytes; a WAV's needs 16")
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
        raise InvalidAudio(f"{path} has no {'fmt' if fmt is None else 'data'} chunk")
    tag, channels, sample_rate, _, _, bits = fmt
    if tag == 0xFFFE:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes say PCM or float
        tag = _FLOAT if bits == 32 and len(payload) % 4 == 0 and _is_float_ext(data) else _PCM
    if not 1 <= channels <= 64 or bits not in (8, 16, 24, 32):
        raise InvalidAudio(f"{path}: unsupported WAV format (tag {tag}, {bits} bits, {channels} channels)")
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
        raise InvalidAudio(f"{path}: unsupported WAV format (tag {tag}, {bits} bits, {channels} channels)")
    return WavData(samples.reshape(-1, channels), sample_rate, bits, acid, smpl)


def _is_float_ext(data: bytes) -> bool:
    start = data.find(b"fmt ")
    return start >= 0 and len(data) >= start + 34 and struct.unpack("<H", data[start + 32 : start + 34])[0] == _FLOAT
