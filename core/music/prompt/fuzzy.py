"""Genre and mood words no keyword covers ("tecno", "chilled hop", "melancolic"), matched by
spelling and, with a :class:`~.matcher.LabelMatcher`, by meaning.

Candidates are n-grams of 1-3 words the rules left unexplained; the thresholds were measured
on MiniLM (all-MiniLM-L6-v2), the embedder the daemon passes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from promptdaw.core.music import lexicon as lx
from promptdaw.core.music.prompt.matcher import LabelMatcher
from promptdaw.core.music.prompt.scan import Scan, norm
from promptdaw.core.music.prompt.words import Words

__all__ = [
    "FUZZY_MIN_COSINE",
    "FUZZY_MIN_COSINE_WORD",
    "FUZZY_MIN_SPELLING",
    "FUZZY_MIN_SPELLING_CHARS",
    "FUZZY_WORD_BONUS",
    "Fuzzy",
    "Gram",
    "fuzzy_candidates",
    "fuzzy_match",
]

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

_TOKEN = re.compile(r"[a-z0-9][a-z0-9'&]*")
_CLAUSE_BREAK = re.compile(r"[,;.!?:()\[\]]")


@dataclass(frozen=True)
class Gram:
    """1-3 consecutive words of the prompt (lower case), where they stand and how many they are."""

    text: str
    start: int
    end: int
    words: int


def fuzzy_candidates(scan: Scan, words: Words) -> list[Gram]:
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
                    grams.append(Gram(scan.lower[chunk[0][1] : chunk[-1][2]], chunk[0][1], chunk[-1][2], size))
    return grams


def _spelling_match(text: str, labels: Mapping[str, Sequence[str]]) -> tuple[str, float] | None:
    """The label with a keyword spelt most like ``text`` (difflib ratio, spaces ignored)."""
    word = norm(text)
    if len(word) < FUZZY_MIN_SPELLING_CHARS:
        return None
    best = None
    for label, texts in labels.items():
        for key in (norm(t) for t in texts):
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
class Fuzzy:
    """A label matched to an n-gram, and how well (difflib ratio or cosine)."""

    label: str
    gram: Gram
    score: float


def fuzzy_match(grams: list[Gram], labels: Mapping[str, Sequence[str]], embedder: LabelMatcher | None) -> Fuzzy | None:
    """The best label for any n-gram: by spelling (single words), and by meaning with an embedder.

    Longer n-grams get a small bonus: they carry the context their words lack alone.
    """
    found: list[Fuzzy] = []
    for gram in grams:
        if (match := _spelling_match(gram.text, labels)) and match[1] >= FUZZY_MIN_SPELLING:
            found.append(Fuzzy(match[0], gram, match[1]))
    if embedder is not None:
        for size in sorted({g.words for g in grams}):
            sized = [g for g in grams if g.words == size]
            threshold = FUZZY_MIN_COSINE_WORD if size == 1 else FUZZY_MIN_COSINE
            for gram, match in zip(sized, embedder.best_labels([g.text for g in sized], _texts_up_to(labels, size)),
                                   strict=True):  # fmt: skip
                if match.score >= threshold:
                    found.append(Fuzzy(match.label, gram, match.score))
    return max(found, key=lambda f: f.score + FUZZY_WORD_BONUS * (f.gram.words - 1), default=None)
