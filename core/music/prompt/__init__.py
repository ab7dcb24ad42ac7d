"""The one prompt-to-spec parser: "dark trap in F minor, 140 bpm, 8 bars" -> :class:`MusicSpec`.

Rules read what a prompt states exactly (tempo, key, meter, bars, progression, parts,
instruments, exclusions); the lexicon gives genre and mood defaults for the rest, chosen
deterministically from the seed. Words the rules do not know ("tecno", "chilled hop",
"melancolic") are matched to genres and moods by sentence embeddings when a
:class:`LabelMatcher` (the runtime's embedder) is given, and by spelling similarity either way.

The prompt is read in passes over one :class:`~.scan.Scan`; each pass marks the characters it
explained so a later pass cannot read them again (the "12" of "12 bar blues" is not a tempo,
the "Am" of "Am7 Dm9" is not a key, the "bass" of "drum and bass" is not a part):

1. structure: progression, chord rate (:mod:`.progressions`), meter (:mod:`.meter`), bars
   (:mod:`.bars`), tempo (:mod:`.tempo`), key (:mod:`.keys`);
2. genre keywords and descriptors (:mod:`.descriptors`); part words and instruments
   (:mod:`.mentions`, resolved into parts by :mod:`.parts`);
3. fuzzy genre and mood words, from what is left (:mod:`.fuzzy`).

:mod:`.reader` runs them and :mod:`.defaults` fills what the prompt leaves open. Numbers in
words (:mod:`.numbers`) and key names (:mod:`.keys`) are read here for every layer.
"""

from __future__ import annotations

from promptdaw.core.limits import BPM_RANGE, MAX_BARS, MAX_PROMPT_CHARS, METER_DENOMINATORS
from promptdaw.core.music.prompt.defaults import DEFAULT_BARS, DEFAULT_GENRE
from promptdaw.core.music.prompt.harmony import key_from_chords
from promptdaw.core.music.prompt.keys import parse_key
from promptdaw.core.music.prompt.matcher import LabelMatcher, LabelScore
from promptdaw.core.music.prompt.meter import parse_meter
from promptdaw.core.music.prompt.numbers import CARDINAL_WORDS, COUNT_WORDS, read_number
from promptdaw.core.music.prompt.overrides import OVERRIDE_KEYS
from promptdaw.core.music.prompt.reader import parse_prompt

__all__ = [
    "BPM_RANGE",
    "CARDINAL_WORDS",
    "COUNT_WORDS",
    "DEFAULT_BARS",
    "DEFAULT_GENRE",
    "MAX_BARS",
    "MAX_PROMPT_CHARS",
    "METER_DENOMINATORS",
    "OVERRIDE_KEYS",
    "LabelMatcher",
    "LabelScore",
    "key_from_chords",
    "parse_key",
    "parse_meter",
    "parse_prompt",
    "read_number",
]
