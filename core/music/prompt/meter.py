"""Time signatures: stated ("6/8", "in 7/8 time") or implied by a dance ("waltz", "jig")."""

from __future__ import annotations

import re

from promptdaw.core.music import lexicon as lx
from promptdaw.core.music.prompt.checks import check_meter, invalid
from promptdaw.core.music.prompt.numbers import NUMBER_END
from promptdaw.core.music.prompt.scan import Scan, lookup, norm, phrase_pattern

__all__ = ["find_meter", "find_meter_word", "parse_meter"]

_METER = re.compile(r"(?<![\d/.])(?P<num>\d{1,3})\s*/\s*(?P<den>\d{1,3})" + NUMBER_END)
#: After "1/16", "1/8": note values ("1/16 hats", "1/8 notes"), not meters.
_NOT_METER_AFTER = re.compile(r"\s*(?:notes?|th\b|nds?\b|rds?\b|hats?|hi[\s\-]*hats?|triplets?|swing|steps?|grid)")
_METER_CONTEXT = re.compile(r"\s*(?:time|meter|metre|signature)\b")
_METER_WORD_PATTERN = phrase_pattern(list(lx.METER_WORDS))
_METER_WORD_KEYS = {norm(k): v for k, v in lx.METER_WORDS.items()}


def parse_meter(text: str) -> tuple[int, int]:
    """ "6/8" -> (6, 8). Raises InvalidInput naming ``meter`` for anything else or out of range."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise invalid("meter", text, "expected a time signature such as '4/4', '3/4', '6/8' or '7/8'")
    return check_meter(int(match[1]), int(match[2]))


def find_meter(scan: Scan) -> tuple[int, int] | None:
    for match in scan.find(_METER):
        if _NOT_METER_AFTER.match(scan.lower, match.end()):
            continue  # "1/16 hats", "1/8 notes": note values, not meters
        if match["num"] == "1" and not _METER_CONTEXT.match(scan.lower, match.end()):
            continue
        scan.take(*match.span())
        return check_meter(int(match["num"]), int(match["den"]))
    return None


def find_meter_word(scan: Scan) -> tuple[int, int] | None:
    """A meter implied by a dance ("waltz", "jig"); read without claiming the word, which may name a genre."""
    for match in scan.find(_METER_WORD_PATTERN):
        return lookup(_METER_WORD_KEYS, match[0])
    return None
