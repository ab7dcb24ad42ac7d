"""The one prompt-to-spec parser: "dark trap in F minor, 140 bpm, 8 bars" -> :class:`MusicSpec`.

Rules read what a prompt states exactly (tempo, key, meter, bars, progression, parts,
instruments, exclusions); the lexicon gives genre and mood defaults for the rest, chosen
deterministically from the seed. Words the rules do not know ("tecno", "chilled hop",
"melancolic") are matched to genres and moods by sentence embeddings when an
:class:`~.embedding.Embedder` is given, and by spelling similarity either way.

The prompt is read in passes over one :class:`_Scan`; each pass marks the characters it
explained so a later pass cannot read them again (the "12" of "12 bar blues" is not a tempo,
the "Am" of "Am7 Dm9" is not a key, the "bass" of "drum and bass" is not a part):

1. structure: progression, chord rate, meter, bars, tempo, key;
2. genre keywords; part words and instruments; mood, tempo, feel, swing and density words;
3. fuzzy genre and mood words, from what is left.
"""

from __future__ import annotations

import difflib
import itertools
import math
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promptdaw.core.errors import InvalidInput
from promptdaw.core.limits import BPM_RANGE, MAX_BARS, MAX_METER_NUMERATOR, MAX_PROMPT_CHARS, METER_DENOMINATORS
from promptdaw.core.music import lexicon as lx
from promptdaw.core.music.spec import PART_ROLES, ChordChange, MusicSpec, PartSpec
from promptdaw.core.music.theory import (
    parse_chord,
    parse_pitch_class,
    roman_to_symbol,
    scale_pitch_classes,
    twelve_bar_blues,
)

if TYPE_CHECKING:
    from promptdaw.runtime.embedding import Embedder

__all__ = [
    "BPM_RANGE",
    "DEFAULT_BARS",
    "DEFAULT_GENRE",
    "MAX_BARS",
    "MAX_PROMPT_CHARS",
    "METER_DENOMINATORS",
    "OVERRIDE_KEYS",
    "key_from_chords",
    "parse_key",
    "parse_meter",
    "parse_prompt",
]

DEFAULT_BARS = 8
DEFAULT_GENRE = "pop"
OVERRIDE_KEYS = ("bars", "bpm", "key", "meter", "seed")

#: Cosine between a prompt n-gram and a genre/mood keyword for a fuzzy match, measured on
#: MiniLM. Phrases: variants score 0.74-1.0 ("afro beats" 0.88, "chilled hop" 0.84), unrelated
#: ones up to 0.64. Single words need more: "ghost" sits at 0.81 from "haunted".
FUZZY_MIN_COSINE = 0.7
FUZZY_MIN_COSINE_WORD = 0.85
#: difflib ratio for a misspelt word ("tecno"/"techno" 0.91, "contry"/"country" 0.92). Word
#: pieces hide one-letter typos from MiniLM, so spelling is checked apart; short words are
#: left out ("boss" is 0.89 from "bossa", "phrase" 0.83 from "praise").
FUZZY_MIN_SPELLING = 0.85
FUZZY_MIN_SPELLING_CHARS = 5
#: Added to a fuzzy score per extra word: "chilled hop" (lofi, 0.84) outranks "hop beat".
FUZZY_WORD_BONUS = 0.05

_KEY_NOUNS = r"key|scale|tonality|mode|feel|vibe|sound|progression|chords?|piece|song|tune|melody|ballad|groove|track"


def _invalid(name: str, value: object, valid: str) -> InvalidInput:
    return InvalidInput(f"{name}: {value!r} is invalid; {valid}")


# --------------------------------------------------------------------------- the scan


class _Scan:
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

    def copy(self) -> _Scan:
        twin = _Scan.__new__(_Scan)
        twin.text, twin.lower, twin.taken = self.text, self.lower, bytearray(self.taken)
        return twin


def _norm(phrase: str) -> str:
    """Lookup form of a keyword or matched text: lower case, no spaces, hyphens or underscores."""
    return re.sub(r"[\s\-_]+", "", phrase.lower())


def _phrase_pattern(phrases: Sequence[str]) -> re.Pattern[str]:
    """One regex for many keywords: longest first, separators optional, plural "s" allowed."""
    alternatives = []
    for phrase in sorted(set(phrases), key=len, reverse=True):
        words = [re.escape(w) for w in phrase.split()]
        alternatives.append(r"[\s\-_]*".join(words))
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + r")(?:e?s)?(?![a-z0-9])")


def _lookup(table: Mapping[str, Any], matched: str) -> Any:
    """The entry for ``matched`` text in a table keyed by :func:`_norm` forms, plural or not."""
    key = _norm(matched)
    for candidate in (key, key[:-1], key[:-2]):
        if candidate in table:
            return table[candidate]
    raise KeyError(matched)


_NUMBER_WORDS = "|".join(r"[\s\-]*".join(w.split()) for w in sorted(lx.NUMBER_WORDS, key=len, reverse=True))
_COUNT = rf"(?P<n>\d+|{_NUMBER_WORDS})"


