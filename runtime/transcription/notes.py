"""Turn Basic Pitch posteriorgrams (frame and onset activations) into note events.

Pure numpy. The approach is the usual one for this model: onsets are peaks of the onset
posteriorgram (optionally reinforced by rises of the frame posteriorgram); each onset is
extended forward while the frame posteriorgram stays active; energy not explained by any
onset can optionally become notes of its own. Finally, weak notes at harmonic intervals above a
stronger simultaneous note (the model's echoes of its upper partials) are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from promptdaw.runtime.transcription.constants import (
    AUDIO_SAMPLE_RATE,
    DEFAULT_FRAME_THRESHOLD,
    DEFAULT_GHOST_END_SLACK_S,
    DEFAULT_GHOST_MAX_HARMONIC,
    DEFAULT_GHOST_ONSET_TOLERANCE_S,
    DEFAULT_GHOST_STRENGTH_RATIO,
    DEFAULT_MIN_NOTE_MS,
    DEFAULT_ONSET_THRESHOLD,
    ENERGY_TOLERANCE_FRAMES,
    FRAMES_PER_SECOND,
    INFERRED_ONSET_LAGS,
    MIDI_OFFSET,
    ONSET_STRENGTH_FRAMES,
)
from promptdaw.runtime.transcription.windowing import frame_sample_positions

# Seconds added to every frame position. With frames placed at their centre sample, onsets of
# synthetic notes over 2 minutes came out -2 ms (+/- 4 ms) from the truth with no trend, i.e.
# well inside one frame (11.6 ms), so no bias correction is applied; kept as a named constant
# so it is easy to recalibrate.
FRAME_TIME_OFFSET_S = 0.0


@dataclass(frozen=True, slots=True)
class NoteEvent:
    """One transcribed note.

    Attributes:
        start_s: Onset time in seconds from the start of the audio.
        end_s: Offset time in seconds (exclusive end of the last active frame).
        pitch: MIDI note number.
        velocity: MIDI velocity, 1..127.
    """

    start_s: float
    end_s: float
    pitch: int
    velocity: int


def frames_to_seconds(frames: np.ndarray | int) -> np.ndarray:
    """Time in seconds of unwrapped frame indices, corrected for window drift.

    Args:
        frames: Unwrapped frame indices (array or scalar); one past the last frame is allowed.

    Returns:
        float64 array of times, same shape as ``frames``.
    """
    return frame_sample_positions(frames) / AUDIO_SAMPLE_RATE + FRAME_TIME_OFFSET_S


def min_note_frames(min_note_ms: float) -> int:
    """Minimum note length in frames; notes must be strictly longer than this.

    Args:
        min_note_ms: Minimum length in milliseconds.

    Returns:
        The length rounded to whole frames (127.7 ms -> 11 frames).
    """
    return round(min_note_ms / 1000.0 * FRAMES_PER_SECOND)


def add_inferred_onsets(note: np.ndarray, onset: np.ndarray, lags: int = INFERRED_ONSET_LAGS) -> np.ndarray:
    """Reinforce the onset posteriorgram with sharp rises of the frame posteriorgram.

    The onset head sometimes misses re-attacks that the note head clearly shows as a jump; a
    rise must hold over every lag in ``1..lags`` (the minimum is taken) to count, so slow
    swells are ignored. Rises are rescaled to the onset map's peak so both live on one scale.

    Args:
        note: Frame posteriorgram, shape ``[frames, bins]``.
        onset: Onset posteriorgram, same shape.
        lags: Number of frame lags the rise must hold over.

    Returns:
        Combined onset map (element-wise max), same shape, float32.
    """
    rise = np.full(note.shape, np.inf, dtype=np.float32)
    for lag in range(1, lags + 1):
        diff = np.zeros(note.shape, dtype=np.float32)
        diff[lag:] = note[lag:] - note[:-lag]
        np.minimum(rise, diff, out=rise)
    rise[:lags] = 0.0  # no history to compare with: a note sounding at t=0 is not a "rise"
    np.maximum(rise, 0.0, out=rise)
    peak = float(rise.max(initial=0.0))
    if peak > 0.0:
        rise *= float(onset.max(initial=0.0)) / peak
    return np.maximum(onset, rise).astype(np.float32, copy=False)


def find_onset_peaks(onset: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Frames and bins where the onset map has a local maximum in time at or above threshold.

    A peak rises from the previous frame and does not rise into the next, so a flat top (e.g.
    a saturated 1.0) yields one peak at its first frame. Frames outside the map count as 0, so
    an onset in the very first frame is still found.

    Args:
        onset: Onset map, shape ``[frames, bins]``.
        threshold: Minimum onset value of a peak.

    Returns:
        ``(frames, bins)`` int arrays of equal length, in no particular order.
    """
    padded = np.pad(onset, ((1, 1), (0, 0)))
    centre = padded[1:-1]
    is_peak = (centre > padded[:-2]) & (centre >= padded[2:]) & (centre >= threshold)
    frames, bins = np.nonzero(is_peak)
    return frames, bins


