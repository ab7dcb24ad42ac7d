"""Words that describe the music rather than its parts: genres, moods, tempo, swing, density, feel, idioms.

The word passes read a copy of the scan: a phrase may name a genre and hold a part word
("drum and bass"), so they record what they explained in :attr:`Words.spans` instead of
claiming it from each other.
"""

from __future__ import annotations

from promptdaw.core.music import lexicon as lx
from promptdaw.core.music.prompt.scan import Scan, lookup, norm
from promptdaw.core.music.prompt.vocabulary import (
    DESCRIPTOR_PATTERN,
    DESCRIPTORS,
    GENRE_KEYS,
    GENRE_PATTERN,
    IDIOM_KEYS,
    IDIOM_PATTERN,
)
from promptdaw.core.music.prompt.words import Words

__all__ = ["find_descriptors", "find_genres", "find_idioms", "pick_genre"]


def find_genres(scan: Scan, words: Words) -> None:
    own = scan.copy()
    for match in own.find(GENRE_PATTERN):
        own.take(*match.span())
        name = lookup(GENRE_KEYS, match[0])
        words.genres.append((match.start(), name))
        said = norm(match[0])
        words.genre_words.append(next((k for k in lx.GENRES[name].keywords if norm(k) in (said, said[:-1])), name))
        words.spans.append(match.span())


def pick_genre(found: list[tuple[int, str]]) -> str | None:
    """The first named genre, except that an umbrella genre yields to a specific one ("lofi hip hop")."""
    ordered = [g for _, g in sorted(found)]
    return next((g for g in ordered if not lx.GENRES[g].broad), ordered[0] if ordered else None)


def find_descriptors(scan: Scan, words: Words) -> None:
    own = scan.copy()
    for start, end in words.spans:  # genre names first: "minimal techno" is not "minimal"
        own.take(start, end)
    for match in own.find(DESCRIPTOR_PATTERN):
        own.take(*match.span())
        try:
            kind, value = lookup(DESCRIPTORS, match[0])
        except KeyError:
            continue  # an instrument name that only blocks ("soft pad")
        words.spans.append(match.span())
        if kind == "mood":
            words.moods.append(value)
        elif getattr(words, kind) is None:
            setattr(words, kind, value)


def find_idioms(scan: Scan) -> tuple[str, ...]:
    """Groove idioms the prompt names ("four on the floor"), in a stable order.

    A bass locked to "the kick" claims its words, so that the kick is not read as a part an
    instrument ("808s") belongs to; other idioms leave their part words ("walking bass",
    "open hats") to name parts as well.
    """
    found = set()
    for match in scan.find(IDIOM_PATTERN):
        idiom = lookup(IDIOM_KEYS, match[0])
        if idiom == lx.BASS_FOLLOWS_KICK:
            scan.take(*match.span())
        found.add(idiom)
    return tuple(sorted(found))
