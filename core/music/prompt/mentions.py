"""Part words and instruments in a prompt, each with whether it is negated or asked for alone.

"no drums", "without bass", "drumless" exclude a part; "only drums and bass", "just the
bassline", "solo piano" ask for those parts alone. Which parts the piece gets is decided
from these mentions in :mod:`.parts`.
"""

from __future__ import annotations

import itertools
import re

from promptdaw.core.music.prompt.scan import Scan, lookup, norm
from promptdaw.core.music.prompt.vocabulary import PART_PATTERN, PART_VOCAB
from promptdaw.core.music.prompt.words import Mention, Words

__all__ = ["find_parts"]

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


def _spread_exclusive(scan: Scan, mentions: list[Mention]) -> None:
    """An "only" covers the whole list it stands by: "only drums and bass", "drums and bass only"."""
    linked = [bool(_LIST_LINK.fullmatch(scan.lower, a.end, b.start)) for a, b in itertools.pairwise(mentions)]
    for order in (range(len(linked)), reversed(range(len(linked)))):
        for i in order:
            if linked[i] and (mentions[i].exclusive or mentions[i + 1].exclusive):
                mentions[i].exclusive = mentions[i + 1].exclusive = True


def find_parts(scan: Scan, words: Words) -> None:
    own = scan.copy()
    previous: Mention | None = None
    for match in own.find(PART_PATTERN):
        own.take(*match.span())
        try:
            kind, value = lookup(PART_VOCAB, match[0])
        except KeyError:
            continue  # a genre name made of part words ("drum and bass")
        words.spans.append(match.span())
        instrument = value if kind == "instrument" else None
        mention = Mention(*match.span(), kind, instrument.role if instrument else value, match[0], instrument)
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
        if norm(mention.word) == "solo" and following.kind == "instrument" and adjacent:
            mention.kind = "marker"
            following.exclusive = True
