"""Note-level transcription scores: onsets and pitches matched one to one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NoteScores", "note_f1"]


def _onset_pitch(note: Any) -> tuple[float, int]:
    if isinstance(note, tuple):
        return float(note[0]), int(note[2])
    return float(note.start_s), int(note.pitch)


@dataclass
class NoteScores:
    """Note-level (onset + pitch) scores and the onset errors of the matched pairs."""

    precision: float
    recall: float
    f1: float
    matches: list[tuple[int, int]] = field(default_factory=list)  # (ref index, est index)
    onset_errors_s: list[float] = field(default_factory=list)  # est - ref, per match


def note_f1(reference: Sequence[Any], estimated: Sequence[Any], onset_tolerance_s: float = 0.05) -> NoteScores:
    """Note-level precision/recall/F1 with exact pitch and an onset tolerance (offsets ignored).

    Uses a maximum bipartite matching, so each reference note matches at most one estimate.

    Args:
        reference: Ground-truth notes (``RefNote``, ``(start, end, pitch)`` or anything with
            ``start_s`` and ``pitch``).
        estimated: Transcribed notes, same accepted forms.
        onset_tolerance_s: Maximum ``|onset difference|`` of a match in seconds.

    Returns:
        The scores; precision and recall are 1.0 for empty inputs on their side.
    """
    ref = [_onset_pitch(n) for n in reference]
    est = [_onset_pitch(n) for n in estimated]
    candidates: list[list[int]] = [
        [j for j, (t_est, p_est) in enumerate(est) if p_est == p_ref and abs(t_est - t_ref) <= onset_tolerance_s]
        for t_ref, p_ref in ref
    ]
    est_owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        # Kuhn's augmenting path: give reference i an estimate, re-homing previous owners.
        for j in candidates[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in est_owner or augment(est_owner[j], seen):
                est_owner[j] = i
                return True
        return False

    for i in range(len(ref)):
        augment(i, set())
    matches = sorted((i, j) for j, i in est_owner.items())
    n_match = len(matches)
    precision = n_match / len(est) if est else 1.0
    recall = n_match / len(ref) if ref else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    errors = [est[j][0] - ref[i][0] for i, j in matches]
    return NoteScores(precision, recall, f1, matches, errors)