def _count(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else lx.NUMBER_WORDS[" ".join(re.split(r"[\s\-]+", text))]


# --------------------------------------------------------------------------- keys


_ACC = r"(?:#|♯|b|♭|(?i:\s*-?\s*(?:sharp|flat)))"
_MODE_WORD = (
    r"(?i:(?:harmonic|melodic|natural)\s+minor|major|minor|maj|min|dorian|phrygian|lydian|mixolydian|locrian"
    r"|aeolian|ionian)"
)
_KEY_FULL = re.compile(rf"(?<![\w#♯♭])(?P<letter>[A-Ga-g])(?P<acc>{_ACC})?\s*-?\s*(?P<mode>{_MODE_WORD})(?![\w#♯♭])")
_KEY_M = re.compile(r"(?<![\w#♯♭])(?P<letter>[A-G])(?P<acc>#|♯|b|♭)?m(?![\w#♯♭])")
_KEY_BARE = re.compile(
    rf"(?i:\bin\s+(?:the\s+key\s+of\s+)?|\bkey(?:\s+of)?\s*[:=]?\s*)(?P<letter>[A-G])(?P<acc>{_ACC})?(?![\w#♯♭])"
)
_KEY_OF = re.compile(rf"(?i:\bkey(?:\s+of)?\s*[:=]?\s*)(?P<letter>[a-g])(?P<acc>{_ACC})?(?![\w#♯♭])")
_MODE_ONLY = re.compile(
    r"(?<![\w])(?P<mode>(?:harmonic|melodic|natural)\s+minor|major|minor|dorian|phrygian|lydian|mixolydian"
    r"|locrian|aeolian|ionian)(?:[\s\-]+(?:key|scale|tonality|mode))?(?![\w])"
    r"(?!\s*(?:7|9|11|13|seventh|7th|ninth|9th|third|3rd|sixth|6th|second|2nd|triad))"
)
_NEXT_WORD = re.compile(r"[\s\-]*([a-z][a-z\-]*)")


def _mode_name(word: str) -> str:
    word = " ".join(word.lower().split())
    if word.endswith("minor") or word in ("min", "aeolian", "m"):
        return "minor"
    if word in ("major", "maj", "ionian"):
        return "major"
    return word


def _tonic(letter: str, accidental: str | None) -> int:
    acc = (accidental or "").strip().lstrip("-").strip().lower()
    acc = {"sharp": "#", "flat": "b"}.get(acc, acc)
    return parse_pitch_class(letter.upper() + acc)


def parse_key(text: str) -> tuple[int, str]:
    """A whole key name -> (tonic pitch class, mode): "F minor", "C#m", "E♭ major", "D dorian", "Bb".

    Raises:
        InvalidInput: naming ``key`` when ``text`` is not a key.
    """
    text = text.strip()
    if match := _KEY_FULL.fullmatch(text):
        return _tonic(match["letter"], match["acc"]), _mode_name(match["mode"])
    if match := _KEY_M.fullmatch(text):
        return _tonic(match["letter"], match["acc"]), "minor"
    if match := re.fullmatch(rf"(?P<letter>[A-Ga-g])(?P<acc>{_ACC})?", text):
        return _tonic(match["letter"], match["acc"]), "major"
    raise _invalid("key", text, "expected a key such as 'F minor', 'C#m', 'Eb major' or 'D dorian'")


def _next_is_noun(text: str, position: int) -> bool:
    """Whether the word at ``position`` names a thing: "key", "scale", a part, an instrument or a genre."""
    match = _NEXT_WORD.match(text, position)
    return bool(match) and (re.fullmatch(_KEY_NOUNS, match[1]) is not None or match[1] in _NOUN_WORDS)


@dataclass
class _Key:
    tonic: int | None = None
    mode: str | None = None


def _find_key(scan: _Scan) -> _Key:
    """Tonic and mode the prompt states; either may be missing ("in a minor key", "in A")."""
    key = _Key()
    for match in scan.find(_KEY_FULL, case=True):
        letter = match["letter"]
        # Lower-case "a" in "a minor key", "a minor piano piece" is the article, not A.
        if letter == "a" and not match["acc"] and _next_is_noun(scan.lower, match.end()):
            key.mode = key.mode or _mode_name(match["mode"])
            scan.take(match.start("mode"), match.end())
            continue
        scan.take(*match.span())
        return _Key(_tonic(letter, match["acc"]), _mode_name(match["mode"]))
    for match in scan.find(_KEY_M, case=True):
        scan.take(*match.span())
        return _Key(_tonic(match["letter"], match["acc"]), "minor")
    if match := next(scan.find(_KEY_BARE, case=True), None) or next(scan.find(_KEY_OF, case=True), None):
        scan.take(*match.span())
        key.tonic = _tonic(match["letter"], match["acc"])
    if match := next(scan.find(_MODE_ONLY), None):
        scan.take(*match.span())
        key.mode = key.mode or _mode_name(match["mode"])
    if key.tonic is not None and key.mode is None:
        key.mode = "major"  # "in A" is A major unless the prompt says minor
    return key


# --------------------------------------------------------------------------- progressions


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
class _Progression:
    symbols: tuple[str, ...] = ()
    romans: tuple[str, ...] = ()
    blues: bool = False
    blues_minor: bool = False
    blues_bars: bool = False  # "12 bar blues" also says how many bars


def _token_runs(scan: _Scan, accept: Callable[[str], bool]) -> list[list[re.Match[str]]]:
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


def _roman_mode(romans: Sequence[str]) -> str:
    """Minor when the tonic numeral is written lower case ("i-VI-III-VII"), else major."""
    tonics = [r for r in romans if re.fullmatch(r"[iI](?![iIvV]).*", r)]
    return "minor" if tonics and tonics[0].startswith("i") else "major"


def _find_progression(scan: _Scan) -> _Progression:
    """Chord symbols ("Am7 Dm9 G7 Cmaj7"), roman numerals ("I-V-vi-IV") or a 12-bar blues."""
    for accept, kind in ((_is_chord, "symbols"), (lambda w: _ROMAN_TOKEN.fullmatch(w) is not None, "romans")):
        for run in _token_runs(scan, accept):
            scan.take(run[0].start(), run[-1].end())
            return _Progression(**{kind: tuple(t[0].strip(_TOKEN_PUNCTUATION) for t in run)})
    for match in scan.find(_BLUES):
        if match["n"] or match["form"]:  # plain "blues" is a genre word, not a progression
            scan.take(*match.span())
            return _Progression(blues=True, blues_minor=bool(match["minor"]), blues_bars=bool(match["n"]))
    return _Progression()


_RATE_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[int], float]], ...] = (
    (re.compile(rf"\b{_COUNT}\s+chords?\s+(?:per|a|each|every)\s+(?:bar|measure)\b"), lambda n: n),
    (re.compile(rf"\b(?:one\s+|a\s+)?chord\s+(?:every|per|each)\s+{_COUNT}\s+(?:bars|measures)\b"), lambda n: 1 / n),
    (re.compile(rf"\b{_COUNT}\s+(?:bars?|measures?)\s+(?:each|per\s+chord|apiece|for\s+each\s+chord)\b"),
     lambda n: 1 / n),
    (re.compile(rf"\b(?:each|every)\s+chord\s+(?:lasts|for|gets|is|held\s+for)\s+{_COUNT}\s+(?:bars?|measures?)\b"),
     lambda n: 1 / n),
)  # fmt: skip
_RATE_WORDS = (
    (re.compile(r"\b(?:one|a)\s+chord\s+(?:per|a|each|every)\s+(?:bar|measure)\b"), 1.0),
    (re.compile(r"\bhalf[\s\-]+(?:a[\s\-]+)?bar\s+(?:each|per\s+chord|changes)\b|\btwice\s+(?:a|per)\s+bar\b"), 2.0),
    (re.compile(r"\bevery\s+other\s+bar\b"), 0.5),
)


