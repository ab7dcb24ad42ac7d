"""Chord progressions a prompt states, and how fast they move.

A progression is chord symbols ("Am7 Dm9 G7 Cmaj7"), roman numerals ("I-V-vi-IV") or a
12-bar blues; the chord rate is chords per bar ("two chords per bar", "2 bars each").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from promptdaw.core.music.prompt.checks import invalid
from promptdaw.core.music.prompt.numbers import COUNT, read_number
from promptdaw.core.music.prompt.scan import Scan
from promptdaw.core.music.theory import parse_chord, roman_to_symbol, twelve_bar_blues

__all__ = ["Progression", "find_chord_rate", "find_progression", "progression_symbols", "roman_mode"]

_ROMAN_TOKEN = re.compile(
    r"[b#♭♯]?(?:VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)(?:°|o|ø|\+|dim|aug)?(?:maj7|7|9|6|sus4|sus2)?"
)
_PROGRESSION_TOKEN = re.compile("[^\\s,;|\\-\u2013\u2014\u2192>]+")  # dashes and arrows separate chords
_TOKEN_PUNCTUATION = "()[]{}.!?:'\""
_JOINERS = {"to", "then", "into"}
_LIST_JOINERS = {"and"}  # joins a run already two long: "G, D, Em and C", but not "Am and F"
_BLUES = re.compile(r"(?<![\w])(?:(?P<n>12|twelve)[\s\-]*bars?[\s\-]+)?(?P<minor>minor[\s\-]+)?blues"
                    r"(?P<form>[\s\-]+(?:progression|changes|form))?(?![\w])")  # fmt: skip


@dataclass
class Progression:
    """At most one of: chord symbols as written, roman numerals (resolved once the key is known), a blues."""

    symbols: tuple[str, ...] = ()
    romans: tuple[str, ...] = ()
    blues: bool = False
    blues_minor: bool = False
    blues_bars: bool = False  # "12 bar blues" also says how many bars


def _token_runs(scan: Scan, accept: Callable[[str], bool]) -> list[list[re.Match[str]]]:
    """Runs of two or more consecutive tokens that ``accept``, joined by separators, "to", "then" or "and"."""
    runs: list[list[re.Match[str]]] = []
    current: list[re.Match[str]] = []
    for token in _PROGRESSION_TOKEN.finditer(scan.text):
        word = token[0].strip(_TOKEN_PUNCTUATION)
        if (current and word.lower() in _JOINERS) or (len(current) >= 2 and word.lower() in _LIST_JOINERS):
            continue
        if word and scan.free(*token.span()) and accept(word):
            current.append(token)
            # A sentence ends the run: "... Cmaj7. G major" must not join "Cmaj7" to "G".
            if token[0].endswith((".", "!", "?", ":")):
                runs.append(current)
                current = []
            continue
        runs.append(current)
        current = []
    runs.append(current)
    return [run for run in runs if len(run) >= 2]


def _is_chord(word: str) -> bool:
    try:
        parse_chord(word)
    except ValueError:
        return False
    return True


def roman_mode(romans: Sequence[str]) -> str:
    """Minor when the tonic numeral is written lower case ("i-VI-III-VII"), else major."""
    tonics = [r for r in romans if re.fullmatch(r"[iI](?![iIvV]).*", r)]
    return "minor" if tonics and tonics[0].startswith("i") else "major"


def find_progression(scan: Scan) -> Progression:
    """Chord symbols ("Am7 Dm9 G7 Cmaj7"), roman numerals ("I-V-vi-IV") or a 12-bar blues."""
    for accept, kind in ((_is_chord, "symbols"), (lambda w: _ROMAN_TOKEN.fullmatch(w) is not None, "romans")):
        for run in _token_runs(scan, accept):
            scan.take(run[0].start(), run[-1].end())
            return Progression(**{kind: tuple(t[0].strip(_TOKEN_PUNCTUATION) for t in run)})
    for match in scan.find(_BLUES):
        if match["n"] or match["form"]:  # plain "blues" is a genre word, not a progression
            scan.take(*match.span())
            return Progression(blues=True, blues_minor=bool(match["minor"]), blues_bars=bool(match["n"]))
    return Progression()


def progression_symbols(progression: Progression, tonic: int, mode: str) -> tuple[str, ...]:
    """The progression as chord symbols in the spec's key."""
    if progression.romans:
        try:
            return tuple(roman_to_symbol(r, tonic, mode) for r in progression.romans)
        except ValueError as exc:
            raise invalid("chords", " ".join(progression.romans), str(exc)) from None
    if progression.blues:
        return tuple(twelve_bar_blues(tonic, "minor" if mode in ("minor", "dorian", "phrygian") else "major"))
    return progression.symbols


# --------------------------------------------------------------------------- chord rate

_RATE_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[int], float]], ...] = (
    (re.compile(rf"\b{COUNT}\s+chords?\s+(?:per|a|each|every)\s+(?:bar|measure)\b"), lambda n: n),
    (re.compile(rf"\b(?:one\s+|a\s+)?chord\s+(?:every|per|each)\s+{COUNT}\s+(?:bars|measures)\b"), lambda n: 1 / n),
    (re.compile(rf"\b{COUNT}\s+(?:bars?|measures?)\s+(?:each|per\s+chord|apiece|for\s+each\s+chord)\b"),
     lambda n: 1 / n),
    (re.compile(rf"\b(?:each|every)\s+chord\s+(?:lasts|for|gets|is|held\s+for)\s+{COUNT}\s+(?:bars?|measures?)\b"),
     lambda n: 1 / n),
)  # fmt: skip
_RATE_WORDS = (
    (re.compile(r"\b(?:one|a)\s+chord\s+(?:per|a|each|every)\s+(?:bar|measure)\b"), 1.0),
    (re.compile(r"\bhalf[\s\-]+(?:a[\s\-]+)?bar\s+(?:each|per\s+chord|changes)\b|\btwice\s+(?:a|per)\s+bar\b"), 2.0),
    (re.compile(r"\bevery\s+other\s+bar\b"), 0.5),
)


def find_chord_rate(scan: Scan) -> float | None:
    """Chords per bar ("two chords per bar" -> 2, "2 bars each" -> 0.5), or None."""
    for pattern, rate in _RATE_PATTERNS:
        for match in scan.find(pattern):
            n = read_number(match["n"])
            if n <= 0:
                raise invalid("chords", match[0], "a chord needs a positive length")
            scan.take(*match.span())
            return float(rate(n))
    for pattern, value in _RATE_WORDS:
        for match in scan.find(pattern):
            scan.take(*match.span())
            return value
    return None