def _extent(active: np.ndarray, tolerance: int) -> int:
    """How many leading frames of ``active`` a note extends over.

    Walks until ``tolerance`` consecutive inactive frames (or the end) and returns the length
    up to the last active frame, so short dips inside a note are bridged.
    """
    n = active.shape[0]
    i = 0
    quiet = 0
    while i < n and quiet < tolerance:
        quiet = 0 if active[i] else quiet + 1
        i += 1
    return i - quiet


def _consume(available: np.ndarray, bin_: int, start: int, end: int) -> None:
    """Mark frames ``[start, end)`` of ``bin_`` and its semitone neighbours as used.

    Neighbours are cleared too because a strong note leaks into adjacent bins; leaving that
    energy would produce ghost notes a semitone away.
    """
    available[max(bin_ - 1, 0) : bin_ + 2, start:end] = False


def _velocity(note_row: np.ndarray, start: int, end: int) -> int:
    """MIDI velocity (1..127) from the mean frame activation over ``[start, end)``."""
    mean = float(note_row[start:end].mean())
    return int(np.clip(round(127.0 * mean), 1, 127))


def _onset_strength(onset_row: np.ndarray, start: int, reach: int = ONSET_STRENGTH_FRAMES) -> float:
    """Peak onset activation within ``reach`` frames of ``start`` (the model's confidence in the attack)."""
    return float(onset_row[max(start - reach, 0) : start + reach + 1].max())


def harmonic_intervals(max_harmonic: int = DEFAULT_GHOST_MAX_HARMONIC) -> np.ndarray:
    """Semitone distances of harmonics ``2..max_harmonic`` above a fundamental.

    Args:
        max_harmonic: Highest harmonic number included.

    Returns:
        Sorted unique int array, e.g. ``[12, 19, 24, 28, 31, 34, 36]`` for 8 (harmonic ``k`` lies
        ``12 * log2(k)`` semitones up, rounded to the nearest pitch bin).
    """
    return np.unique([round(12 * math.log2(k)) for k in range(2, max_harmonic + 1)]).astype(np.int64)