def _find_chord_rate(scan: _Scan) -> float | None:
    """Chords per bar ("two chords per bar" -> 2, "2 bars each" -> 0.5), or None."""
    for pattern, rate in _RATE_PATTERNS:
        for match in scan.find(pattern):
            n = _count(match["n"])
            if n <= 0:
                raise _invalid("chords", match[0], "a chord needs a positive length")
            scan.take(*match.span())
            return float(rate(n))
    for pattern, value in _RATE_WORDS:
        for match in scan.find(pattern):
            scan.take(*match.span())
            return value
    return None


# --------------------------------------------------------------------------- meter, bars, tempo

#: After a number: no more digits, no slash, no decimal part (a full stop may end the sentence).
_END = r"(?![\w/]|\.\d)"
_METER = re.compile(r"(?<![\d/.])(?P<num>\d{1,3})\s*/\s*(?P<den>\d{1,3})" + _END)
_NOT_METER_AFTER = re.compile(r"\s*(?:notes?|th\b|nds?\b|rds?\b|hats?|hi[\s\-]*hats?|triplets?|swing|steps?|grid)")
_METER_CONTEXT = re.compile(r"\s*(?:time|meter|metre|signature)\b")


def parse_meter(text: str) -> tuple[int, int]:
    """ "6/8" -> (6, 8). Raises InvalidInput naming ``meter`` for anything else or out of range."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise _invalid("meter", text, "expected a time signature such as '4/4', '3/4', '6/8' or '7/8'")
    return _check_meter(int(match[1]), int(match[2]))


def _check_meter(numerator: int, denominator: int) -> tuple[int, int]:
    if not 1 <= numerator <= MAX_METER_NUMERATOR or denominator not in METER_DENOMINATORS:
        raise _invalid("meter", f"{numerator}/{denominator}", f"the numerator must be 1..{MAX_METER_NUMERATOR} and "
                       f"the denominator one of {', '.join(map(str, METER_DENOMINATORS))}")  # fmt: skip
    return numerator, denominator


def _find_meter(scan: _Scan) -> tuple[int, int] | None:
    for match in scan.find(_METER):
        if _NOT_METER_AFTER.match(scan.lower, match.end()):
            continue  # "1/16 hats", "1/8 notes": note values, not meters
        if match["num"] == "1" and not _METER_CONTEXT.match(scan.lower, match.end()):
            continue
        scan.take(*match.span())
        return _check_meter(int(match["num"]), int(match["den"]))
    return None


_METER_WORD_PATTERN = _phrase_pattern(list(lx.METER_WORDS))
_METER_WORD_KEYS = {_norm(k): v for k, v in lx.METER_WORDS.items()}


def _find_meter_word(scan: _Scan) -> tuple[int, int] | None:
    """A meter implied by a dance ("waltz", "jig"); read without claiming the word, which may name a genre."""
    for match in scan.find(_METER_WORD_PATTERN):
        return _lookup(_METER_WORD_KEYS, match[0])
    return None


_BARS = re.compile(rf"(?<![\w.]){_COUNT}\s*-?\s*(?:bars?|measures?)(?![\w])")
_BARS_LABEL = re.compile(r"\b(?:bars|measures|length)\s*[:=]\s*(?P<n>\d+)\b")
_RATE_BEFORE = re.compile(r"\b(?:per|every|each)\s*$")


def _check_bars(bars: int) -> int:
    if not 1 <= bars <= MAX_BARS:
        raise _invalid("bars", bars, f"valid range is 1..{MAX_BARS}")
    return bars


def _find_bars(scan: _Scan) -> int | None:
    for pattern in (_BARS_LABEL, _BARS):
        for match in scan.find(pattern):
            if _RATE_BEFORE.search(scan.lower, max(0, match.start() - 8), match.start()):
                continue  # "a chord every 2 bars" is a rate, not a length
            scan.take(*match.span())
            return _check_bars(_count(match["n"]))
    return None


_NUM = r"\d+(?:\.\d+)?"
_BPM_PATTERNS = (
    re.compile(rf"(?<![\w.])(?P<a>{_NUM})(?:\s*(?:-|\u2013|to)\s*(?P<b>{_NUM}))?\s*"
               r"(?:bpm|b\.p\.m\.?|beats?\s+(?:per|a)\s+minute|beats?/min)(?![\w])"),
    re.compile(rf"\b(?:bpm|tempo)\s*(?:[:=@]|of|at|is|around|about|~|≈)?\s*[~≈]?\s*(?P<a>{_NUM}){_END}"),
    re.compile(rf"(?:♩|\bq|\bquarter(?:\s+note)?|\bcrotchet)\s*=\s*(?P<a>{_NUM}){_END}"),
    re.compile(r"(?:\bat|@|~|≈|\baround|\babout|\broughly)\s*[~≈]?\s*(?P<a>\d{2,3}(?:\.\d+)?)" + _END +
               r"(?!\s*(?:%|bars?|measures?|hz|khz|ms|db|cents?|x\b|semitones?|steps?|notes?|seconds?|secs?|"
               r"minutes?|percent|beats?\b(?!\s+(?:per|a)\s+minute)))"),
)  # fmt: skip
_BARE_NUMBER = re.compile(r"(?<![\w.#/♯♭])(?P<a>\d{2,3})" + _END + r"(?![%#])")
_BARE_BPM_RANGE = (40, 250)


def _check_bpm(bpm: float) -> float:
    if not BPM_RANGE[0] <= bpm <= BPM_RANGE[1]:
        raise _invalid("bpm", bpm, f"valid range is {BPM_RANGE[0]:g}..{BPM_RANGE[1]:g}")
    return bpm


def _find_bpm(scan: _Scan) -> float | None:
    """The tempo the prompt states; a range ("120-130 bpm") gives its middle."""
    for pattern in _BPM_PATTERNS:
        for match in scan.find(pattern):
            scan.take(*match.span())
            low = float(match["a"])
            high = float(match["b"]) if "b" in pattern.groupindex and match["b"] else low
            return _check_bpm((low + high) / 2)
    # A lone plausible number ("house 124") is a tempo only when nothing else claims it.
    for match in scan.find(_BARE_NUMBER):
        if _BARE_BPM_RANGE[0] <= int(match["a"]) <= _BARE_BPM_RANGE[1]:
            scan.take(*match.span())
            return float(match["a"])
    return None


# --------------------------------------------------------------------------- words

_GENRE_KEYS = {_norm(k): name for name, g in lx.GENRES.items() for k in (name, *g.keywords)}
_GENRE_KEYS_TEXT = [k for g in lx.GENRES.values() for k in (g.name, *g.keywords)]
_GENRE_PATTERN = _phrase_pattern(_GENRE_KEYS_TEXT)

_PART_VOCAB: dict[str, tuple[str, Any]] = {
    **{_norm(w): ("weak", kind) for w, kind in lx.WEAK_PART_WORDS.items()},
    **{_norm(w): ("role", role) for w, role in lx.ROLE_WORDS.items()},
    **{_norm(w): ("role", "drums") for w in lx.DRUM_WORDS},
    **{_norm(w): ("instrument", inst) for w, inst in lx.INSTRUMENTS.items()},
}
_PART_WORDS = {w for phrase in (*lx.ROLE_WORDS, *lx.DRUM_WORDS, *lx.INSTRUMENTS) for w in phrase.split()}
#: Genre names made of part words ("drum and bass", "future bass"): read whole, never as parts.
_PART_BLOCKERS = [k for k in _GENRE_KEYS_TEXT if len(k.split()) > 1 and set(k.split()) & _PART_WORDS]
_PART_PATTERN = _phrase_pattern([*lx.WEAK_PART_WORDS, *lx.ROLE_WORDS, *lx.DRUM_WORDS, *lx.INSTRUMENTS, *_PART_BLOCKERS])
#: Words after "a minor"/"a major" that make the "a" an article: "a minor key", "a minor piano piece".
_NOUN_WORDS = _PART_WORDS | {w for k in _GENRE_KEYS_TEXT for w in k.split()}

_DESCRIPTORS: dict[str, tuple[str, Any]] = {
    **{_norm(k): ("mood", name) for name, m in lx.MOODS.items() for k in (name, *m.keywords)},
    **{_norm(k): ("tempo", v) for k, v in lx.TEMPO_MARKINGS.items()},
    **{_norm(k): ("tempo_factor", v) for k, v in lx.TEMPO_FACTORS.items()},
    **{_norm(k): ("swing", v) for k, v in lx.SWING_WORDS.items()},
    **{_norm(k): ("density", v) for k, v in lx.DENSITY_WORDS.items()},
    **{_norm(k): ("feel", v) for k, v in lx.FEEL_WORDS.items()},
}
_DESCRIPTOR_TEXT = [*lx.TEMPO_MARKINGS, *lx.TEMPO_FACTORS, *lx.SWING_WORDS, *lx.DENSITY_WORDS, *lx.FEEL_WORDS,
                    *(k for name, m in lx.MOODS.items() for k in (name, *m.keywords))]  # fmt: skip
#: Instrument names holding a mood or density word ("grand piano", "soft pad"): not moods.
_DESCRIPTOR_BLOCKERS = [
    k
    for k in lx.INSTRUMENTS
    if len(k.split()) > 1 and set(k.split()) & {w for d in _DESCRIPTOR_TEXT for w in d.split()}
]
_DESCRIPTOR_PATTERN = _phrase_pattern([*_DESCRIPTOR_TEXT, *_DESCRIPTOR_BLOCKERS])


@dataclass
class _Mention:
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
class _Words:
    genres: list[tuple[int, str]] = field(default_factory=list)  # (position, genre)
    moods: list[str] = field(default_factory=list)
    mentions: list[_Mention] = field(default_factory=list)
    excluded: set[str] = field(default_factory=set)
    tempo: float | None = None
    tempo_factor: float | None = None
    swing: float | None = None
    density: float | None = None
    feel: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)  # what the word passes explained


def _find_genres(scan: _Scan, words: _Words) -> None:
    own = scan.copy()
    for match in own.find(_GENRE_PATTERN):
        own.take(*match.span())
        words.genres.append((match.start(), _lookup(_GENRE_KEYS, match[0])))
        words.spans.append(match.span())


def _find_descriptors(scan: _Scan, words: _Words) -> None:
    own = scan.copy()
    for start, end in words.spans:  # genre names first: "minimal techno" is not "minimal"
        own.take(start, end)
    for match in own.find(_DESCRIPTOR_PATTERN):
        own.take(*match.span())
        try:
            kind, value = _lookup(_DESCRIPTORS, match[0])
        except KeyError:
            continue  # an instrument name that only blocks ("soft pad")
        words.spans.append(match.span())
        if kind == "mood":
            words.moods.append(value)
        elif getattr(words, kind) is None:
            setattr(words, kind, value)


_NEGATION = re.compile(r"(?:\bno|\bwithout|\bminus|\bexcluding|\bexcept(?:\s+for)?|\bsans|\bleave\s+out|\bskip"
                       r"|\bremove|\bzero|\bnot?\s+any|\bnot)\s+(?:any\s+|the\s+|a\s+|an\s+)?$")  # fmt: skip
_NEGATION_CHAIN = re.compile(r"\s*(?:,\s*)?(?:or|nor)\s+(?:any\s+|the\s+)?$")
_ONLY_BEFORE = re.compile(r"(?:\bonly|\bjust|\bnothing\s+but|\bpurely|\bexclusively)\s+(?:the\s+|a\s+|an\s+|some\s+)?$")
_ONLY_AFTER = re.compile(r"\s*(?:only\b|alone\b|by\s+itself\b|on\s+its\s+own\b)")
#: Between two part words of one list: "only drums and bass", "drums, bass and keys only".
_LIST_LINK = re.compile(r"\s*(?:,|&|\+|\band\b|\bplus\b|\bor\b)?\s*(?:and\s+)?(?:the\s+|a\s+|an\s+|some\s+)?")
_LESS = re.compile(r"(?<![a-z])(?P<word>drum|beat|bass|percussion|chord|melody)[\s\-]?less(?![a-z])")
_LESS_ROLES = {"drum": "drums", "beat": "drums", "percussion": "drums", "bass": "bass", "chord": "chords",
               "melody": "melody"}  # fmt: skip
_LOOKBEHIND = 30  # characters searched for "no"/"only" before a part word


def _spread_exclusive(scan: _Scan, mentions: list[_Mention]) -> None:
    """An "only" covers the whole list it stands by: "only drums and bass", "drums and bass only"."""
    linked = [bool(_LIST_LINK.fullmatch(scan.lower, a.end, b.start)) for a, b in itertools.pairwise(mentions)]
    for order in (range(len(linked)), reversed(range(len(linked)))):
        for i in order:
            if linked[i] and (mentions[i].exclusive or mentions[i + 1].exclusive):
                mentions[i].exclusive = mentions[i + 1].exclusive = True


def _find_parts(scan: _Scan, words: _Words) -> None:
    own = scan.copy()
    previous: _Mention | None = None
    for match in own.find(_PART_PATTERN):
        own.take(*match.span())
        try:
            kind, value = _lookup(_PART_VOCAB, match[0])
        except KeyError:
            continue  # a genre name made of part words ("drum and bass")
        words.spans.append(match.span())
        instrument = value if kind == "instrument" else None
        mention = _Mention(*match.span(), kind, instrument.role if instrument else value, match[0], instrument)
        window = max(0, match.start() - _LOOKBEHIND)
        chained = (
            previous is not None
            and previous.negated
            and _NEGATION_CHAIN.fullmatch(scan.lower, previous.end, match.start())
        )
        mention.negated = bool(_NEGATION.search(scan.lower, window, match.start()) or chained)
        mention.exclusive = bool(_ONLY_BEFORE.search(scan.lower, window, match.start())
                                 or _ONLY_AFTER.match(scan.lower, match.end()))  # fmt: skip
        words.mentions.append(mention)
        previous = mention
    _spread_exclusive(scan, words.mentions)
    for match in own.find(_LESS):  # "drumless", "beat-less"
        own.take(*match.span())
        words.spans.append(match.span())
        words.excluded.add(_LESS_ROLES[match["word"]])
    # "solo piano": the whole piece is that instrument; "sax solo" stays a melody on sax.
    for mention, following in itertools.pairwise(words.mentions):
        adjacent = not scan.lower[mention.end : following.start].strip()
        if _norm(mention.word) == "solo" and following.kind == "instrument" and adjacent:
            mention.kind = "marker"
            following.exclusive = True


# --------------------------------------------------------------------------- fuzzy words

_TOKEN = re.compile(r"[a-z0-9][a-z0-9'&]*")
_CLAUSE_BREAK = re.compile(r"[,;.!?:()\[\]]")
_GENRE_LABELS = {name: (name, *g.keywords) for name, g in lx.GENRES.items()}
_MOOD_LABELS = {name: (name, *m.keywords) for name, m in lx.MOODS.items()}


@dataclass(frozen=True)
class _Gram:
    text: str
    start: int
    end: int
    words: int


def _fuzzy_candidates(scan: _Scan, words: _Words) -> list[_Gram]:
    """N-grams of 1-3 words, within a clause, that hold a word no rule explained.

    A genre or mood word may sit beside the unknown one ("chilled hop"); part words, structure
    (numbers, keys, meters) and punctuation break the runs, since "bass that follows" is about
    a part, not a genre.
    """
    known = bytearray(len(scan.text))
    for start, end in words.spans:
        known[start:end] = b"\x01" * (end - start)
    parts = bytearray(len(scan.text))
    for mention in words.mentions:
        parts[mention.start : mention.end] = b"\x01" * (mention.end - mention.start)
    runs: list[list[tuple[str, int, int, bool]]] = [[]]
    previous_end = 0
    for match in _TOKEN.finditer(scan.lower):
        (start, end), word = match.span(), match[0]
        structural = not scan.free(start, end) or word.isdigit() or any(parts[start:end])
        if structural or _CLAUSE_BREAK.search(scan.lower, previous_end, start):
            runs.append([])
        previous_end = end
        if not structural:
            runs[-1].append((word, start, end, not any(known[start:end]) and word not in lx.STOPWORDS))
    grams = []
    for run in runs:
        for size in (1, 2, 3):
            for i in range(len(run) - size + 1):
                chunk = run[i : i + size]
                if any(w[3] for w in chunk) and chunk[0][0] not in lx.STOPWORDS and chunk[-1][0] not in lx.STOPWORDS:
                    grams.append(_Gram(scan.lower[chunk[0][1] : chunk[-1][2]], chunk[0][1], chunk[-1][2], size))
    return grams


def _spelling_match(text: str, labels: Mapping[str, Sequence[str]]) -> tuple[str, float] | None:
    """The label with a keyword spelt most like ``text`` (difflib ratio, spaces ignored)."""
    word = _norm(text)
    if len(word) < FUZZY_MIN_SPELLING_CHARS:
        return None
    best = None
    for label, texts in labels.items():
        for key in (_norm(t) for t in texts):
            if len(key) >= FUZZY_MIN_SPELLING_CHARS:
                ratio = difflib.SequenceMatcher(None, word, key).ratio()
                if best is None or ratio > best[1]:
                    best = (label, ratio)
    return best


def _texts_up_to(labels: Mapping[str, Sequence[str]], words: int) -> dict[str, tuple[str, ...]]:
    """Each label's texts of at most ``words`` words: "drop" is not compared with "one drop"."""
    return {
        label: short for label, texts in labels.items() if (short := tuple(t for t in texts if len(t.split()) <= words))
    }


