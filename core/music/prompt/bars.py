"""The length a prompt states, in bars: "8 bars", "sixteen measures", "length: 4"."""

from __future__ import annotations

import re

from promptdaw.core.music.prompt.checks import check_bars
from promptdaw.core.music.prompt.numbers import COUNT, read_number
from promptdaw.core.music.prompt.scan import Scan

__all__ = ["find_bars"]

_BARS = re.compile(rf"(?<![\w.]){COUNT}\s*-?\s*(?:bars?|measures?)(?![\w])")
_BARS_LABEL = re.compile(r"\b(?:bars|measures|length)\s*[:=]\s*(?P<n>\d+)\b")
_RATE_BEFORE = re.compile(r"\b(?:per|every|each)\s*$")


def find_bars(scan: Scan) -> int | None:
    for pattern in (_BARS_LABEL, _BARS):
        for match in scan.find(pattern):
            if _RATE_BEFORE.search(scan.lower, max(0, match.start() - 8), match.start()):
                continue  # "a chord every 2 bars" is a rate, not a length
            scan.take(*match.span())
            return check_bars(read_number(match["n"]))
    return None