def find_harmonic_ghosts(
    notes: Sequence[NoteEvent],
    onset_strengths: Sequence[float] | None = None,
    *,
    strength_ratio: float = DEFAULT_GHOST_STRENGTH_RATIO,
    onset_tolerance_s: float = DEFAULT_GHOST_ONSET_TOLERANCE_S,
    end_slack_s: float = DEFAULT_GHOST_END_SLACK_S,
    max_harmonic: int = DEFAULT_GHOST_MAX_HARMONIC,
) -> np.ndarray:
    """Which notes are echoes of an upper partial of a stronger simultaneous note.

    Note ``g`` is a ghost of note ``f`` when ``g.pitch - f.pitch`` is the interval of harmonic
    2..``max_harmonic`` (+12, +19, +24, +28 ... semitones), their onsets lie within
    ``onset_tolerance_s``, they overlap, ``g`` ends no later than ``end_slack_s`` after ``f``, and
    ``strength(g) < strength_ratio * strength(f)``, where strength is velocity times onset
    strength (whether or not ``f`` is a ghost itself). A deliberate doubling of a harmonic-rich
    tone is attacked and sustained like a note of its own, so its strength stays close to the
    lower note's and it is kept; a doubling of pure sines, which the model hears as one tone
    with a strong second partial, may be dropped.

    Args:
        notes: Note events in any order.
        onset_strengths: The model's onset activation at each note's start, parallel to
            ``notes``; ``None`` compares velocities alone.
        strength_ratio: A candidate weaker than this fraction of the lower note is a ghost.
        onset_tolerance_s: Largest onset difference of a ghost and its fundamental.
        end_slack_s: How long a ghost may sound past its fundamental's end.
        max_harmonic: Highest harmonic considered.

    Returns:
        Boolean array parallel to ``notes``, True for ghosts.

    Raises:
        ValueError: If ``onset_strengths`` is not parallel to ``notes``.
    """
    n = len(notes)
    if onset_strengths is not None and len(onset_strengths) != n:
        raise ValueError(f"got {len(onset_strengths)} onset strengths for {n} notes")
    start = np.array([ev.start_s for ev in notes], dtype=np.float64)
    order = np.argsort(start, kind="stable")
    start = start[order]
    end = np.array([ev.end_s for ev in notes], dtype=np.float64)[order]
    pitch = np.array([ev.pitch for ev in notes], dtype=np.int64)[order]
    strength = np.array([ev.velocity for ev in notes], dtype=np.float64)[order]
    if onset_strengths is not None:
        strength *= np.asarray(onset_strengths, dtype=np.float64)[order]
    intervals = harmonic_intervals(max_harmonic)

    def is_ghost_of(g: np.ndarray, f: np.ndarray) -> np.ndarray:
        return (
            np.isin(pitch[g] - pitch[f], intervals)
            & (strength[g] < strength_ratio * strength[f])
            & (end[g] <= end[f] + end_slack_s)
            & (start[g] < end[f])
            & (start[f] < end[g])
        )

    # With notes sorted by onset, compare each with the k-th next one for every k that can still
    # fall within the onset tolerance: vectorised, and no all-pairs matrix for long files.
    ghost = np.zeros(n, dtype=bool)
    within = np.searchsorted(start, start + onset_tolerance_s, side="right") - np.arange(n)
    for k in range(1, int(within.max(initial=1))):
        early, late = np.arange(n - k), np.arange(k, n)
        near = start[late] - start[early] <= onset_tolerance_s
        ghost[late] |= near & is_ghost_of(late, early)
        ghost[early] |= near & is_ghost_of(early, late)
    out = np.empty(n, dtype=bool)
    out[order] = ghost
    return out