@dataclass(frozen=True)
class _Fuzzy:
    label: str
    gram: _Gram
    score: float


def _fuzzy_match(grams: list[_Gram], labels: Mapping[str, Sequence[str]], embedder: Embedder | None) -> _Fuzzy | None:
    """The best label for any n-gram: by spelling (single words), and by meaning with an embedder.

    Longer n-grams get a small bonus: they carry the context their words lack alone.
    """
    found: list[_Fuzzy] = []
    for gram in grams:
        if (match := _spelling_match(gram.text, labels)) and match[1] >= FUZZY_MIN_SPELLING:
            found.append(_Fuzzy(match[0], gram, match[1]))
    if embedder is not None:
        for size in sorted({g.words for g in grams}):
            sized = [g for g in grams if g.words == size]
            threshold = FUZZY_MIN_COSINE_WORD if size == 1 else FUZZY_MIN_COSINE
            for gram, match in zip(sized, embedder.best_labels([g.text for g in sized], _texts_up_to(labels, size)),
                                   strict=True):  # fmt: skip
                if match.score >= threshold:
                    found.append(_Fuzzy(match.label, gram, match.score))
    return max(found, key=lambda f: f.score + FUZZY_WORD_BONUS * (f.gram.words - 1), default=None)


# --------------------------------------------------------------------------- parts


