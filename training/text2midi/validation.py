"""Validation from sampled output: the model plays prompts through the daemon's own sampler and
the idiom checks judge the notes, per role. The loss says how well the network predicts the
corpus; these say whether what it plays behaves like its genre (backbeats, held pads, ...).

The prompts are the training code's own, worded apart from ../shared/eval's sets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from promptdaw.core.clip import clip_to_midi
from promptdaw.core.music.prompt import parse_prompt
from promptdaw.runtime.text2midi.generator import MidiGenerator
from training.text2midi.idiom_checks import judge
from training.text2midi.model import RollGRU, StepModel

__all__ = ["VALIDATION_PROMPTS", "TorchStepModel", "sampled_metrics"]

#: (prompt, idiom checks with their arguments, as ../shared/eval/README.md defines them).
VALIDATION_PROMPTS: Sequence[tuple[str, Mapping[str, Mapping[str, Any]]]] = (
    ("boom bap drums, 90 bpm, 4 bars", {"kick_downbeat": {}, "backbeat": {"beats": [1, 3]}, "groove_repeat": {}}),
    ("trap drums, 140 bpm, 4 bars", {"kick_downbeat": {}, "backbeat": {"beats": [2]}, "groove_repeat": {}}),
    ("house drums, 124 bpm, 4 bars", {"four_on_floor": {}, "backbeat": {"beats": [1, 3]}, "offbeat_open_hat": {}}),
    ("rock drums, 120 bpm, 4 bars", {"kick_downbeat": {}, "backbeat": {"beats": [1, 3]}, "groove_repeat": {}}),
    ("funk drums with ghost notes, 100 bpm, 4 bars", {"backbeat": {"beats": [1, 3]}, "drum_dynamics": {}}),
    ("reggaeton drums, 95 bpm, 4 bars", {"backbeat": {"beats": [0.75, 1.5, 2.75, 3.5], "share": 0.5}}),
    ("warm pad in D minor, 70 bpm, 4 bars", {"pad_sustain": {}}),
    ("pop lead melody in C major, 110 bpm, 8 bars", {"melody_stepwise": {}, "melody_motif": {}}),
    ("trap 808 bass with drums in F minor, 140 bpm, 4 bars", {"bass_kick_lock": {}, "bass_repeat": {}}),
    ("synth arpeggio in E minor, 120 bpm, 4 bars", {"arp_regular": {}}),
)


class TorchStepModel:
    """The trained torch network behind the interface the sampler expects of an ONNX model."""

    def __init__(self, net: RollGRU) -> None:
        self.step = StepModel(net).eval()

    @torch.no_grad()
    def run(self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        onset, sustain, state = self.step(*(torch.from_numpy(inputs[k]) for k in ("static", "prev_roll", "state")))
        return {"onset": onset.numpy(), "sustain": sustain.numpy(), "state": state.numpy()}


def sampled_metrics(net: RollGRU, stats: Mapping[str, Any], seeds: Sequence[int] = (1, 2)) -> dict[str, float]:
    """Pass rate of each idiom check over the validation prompts and seeds, and ``all``."""
    config = {"stats": stats, "model": {"layers": net.gru.num_layers, "hidden": net.gru.hidden_size}}
    generator = MidiGenerator(TorchStepModel(net), config)  # type: ignore[arg-type]
    was_training = net.training
    net.eval()
    passed: dict[str, list[bool]] = defaultdict(list)
    for prompt, checks in VALIDATION_PROMPTS:
        for seed in seeds:
            clip = generator.generate(parse_prompt(prompt, seed=seed))
            for name, (ok, _) in judge(clip_to_midi(clip), {k: dict(v) for k, v in checks.items()}).items():
                passed[name].append(ok)
    net.train(was_training)
    rates = {name: round(float(np.mean(results)), 3) for name, results in sorted(passed.items())}
    rates["all"] = round(float(np.mean([ok for results in passed.values() for ok in results])), 3)
    return rates
