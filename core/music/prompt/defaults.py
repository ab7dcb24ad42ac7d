"""What the prompt leaves open, filled from the genre, the mood and the seed.

Every choice is deterministic: each draws from its own ``random.Random`` seeded with the
spec's seed and the field's name, so filling one field never shifts another.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from promptdaw.core.limits import MAX_BARS
from promptdaw.core.music import lexicon as lx
from promptdaw.core.music.prompt.checks import check_bpm
from promptdaw.core.music.prompt.harmony import key_from_chords
from promptdaw.core.music.prompt.keys import Key
from promptdaw.core.music.prompt.progressions import Progression, roman_mode
from promptdaw.core.music.prompt.words import Words

__all__ = ["DEFAULT_BARS", "DEFAULT_GENRE", "default_bars", "resolve_bpm", "resolve_key"]

DEFAULT_BARS = 8
DEFAULT_GENRE = "pop"


def resolve_key(
    key: Key, forced: Mapping[str, Any], progression: Progression, genre: lx.Genre, mood: lx.Mood | None, seed: int
) -> tuple[int, str]:
    """Stated key > key of explicit chords > the mode numerals, a mood or the genre imply > seeded tonic."""
    if "key" in forced:
        return forced["key"]
    tonic, mode = key.tonic, key.mode
    if tonic is None and mode is None and progression.symbols:
        return key_from_chords(progression.symbols)
    if mode is None and progression.romans:
        mode = roman_mode(progression.romans)
    if mode is None and progression.blues:
        mode = "minor" if progression.blues_minor else "major"
    if mode is None:
        mode = mood.mode if mood and mood.mode else random.Random(f"{seed}:mode").choice(genre.modes)
    if tonic is None:
        tonic = random.Random(f"{seed}:tonic").choice(genre.tonics)
    return tonic, mode


def resolve_bpm(bpm: float | None, words: Words, genre: lx.Genre, mood: lx.Mood | None, seed: int) -> float:
    """Stated tempo > a tempo marking ("Allegro") > the genre's, scaled by "slow"/"fast" or the mood."""
    if bpm is not None:
        return bpm
    if words.tempo is not None:
        return float(words.tempo)
    factor = words.tempo_factor if words.tempo_factor is not None else (mood.tempo_factor if mood else 1.0)
    # A little seeded spread so seeds differ; the genre's tempo stays the centre.
    return check_bpm(float(round(genre.bpm * factor) + random.Random(f"{seed}:bpm").choice((-2, -1, 0, 1, 2))))


def default_bars(symbols: Sequence[str], per_bar: float) -> int:
    """Bars when the prompt gives none: 8, or the progression repeated to at least 8 bars,
    preferring a multiple of 4 within four repeats (a 3-chord progression gets 12, not 9)."""
    if not symbols:
        return DEFAULT_BARS
    length = math.ceil(len(symbols) / per_bar)
    repeats = [length * k for k in range(1, 5) if length * k >= DEFAULT_BARS]
    bars = next((b for b in repeats if b % 4 == 0), length * math.ceil(DEFAULT_BARS / length))
    return min(bars, MAX_BARS)
