"""The tempo a prompt states: "140 bpm", "one hundred and ten bpm", "tempo: 96", "♩ = 66", "house 124"."""

from __future__ import annotations

import re

from promptdaw.core.music.prompt.checks import check_bpm
from promptdaw.core.music.prompt.numbers import CARDINAL_WORDS, NUMBER_END, read_number
from promptdaw.core.music.prompt.scan import Scan

__all__ = ["find_bpm"]

_NUM = r"\d+(?:\.\d+)?"
#: Before a tempo unit a number may be written out; elsewhere words are left alone, since "mid
#: tempo one drop" or "at one point" are no tempos.
_NUM_OR_WORDS = rf"(?:{_NUM}|{CARDINAL_WORDS})"
_BPM_PATTERNS = (
    re.compile(rf"(?<![\w.])(?P<a>{_NUM_OR_WORDS})(?:\s*(?:-|\u2013|to)\s*(?P<b>{_NUM_OR_WORDS}))?\s*"
               r"(?:bpm|b\.p\.m\.?|beats?\s+(?:per|a)\s+minute|beats?/min)(?![\w])"),
    re.compile(rf"\b(?:bpm|tempo)\s*(?:[:=@]|of|at|is|around|about|~|≈)?\s*[~≈]?\s*(?P<a>{_NUM}){NUMBER_END}"),
    re.compile(rf"(?:♩|\bq|\bquarter(?:\s+note)?|\bcrotchet)\s*=\s*(?P<a>{_NUM}){NUMBER_END}"),
    re.compile(r"(?:\bat|@|~|≈|\baround|\babout|\broughly)\s*[~≈]?\s*(?P<a>\d{2,3}(?:\.\d+)?)" + NUMBER_END +
               r"(?!\s*(?:%|bars?|measures?|hz|khz|ms|db|cents?|x\b|semitones?|steps?|notes?|seconds?|secs?|"
               r"minutes?|percent|beats?\b(?!\s+(?:per|a)\s+minute)))"),
)  # fmt: skip
_BARE_NUMBER = re.compile(r"(?<![\w.#/♯♭])(?P<a>\d{2,3})" + NUMBER_END + r"(?![%#])")
#: A lone number is a tempo only in this range: "house 124", not "a 303 line".
_BARE_BPM_RANGE = (40, 250)


def _value(text: str) -> float:
    return float(read_number(text)) if text[:1].isalpha() else float(text)


def find_bpm(scan: Scan) -> float | None:
    """The tempo the prompt states; a range ("120-130 bpm") gives its middle."""
    for pattern in _BPM_PATTERNS:
        for match in scan.find(pattern):
            scan.take(*match.span())
            low = _value(match["a"])
            high = _value(match["b"]) if "b" in pattern.groupindex and match["b"] else low
            return check_bpm((low + high) / 2)
    # A lone plausible number ("house 124") is a tempo only when nothing else claims it.
    for match in scan.find(_BARE_NUMBER):
        if _BARE_BPM_RANGE[0] <= int(match["a"]) <= _BARE_BPM_RANGE[1]:
            scan.take(*match.span())
            return float(match["a"])
    return None
