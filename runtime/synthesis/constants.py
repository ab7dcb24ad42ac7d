"""Fixed numbers of the sample synthesiser, shared by the runtime (numpy) and training (torch).

Every size here is baked into the ``text2sample`` network's output layout: changing one
needs a retrained model (the model's ``config.json`` records them and the loader checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

__all__ = [
    "BELL_RATIOS",
    "CATEGORIES",
    "CATEGORY_FAMILY",
    "DEFAULT_SAMPLE_RATE",
    "DRUM_CATEGORIES",
    "FAMILIES",
    "MAX_DURATION_S",
    "NOISE_BAND_HZ",
    "N_BELL",
    "N_HARMONICS",
    "N_HARMONIC_PARAMS",
    "N_NOISE_BANDS",
    "PEAK_DBFS",
    "PITCHED_CATEGORIES",
]

#: Output rate of one-shots (the synthesiser itself renders at any rate).
DEFAULT_SAMPLE_RATE = 44100
#: One-shots are peak-normalised to this level.
PEAK_DBFS = -1.0
#: Longest sound the synthesiser renders, tail included.
MAX_DURATION_S = 30.0

#: Harmonics of the tonal layer; 1..N_HARMONIC_PARAMS have their own level, the rest follow a slope.
N_HARMONICS = 48
N_HARMONIC_PARAMS = 16
#: Inharmonic partials of the bell layer, as ratios to the note's frequency. None sits on
#: 1.5 or 2.5, so the partials never imply a fundamental an octave below the note.
BELL_RATIOS = (2.32, 2.76, 3.93, 5.40, 6.27, 8.93, 9.21, 11.34)
N_BELL = len(BELL_RATIOS)
#: Centres of the filtered-noise bands: geometric from 50 Hz to 16 kHz.
N_NOISE_BANDS = 16
NOISE_BAND_HZ = tuple(float(f) for f in np.geomspace(50.0, 16000.0, N_NOISE_BANDS))

#: Sound categories the model names, in the order of its category output.
CATEGORIES = (
    "kick", "snare", "clap", "closed hat", "open hat", "cymbal", "tom", "percussion",
    "808", "sub bass", "bass", "piano", "keys", "pluck", "pad", "lead", "brass", "strings",
    "bell", "mallet", "riser", "downlifter", "impact", "noise sweep",
)  # fmt: skip

#: The coarser families the evaluation judges (shared/eval/README.md).
CATEGORY_FAMILY: Mapping[str, str] = MappingProxyType({
    "kick": "kick", "snare": "snare", "clap": "clap", "closed hat": "hihat", "open hat": "hihat",
    "cymbal": "cymbal", "tom": "tom", "percussion": "percussion", "808": "bass", "sub bass": "bass",
    "bass": "bass", "piano": "keys", "keys": "keys", "pluck": "pluck", "pad": "pad", "lead": "lead",
    "brass": "brass", "strings": "strings", "bell": "bell", "mallet": "bell", "riser": "fx",
    "downlifter": "fx", "impact": "fx", "noise sweep": "fx",
})  # fmt: skip
FAMILIES = tuple(dict.fromkeys(CATEGORY_FAMILY.values()))

#: Unpitched sounds: a note tunes them, but no pitch is promised.
DRUM_CATEGORIES = frozenset(
    {"kick", "snare", "clap", "closed hat", "open hat", "cymbal", "tom", "percussion", "riser", "downlifter",
     "impact", "noise sweep"}
)  # fmt: skip
PITCHED_CATEGORIES = frozenset(CATEGORIES) - DRUM_CATEGORIES