_CLAUSE_SPLIT = re.compile(r"[,;.!?()\[\]&+]|\b(?:and|with|plus|over|under|featuring|feat|alongside|backed\s+by|"
                           r"on\s+top\s+of|layered\s+with|along\s+with|together\s+with)\b")  # fmt: skip
#: Families that sustain: a second chord instrument of these plays the pad ("piano and strings").
_PAD_LIKE_FAMILIES = {"strings", "organ", "ensemble", "synth_pad", "brass"}
#: Role words that, written before another role word, name a sound: "pad chords", "lead melody".
_MODIFIER_SOUNDS = {"pad": lx.Instrument(89, "pad", "Pad"), "lead": lx.Instrument(81, "melody", "Lead Synth")}


def _program(instrument: lx.Instrument | None, role: str, genre: lx.Genre) -> tuple[int, str]:
    """(GM program, track name) of ``instrument`` playing ``role``; the genre's sound when none."""
    if role == "drums":
        return 0, "Drums"
    genre_program, genre_name = genre.programs[role]
    if instrument is None:
        return genre_program, genre_name
    program = instrument.by_role.get(role, instrument.program)
    if instrument.generic and lx.gm_family(genre_program) == lx.gm_family(program):
        return genre_program, genre_name  # rock "guitar" is overdriven, folk "guitar" acoustic
    return program, instrument.name


