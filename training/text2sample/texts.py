"""Descriptive training texts for one-shots: names, category words and adjectives, varied.

Every rendered sound and preset gets a pool of phrasings ("tight acoustic snare", "snare drum
one-shot, bright", "a punchy 808 kick sample"). A few carry an unrelated genre word, so the
network learns to read the sound words of prompts like "lofi snare" or "trap hi-hat".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from promptdaw.runtime.synthesis.constants import DRUM_CATEGORIES

__all__ = ["CATEGORY_WORDS", "make_texts"]

CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "kick": ("kick", "kick drum", "bass drum", "kik"),
    "snare": ("snare", "snare drum", "snare hit"),
    "clap": ("clap", "handclap", "hand clap"),
    "closed hat": ("closed hi-hat", "closed hat", "hi-hat", "hihat", "hat"),
    "open hat": ("open hi-hat", "open hat", "open hihat"),
    "cymbal": ("cymbal", "crash", "crash cymbal", "ride cymbal"),
    "tom": ("tom", "tom drum", "tom-tom"),
    "percussion": ("percussion", "perc", "percussion hit", "hand percussion"),
    "808": ("808", "808 bass", "808 sub"),
    "sub bass": ("sub bass", "sub", "sub-bass"),
    "bass": ("bass", "bass note", "bass sound"),
    "piano": ("piano", "piano note", "keys"),
    "keys": ("keys", "keyboard", "electric keys"),
    "pluck": ("pluck", "plucked note", "plucky"),
    "pad": ("pad", "synth pad", "pad chord note"),
    "lead": ("lead", "lead synth", "synth lead"),
    "brass": ("brass", "horn", "brass note"),
    "strings": ("strings", "string section", "string note"),
    "bell": ("bell", "chime", "bells"),
    "mallet": ("mallet", "mallets", "mallet percussion"),
    "riser": ("riser", "uplifter", "build-up fx", "rising fx"),
    "downlifter": ("downlifter", "downer fx", "falling fx"),
    "impact": ("impact", "hit fx", "impact fx"),
    "noise sweep": ("noise sweep", "sweep", "sweep fx"),
}

SOURCE_WORDS = {
    "soundfont": ("acoustic", "natural", "real", "clean", "classic", "recorded", "organic"),
    "preset": ("synth", "electronic", "analog", "digital", "synthesized", "modern"),
}
GENRE_NOISE = ("trap", "lofi", "house", "techno", "hip hop", "cinematic", "pop", "edm", "ambient", "jazz", "rock",
               "drill", "dnb", "r&b", "dusty", "vintage", "modern", "90s", "80s")  # fmt: skip
SAMPLE_WORDS = ("one-shot", "sample", "one shot", "sound")
DRUM_SAMPLE_WORDS = ("hit", "one-shot", "sample", "drum hit")
TONAL_SAMPLE_WORDS = ("note", "one-shot", "sample", "single note")

_TEMPLATES = (
    "{name}", "{adj} {name}", "{adj} {adj2} {name}", "{name}, {adj}", "{adj} {name} {sample}", "a {adj} {name}",
    "{name} {sample}", "{adj}, {adj2} {name}", "{name} with a {adj} sound", "{genre} {name}", "{adj} {genre} {name}",
)  # fmt: skip


def make_texts(category: str, names: Sequence[str], words: Sequence[str], source: str, rng: np.random.Generator,
               count: int, extra_words: Sequence[str] = ()) -> list[str]:  # fmt: skip
    """Up to ``count`` distinct phrasings for one sound.

    Args:
        names: specific names ("floor tom", "rhodes"), most specific first.
        words: adjectives measured or drawn for this sound ("bright", "long tail").
        source: "soundfont" or "preset" (adds "acoustic" or "synth" flavoured words).
        extra_words: more descriptive words (a drum kit's "808", "brushed").
    """
    generic = CATEGORY_WORDS[category]
    sample_words = DRUM_SAMPLE_WORDS if category in DRUM_CATEGORIES else TONAL_SAMPLE_WORDS
    adjectives = list(words) * 3 + list(extra_words) * 2 + list(SOURCE_WORDS[source])
    out: dict[str, None] = {}
    for _ in range(count * 4):
        if len(out) >= count:
            break
        name = str(rng.choice(names)) if rng.random() < 0.75 else str(rng.choice(generic))
        adj, adj2 = (str(a) for a in rng.choice(adjectives, size=2, replace=len(adjectives) < 2))
        if adj == adj2 or adj in name:
            adj2 = str(rng.choice(SOURCE_WORDS[source]))
        template = str(rng.choice(_TEMPLATES))
        text = template.format(name=name, adj=adj, adj2=adj2, sample=str(rng.choice(sample_words)),
                               genre=str(rng.choice(GENRE_NOISE)))  # fmt: skip
        out[" ".join(text.split())] = None
    return list(out)
