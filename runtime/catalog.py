"""Which kind of model serves which work, and the objects built once on each loaded model.

The one home for model kinds: manifests name their ``kind``; tasks, the built-in instrument,
benchmarks and evaluation ask here instead of spelling kinds and builders themselves.
"""

from __future__ import annotations

import json
import logging

from promptdaw.core.errors import InvalidInput, ModelNotFound, ModelUnavailable
from promptdaw.runtime.embedding import Embedder
from promptdaw.runtime.onnx import OnnxModel
from promptdaw.runtime.registry import ModelRegistry
from promptdaw.runtime.synthesis.critic import SampleCritic
from promptdaw.runtime.synthesis.generator import SampleModel
from promptdaw.runtime.text2midi.generator import MidiGenerator

__all__ = [
    "AUDIO_TO_MIDI",
    "KINDS",
    "SAMPLE_CRITIC",
    "STEM_SEPARATION",
    "TEXT_EMBEDDING",
    "TEXT_TO_MIDI",
    "TEXT_TO_SAMPLE",
    "embedder",
    "midi_generator",
    "model_for",
    "sample_model",
]

log = logging.getLogger(__name__)

AUDIO_TO_MIDI = "audio-to-midi"
STEM_SEPARATION = "stem-separation"
TEXT_TO_MIDI = "text-to-midi"
TEXT_TO_SAMPLE = "text-to-sample"
TEXT_EMBEDDING = "text-embedding"
SAMPLE_CRITIC = "sample-critic"
KINDS = (AUDIO_TO_MIDI, STEM_SEPARATION, TEXT_TO_MIDI, TEXT_TO_SAMPLE, TEXT_EMBEDDING, SAMPLE_CRITIC)

#: Why the critic could not be used, each said once.
_critic_problems: set[str] = set()


def model_for(registry: ModelRegistry, kind: str, name: str | None = None) -> OnnxModel:
    """The loaded model ``name``, or the installed default for ``kind``.

    Raises:
        ModelNotFound: no model ``name`` (or none of ``kind``) is installed.
        InvalidInput: ``name`` is a model of another kind (a separation request naming the
            text-to-MIDI model would otherwise feed it tensors it has no inputs for).
        ModelUnavailable: its files are missing or corrupt.
    """
    if name:
        other = registry.manifest(name).kind
        if other != kind:
            fitting = [n for n in registry.names() if registry.manifest(n).kind == kind]
            raise InvalidInput(f"model {name!r} is a {other} model; this request needs a {kind} model "
                               f"({', '.join(fitting) or 'none is installed'})")  # fmt: skip
    return registry.get(name or registry.default_for(kind))


def embedder(registry: ModelRegistry) -> Embedder:
    """Sentence embeddings for fuzzy prompt words."""
    return model_for(registry, TEXT_EMBEDDING).attachment("embedder", Embedder)


def _build_generator(model: OnnxModel) -> MidiGenerator:
    return MidiGenerator(model, json.loads(model.manifest.path_of("config").read_text()))


def midi_generator(registry: ModelRegistry, name: str | None = None) -> MidiGenerator:
    """The text-to-MIDI generator, built once per loaded model."""
    return model_for(registry, TEXT_TO_MIDI, name).attachment("generator", _build_generator)


def _critic(registry: ModelRegistry) -> SampleCritic | None:
    try:
        return model_for(registry, SAMPLE_CRITIC).attachment("critic", SampleCritic)
    except ModelNotFound:  # without one, the network's own likeliest candidate plays
        return None
    except ModelUnavailable as exc:  # a broken critic costs the choice of candidate, not the sample
        if exc.message not in _critic_problems:
            _critic_problems.add(exc.message)
            log.warning("%s; samples play the network's likeliest candidate", exc.message)
        return None


def sample_model(registry: ModelRegistry, name: str | None = None) -> SampleModel:
    """The text2sample network with its embedder and, when installed, the sample critic;
    built once per loaded model."""
    model = model_for(registry, TEXT_TO_SAMPLE, name)
    words = embedder(registry)
    critic = _critic(registry)

    def build(loaded: OnnxModel) -> SampleModel:
        return SampleModel(loaded, words, critic)

    return model.attachment("sample_model", build)