@dataclass
class _Head:
    """A role the prompt asks for, and the instrument named for it (None: the genre's)."""

    role: str
    instrument: lx.Instrument | None = None
    modifier: bool = False  # the instrument came from a word like "pad" in "pad chords"


def _clause_heads(scan: _Scan, mentions: list[_Mention], exclusive: set[str]) -> tuple[list[_Head], list[_Mention]]:
    """Role heads of one clause with their instruments attached; returns (heads, unattached instruments)."""
    # Adjacent role words form one phrase whose last word is the head: "pad progression", "lead melody".
    groups: list[list[_Mention]] = []
    for m in (m for m in mentions if m.kind == "role"):
        if groups and not scan.lower[groups[-1][-1].end : m.start].strip(" -"):
            groups[-1].append(m)
        else:
            groups.append([m])
    heads: list[tuple[int, _Head]] = []
    for group in groups:
        head = _Head(group[-1].role)
        sound = next((_MODIFIER_SOUNDS[_norm(m.word).rstrip("s")] for m in group[:-1]
                      if _norm(m.word).rstrip("s") in _MODIFIER_SOUNDS), None)  # fmt: skip
        if sound is not None:
            head.instrument, head.modifier = sound, True
        if any(m.exclusive for m in group):
            exclusive.add(head.role)
        heads.append((group[0].start, head))
    unattached = []
    for inst in (m for m in mentions if m.kind == "instrument"):
        # The nearest role phrase after the instrument ("piano melody"), else before ("melody on flute").
        after = [h for position, h in heads if position > inst.start]
        target = after[0] if after else (heads[-1][1] if heads else None)
        if target is not None and (target.instrument is None or target.modifier):
            target.instrument, target.modifier = inst.instrument, False
        else:
            unattached.append(inst)
        if inst.exclusive:
            exclusive.add(target.role if target is not None else inst.role)
    return [h for _, h in heads], unattached


