"""The prompt as the reading passes share it, and the text forms its keywords are matched in.

Each pass marks the characters it explained so a later pass cannot read them again: the "12"
of "12 bar blues" is not a tempo, the "Am" of "Am7 Dm9" is not a key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["Scan", "lookup", "norm", "phrase_pattern"]


class Scan:
    """The prompt, its lower-cased twin (same length, so spans agree) and what is explained."""

    def __init__(self, text: str) -> None:
        self.text = text
        # Per character so indices line up ("İ".lower() is two characters).
        self.lower = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        self.taken = bytearray(len(text))

    def free(self, start: int, end: int) -> bool:
        return not any(self.taken[start:end])

    def take(self, start: int, end: int) -> None:
        self.taken[start:end] = b"\x01" * (end - start)

    def find(self, pattern: re.Pattern[str], *, case: bool = False) -> Iterator[re.Match[str]]:
        """Matches lying wholly in unexplained text; ``case`` searches the original spelling."""
        for match in pattern.finditer(self.text if case else self.lower):
            if match.end() > match.start() and self.free(*match.span()):
                yield match

    def copy(self) -> Scan:
        """A twin whose marks are its own: word passes read overlapping phrases without claiming them."""
        twin = Scan.__new__(Scan)
        twin.text, twin.lower, twin.taken = self.text, self.lower, bytearray(self.taken)
        return twin


def norm(phrase: str) -> str:
    """Lookup form of a keyword or matched text: lower case, no spaces, hyphens or underscores."""
    return re.sub(r"[\s\-_]+", "", phrase.lower())


def phrase_pattern(phrases: Sequence[str]) -> re.Pattern[str]:
    """One regex for many keywords: longest first, separators optional, plural "s" allowed."""
    alternatives = []
    for phrase in sorted(set(phrases), key=len, reverse=True):
        words = [re.escape(w) for w in phrase.split()]
        alternatives.append(r"[\s\-_]*".join(words))
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + r")(?:e?s)?(?![a-z0-9])")


def lookup(table: Mapping[str, Any], matched: str) -> Any:
    """The entry for ``matched`` text in a table keyed by :func:`norm` forms, plural or not."""
    key = norm(matched)
    for candidate in (key, key[:-1], key[:-2]):
        if candidate in table:
            return table[candidate]
    raise KeyError(matched)
