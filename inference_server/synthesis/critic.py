"""The sample critic: hears candidate patches and says which sounds most like the family asked for.

The text2sample network proposes several candidate patches for a prompt; which one a producer
hears as "a trumpet" is easier to judge by ear than by the network's own likelihoods. The
critic is a small audio classifier (``models/sample_critic``, trained on FluidR3_GM renders
only) over :func:`~.listening.listening_features`. :func:`listen_to_candidates` renders each
candidate for its first ``LISTEN_SECONDS`` at ``LISTEN_RATE`` and returns, per candidate, the
critic's probability that it belongs to the family.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np

from ..errors import ModelUnavailable
from ..runtime import OnnxModel
from .listening import FEATURE_SIZE, LISTEN_RATE, LISTEN_SECONDS, listening_features
from .patch import Patch
from .synth import render, sound_length_s

__all__ = ["KIND", "SampleCritic", "listen_to_candidates"]

KIND = "sample-critic"


class SampleCritic:
    """The loaded critic network: listening features in, family probabilities out. Thread-safe."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        config = json.loads(model.manifest.path_of("config").read_text())
        heard = (config.get("listen_rate"), config.get("listen_seconds"), config.get("feature_size"))
        if heard != (LISTEN_RATE, LISTEN_SECONDS, FEATURE_SIZE):
            raise ModelUnavailable(
                f"model {model.manifest.name!r} was trained on other listening features "
                f"(rate, seconds, size {heard}, this daemon: {(LISTEN_RATE, LISTEN_SECONDS, FEATURE_SIZE)}); retrain it"
            )
        self.families: tuple[str, ...] = tuple(config["families"])

    def family_probabilities(self, features: np.ndarray) -> np.ndarray:
        """``[N, len(families)]`` probabilities for ``[N, FEATURE_SIZE]`` features."""
        out = self.model.run({"features": np.asarray(features, np.float32)}, ["probabilities"])
        return np.asarray(out["probabilities"], np.float64).reshape(len(features), len(self.families))

    def likeness(self, sounds: Sequence[np.ndarray], family: str) -> np.ndarray:
        """How likely each mono sound (at ``LISTEN_RATE``) is of ``family``; zeros for a family it does not know."""
        if family not in self.families:
            return np.zeros(len(sounds))
        features = np.stack([listening_features(s, LISTEN_RATE) for s in sounds])
        return self.family_probabilities(features)[:, self.families.index(family)]


def listen_to_candidates(critic: SampleCritic, plays: Sequence[tuple[Patch, int, float]], family: str) -> np.ndarray:
    """The critic's likeness to ``family`` of each ``(patch, note, gate_s)`` play.

    Each is heard for at most ``LISTEN_SECONDS``; a candidate that renders silence scores 0.
    """
    sounds, audible = [], []
    for patch, note, gate in plays:
        controls = patch.physical()
        n = max(1, math.ceil(min(sound_length_s(controls, gate), LISTEN_SECONDS) * LISTEN_RATE))
        # Mono at the listening rate with the one-shot's noise seed: below 11 kHz, what is heard
        # is what would be played.
        audio = render(controls, note, gate, n, LISTEN_RATE, np.random.default_rng([0, note, 0x0E])).mean(axis=1)
        sounds.append(audio)
        audible.append(bool(np.isfinite(audio).all() and np.abs(audio).max() > 1e-6))
    scores = np.zeros(len(plays))
    heard = [i for i, ok in enumerate(audible) if ok]
    if heard:
        scores[heard] = critic.likeness([sounds[i] for i in heard], family)
    return scores