def _resolve_parts(scan: _Scan, words: _Words, genre: lx.Genre, genre_named: bool) -> tuple[list[PartSpec], bool]:
    """The parts the prompt asks for; (parts in PART_ROLES order, whether the prompt set them).

    Role words are grouped by clause; an instrument plays the role word beside it, else its own
    default role. A clause whose only part word is "beat"/"groove"/"loop" means drums, plus
    the genre's bass for a "beat" of a named genre; "track"/"song" of a named genre means the
    genre's parts. No part word at all: the genre's parts.
    """
    live = [m for m in words.mentions if not m.negated and m.kind != "marker"]
    excluded = set(words.excluded) | {m.role for m in words.mentions if m.negated and m.kind == "role"}
    exclusive: set[str] = set()
    cuts = [m.start() for m in _CLAUSE_SPLIT.finditer(scan.lower) if scan.free(*m.span())]
    clauses: dict[int, list[_Mention]] = {}
    for mention in live:
        clauses.setdefault(sum(c < mention.start for c in cuts), []).append(mention)

    heads: list[_Head] = []
    unattached: list[_Mention] = []
    for _, mentions in sorted(clauses.items()):
        if all(m.kind == "weak" for m in mentions):
            kinds = {m.role for m in mentions}
            if kinds - {"whole"}:
                heads.append(_Head("drums"))
                exclusive |= {"drums"} if any(m.exclusive for m in mentions) else set()
            if genre_named:
                implied = genre.parts if "whole" in kinds else ("bass",) if "beat" in kinds else ()
                heads += [_Head(role) for role in implied if role in genre.parts]
            continue
        clause_heads, clause_unattached = _clause_heads(scan, [m for m in mentions if m.kind != "weak"], exclusive)
        heads += clause_heads
        unattached += clause_unattached

    chosen: dict[str, lx.Instrument | None] = {}
    for head in heads:  # a role named twice keeps the first instrument given for it
        if chosen.get(head.role) is None:
            chosen[head.role] = head.instrument
    # Instruments named apart from any role word take their own role where it is free (a role
    # word without instrument counts as free: "progression ..., piano" puts the piano on the
    # chords); the rest then take a free role that suits them.
    crowded = []
    for mention in unattached:
        if chosen.get(mention.role) is None:
            chosen[mention.role] = mention.instrument
        else:
            crowded.append(mention.instrument)
    for instrument in crowded:
        fallback = "pad" if lx.gm_family(instrument.program) in _PAD_LIKE_FAMILIES else "melody"
        role = next((r for r in (fallback, "melody", "pad", "arp", "chords") if chosen.get(r) is None), None)
        if role is not None:
            chosen[role] = instrument

    explicit = bool(chosen or excluded or exclusive)
    if not chosen:
        chosen = dict.fromkeys(genre.parts)
    roles = [r for r in PART_ROLES if r in chosen and r not in excluded and (not exclusive or r in exclusive)]
    if not roles:
        raise _invalid("parts", sorted(excluded | exclusive), "the prompt excludes every part")
    return [PartSpec(r, *_program(chosen[r], r, genre)) for r in roles], explicit


# --------------------------------------------------------------------------- harmony


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


def _expand_chords(symbols: Sequence[str], bars: int, beats_per_bar: float, per_bar: float) -> tuple[ChordChange, ...]:
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


# --------------------------------------------------------------------------- entry point


def _find_idioms(scan: _Scan) -> tuple[str, ...]:
    """Groove idioms the prompt names ("four on the floor"), in a stable order."""

    def words(text: str) -> str:
        return " " + re.sub(r"[^a-z0-9]+", " ", text) + " "

    text = words(scan.lower)
    found = {idiom for phrase, idiom in lx.IDIOM_WORDS.items() if words(phrase) in text}
    return tuple(sorted(found))


def _check_prompt(prompt: object) -> str:
    if not isinstance(prompt, str):
        raise _invalid("prompt", type(prompt).__name__, "expected a string")
    if not prompt.strip():
        raise _invalid("prompt", prompt, "the prompt is empty")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise _invalid("prompt", f"{len(prompt)} characters", f"valid length is 1..{MAX_PROMPT_CHARS} characters")
    return prompt


