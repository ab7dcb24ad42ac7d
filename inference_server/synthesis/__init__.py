"""Text-to-sample at run time: the numpy synthesiser, its patches, and the neural instrument.

- ``constants``: categories, harmonic/partial/noise-band layout, output rate and level;
- ``patch``: the editable patch (controls in physical units) and ``vary``;
- ``synth``: the synthesiser (numpy; ``models/text2sample/synth_torch.py`` is its training twin);
- ``prompt``: the note and length a one-shot prompt states;
- ``generator``: the text2sample network wrapper and one-shot rendering;
- ``instrument``: :class:`NeuralInstrument`, the prompt-described instrument ``plugin_host`` plays.

Nothing here imports torch.
"""

from .constants import CATEGORIES, CATEGORY_FAMILY, DEFAULT_SAMPLE_RATE
from .generator import SampleModel, render_one_shot
from .instrument import GM_DRUM_SOUNDS, NeuralInstrument
from .patch import PARAMS, Patch

__all__ = [
    "CATEGORIES",
    "CATEGORY_FAMILY",
    "DEFAULT_SAMPLE_RATE",
    "GM_DRUM_SOUNDS",
    "PARAMS",
    "NeuralInstrument",
    "Patch",
    "SampleModel",
    "render_one_shot",
]
