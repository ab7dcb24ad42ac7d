"""The parts a prompt asks for, from its part words and instruments, and the sound each part gets.

Role words are grouped by clause; an instrument plays the role word beside it, else its own
default role. A clause whose only part word is "beat"/"groove"/"loop" means drums, plus the
genre's bass for a "beat" of a named genre; "track"/"song" of a named genre means the genre's
parts. No part word at all: the genre's parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from promptdaw.core.music import lexicon as lx
from promptdaw.core.music.prompt.checks import invalid
from promptdaw.core.music.prompt.scan import Scan, norm
from promptdaw.core.music.prompt.words import Mention, Words
from promptdaw.core.music.spec import PART_ROLES, PartSpec

__all__ = ["resolve_parts"]

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


def _clause_heads(scan: Scan, mentions: list[Mention], exclusive: set[str]) -> tuple[list[_Head], list[Mention]]:
    """Role heads of one clause with their instruments attached; returns (heads, unattached instruments)."""
    # Adjacent role words form one phrase whose last word is the head: "pad progression", "lead melody".
    groups: list[list[Mention]] = []
    for m in (m for m in mentions if m.kind == "role"):
        if groups and not scan.lower[groups[-1][-1].end : m.start].strip(" -"):
            groups[-1].append(m)
        else:
            groups.append([m])
    heads: list[tuple[int, _Head]] = []
    for group in groups:
        head = _Head(group[-1].role)
        sound = next((_MODIFIER_SOUNDS[norm(m.word).rstrip("s")] for m in group[:-1]
                      if norm(m.word).rstrip("s") in _MODIFIER_SOUNDS), None)  # fmt: skip
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


def resolve_parts(
    scan: Scan, words: Words, genre: lx.Genre, genre_named: bool, pitched: bool = False
) -> tuple[list[PartSpec], bool]:
    """The parts the prompt asks for; (parts in PART_ROLES order, whether the prompt set them).

    ``pitched``: the prompt names a key or chords, so a genre's "groove" or "loop" means the
    genre's parts, not drums alone ("deep house groove in A minor"); "beat" stays the drums
    and the genre's bass.
    """
    live = [m for m in words.mentions if not m.negated and m.kind != "marker"]
    excluded = set(words.excluded) | {m.role for m in words.mentions if m.negated and m.kind == "role"}
    exclusive: set[str] = set()
    cuts = [m.start() for m in _CLAUSE_SPLIT.finditer(scan.lower) if scan.free(*m.span())]
    clauses: dict[int, list[Mention]] = {}
    for mention in live:
        clauses.setdefault(sum(c < mention.start for c in cuts), []).append(mention)

    heads: list[_Head] = []
    unattached: list[Mention] = []
    for _, mentions in sorted(clauses.items()):
        if all(m.kind == "weak" for m in mentions):
            kinds = {m.role for m in mentions}
            if kinds - {"whole"}:
                heads.append(_Head("drums"))
                exclusive |= {"drums"} if any(m.exclusive for m in mentions) else set()
            if genre_named:
                whole = "whole" in kinds or (pitched and kinds & {"groove", "loop"})
                implied = genre.parts if whole else ("bass",) if "beat" in kinds else ()
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
        raise invalid("parts", sorted(excluded | exclusive), "the prompt excludes every part")
    return [PartSpec(r, *_program(chosen[r], r, genre)) for r in roles], explicit
