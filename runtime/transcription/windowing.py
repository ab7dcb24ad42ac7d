"""Cut audio into the model's overlapping 2 s windows and stitch the outputs back together.

Geometry (all in samples at 22,050 Hz, see ``constants``): the audio is conceptually
left-padded with ``HALF_OVERLAP_SAMPLES`` zeros and cut into windows of ``WINDOW_SAMPLES``
starting every ``WINDOW_HOP_SAMPLES``; the last window is zero-padded. Window ``k`` therefore
starts at original sample ``k * WINDOW_HOP_SAMPLES - HALF_OVERLAP_SAMPLES``. Of its
``WINDOW_FRAMES`` output frames the ``HALF_OVERLAP_FRAMES`` at each edge are dropped, so kept
frame ``j`` (0-based) of window ``k`` is centred on original sample
``k * WINDOW_HOP_SAMPLES + j * FFT_HOP``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from promptdaw.runtime.transcription.constants import (
    FFT_HOP,
    HALF_OVERLAP_FRAMES,
    HALF_OVERLAP_SAMPLES,
    KEPT_FRAMES_PER_WINDOW,
    WINDOW_FRAMES,
    WINDOW_HOP_SAMPLES,
    WINDOW_SAMPLES,
)


def count_windows(n_samples: int) -> int:
    """Number of model windows needed to cover ``n_samples`` of audio.

    Windows start every ``WINDOW_HOP_SAMPLES`` over the left-padded signal until the padded
    signal is exhausted; this always leaves kept frames past the end of the audio.

    Args:
        n_samples: Length of the (unpadded) audio in samples.

    Returns:
        The window count; 0 for empty audio.

    Raises:
        ValueError: If ``n_samples`` is negative.
    """
    if n_samples < 0:
        raise ValueError(f"n_samples must be >= 0, got {n_samples}")
    if n_samples == 0:
        return 0
    padded = n_samples + HALF_OVERLAP_SAMPLES
    return -(-padded // WINDOW_HOP_SAMPLES)  # ceil division


def _window(audio: np.ndarray, index: int, out: np.ndarray) -> None:
    """Write window ``index`` of ``audio`` into ``out`` (shape [WINDOW_SAMPLES]), zero-padded."""
    start = index * WINDOW_HOP_SAMPLES - HALF_OVERLAP_SAMPLES  # may be negative: left padding
    src_lo = max(start, 0)
    src_hi = min(start + WINDOW_SAMPLES, audio.shape[0])
    out[:] = 0.0
    if src_hi > src_lo:
        out[src_lo - start : src_hi - start] = audio[src_lo:src_hi]


def iter_window_batches(audio: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Yield the model input for ``audio`` in batches, building each batch only when needed.

    Only one batch is alive at a time (the padded signal is never materialised), so memory stays
    bounded at ``batch_size * WINDOW_SAMPLES`` floats however long the audio is.

    Args:
        audio: 1-D mono audio at ``AUDIO_SAMPLE_RATE``.
        batch_size: Maximum number of windows per batch (the last batch may be smaller).

    Yields:
        float32 arrays of shape ``[b, WINDOW_SAMPLES, 1]`` with ``1 <= b <= batch_size``, in
        window order.

    Raises:
        ValueError: If ``audio`` is not 1-D or ``batch_size`` < 1.
    """
    if audio.ndim != 1:
        raise ValueError(f"audio must be 1-D, got shape {audio.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n_windows = count_windows(audio.shape[0])
    for first in range(0, n_windows, batch_size):
        size = min(batch_size, n_windows - first)
        # A fresh array per batch: callers (or the runtime) may hold on to the previous one.
        batch = np.empty((size, WINDOW_SAMPLES, 1), dtype=np.float32)
        for offset in range(size):
            _window(audio, first + offset, batch[offset, :, 0])
        yield batch


def n_output_frames(n_samples: int) -> int:
    """Number of unwrapped frames that describe ``n_samples`` of audio.

    Counts the kept frames whose centre plus one hop still lies inside the audio, using the
    real (drifting) frame positions. For audio shorter than one window hop this equals
    ``floor(n_samples / FFT_HOP)``; for longer audio it is slightly larger, because each window's
    frames are packed ``WINDOW_DRIFT_SAMPLES`` tighter than the nominal hop. Trimming to
    ``floor(n_samples / FFT_HOP)`` instead would silently cut ~1.4 s off a 10-minute file.

    Args:
        n_samples: Length of the (unpadded) audio in samples.

    Returns:
        The frame count.

    Raises:
        ValueError: If ``n_samples`` is negative.
    """
    if n_samples < 0:
        raise ValueError(f"n_samples must be >= 0, got {n_samples}")
    last_centre = n_samples - FFT_HOP  # latest allowed frame centre
    if last_centre < 0:
        return 0
    full_windows, remainder = divmod(last_centre, WINDOW_HOP_SAMPLES)
    in_last_window = min(remainder // FFT_HOP + 1, KEPT_FRAMES_PER_WINDOW)
    return full_windows * KEPT_FRAMES_PER_WINDOW + in_last_window


def frame_sample_positions(frames: np.ndarray | int) -> np.ndarray:
    """Original-audio sample on which each unwrapped frame is centred.

    Args:
        frames: Unwrapped frame indices (any integer array shape, or a scalar). An index one past
            the last frame is allowed (useful for exclusive note ends).

    Returns:
        int64 array of sample positions, same shape as ``frames``.
    """
    window, within = np.divmod(np.asarray(frames, dtype=np.int64), KEPT_FRAMES_PER_WINDOW)
    return window * WINDOW_HOP_SAMPLES + within * FFT_HOP


def unwrap(window_outputs: np.ndarray, n_samples: int) -> np.ndarray:
    """Stitch per-window model outputs into one time line for the original audio.

    Args:
        window_outputs: Array of shape ``[N, WINDOW_FRAMES, bins]`` in window order, as produced
            by running the model on every batch of ``iter_window_batches``.
        n_samples: Length of the original (unpadded) audio in samples.

    Returns:
        Array of shape ``[n_output_frames(n_samples), bins]`` (a copy), same dtype.

    Raises:
        ValueError: If the shape is wrong or there are too few windows for ``n_samples``.
    """
    if window_outputs.ndim != 3 or window_outputs.shape[1] != WINDOW_FRAMES:
        raise ValueError(f"window_outputs must have shape [N, {WINDOW_FRAMES}, bins], got {window_outputs.shape}")
    n_frames = n_output_frames(n_samples)
    kept = window_outputs[:, HALF_OVERLAP_FRAMES : WINDOW_FRAMES - HALF_OVERLAP_FRAMES, :]
    flat = kept.reshape(-1, window_outputs.shape[2])
    if flat.shape[0] < n_frames:
        raise ValueError(
            f"{window_outputs.shape[0]} windows give {flat.shape[0]} frames but "
            f"{n_samples} samples need {n_frames} (expected {count_windows(n_samples)} windows)"
        )
    return flat[:n_frames].copy()
