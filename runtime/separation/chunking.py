"""Chunked, streaming stem separation: bounded memory for any input length.

Pipeline, block by block (nothing holds the whole signal)::

    input blocks (any rate, any channels)
      -> stereo                          (mono duplicated; >2 channels averaged to both sides)
      -> soxr stream to 44.1 kHz         (skipped when the input is 44.1 kHz)
      -> segments of CHUNK_SAMPLES, each starting (CHUNK_SAMPLES - OVERLAP_SAMPLES) after the last
      -> per segment: STFT, model masks, masked STFTs, inverse STFT -> 4 stereo stems
      -> weighted overlap-add: trapezoid weights (linear ramps over the overlap), divided by
         the summed weights, as Demucs' ``apply_model`` does
      -> soxr stream back to the input rate (8 channels: 4 stems x stereo)
      -> output blocks ``[4, n, 2]``, in order, exactly as many frames as the input.

Because the masks sum to one, every segment's stems sum to the segment, and the normalised
overlap-add keeps that: stems sum to the (stereo) mixture up to float rounding at 44.1 kHz,
and up to the resampler's band-limit otherwise. ``progress`` is called after every segment;
an exception raised there (cancellation) stops the work between segments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import soxr

from promptdaw.runtime.separation.constants import (
    CHANNELS,
    CHUNK_FRAMES,
    FRAME_MULTIPLE,
    HOP,
    N_FFT,
    OVERLAP_FRAMES,
    SAMPLE_RATE,
    SOURCES,
)
from promptdaw.runtime.separation.stft import istft_masked, stft_frames

__all__ = ["Geometry", "RunModel", "count_segments", "iter_blocks", "iter_separate", "separate_array", "to_stereo"]

#: ``magnitude [1, 2, bins, frames] -> masks [1, sources, 2, bins, frames]``
RunModel = Callable[[np.ndarray], np.ndarray]
Progress = Callable[[int, int], None]  # (segments done, segments in all)
#: Frames per block when an in-memory array is fed through the stream (10 s at 44.1 kHz).
BLOCK_FRAMES = 441_000


@dataclass(frozen=True)
class Geometry:
    """STFT and chunk geometry (defaults from ``constants``; a manifest's ``window`` may override)."""

    sample_rate: int = SAMPLE_RATE
    n_fft: int = N_FFT
    hop: int = HOP
    chunk_frames: int = CHUNK_FRAMES
    overlap_frames: int = OVERLAP_FRAMES
    frame_multiple: int = FRAME_MULTIPLE

    def __post_init__(self) -> None:
        if self.n_fft % self.hop:
            raise ValueError(f"n_fft ({self.n_fft}) must be a multiple of hop ({self.hop})")
        if self.chunk_frames % self.frame_multiple:
            raise ValueError(f"chunk_frames must be a multiple of {self.frame_multiple}, got {self.chunk_frames}")
        if not 0 < self.overlap_frames <= self.chunk_frames // 2:
            raise ValueError(f"overlap_frames must be in 1..{self.chunk_frames // 2}, got {self.overlap_frames}")

    @classmethod
    def from_manifest_window(cls, window: dict | None) -> Geometry:
        window = window or {}
        names = ("n_fft", "hop", "chunk_frames", "overlap_frames", "frame_multiple")
        return cls(sample_rate=int(window.get("sample_rate", SAMPLE_RATE)),
                   **{k: int(window[k]) for k in names if k in window})  # fmt: skip

    @property
    def chunk_samples(self) -> int:
        return (self.chunk_frames - 1) * self.hop

    @property
    def overlap_samples(self) -> int:
        return self.overlap_frames * self.hop

    @property
    def stride_samples(self) -> int:
        return self.chunk_samples - self.overlap_samples


def count_segments(n_samples: int, geometry: Geometry) -> int:
    """Segments needed for ``n_samples`` at the model rate (0 for none)."""
    if n_samples <= 0:
        return 0
    if n_samples <= geometry.chunk_samples:
        return 1
    return 1 + -(-(n_samples - geometry.chunk_samples) // geometry.stride_samples)


def to_stereo(block: np.ndarray) -> np.ndarray:
    """``[frames, channels]`` -> float32 ``[frames, 2]`` (see the module docstring)."""
    if block.ndim == 1:
        block = block[:, None]
    if block.shape[1] == CHANNELS:
        return np.asarray(block, np.float32)
    mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
    return np.repeat(np.asarray(mono, np.float32)[:, None], CHANNELS, axis=1)


def iter_blocks(samples: np.ndarray, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """Views of an in-memory ``[frames, channels]`` array, ``block_frames`` at a time."""
    for start in range(0, samples.shape[0], block_frames):
        yield samples[start : start + block_frames]


def _weights(geometry: Geometry) -> np.ndarray:
    """Trapezoid: linear ramps over the overlap at both ends, never zero."""
    n, ramp = geometry.chunk_samples, geometry.overlap_samples
    i = np.arange(n, dtype=np.float32) + 0.5
    return np.minimum(1.0, np.minimum(i, n - i) / ramp).astype(np.float32)


def _separate_segment(
    segment: np.ndarray, run_model: RunModel, geometry: Geometry, weights: np.ndarray, acc: np.ndarray
) -> None:
    """Add the stems of one ``[2, chunk_samples]`` segment, times ``weights``, to ``acc``.

    ``acc`` is ``[sources, 2, chunk_samples]``: channel-major like the segment, so each channel's
    work (forward STFT, then masked inverse STFTs and accumulation) runs on its own thread over
    contiguous rows. Only the first three stems go through the inverse STFT; the last ("other")
    is the segment minus their sum, which is what the masks summing to one make it anyway, for
    25 % less work and an exact sum.
    """
    n_fft, hop, n = geometry.n_fft, geometry.hop, segment.shape[1]
    magnitude = np.empty((1, CHANNELS, n_fft // 2 + 1, 1 + n // hop), np.float32)  # the model's layout

    def analyse(c: int) -> np.ndarray:
        spec = stft_frames(segment[c], n_fft, hop)  # [frames, bins]
        magnitude[0, c] = np.abs(spec).T
        return spec

    spec = list(_channel_pool().map(analyse, range(CHANNELS)))
    masks = run_model(magnitude)  # [1, S, 2, bins, frames]
    if masks.shape[:3] != (1, len(SOURCES), CHANNELS) or masks.shape[3:] != magnitude.shape[2:]:
        raise ValueError(f"model returned masks of shape {masks.shape}, expected "
                         f"[1, {len(SOURCES)}, {CHANNELS}, {magnitude.shape[2]}, {magnitude.shape[3]}]")  # fmt: skip

    def synthesise(c: int) -> None:
        stems = istft_masked(spec[c], masks[0, :-1, c], n_fft, hop, n)  # [S-1, n]
        other = segment[c] - stems.sum(axis=0)
        stems *= weights
        other *= weights
        acc[:-1, c] += stems
        acc[-1, c] += other

    list(_channel_pool().map(synthesise, range(CHANNELS)))


@lru_cache(maxsize=1)
def _channel_pool() -> ThreadPoolExecutor:
    """One thread per channel: numpy and scipy release the GIL, so the channels run side by side."""
    return ThreadPoolExecutor(max_workers=CHANNELS, thread_name_prefix="stems-channel")


class _Resampler:
    """A soxr stream, or nothing at all when the rates match."""

    def __init__(self, in_rate: int, out_rate: int, channels: int) -> None:
        self._stream = None if in_rate == out_rate else soxr.ResampleStream(in_rate, out_rate, channels, "float32")

    @property
    def passthrough(self) -> bool:
        return self._stream is None

    def __call__(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return block
        return self._stream.resample_chunk(np.ascontiguousarray(block, np.float32), last=last)


def iter_separate(
    blocks: Iterable[np.ndarray],
    sample_rate: int,
    total_frames: int,
    run_model: RunModel,
    *,
    geometry: Geometry | None = None,
    progress: Progress = lambda done, total: None,
) -> Iterator[np.ndarray]:
    """Separate a stream of input blocks; yield ``[4, n, 2]`` float32 stem blocks at ``sample_rate``.

    Args:
        blocks: ``[frames, channels]`` blocks of the input, in order, ``total_frames`` in all.
        sample_rate: the input's rate; outputs come back at the same rate.
        total_frames: the input's length in frames (for progress and the exact output length).
        run_model: the model (see :data:`RunModel`).
        geometry: STFT and chunk geometry (default: ``constants``).
        progress: called as ``progress(segments_done, segments_total)``; may raise to stop.

    Yields:
        Consecutive stem blocks whose lengths add up to exactly ``total_frames``.
    """
    geometry = geometry or Geometry()
    model_rate = geometry.sample_rate
    n_model = round(total_frames * model_rate / sample_rate)  # samples the resampler will give
    total_segments = count_segments(n_model, geometry)
    seg_n, stride = geometry.chunk_samples, geometry.stride_samples
    weights = _weights(geometry)
    to_model = _Resampler(sample_rate, model_rate, CHANNELS)
    from_model = _Resampler(model_rate, sample_rate, len(SOURCES) * CHANNELS)

    pending = np.zeros((0, CHANNELS), np.float32)  # model-rate input from `position` on
    acc = np.zeros((len(SOURCES), CHANNELS, seg_n), np.float32)  # weighted stems from `position` on
    wsum = np.zeros(seg_n, np.float32)
    position = 0  # model-rate sample where the next segment starts
    received = 0  # model-rate samples received so far
    done = 0
    emitted = 0  # output frames yielded so far

    def emit(count: int, last: bool = False) -> Iterator[np.ndarray]:
        """Yield the first `count` accumulated samples, normalised, at the input rate."""
        nonlocal emitted
        # The division writes straight into the layout the next step wants (no extra copies):
        # [sources, frames, 2] to yield, or [frames, sources * 2] for the resampler.
        if from_model.passthrough:
            out = np.empty((len(SOURCES), count, CHANNELS), np.float32)
            np.divide(acc[..., :count], wsum[:count], out=out.transpose(0, 2, 1))
        else:
            interleaved = np.empty((count, len(SOURCES), CHANNELS), np.float32)
            np.divide(acc[..., :count], wsum[:count], out=interleaved.transpose(1, 2, 0))
            out = from_model(interleaved.reshape(count, -1), last=last)
            out = out.reshape(-1, len(SOURCES), CHANNELS).transpose(1, 0, 2)
        if emitted + out.shape[1] > total_frames:
            out = out[:, : total_frames - emitted]
        if last and emitted + out.shape[1] < total_frames:
            out = np.concatenate([out, np.zeros((len(SOURCES), total_frames - emitted - out.shape[1], CHANNELS),
                                                np.float32)], axis=1)  # fmt: skip
        emitted += out.shape[1]
        if out.shape[1]:
            yield np.ascontiguousarray(out)

    def run_segment(final: bool) -> Iterator[np.ndarray]:
        """Process the segment at `position`; emit what no later segment touches."""
        nonlocal pending, position, done
        head = pending[:seg_n]
        segment = np.empty((CHANNELS, seg_n), np.float32)  # channel-major: each channel's rows contiguous
        segment[:, : head.shape[0]] = head.T
        segment[:, head.shape[0] :] = 0.0
        _separate_segment(segment, run_model, geometry, weights, acc)
        wsum[:] += weights
        done += 1
        progress(done, total_segments)
        if final:
            yield from emit(min(received - position, seg_n), last=True)
            return
        yield from emit(stride)  # a new array: the shift below does not touch it
        acc[..., : seg_n - stride] = acc[..., stride:]
        acc[..., seg_n - stride :] = 0.0
        wsum[: seg_n - stride] = wsum[stride:]
        wsum[seg_n - stride :] = 0.0
        pending = pending[stride:]
        position += stride

    for block in blocks:
        resampled = to_model(to_stereo(block))
        received += resampled.shape[0]
        pending = np.concatenate([pending, resampled]) if pending.size else resampled
        # A segment that is full and not the last one can run now; the last waits for the end.
        while pending.shape[0] > seg_n and position + seg_n < n_model:
            yield from run_segment(final=False)
    tail = to_model(np.zeros((0, CHANNELS), np.float32), last=True)
    received += tail.shape[0]
    pending = np.concatenate([pending, tail]) if tail.size else pending
    if received == 0:
        return
    while position + seg_n < received:
        yield from run_segment(final=False)
    yield from run_segment(final=True)


def separate_array(
    samples: np.ndarray,
    sample_rate: int,
    run_model: RunModel,
    *,
    geometry: Geometry | None = None,
    progress: Progress = lambda done, total: None,
) -> np.ndarray:
    """Separate an in-memory ``[frames, channels]`` signal: float32 ``[4, frames, 2]``."""
    out = np.empty((len(SOURCES), samples.shape[0], CHANNELS), np.float32)
    filled = 0
    for block in iter_separate(iter_blocks(samples), sample_rate, samples.shape[0], run_model,
                               geometry=geometry, progress=progress):  # fmt: skip
        out[:, filled : filled + block.shape[1]] = block
        filled += block.shape[1]
    if filled != samples.shape[0]:
        raise RuntimeError(f"separation produced {filled} frames for {samples.shape[0]} input frames")
    return out
