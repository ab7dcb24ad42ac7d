"""Short-time Fourier transform and its inverse, matching ``torch.stft(center=True)``.

Periodic Hann window, zero padding of ``n_fft // 2`` at both ends, one frame every ``hop``.
``istft(stft(x))`` reproduces ``x`` to float rounding everywhere (the squared-window sum is
divided out sample by sample, edges included), which is what lets masks that sum to one give
stems that sum to the mixture.

The ``*_frames`` variants keep numpy's natural ``[..., frames, bins]`` layout (no strided
FFTs, no copies); :func:`stft`/:func:`istft` use the ``[..., bins, frames]`` layout of torch
and of the model's tensors. Everything stays in float32/complex64: the FFTs are scipy's, which
transform float32 in single precision (numpy's promote to float64, 8x slower forward here).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

__all__ = ["istft", "istft_frames", "stft", "stft_frames"]


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


def stft_frames(audio: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Complex STFT of ``[..., samples]`` -> complex64 ``[..., 1 + samples // hop, n_fft // 2 + 1]``."""
    pad = n_fft // 2
    audio = np.asarray(audio, np.float32)
    padded = np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(pad, pad)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[..., ::hop, :]
    return scipy.fft.rfft(frames * _window(n_fft), axis=-1).astype(np.complex64, copy=False)


def istft_frames(spec: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    """Inverse of :func:`stft_frames`: ``[..., frames, bins]`` -> float32 ``[..., length]``."""
    frames = scipy.fft.irfft(np.asarray(spec, np.complex64), n=n_fft, axis=-1).astype(np.float32, copy=False)
    frames *= _window(n_fft)
    n_frames, lead = frames.shape[-2], frames.shape[:-2]
    out = np.zeros((*lead, n_fft + hop * (n_frames - 1) + n_fft), np.float32)
    # Frames r, r + k, r + 2k, ... (k = n_fft // hop) tile the output without overlapping, so
    # each such group is added as one strided block instead of frame by frame.
    step = n_fft // hop
    for r in range(min(step, n_frames)):
        group = frames[..., r::step, :]
        count = group.shape[-2]
        view = out[..., r * hop : r * hop + count * n_fft].reshape(*lead, count, n_fft)
        if not np.may_share_memory(view, out):  # reshape had to copy: fall back to frame by frame
            for t in range(r, n_frames, step):
                out[..., t * hop : t * hop + n_fft] += frames[..., t, :]
            continue
        view += group
    pad = n_fft // 2
    out = out[..., pad : pad + length]
    if out.shape[-1] < length:  # frames do not reach `length`: the rest is silence
        out = np.pad(out, [(0, 0)] * len(lead) + [(0, length - out.shape[-1])])
    return out * _inverse_norm(n_fft, hop, n_frames, length)


def stft(audio: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Complex STFT of ``[..., samples]`` -> complex64 ``[..., n_fft // 2 + 1, 1 + samples // hop]``."""
    return np.swapaxes(stft_frames(audio, n_fft, hop), -1, -2)


def istft(spec: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    """Inverse of :func:`stft`: ``[..., bins, frames]`` -> float32 ``[..., length]``."""
    return istft_frames(np.swapaxes(spec, -1, -2), n_fft, hop, length)
