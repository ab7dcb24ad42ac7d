"""The text-to-MIDI network: a two-layer GRU stepping over a 16th-note grid (torch; training only).

Per step it takes the static context and the part's previous piano-roll step and returns
logits for 49 onsets and 49 sustains. ``StepModel`` is the one-step form exported to ONNX;
the daemon runs it with its own constrained sampler.
"""

from __future__ import annotations

import torch
from torch import nn

from promptdaw.runtime.text2midi.features import N_PITCHES

__all__ = ["RollGRU", "StepModel"]


class RollGRU(nn.Module):
    def __init__(self, static_size: int, hidden: int = 128, layers: int = 2, embed: int = 96, dropout: float = 0.1):
        super().__init__()
        self.config = {"static_size": static_size, "hidden": hidden, "layers": layers, "embed": embed}
        self.static_in = nn.Sequential(nn.Linear(static_size, embed), nn.ReLU())
        self.roll_in = nn.Sequential(nn.Linear(2 * N_PITCHES, embed), nn.ReLU())
        self.gru = nn.GRU(2 * embed, hidden, layers, batch_first=True, dropout=dropout)
        self.head = nn.Sequential(nn.Linear(hidden + embed, hidden), nn.ReLU(), nn.Linear(hidden, 2 * N_PITCHES))

    def forward(
        self, static: torch.Tensor, prev_roll: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """static [B, T, S], prev_roll [B, T, 2P] -> logits [B, T, 2P] (onsets then sustains), state."""
        s = self.static_in(static)
        x = torch.cat([s, self.roll_in(prev_roll)], dim=-1)
        out, state = self.gru(x, state)
        return self.head(torch.cat([out, s], dim=-1)), state


class StepModel(nn.Module):
    """One step at a time, for export: [B, S], [B, 2P], [L, B, H] -> onset and sustain probabilities, state.

    The GRU step is written out with the trained ``nn.GRU`` weights rather than exported as an
    ONNX GRU node: that node's export drifted from torch by ~0.04 on the state, while plain
    matrix products match it exactly.
    """

    def __init__(self, net: RollGRU):
        super().__init__()
        self.net = net

    def _gru_layer(self, layer: int, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        gru = self.net.gru
        gi = x @ getattr(gru, f"weight_ih_l{layer}").T + getattr(gru, f"bias_ih_l{layer}")
        gh = h @ getattr(gru, f"weight_hh_l{layer}").T + getattr(gru, f"bias_hh_l{layer}")
        i_r, i_z, i_n = gi.chunk(3, dim=-1)
        h_r, h_z, h_n = gh.chunk(3, dim=-1)
        reset = torch.sigmoid(i_r + h_r)
        update = torch.sigmoid(i_z + h_z)
        candidate = torch.tanh(i_n + reset * h_n)
        return (1 - update) * candidate + update * h

    def forward(
        self, static: torch.Tensor, prev_roll: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s = self.net.static_in(static)
        x = torch.cat([s, self.net.roll_in(prev_roll)], dim=-1)
        states = []
        for layer in range(self.net.gru.num_layers):
            x = self._gru_layer(layer, x, state[layer])
            states.append(x)
        probs = torch.sigmoid(self.net.head(torch.cat([x, s], dim=-1)))
        return probs[:, :N_PITCHES], probs[:, N_PITCHES:], torch.stack(states)
