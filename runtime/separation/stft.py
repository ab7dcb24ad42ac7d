"""Short-time Fourier transform and its inverse, matching ``torch.stft(center=True)``.

Periodic Hann window, zero padding of ``n_fft // 2`` at both ends, one frame every ``hop``.
``istft(stft(x))`` reproduces ``x`` to float rounding everywhere (the squared-window sum is
divided out sample by sample, edges included), which is what lets masks that sum to one give
stems that sum to the mixture.

The ``*_frames`` variants keep numpy's natural ``[..., frames, bins]`` layout (no strided
FFTs, no copies); :func:`stft`/:func:`istft` use the ``[..., bins, frames]`` layout of torch
and of the model's tensors; :func:`istft_masked` applies masks in the model's layout to a
spectrum in numpy's, tile by tile, for the separation runtime. Everything stays in
float32/complex64: the FFTs are scipy's, which transform float32 in single precision (numpy's
promote to float64, 8x slower forward here).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

__all__ = ["istft", "istft_frames", "istft_masked", "stft", "stft_frames"]

#: Frames per tile in :func:`istft_masked`: a tile's masked spectra and frames fit in L2.
TILE_FRAMES = 64
_ROW_PAD = 16  # floats added to each mask row in istft_masked (64 bytes: off the 4 KiB stride)


@lru_cache(maxsize=4)
def _window(n_fft: int) -> np.ndarray:
    n = np.arange(n_fft)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)).astype(np.float32)


@lru_cache(maxsize=16)
def _inverse_norm(n_fft: int, hop: int, n_frames: int, length: int) -> np.ndarray:
    """1 / (sum of squared windows) at each output sample, after removing the centre padding."""
    square = _window(n_fft) ** 2
    norm = np.zeros(n_fft + hop * (n_frames - 1), np.float32)
    for t in range(n_frames):
        norm[t * hop : t * hop + n_fft] += square
    pad = n_fft // 2
    norm = norm[pad : pad + length]
    norm = np.pad(norm, (0, length - norm.shape[0]), constant_values=1.0)
    return (1.0 / np.maximum(norm, 1e-8)).astype(np.float32)


def stft_frames(audio: np.ndarray, n_fft: int, hop: int, pad_mode: str = "constant") -> np.ndarray:
    """Complex STFT of ``[..., samples]`` -> complex64 ``[..., 1 + samples // hop, n_fft // 2 + 1]``.

    ``pad_mode`` is ``np.pad``'s mode for the centre padding: zeros, or ``"reflect"`` as
    ``torch.stft``'s default and HTDemucs use.
    """
    pad = n_fft // 2
    # C order matters: a transposed (Fortran-ordered) input stays so through np.pad, and the
    # frames would then be read with a stride, three times slower.
    audio = np.ascontiguousarray(audio, np.float32)
    padded = np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(pad, pad)], mode=pad_mode)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[..., ::hop, :]
    return scipy.fft.rfft(frames * _window(n_fft), axis=-1).astype(np.complex64, copy=False)


def _overlap_add(frames: np.ndarray, out: np.ndarray, first: int, hop: int) -> None:
    """Add windowed ``[..., count, n_fft]`` frames, the first being frame ``first``, into ``out``.

    ``out`` is the uncropped ``[..., n_fft + hop * (n_frames - 1) + n_fft]`` signal (the last
    ``n_fft`` is slack for the block views below).
    """
    n_fft, count = frames.shape[-1], frames.shape[-2]
    lead = out.shape[:-1]
    # Frames r, r + k, r + 2k, ... (k = n_fft // hop) tile the output without overlapping, so
    # each such group is added as one strided block instead of frame by frame.
    step = n_fft // hop
    for r in range(min(step, count)):
        group = frames[..., r::step, :]
        start = (first + r) * hop
        view = out[..., start : start + group.shape[-2] * n_fft].reshape(*lead, group.shape[-2], n_fft)
        if not np.may_share_memory(view, out):  # reshape had to copy: fall back to frame by frame
            for t in range(r, count, step):
                out[..., (first + t) * hop : (first + t) * hop + n_fft] += frames[..., t, :]
            continue
        view += group


def _crop_and_normalise(out: np.ndarray, n_fft: int, hop: int, n_frames: int, length: int) -> np.ndarray:
    """The ``length`` samples after the centre padding, divided by the squared-window sum."""
    pad = n_fft // 2
    out = out[..., pad : pad + length]
    if out.shape[-1] < length:  # frames do not reach `length`: the rest is silence
        out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, length - out.shape[-1])])
    return out * _inverse_norm(n_fft, hop, n_frames, length)


def _signal_buffer(lead: tuple[int, ...], n_fft: int, hop: int, n_frames: int) -> np.ndarray:
    """Zeros for :func:`_overlap_add` to add ``n_frames`` frames into."""
    return np.zeros((*lead, n_fft + hop * (n_frames - 1) + n_fft), np.float32)


def istft_frames(spec: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    """Inverse of :func:`stft_frames`: ``[..., frames, bins]`` -> float32 ``[..., length]``."""
    frames = scipy.fft.irfft(np.asarray(spec, np.complex64), n=n_fft, axis=-1).astype(np.float32, copy=False)
    frames *= _window(n_fft)
    out = _signal_buffer(frames.shape[:-2], n_fft, hop, frames.shape[-2])
    _overlap_add(frames, out, 0, hop)
    return _crop_and_normalise(out, n_fft, hop, frames.shape[-2], length)


def istft_masked(spec: np.ndarray, masks: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    """Inverse STFTs of ``spec`` times each mask: float32 ``[masks, length]``.

    ``spec`` is one channel's ``[frames, bins]`` (as :func:`stft_frames` gives it), ``masks``
    are ``[masks, bins, frames]`` (the model's layout, any strides). Equal to
    ``istft_frames(masks.transpose(0, 2, 1) * spec, ...)`` up to float rounding, but done
    ``TILE_FRAMES`` frames at a time: the bins-major masks are then transposed within the
    cache, and no full-size masked spectrum or frame array is ever allocated (those cost
    more than the FFTs: strided reads and fresh pages).
    """
    n_frames = spec.shape[0]
    # Rows 1024 frames long (the model's chunk) are 4 KiB apart, and reading down such rows,
    # as the transposition does, maps every row to the same cache sets: a copy into rows padded
    # off that stride is a fraction of a millisecond and makes the multiply 2.5x faster.
    rows = np.empty((*masks.shape[:2], n_frames + _ROW_PAD), np.float32)[..., :n_frames]
    rows[...] = masks
    window = _window(n_fft)
    out = _signal_buffer((masks.shape[0],), n_fft, hop, n_frames)
    for first in range(0, n_frames, TILE_FRAMES):
        last = min(first + TILE_FRAMES, n_frames)
        masked = rows[:, :, first:last].transpose(0, 2, 1) * spec[first:last]
        frames = scipy.fft.irfft(masked, n=n_fft, axis=-1).astype(np.float32, copy=False)
        frames *= window
        _overlap_add(frames, out, first, hop)
    return _crop_and_normalise(out, n_fft, hop, n_frames, length)


def stft(audio: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Complex STFT of ``[..., samples]`` -> complex64 ``[..., n_fft // 2 + 1, 1 + samples // hop]``."""
    return np.swapaxes(stft_frames(audio, n_fft, hop), -1, -2)


def istft(spec: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    """Inverse of :func:`stft`: ``[..., bins, frames]`` -> float32 ``[..., length]``."""
    return istft_frames(np.swapaxes(spec, -1, -2), n_fft, hop, length)
