"""Numbers as prompts write them: digits, or words up to 999 ("twenty four", "one hundred and ten").

The regex fragments here are the one grammar of written numbers: the prompt reader uses them
for bars, chord rates and tempos, the one-shot reader (``runtime.synthesis.prompt``) for
lengths. The words themselves are the lexicon's :data:`~promptdaw.core.music.lexicon.NUMBER_WORDS`
and :data:`~promptdaw.core.music.lexicon.QUANTITY_WORDS`; this module only composes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from promptdaw.core.music import lexicon as lx

__all__ = ["CARDINAL_WORDS", "COUNT", "COUNT_WORDS", "NUMBER_END", "read_number"]

#: Between the words of one number: "twenty four", "twenty-four" and "twentyfour" read alike.
_SEP = r"[\s\-]*"


def _alternatives(words: Iterable[str]) -> str:
    """Longest first, so "seventeen" is not read as "seven" and "sixty" not as "six"."""
    return "|".join(_SEP.join(w.split()) for w in sorted(words, key=len, reverse=True))


_UNITS = _alternatives(w for w, n in lx.NUMBER_WORDS.items() if n < 10)
_TEENS = _alternatives(w for w, n in lx.NUMBER_WORDS.items() if 10 <= n < 20)
_TENS = _alternatives(w for w, n in lx.NUMBER_WORDS.items() if n >= 20)
_BELOW_HUNDRED = rf"(?:(?:{_TENS})(?:{_SEP}(?:{_UNITS}))?|{_TEENS}|{_UNITS})"

#: A number written in words, 1..999 ("ninety-five", "a hundred and twenty"); no groups, so it
#: can stand more than once in one pattern.
CARDINAL_WORDS = rf"(?:(?:(?:a|{_UNITS}){_SEP})?hundred(?:{_SEP}(?:and{_SEP})?{_BELOW_HUNDRED})?|{_BELOW_HUNDRED})"
#: A count in words: a number, or a small quantity ("a few", "a couple of").
COUNT_WORDS = rf"(?:{CARDINAL_WORDS}|{_alternatives(lx.QUANTITY_WORDS)})"
#: A count in digits or words, as group ``n``: "8", "eight", "a few".
COUNT = rf"(?P<n>\d+|{COUNT_WORDS})"
#: After a number in digits: no more digits, no slash, no decimal part (a full stop may end the sentence).
NUMBER_END = r"(?![\w/]|\.\d)"

_CARDINAL = re.compile(CARDINAL_WORDS)
#: The words of a matched number, one at a time (its separators are skipped).
_WORD = re.compile(rf"hundred|and|a|{_alternatives(lx.NUMBER_WORDS)}")


def read_number(text: str) -> int:
    """The value of a count matched by :data:`COUNT`: "12" -> 12, "one hundred and ten" -> 110, "a few" -> 3.

    Raises:
        ValueError: ``text`` is not a number in digits or words.
    """
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    quantity = lx.QUANTITY_WORDS.get(" ".join(re.split(r"[\s\-]+", text)))
    if quantity is not None:
        return quantity
    if not _CARDINAL.fullmatch(text):
        raise ValueError(f"not a number: {text!r}")
    value = 0
    for word in _WORD.findall(text):
        if word == "hundred":
            value = max(value, 1) * 100  # "a hundred" and "one hundred" alike
        elif word in lx.NUMBER_WORDS:
            value += lx.NUMBER_WORDS[word]
    return value
