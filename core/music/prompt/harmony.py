"""From a stated progression to the spec's harmony: the key it implies and its chords laid over the bars."""

from __future__ import annotations

from collections.abc import Sequence

from promptdaw.core.music.spec import ChordChange
from promptdaw.core.music.theory import parse_chord, scale_pitch_classes

__all__ = ["expand_chords", "key_from_chords"]


def _chord_mode(symbol: str) -> str:
    intervals = parse_chord(symbol).intervals
    return "minor" if 3 in intervals and 4 not in intervals else "major"


def key_from_chords(symbols: Sequence[str]) -> tuple[int, str]:
    """The major or minor key that best holds ``symbols``, favouring the first chord as tonic.

    Score = 4 x the share of chord tones in the scale (minor keeps its leading tone)
    + 0.5 if the first chord is the tonic chord + 0.25 if the last one is.
    """
    chords = [parse_chord(s) for s in symbols]
    tones = [pc for chord in chords for pc in chord.pitch_classes]
    best: tuple[float, int, str] | None = None
    for mode in ("major", "minor"):
        for tonic in range(12):
            scale = set(scale_pitch_classes(tonic, mode)) | ({(tonic + 11) % 12} if mode == "minor" else set())
            score = 4 * sum(pc in scale for pc in tones) / len(tones)
            score += 0.5 * (chords[0].root == tonic and _chord_mode(symbols[0]) == mode)
            score += 0.25 * (chords[-1].root == tonic and _chord_mode(symbols[-1]) == mode)
            if best is None or score > best[0] + 1e-9:
                best = (score, tonic, mode)
    assert best is not None
    return best[1], best[2]


def expand_chords(symbols: Sequence[str], bars: int, beats_per_bar: float, per_bar: float) -> tuple[ChordChange, ...]:
    """Lay ``symbols`` out from bar 0, ``per_bar`` chords to a bar, repeating to fill ``bars``."""
    length = beats_per_bar / per_bar
    total = bars * beats_per_bar
    changes, t, i = [], 0.0, 0
    while t < total - 1e-9:
        bar = int(t // beats_per_bar + 1e-9)
        duration = min(length, total - t)
        changes.append(
            ChordChange(symbols[i % len(symbols)], bar, round(t - bar * beats_per_bar, 6), round(duration, 6))
        )
        t += length
        i += 1
    return tuple(changes)
