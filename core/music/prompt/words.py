"""What the word passes found: genres, moods, part words and descriptors, with where they stand."""

from __future__ import annotations

from dataclasses import dataclass, field

from promptdaw.core.music import lexicon as lx

__all__ = ["Mention", "Words"]


@dataclass
class Mention:
    """A part word or an instrument in the prompt."""

    start: int
    end: int
    kind: str  # "role", "weak", "instrument", or "marker" (the "solo" of "solo piano")
    role: str  # the role word's role, the instrument's default role, or the weak word's kind
    word: str
    instrument: lx.Instrument | None = None
    negated: bool = False  # "no drums", "without bass"
    exclusive: bool = False  # "drums only", "just the bassline"


@dataclass
class Words:
    """Filled by the word passes in turn; a descriptor field stays None where the prompt has no such word."""

    genres: list[tuple[int, str]] = field(default_factory=list)  # (position, genre)
    genre_words: list[str] = field(default_factory=list)  # the genre keywords as named ("deep house")
    moods: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    excluded: set[str] = field(default_factory=set)
    tempo: float | None = None
    tempo_factor: float | None = None
    swing: float | None = None
    density: float | None = None
    feel: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)  # what the word passes explained
