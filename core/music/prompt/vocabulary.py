"""The lexicon compiled for reading: lookup tables keyed by :func:`~.scan.norm` forms, and patterns.

Built once at import from :mod:`promptdaw.core.music.lexicon`; the passes look words up here
and never spell a keyword themselves.
"""

from __future__ import annotations

from typing import Any

from promptdaw.core.music import lexicon as lx
from promptdaw.core.music.prompt.scan import norm, phrase_pattern

__all__ = [
    "DESCRIPTORS",
    "DESCRIPTOR_PATTERN",
    "GENRE_KEYS",
    "GENRE_LABELS",
    "GENRE_PATTERN",
    "MOOD_LABELS",
    "NOUN_WORDS",
    "PART_PATTERN",
    "PART_VOCAB",
]

# --------------------------------------------------------------------------- genres

GENRE_KEYS = {norm(k): name for name, g in lx.GENRES.items() for k in (name, *g.keywords)}
_GENRE_KEYS_TEXT = [k for g in lx.GENRES.values() for k in (g.name, *g.keywords)]
GENRE_PATTERN = phrase_pattern(_GENRE_KEYS_TEXT)

# --------------------------------------------------------------------------- parts

#: Part word -> ("weak", its kind), ("role", role) or ("instrument", Instrument).
PART_VOCAB: dict[str, tuple[str, Any]] = {
    **{norm(w): ("weak", kind) for w, kind in lx.WEAK_PART_WORDS.items()},
    **{norm(w): ("role", role) for w, role in lx.ROLE_WORDS.items()},
    **{norm(w): ("role", "drums") for w in lx.DRUM_WORDS},
    **{norm(w): ("instrument", inst) for w, inst in lx.INSTRUMENTS.items()},
}
_PART_WORDS = {w for phrase in (*lx.ROLE_WORDS, *lx.DRUM_WORDS, *lx.INSTRUMENTS) for w in phrase.split()}
#: Genre names made of part words ("drum and bass", "future bass"): read whole, never as parts.
_PART_BLOCKERS = [k for k in _GENRE_KEYS_TEXT if len(k.split()) > 1 and set(k.split()) & _PART_WORDS]
PART_PATTERN = phrase_pattern([*lx.WEAK_PART_WORDS, *lx.ROLE_WORDS, *lx.DRUM_WORDS, *lx.INSTRUMENTS, *_PART_BLOCKERS])
#: Words after "a minor"/"a major" that make the "a" an article: "a minor key", "a minor piano piece".
NOUN_WORDS = _PART_WORDS | {w for k in _GENRE_KEYS_TEXT for w in k.split()}

# --------------------------------------------------------------------------- descriptors

#: Mood, tempo, swing, density and feel words -> (the :class:`~.words.Words` field they set, value).
DESCRIPTORS: dict[str, tuple[str, Any]] = {
    **{norm(k): ("mood", name) for name, m in lx.MOODS.items() for k in (name, *m.keywords)},
    **{norm(k): ("tempo", v) for k, v in lx.TEMPO_MARKINGS.items()},
    **{norm(k): ("tempo_factor", v) for k, v in lx.TEMPO_FACTORS.items()},
    **{norm(k): ("swing", v) for k, v in lx.SWING_WORDS.items()},
    **{norm(k): ("density", v) for k, v in lx.DENSITY_WORDS.items()},
    **{norm(k): ("feel", v) for k, v in lx.FEEL_WORDS.items()},
}
_DESCRIPTOR_TEXT = [*lx.TEMPO_MARKINGS, *lx.TEMPO_FACTORS, *lx.SWING_WORDS, *lx.DENSITY_WORDS, *lx.FEEL_WORDS,
                    *(k for name, m in lx.MOODS.items() for k in (name, *m.keywords))]  # fmt: skip
#: Instrument names holding a mood or density word ("grand piano", "soft pad"): not moods.
_DESCRIPTOR_BLOCKERS = [
    k
    for k in lx.INSTRUMENTS
    if len(k.split()) > 1 and set(k.split()) & {w for d in _DESCRIPTOR_TEXT for w in d.split()}
]
DESCRIPTOR_PATTERN = phrase_pattern([*_DESCRIPTOR_TEXT, *_DESCRIPTOR_BLOCKERS])

# --------------------------------------------------------------------------- fuzzy labels

#: Label -> the texts a fuzzy word is compared with (its name and keywords).
GENRE_LABELS = {name: (name, *g.keywords) for name, g in lx.GENRES.items()}
MOOD_LABELS = {name: (name, *m.keywords) for name, m in lx.MOODS.items()}

#: Idiom phrases ("four on the floor", "locked to the kick"), read before part words.
IDIOM_KEYS = {norm(phrase): idiom for phrase, idiom in lx.IDIOM_WORDS.items()}
IDIOM_PATTERN = phrase_pattern([phrase.replace("-", " ") for phrase in lx.IDIOM_WORDS])
