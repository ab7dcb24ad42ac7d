"""Audio to notes with the Basic Pitch model: windowing, inference, unwrapping, note creation.

The model itself is injected as ``run_model`` so this module has no runtime dependency and the
caller owns the session (providers, threads) and the ONNX tensor names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from promptdaw.runtime.transcription.constants import (
    DEFAULT_FRAME_THRESHOLD,
    DEFAULT_MIN_NOTE_MS,
    DEFAULT_ONSET_THRESHOLD,
    N_PITCH_BINS,
    WINDOW_FRAMES,
)
from promptdaw.runtime.transcription.notes import NoteEvent, posteriorgrams_to_notes
from promptdaw.runtime.transcription.windowing import count_windows, iter_window_batches, unwrap

RunModel = Callable[[np.ndarray], Mapping[str, np.ndarray]]

# Only these heads feed note creation; the pitch contour would only matter for pitch bends.
_NOTE_KEYS = ("note", "onset")


def _checked_audio(audio: np.ndarray) -> np.ndarray:
    """Check that ``audio`` is usable model input and return it as contiguous float32.

    Args:
        audio: Candidate mono signal.

    Returns:
        ``audio`` as a C-contiguous float32 array (no copy when it already is one).

    Raises:
        ValueError: If ``audio`` is not 1-D, is empty, or contains NaN or infinity.
    """
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"audio must be 1-D mono samples, got shape {audio.shape}")
    if audio.shape[0] == 0:
        raise ValueError("audio is empty")
    if not np.issubdtype(audio.dtype, np.number):
        raise ValueError(f"audio must be numeric, got dtype {audio.dtype}")
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if not np.isfinite(audio).all():
        raise ValueError("audio contains NaN or infinite samples")
    return audio


def _head(outputs: Mapping[str, np.ndarray], key: str, batch_len: int) -> np.ndarray:
    """Fetch one model head and check its shape, so a wrong name mapping fails loudly."""
    if key not in outputs:
        raise ValueError(f"run_model output lacks {key!r}; got keys {sorted(outputs)}")
    head = np.asarray(outputs[key], dtype=np.float32)
    expected = (batch_len, WINDOW_FRAMES, N_PITCH_BINS)
    if head.shape != expected:
        raise ValueError(f"run_model output {key!r} has shape {head.shape}, expected {expected}")
    return head


def transcribe(
    audio: np.ndarray,
    run_model: RunModel,
    *,
    onset_threshold: float = DEFAULT_ONSET_THRESHOLD,
    frame_threshold: float = DEFAULT_FRAME_THRESHOLD,
    min_note_ms: float = DEFAULT_MIN_NOTE_MS,
    batch_size: int = 8,
    progress: Callable[[float], None] | None = None,
    suppress_harmonics: bool = True,
) -> list[NoteEvent]:
    """Transcribe mono audio to note events.

    Args:
        audio: 1-D mono float samples at 22,050 Hz (the caller resamples).
        run_model: Runs the model on a float32 ``[b, 43844, 1]`` batch and returns a mapping
            with at least ``"note"`` and ``"onset"`` arrays of shape ``[b, 172, 88]``
            (``"contour"`` is accepted and ignored).
        onset_threshold: Minimum onset activation that starts a note.
        frame_threshold: Minimum frame activation that keeps a note sounding.
        min_note_ms: Notes must be longer than this many milliseconds.
        batch_size: Windows per ``run_model`` call (2 s of audio each).
        progress: Called with the fraction of windows done (0 < f <= 1) after every batch.
            Exceptions it raises propagate unchanged, which is how callers cancel.
        suppress_harmonics: Drop the weak notes the model adds at harmonic intervals (octave,
            twelfth, ...) above a stronger note starting with them; see
            ``notes.find_harmonic_ghosts``.

    Returns:
        Notes sorted by start time, then pitch.

    Raises:
        ValueError: For invalid audio , ``batch_size`` < 1, invalid
            thresholds, or model outputs with missing keys or wrong shapes.
    """
    audio = _checked_audio(audio)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n_samples = audio.shape[0]
    n_windows = count_windows(n_samples)

    parts: dict[str, list[np.ndarray]] = {key: [] for key in _NOTE_KEYS}
    done = 0
    for batch in iter_window_batches(audio, batch_size):
        outputs = run_model(batch)
        for key in _NOTE_KEYS:
            parts[key].append(_head(outputs, key, batch.shape[0]))
        done += batch.shape[0]
        if progress is not None:
            progress(done / n_windows)

    note = unwrap(np.concatenate(parts["note"]), n_samples)
    onset = unwrap(np.concatenate(parts["onset"]), n_samples)
    return posteriorgrams_to_notes(
        note,
        onset,
        onset_threshold=onset_threshold,
        frame_threshold=frame_threshold,
        min_note_ms=min_note_ms,
        suppress_harmonics=suppress_harmonics,
    )
