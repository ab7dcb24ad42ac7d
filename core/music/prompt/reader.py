"""The one prompt-to-spec reader: "dark trap in F minor, 140 bpm, 8 bars" -> :class:`MusicSpec`.

It runs the passes in order over one :class:`~.scan.Scan`, then fills what the prompt left
open (:mod:`.defaults`). The order matters: structure first, since its numbers and letters
would otherwise read as words, and word passes before fuzzy matching, which only sees what
no rule explained.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptdaw.core.music import lexicon as lx
from promptdaw.core.music.prompt.bars import find_bars
from promptdaw.core.music.prompt.checks import check_prompt
from promptdaw.core.music.prompt.defaults import DEFAULT_GENRE, default_bars, resolve_bpm, resolve_key
from promptdaw.core.music.prompt.descriptors import find_descriptors, find_genres, find_idioms, pick_genre
from promptdaw.core.music.prompt.fuzzy import fuzzy_candidates, fuzzy_match
from promptdaw.core.music.prompt.harmony import expand_chords
from promptdaw.core.music.prompt.keys import find_key
from promptdaw.core.music.prompt.matcher import LabelMatcher
from promptdaw.core.music.prompt.mentions import find_parts
from promptdaw.core.music.prompt.meter import find_meter, find_meter_word
from promptdaw.core.music.prompt.overrides import check_overrides
from promptdaw.core.music.prompt.parts import resolve_parts
from promptdaw.core.music.prompt.progressions import Progression, find_chord_rate, find_progression, progression_symbols
from promptdaw.core.music.prompt.scan import Scan
from promptdaw.core.music.prompt.tempo import find_bpm
from promptdaw.core.music.prompt.vocabulary import GENRE_LABELS, MOOD_LABELS
from promptdaw.core.music.prompt.words import Words
from promptdaw.core.music.spec import MusicSpec

__all__ = ["parse_prompt"]


def _genre_and_mood(
    scan: Scan, words: Words, progression: Progression, embedder: LabelMatcher | None
) -> tuple[str | None, str | None]:
    """(genre, mood) the prompt names: by keyword, else by fuzzy words; None where it names none.

    A whole prompt is not matched against genre descriptions: measured, "a beat at 90 bpm"
    sits nearest drum and bass (cosine 0.61), so such a guess is noise, not a reading.
    """
    genre = pick_genre(words.genres) or ("blues" if progression.blues else None)
    mood = words.moods[0] if words.moods else None
    if genre is None or mood is None:
        grams = fuzzy_candidates(scan, words)
        if genre is None and (fuzzy := fuzzy_match(grams, GENRE_LABELS, embedder)):
            genre = fuzzy.label
        if mood is None and (fuzzy := fuzzy_match(grams, MOOD_LABELS, embedder)):
            mood = fuzzy.label
    return genre, mood


def parse_prompt(
    prompt: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    embedder: LabelMatcher | None = None,
    seed: int = 0,
) -> MusicSpec:
    """Read a producer's prompt into a fully resolved :class:`MusicSpec`.

    Args:
        prompt: free text, 1..2000 characters, e.g. "dark trap in F minor, 140 bpm, 8 bars".
        overrides: values that win over the prompt (``bars``, ``bpm``, ``key`` as "F minor",
            ``meter`` as "6/8", ``seed``), e.g. from CLI flags; they count as explicit.
        embedder: matches genre and mood words no keyword covers (``runtime.embedding.Embedder``);
            without it only keywords and spelling similarity are used.
        seed: picks the defaults the prompt leaves open (tonic, mode, tempo spread).

    Returns:
        The spec; ``spec.explicit`` names every field the prompt or the overrides set, using
        the spec's field names ("bpm", "key_tonic", "key_mode", "meter", "bars", "genre",
        "mood", "parts", "chords", "swing", "density", "feel", "seed").

    Raises:
        InvalidInput: naming the field, for an empty or too long prompt, 0 or more than 256
            bars, a tempo outside 20..400 bpm, an impossible meter (99/4), an unknown
            override or key name, or a prompt that excludes every part.
    """
    forced = check_overrides(overrides)
    scan = Scan(check_prompt(prompt))
    seed = forced.get("seed", seed)
    # 1. structure: each pass claims what it reads, so later passes cannot read it again.
    progression = find_progression(scan)
    chord_rate = find_chord_rate(scan)
    meter = find_meter(scan)
    meter_word = find_meter_word(scan)
    bars = find_bars(scan)
    bpm = find_bpm(scan)
    key = find_key(scan)
    idioms = find_idioms(scan)
    # 2. keywords: genres, part words and instruments, descriptors.
    words = Words()
    find_genres(scan, words)
    find_parts(scan, words)
    find_descriptors(scan, words)
    # 3. fuzzy genre and mood words, from what is left.
    genre_name, mood_name = _genre_and_mood(scan, words, progression, embedder)
    genre = lx.styled(lx.GENRES[genre_name or DEFAULT_GENRE], words.genre_words)
    mood = lx.MOODS[mood_name] if mood_name else None
    pitched = key.tonic is not None or progression != Progression()
    parts, parts_explicit = resolve_parts(scan, words, genre, genre_name is not None, pitched)

    meter = forced.get("meter") or meter or meter_word
    tonic, mode = resolve_key(key, forced, progression, genre, mood, seed)
    symbols = progression_symbols(progression, tonic, mode)
    per_bar = chord_rate or 1.0
    bars = forced.get("bars") or bars or (12 if progression.blues_bars else None)
    bpm = forced.get("bpm") or bpm
    explicit = {
        "seed": "seed" in forced,
        "genre": genre_name is not None,
        "mood": mood is not None,
        "parts": parts_explicit,
        "meter": meter is not None,
        "key_tonic": key.tonic is not None or "key" in forced,
        "key_mode": key.mode is not None or "key" in forced,
        "bpm": bpm is not None or words.tempo is not None or words.tempo_factor is not None,
        "bars": bars is not None,
        "chords": bool(symbols),
        "swing": words.swing is not None,
        "density": words.density is not None,
        "feel": words.feel is not None,
        "idioms": bool(idioms),
    }
    meter = meter or genre.meter
    bars = bars or default_bars(symbols, per_bar)
    density = words.density if words.density is not None else genre.density + (mood.density_delta if mood else 0.0)
    return MusicSpec(
        bpm=resolve_bpm(bpm, words, genre, mood, seed),
        key_tonic=tonic,
        key_mode=mode,
        meter=meter,
        bars=bars,
        genre=genre.name,
        parts=tuple(parts),
        mood=mood.name if mood else None,
        chords=expand_chords(symbols, bars, meter[0] * 4 / meter[1], per_bar) if symbols else (),
        swing=words.swing if words.swing is not None else genre.swing,
        density=round(min(1.0, max(0.0, density)), 3),
        feel=words.feel or genre.feel,
        seed=seed,
        idioms=tuple(sorted({*idioms, *lx.IDIOM_DEFAULTS.get(genre.name, ())})),
        explicit=frozenset(name for name, is_set in explicit.items() if is_set),
    )
