"""Text-to-sample at run time: the numpy synthesiser, its patches, and the neural instrument.

- ``constants``: categories, harmonic/partial/noise-band layout, output rate and level;
- ``patch``: the editable patch (controls in physical units) and ``vary``;
- ``synth``: the synthesiser (numpy; ``training/text2sample/synth_torch.py`` is its training twin);
- ``prompt``: the note and length a one-shot prompt states;
- ``generator``: the text2sample network wrapper and one-shot rendering;
- ``instrument``: :class:`NeuralInstrument`, the prompt-described instrument ``plugin_host`` plays.

Nothing here imports torch.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from promptdaw.runtime.synthesis.constants import CATEGORIES, CATEGORY_FAMILY, DEFAULT_SAMPLE_RATE

if TYPE_CHECKING:
    from promptdaw.runtime.synthesis.generator import SampleModel, render_one_shot
    from promptdaw.runtime.synthesis.instrument import NeuralInstrument
    from promptdaw.runtime.synthesis.patch import PARAMS, Patch

__all__ = [
    "CATEGORIES",
    "CATEGORY_FAMILY",
    "DEFAULT_SAMPLE_RATE",
    "PARAMS",
    "NeuralInstrument",
    "Patch",
    "SampleModel",
    "render_one_shot",
]

#: Imported on first use, so that the critic's listening workers, which need only the
#: synthesiser, do not load onnxruntime, pedalboard and the tokenizer.
_LAZY = {"SampleModel": ".generator", "render_one_shot": ".generator",
         "NeuralInstrument": ".instrument", "PARAMS": ".patch", "Patch": ".patch"}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