def _check_threshold(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")


def posteriorgrams_to_notes(
    note: np.ndarray,
    onset: np.ndarray,
    *,
    onset_threshold: float = DEFAULT_ONSET_THRESHOLD,
    frame_threshold: float = DEFAULT_FRAME_THRESHOLD,
    min_note_ms: float = DEFAULT_MIN_NOTE_MS,
    infer_onsets: bool = True,
    recover_unonseted: bool = True,
    suppress_harmonics: bool = True,
) -> list[NoteEvent]:
    """Create note events from unwrapped posteriorgrams.

    Args:
        note: Frame posteriorgram, shape ``[frames, bins]``, bin 0 = MIDI ``MIDI_OFFSET``.
        onset: Onset posteriorgram, same shape.
        onset_threshold: Minimum onset activation that starts a note.
        frame_threshold: Minimum frame activation that keeps a note sounding.
        min_note_ms: Notes must be longer than this (in ms, rounded to frames).
        infer_onsets: Also start notes at sharp rises of the frame posteriorgram.
        recover_unonseted: After the onset pass, turn remaining active energy into notes too.
        suppress_harmonics: Drop notes that echo an upper partial of a stronger simultaneous
            note (see ``find_harmonic_ghosts``).

    Returns:
        Notes sorted by start time, then pitch.

    Raises:
        ValueError: If shapes differ or are not 2-D, or a threshold is outside [0, 1], or
            ``min_note_ms`` is negative.
    """
    if note.ndim != 2 or note.shape != onset.shape:
        raise ValueError(f"note and onset must be 2-D with equal shapes, got {note.shape} and {onset.shape}")
    _check_threshold("onset_threshold", onset_threshold)
    _check_threshold("frame_threshold", frame_threshold)
    if min_note_ms < 0:
        raise ValueError(f"min_note_ms must be >= 0, got {min_note_ms}")

    # Work pitch-major ([bins, frames]) so walking along time reads contiguous memory.
    note_t = np.ascontiguousarray(note.T, dtype=np.float32)
    onset_map = add_inferred_onsets(note, onset) if infer_onsets else onset
    available = note_t >= frame_threshold
    min_frames = min_note_frames(min_note_ms)
    spans: list[tuple[int, int, int]] = []  # (start frame, end frame exclusive, bin)

    frames, bins = find_onset_peaks(onset_map, onset_threshold)
    # Latest onsets first: a later note claims its frames before an earlier one on the same
    # pitch walks into them, so repeated notes split at the re-attack instead of merging.
    for start, bin_ in sorted(zip(frames.tolist(), bins.tolist(), strict=True), reverse=True):
        end = start + 1 + _extent(available[bin_, start + 1 :], ENERGY_TOLERANCE_FRAMES)
        if end - start <= min_frames:
            continue
        spans.append((start, end, bin_))
        _consume(available, bin_, start, end)

    if recover_unonseted:
        # Visit what is left strongest first. Cells are only ever cleared, so skipping cleared
        # ones in this fixed order is the same as re-taking the maximum every time.
        cand_bins, cand_frames = np.nonzero(available)
        order = np.argsort(-note_t[cand_bins, cand_frames], kind="stable")
        for bin_, mid in zip(cand_bins[order].tolist(), cand_frames[order].tolist(), strict=True):
            if not available[bin_, mid]:
                continue
            row = available[bin_]
            end = mid + 1 + _extent(row[mid + 1 :], ENERGY_TOLERANCE_FRAMES)
            start = mid - _extent(row[:mid][::-1], ENERGY_TOLERANCE_FRAMES)
            # Consume even if too short, so the same blob is not walked again.
            _consume(available, bin_, start, end)
            if end - start > min_frames:
                spans.append((start, end, bin_))

    if not spans:
        return []
    starts = np.array([s for s, _, _ in spans])
    ends = np.array([e for _, e, _ in spans])
    start_s = frames_to_seconds(starts).tolist()
    end_s = frames_to_seconds(ends).tolist()  # an end may be one past the last frame: allowed
    events = [
        NoteEvent(
            start_s=start_s[i],
            end_s=end_s[i],
            pitch=bin_ + MIDI_OFFSET,
            velocity=_velocity(note_t[bin_], start, end),
        )
        for i, (start, end, bin_) in enumerate(spans)
    ]
    if suppress_harmonics:
        strengths = [_onset_strength(onset[:, bin_], start) for start, _, bin_ in spans]
        ghosts = find_harmonic_ghosts(events, strengths)
        events = [ev for ev, ghost in zip(events, ghosts.tolist(), strict=True) if not ghost]
    events.sort(key=lambda ev: (ev.start_s, ev.pitch, ev.end_s))
    return events
