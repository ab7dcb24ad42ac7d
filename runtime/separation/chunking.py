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

__all__ = [
    "Geometry",
    "RunModel",
    "StreamSeparator",
    "count_segments",
    "iter_blocks",
    "iter_separate",
    "separate_array",
    "to_stereo",
]

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


class StreamSeparator:
    """One streaming separation: input blocks go in through :meth:`feed` and :meth:`finish`, stem blocks come out.

    Each segment goes through four steps, one method each: :meth:`_read_segment` (cut and pad),
    :meth:`_run_model` (STFTs and masks), :meth:`_overlap_add` (masked inverse STFTs, weighted,
    into the accumulator) and :meth:`_emit` (normalise what no later segment touches, resample it
    back, yield it). ``progress`` runs after every segment's overlap-add: an exception it raises
    (cancellation) stops the work between segments.

    State, at the model rate unless named otherwise: ``pending`` is the input from ``position``
    (where the next segment starts) on; ``acc`` and ``wsum`` are the weighted stems and the summed
    weights from ``position`` on, channel-major (``acc`` is ``[sources, 2, chunk_samples]``), so each
    channel's work runs on its own thread over contiguous rows; ``received`` counts the input
    samples so far, ``done`` the segments, ``emitted`` the output frames (at the input rate).
    ``sources`` names the model's outputs (a subclass may have others: ``drums.DrumStream``).
    """

    sources: tuple[str, ...] = SOURCES

    def __init__(
        self,
        sample_rate: int,
        total_frames: int,
        run_model: RunModel,
        *,
        geometry: Geometry | None = None,
        progress: Progress = lambda done, total: None,
    ) -> None:
        self.geometry = geometry = geometry or Geometry()
        self.total_frames = total_frames
        self.run_model = run_model
        self.progress = progress
        self.n_model = round(total_frames * geometry.sample_rate / sample_rate)  # samples the resampler will give
        self.total_segments = count_segments(self.n_model, geometry)
        self.seg_n, self.stride = geometry.chunk_samples, geometry.stride_samples
        self.weights = _weights(geometry)
        self.to_model = _Resampler(sample_rate, geometry.sample_rate, CHANNELS)
        self.from_model = _Resampler(geometry.sample_rate, sample_rate, len(self.sources) * CHANNELS)
        self.pending = np.zeros((0, CHANNELS), np.float32)
        self.acc = np.zeros((len(self.sources), CHANNELS, self.seg_n), np.float32)
        self.wsum = np.zeros(self.seg_n, np.float32)
        self.position = 0
        self.received = 0
        self.done = 0
        self.emitted = 0

    def feed(self, block: np.ndarray) -> Iterator[np.ndarray]:
        """Take the next ``[frames, channels]`` input block; yield the stem blocks it completes.

        A generator, like :meth:`finish`: the block is taken only once the result is iterated.
        """
        self._receive(self.to_model(to_stereo(block)))
        # A segment that is full and not the last one can run now; the last waits for the end.
        while self.pending.shape[0] > self.seg_n and self.position + self.seg_n < self.n_model:
            yield from self._segment(final=False)

    def finish(self) -> Iterator[np.ndarray]:
        """After the last block: flush the resampler, run the remaining segments, yield the rest."""
        self._receive(self.to_model(np.zeros((0, CHANNELS), np.float32), last=True))
        if self.received == 0:
            return
        while self.position + self.seg_n < self.received:
            yield from self._segment(final=False)
        yield from self._segment(final=True)

    def _receive(self, resampled: np.ndarray) -> None:
        """Append model-rate input to ``pending``."""
        self.received += resampled.shape[0]
        if resampled.size:
            self.pending = np.concatenate([self.pending, resampled]) if self.pending.size else resampled

    def _segment(self, final: bool) -> Iterator[np.ndarray]:
        """Process the segment at ``position``; emit what no later segment touches, then move on a stride."""
        segment = self._read_segment()
        self._overlap_add(segment, *self._run_model(segment))
        self.done += 1
        self.progress(self.done, self.total_segments)
        if final:
            yield from self._emit(min(self.received - self.position, self.seg_n), last=True)
            return
        yield from self._emit(self.stride)  # a new array: the shift below does not touch it
        self._advance()

    def _read_segment(self) -> np.ndarray:
        """The ``[2, chunk_samples]`` segment at ``position``, channel-major, zero-padded past the input."""
        head = self.pending[: self.seg_n]
        segment = np.empty((CHANNELS, self.seg_n), np.float32)  # channel-major: each channel's rows contiguous
        segment[:, : head.shape[0]] = head.T
        segment[:, head.shape[0] :] = 0.0
        return segment

    def _run_model(self, segment: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Each channel's STFT (a thread each), then the model's masks ``[1, sources, 2, bins, frames]``."""
        n_fft, hop, n = self.geometry.n_fft, self.geometry.hop, segment.shape[1]
        magnitude = np.empty((1, CHANNELS, n_fft // 2 + 1, 1 + n // hop), np.float32)  # the model's layout

        def analyse(c: int) -> np.ndarray:
            spec = stft_frames(segment[c], n_fft, hop)  # [frames, bins]
            magnitude[0, c] = np.abs(spec).T
            return spec

        spec = list(_channel_pool().map(analyse, range(CHANNELS)))
        masks = self.run_model(magnitude)
        if masks.shape[:3] != (1, len(self.sources), CHANNELS) or masks.shape[3:] != magnitude.shape[2:]:
            expected = [1, len(self.sources), CHANNELS, *magnitude.shape[2:]]
            raise ValueError(f"model returned masks of shape {masks.shape}, expected {expected}")
        return spec, masks

    def _overlap_add(self, segment: np.ndarray, spec: list[np.ndarray], masks: np.ndarray) -> None:
        """Add the segment's stems, times the weights, to ``acc``, and the weights to ``wsum``.

        Only the first three stems go through the inverse STFT; the last ("other") is the segment
        minus their sum, which is what the masks summing to one make it anyway, for 25 % less work
        and an exact sum.
        """
        n_fft, hop, n = self.geometry.n_fft, self.geometry.hop, segment.shape[1]
        weights, acc = self.weights, self.acc

        def synthesise(c: int) -> None:
            stems = istft_masked(spec[c], masks[0, :-1, c], n_fft, hop, n)  # [S-1, n]
            other = segment[c] - stems.sum(axis=0)
            stems *= weights
            other *= weights
            acc[:-1, c] += stems
            acc[-1, c] += other

        list(_channel_pool().map(synthesise, range(CHANNELS)))
        self.wsum += weights

    def _emit(self, count: int, last: bool = False) -> Iterator[np.ndarray]:
        """Yield the first ``count`` accumulated samples, normalised, at the input rate."""
        acc, wsum, sources = self.acc, self.wsum, len(self.sources)
        # The division writes straight into the layout the next step wants (no extra copies):
        # [sources, frames, 2] to yield, or [frames, sources * 2] for the resampler.
        if self.from_model.passthrough:
            out = np.empty((sources, count, CHANNELS), np.float32)
            np.divide(acc[..., :count], wsum[:count], out=out.transpose(0, 2, 1))
        else:
            interleaved = np.empty((count, sources, CHANNELS), np.float32)
            np.divide(acc[..., :count], wsum[:count], out=interleaved.transpose(1, 2, 0))
            out = self.from_model(interleaved.reshape(count, -1), last=last)
            out = out.reshape(-1, sources, CHANNELS).transpose(1, 0, 2)
        remaining = self.total_frames - self.emitted
        if out.shape[1] > remaining:
            out = out[:, :remaining]
        if last and out.shape[1] < remaining:
            out = np.concatenate([out, np.zeros((sources, remaining - out.shape[1], CHANNELS), np.float32)], axis=1)
        self.emitted += out.shape[1]
        if out.shape[1]:
            yield np.ascontiguousarray(out)

    def _advance(self) -> None:
        """Move ``position`` on by a stride: shift the accumulators and drop the input behind it."""
        keep, stride = self.seg_n - self.stride, self.stride
        self.acc[..., :keep] = self.acc[..., stride:]
        self.acc[..., keep:] = 0.0
        self.wsum[:keep] = self.wsum[stride:]
        self.wsum[keep:] = 0.0
        self.pending = self.pending[stride:]
        self.position += stride


def iter_separate(
    blocks: Iterable[np.ndarray],
    sample_rate: int,
    total_frames: int,
    run_model: RunModel,
    *,
    geometry: Geometry | None = None,
    progress: Progress = lambda done, total: None,
    stream: type[StreamSeparator] = StreamSeparator,
) -> Iterator[np.ndarray]:
    """Separate a stream of input blocks; yield ``[4, n, 2]`` float32 stem blocks at ``sample_rate``
    (``[len(stream.sources), n, 2]`` for another ``stream`` class, such as the drum split's).

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
    separator = stream(sample_rate, total_frames, run_model, geometry=geometry, progress=progress)
    for block in blocks:
        yield from separator.feed(block)
    yield from separator.finish()


def separate_array(
    samples: np.ndarray,
    sample_rate: int,
    run_model: RunModel,
    *,
    geometry: Geometry | None = None,
    progress: Progress = lambda done, total: None,
    stream: type[StreamSeparator] = StreamSeparator,
) -> np.ndarray:
    """Separate an in-memory ``[frames, channels]`` signal: float32 ``[4, frames, 2]`` (or as many
    sources as ``stream`` has)."""
    out = np.empty((len(stream.sources), samples.shape[0], CHANNELS), np.float32)
    filled = 0
    for block in iter_separate(iter_blocks(samples), sample_rate, samples.shape[0], run_model,
                               geometry=geometry, progress=progress, stream=stream):  # fmt: skip
        out[:, filled : filled + block.shape[1]] = block
        filled += block.shape[1]
    if filled != samples.shape[0]:
        raise RuntimeError(f"separation produced {filled} frames for {samples.shape[0]} input frames")
    return out
