"""The text-to-sample network: conditioning in, several candidate synth patches and a category out
(torch; training only).

Input (``CONDITION_SIZE`` values): the prompt's MiniLM sentence embedding (384), then the note
((MIDI - 60) / 24, 0 when none is given), a has-note flag and the velocity / 127. Output:
``heads`` candidate patches, each ``PARAM_SIZE`` values in 0..1
(``runtime/synthesis/patch.py`` maps them to controls), one logit per candidate (how
likely the description means that one), and one logit per category.

Why several: one description ("closed hi-hat") covers many sounds, and a single output trained
to be near all of them learns their average, which sounds like none of them. Trained with
winner-takes-all (each target teaches only the candidate nearest to it), the candidates
become distinct modes; the runtime plays the likeliest, and seeds pick among the likely ones.
The synthesiser itself is not part of the graph: the runtime renders the patch with numpy, so
the exported model stays tiny.
"""

from __future__ import annotations

import torch
from torch import nn

from promptdaw.runtime.embedding import EMBEDDING_DIM
from promptdaw.runtime.synthesis.constants import CATEGORIES
from promptdaw.runtime.synthesis.patch import PARAM_SIZE

__all__ = ["CONDITION_SIZE", "PatchNet"]

CONDITION_SIZE = EMBEDDING_DIM + 3


class PatchNet(nn.Module):
    def __init__(self, hidden: int = 256, layers: int = 3, dropout: float = 0.1, heads: int = 1):
        super().__init__()
        self.heads = heads
        self.config = {"hidden": hidden, "layers": layers, "dropout": dropout, "condition_size": CONDITION_SIZE,
                       "param_size": PARAM_SIZE, "categories": len(CATEGORIES), "heads": heads}  # fmt: skip
        blocks: list[nn.Module] = []
        width = CONDITION_SIZE
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Dropout(dropout)]
            width = hidden
        self.trunk = nn.Sequential(*blocks)
        self.params = nn.Linear(hidden, heads * PARAM_SIZE)
        self.choice = nn.Linear(hidden, heads)
        self.category = nn.Linear(hidden, len(CATEGORIES))

    def forward(self, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """[B, CONDITION_SIZE] -> (patches [B, heads, PARAM_SIZE] in 0..1, candidate logits [B, heads],
        category logits [B, categories])."""
        h = self.trunk(condition)
        patches = torch.sigmoid(self.params(h)).reshape(-1, self.heads, PARAM_SIZE)
        return patches, self.choice(h), self.category(h)