def _check_overrides(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate ``overrides``; returns them converted (key -> (tonic, mode), meter -> tuple)."""
    if not overrides:
        return {}
    unknown = sorted(set(overrides) - set(OVERRIDE_KEYS))
    if unknown:
        raise _invalid("overrides", unknown, f"valid keys are {', '.join(OVERRIDE_KEYS)}")
    checked: dict[str, Any] = {}
    for name, value in overrides.items():
        if value is None:
            continue
        if name in ("bars", "seed"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise _invalid(name, value, "expected an integer")
            checked[name] = _check_bars(value) if name == "bars" else value
        elif name == "bpm":
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise _invalid("bpm", value, "expected a number")
            checked["bpm"] = _check_bpm(float(value))
        elif name == "key":
            if not isinstance(value, str):
                raise _invalid("key", value, "expected a key name such as 'F minor'")
            checked["key"] = parse_key(value)
        elif name == "meter":
            if isinstance(value, str):
                checked["meter"] = parse_meter(value)
            elif isinstance(value, Sequence) and len(value) == 2 and all(isinstance(v, int) for v in value):
                checked["meter"] = _check_meter(*value)
            else:
                raise _invalid("meter", value, "expected a time signature such as '6/8'")
    return checked


def _pick_genre(found: list[tuple[int, str]]) -> str | None:
    """The first named genre, except that an umbrella genre yields to a specific one ("lofi hip hop")."""
    ordered = [g for _, g in sorted(found)]
    return next((g for g in ordered if not lx.GENRES[g].broad), ordered[0] if ordered else None)


def _genre_and_mood(
    scan: _Scan, words: _Words, progression: _Progression, embedder: Embedder | None
) -> tuple[str | None, str | None]:
    """(genre, mood) the prompt names: by keyword, else by fuzzy words; None where it names none.

    A whole prompt is not matched against genre descriptions: measured, "a beat at 90 bpm"
    sits nearest drum and bass (cosine 0.61), so such a guess is noise, not a reading.
    """
    genre = _pick_genre(words.genres) or ("blues" if progression.blues else None)
    mood = words.moods[0] if words.moods else None
    if genre is None or mood is None:
        grams = _fuzzy_candidates(scan, words)
        if genre is None and (fuzzy := _fuzzy_match(grams, _GENRE_LABELS, embedder)):
            genre = fuzzy.label
        if mood is None and (fuzzy := _fuzzy_match(grams, _MOOD_LABELS, embedder)):
            mood = fuzzy.label
    return genre, mood


def _resolve_key(
    key: _Key, forced: Mapping[str, Any], progression: _Progression, genre: lx.Genre, mood: lx.Mood | None, seed: int
) -> tuple[int, str]:
    """Stated key > key of explicit chords > the mode numerals, a mood or the genre imply > seeded tonic."""
    if "key" in forced:
        return forced["key"]
    tonic, mode = key.tonic, key.mode
    if tonic is None and mode is None and progression.symbols:
        return key_from_chords(progression.symbols)
    if mode is None and progression.romans:
        mode = _roman_mode(progression.romans)
    if mode is None and progression.blues:
        mode = "minor" if progression.blues_minor else "major"
    if mode is None:
        mode = mood.mode if mood and mood.mode else random.Random(f"{seed}:mode").choice(genre.modes)
    if tonic is None:
        tonic = random.Random(f"{seed}:tonic").choice(genre.tonics)
    return tonic, mode


def _resolve_bpm(bpm: float | None, words: _Words, genre: lx.Genre, mood: lx.Mood | None, seed: int) -> float:
    """Stated tempo > a tempo marking ("Allegro") > the genre's, scaled by "slow"/"fast" or the mood."""
    if bpm is not None:
        return bpm
    if words.tempo is not None:
        return float(words.tempo)
    factor = words.tempo_factor if words.tempo_factor is not None else (mood.tempo_factor if mood else 1.0)
    # A little seeded spread so seeds differ; the genre's tempo stays the centre.
    return _check_bpm(float(round(genre.bpm * factor) + random.Random(f"{seed}:bpm").choice((-2, -1, 0, 1, 2))))


def _progression_symbols(progression: _Progression, tonic: int, mode: str) -> tuple[str, ...]:
    """The progression as chord symbols in the spec's key."""
    if progression.romans:
        try:
            return tuple(roman_to_symbol(r, tonic, mode) for r in progression.romans)
        except ValueError as exc:
            raise _invalid("chords", " ".join(progression.romans), str(exc)) from None
    if progression.blues:
        return tuple(twelve_bar_blues(tonic, "minor" if mode in ("minor", "dorian", "phrygian") else "major"))
    return progression.symbols


def _default_bars(symbols: Sequence[str], per_bar: float) -> int:
    """Bars when the prompt gives none: 8, or the progression repeated to at least 8 bars,
    preferring a multiple of 4 within four repeats (a 3-chord progression gets 12, not 9)."""
    if not symbols:
        return DEFAULT_BARS
    length = math.ceil(len(symbols) / per_bar)
    repeats = [length * k for k in range(1, 5) if length * k >= DEFAULT_BARS]
    bars = next((b for b in repeats if b % 4 == 0), length * math.ceil(DEFAULT_BARS / length))
    return min(bars, MAX_BARS)


def parse_prompt(
    prompt: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    embedder: Embedder | None = None,
    seed: int = 0,
) -> MusicSpec:
    """Read a producer's prompt into a fully resolved :class:`MusicSpec`.

    Args:
        prompt: free text, 1..2000 characters, e.g. "dark trap in F minor, 140 bpm, 8 bars".
        overrides: values that win over the prompt (``bars``, ``bpm``, ``key`` as "F minor",
            ``meter`` as "6/8", ``seed``), e.g. from CLI flags; they count as explicit.
        embedder: matches genre and mood words no keyword covers; without it only keywords
            and spelling similarity are used.
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
    forced = _check_overrides(overrides)
    scan = _Scan(_check_prompt(prompt))
    seed = forced.get("seed", seed)
    progression = _find_progression(scan)
    chord_rate = _find_chord_rate(scan)
    meter = _find_meter(scan)
    meter_word = _find_meter_word(scan)
    bars = _find_bars(scan)
    bpm = _find_bpm(scan)
    key = _find_key(scan)
    words = _Words()
    _find_genres(scan, words)
    _find_parts(scan, words)
    _find_descriptors(scan, words)

    genre_name, mood_name = _genre_and_mood(scan, words, progression, embedder)
    genre = lx.GENRES[genre_name or DEFAULT_GENRE]
    mood = lx.MOODS[mood_name] if mood_name else None
    parts, parts_explicit = _resolve_parts(scan, words, genre, genre_name is not None)

    meter = forced.get("meter") or meter or meter_word
    tonic, mode = _resolve_key(key, forced, progression, genre, mood, seed)
    symbols = _progression_symbols(progression, tonic, mode)
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
        "idioms": bool(idioms := _find_idioms(scan)),
    }
    meter = meter or genre.meter
    bars = bars or _default_bars(symbols, per_bar)
    density = words.density if words.density is not None else genre.density + (mood.density_delta if mood else 0.0)
    return MusicSpec(
        bpm=_resolve_bpm(bpm, words, genre, mood, seed),
        key_tonic=tonic,
        key_mode=mode,
        meter=meter,
        bars=bars,
        genre=genre.name,
        parts=tuple(parts),
        mood=mood.name if mood else None,
        chords=_expand_chords(symbols, bars, meter[0] * 4 / meter[1], per_bar) if symbols else (),
        swing=words.swing if words.swing is not None else genre.swing,
        density=round(min(1.0, max(0.0, density)), 3),
        feel=words.feel or genre.feel,
        seed=seed,
        idioms=idioms or lx.IDIOM_DEFAULTS.get(genre.name, ()),
        explicit=frozenset(name for name, is_set in explicit.items() if is_set),
    )
