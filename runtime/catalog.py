"""Which kind of model serves which work, and the objects built once on each loaded model.

The one home for model kinds: manifests name their ``kind``; tasks, the built-in instrument,
benchmarks and evaluation ask here instead of spelling kinds and builders themselves.

Two models are optional, and the work goes on without them, less well, saying so through a
``warn`` callback (a job's ``JobContext.warn``: the result's ``warnings``): without the
text-embedding model prompts are read with the lexicon alone (:func:`prompt_embedder`);
without the sample critic samples play the network's likeliest candidate (:func:`sample_model`).
A broken one is also recorded in the registry, so ``models`` lists it with its error.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from promptdaw.core.errors import InvalidInput, ModelNotFound, ModelUnavailable
from promptdaw.runtime.embedding import Embedder
from promptdaw.runtime.onnx import OnnxModel
from promptdaw.runtime.registry import ModelRegistry
from promptdaw.runtime.separation import Geometry, iter_separate
from promptdaw.runtime.separation.htdemucs import iter_separate_htdemucs
from promptdaw.runtime.synthesis.critic import SampleCritic
from promptdaw.runtime.synthesis.generator import SampleModel
from promptdaw.runtime.text2midi.generator import MidiGenerator

__all__ = [
    "AUDIO_TO_MIDI",
    "DRUM_SEPARATION",
    "KINDS",
    "SAMPLE_CRITIC",
    "STEM_SEPARATION",
    "TEXT_EMBEDDING",
    "TEXT_TO_MIDI",
    "TEXT_TO_SAMPLE",
    "SeparateStream",
    "default_model",
    "embedder",
    "midi_generator",
    "model_for",
    "prompt_embedder",
    "sample_model",
    "stem_separator",
]

log = logging.getLogger(__name__)

AUDIO_TO_MIDI = "audio-to-midi"
STEM_SEPARATION = "stem-separation"
TEXT_TO_MIDI = "text-to-midi"
TEXT_TO_SAMPLE = "text-to-sample"
TEXT_EMBEDDING = "text-embedding"
SAMPLE_CRITIC = "sample-critic"
#: A drum stem into kick, snare, hats, toms, cymbals (``runtime.separation.drums``).
DRUM_SEPARATION = "drum-separation"
KINDS = (AUDIO_TO_MIDI, STEM_SEPARATION, TEXT_TO_MIDI, TEXT_TO_SAMPLE, TEXT_EMBEDDING, SAMPLE_CRITIC, DRUM_SEPARATION)

#: Says in a job's result how the work was less than asked (``JobContext.warn``).
Warn = Callable[[str], None]

#: Why an optional model could not be used, each logged once.
_logged: set[str] = set()


def _degraded(registry: ModelRegistry, kind: str, exc: ModelNotFound | ModelUnavailable, consequence: str,
              warn: Warn | None) -> None:  # fmt: skip
    """Log (once), record in the registry and warn the job that an optional model is not there."""
    message = f"{exc.message}; {consequence}"
    if isinstance(exc, ModelUnavailable):
        with contextlib.suppress(ModelNotFound):
            registry.record_problem(default_model(registry, kind), exc.message)
    if message not in _logged:
        _logged.add(message)
        log.warning("%s", message)
    if warn is not None:
        warn(message)


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
    return registry.get(name or default_model(registry, kind))


def default_model(registry: ModelRegistry, kind: str) -> str:
    """The first model (by name) of ``kind`` that is not opt-in: a model whose licence the user
    accepted to fetch it (HTDemucs) serves only requests that name it.

    Raises:
        ModelNotFound: none is installed (opt-in ones are named in the message).
    """
    names = [n for n in registry.names() if registry.manifest(n).kind == kind]
    for name in names:
        if not registry.manifest(name).opt_in:
            return name
    named = f"; name one of {', '.join(names)} to use it" if names else ""
    raise ModelNotFound(f"no default model of kind {kind!r} is installed{named}")


#: ``(input blocks, sample_rate, total_frames, progress(done, total)) -> stem blocks [4, n, 2]``
SeparateStream = Callable[[Iterable[np.ndarray], int, int, Callable[[int, int], None]], Iterator[np.ndarray]]


def stem_separator(model: OnnxModel) -> SeparateStream:
    """The streaming separation a stem-separation model needs: HTDemucs' two-branch processing
    when its manifest's ``window`` says ``"method": "htdemucs"``, else the mask model's."""
    window = model.manifest.extra.get("window") or {}
    if window.get("method") == "htdemucs":

        def run_htdemucs(waveform: np.ndarray, spectrogram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            out = model.run({"waveform": waveform, "spectrogram": spectrogram}, ["spectral", "temporal"])
            return out["spectral"], out["temporal"]

        def separate_htdemucs(blocks, sample_rate, total_frames, progress):  # type: ignore[no-untyped-def]
            return iter_separate_htdemucs(blocks, sample_rate, total_frames, run_htdemucs, progress=progress)

        return separate_htdemucs
    geometry = Geometry.from_manifest_window(window)

    def run_masks(magnitude: np.ndarray) -> np.ndarray:
        return model.run({"magnitude": magnitude}, ["masks"])["masks"]

    def separate_masks(blocks, sample_rate, total_frames, progress):  # type: ignore[no-untyped-def]
        return iter_separate(blocks, sample_rate, total_frames, run_masks, geometry=geometry, progress=progress)

    return separate_masks


def embedder(registry: ModelRegistry) -> Embedder:
    """Sentence embeddings (for fuzzy prompt words, and the text the sample network hears).

    Raises:
        ModelNotFound, ModelUnavailable: the text-embedding model is not installed or is broken.
    """
    return model_for(registry, TEXT_EMBEDDING).attachment("embedder", Embedder)


def prompt_embedder(registry: ModelRegistry, warn: Warn | None = None) -> Embedder | None:
    """The embedder for the prompt reader's fuzzy words, or None when the model is missing or
    broken: the reader then goes by the lexicon's keywords and spelling alone, and ``warn`` says so."""
    try:
        return embedder(registry)
    except (ModelNotFound, ModelUnavailable) as exc:
        _degraded(registry, TEXT_EMBEDDING, exc, "the prompt was read with the lexicon alone (words no keyword "
                  "covers were not matched by meaning)", warn)  # fmt: skip
        return None


def _build_generator(model: OnnxModel) -> MidiGenerator:
    return MidiGenerator(model, json.loads(model.manifest.path_of("config").read_text()))


def midi_generator(registry: ModelRegistry, name: str | None = None) -> MidiGenerator:
    """The text-to-MIDI generator, built once per loaded model."""
    return model_for(registry, TEXT_TO_MIDI, name).attachment("generator", _build_generator)


def _critic(registry: ModelRegistry, warn: Warn | None) -> SampleCritic | None:
    try:
        return model_for(registry, SAMPLE_CRITIC).attachment("critic", SampleCritic)
    except ModelNotFound:  # not installed: the network's own likeliest candidate plays, as designed
        return None
    except ModelUnavailable as exc:  # a broken critic costs the choice of candidate, not the sample
        _degraded(registry, SAMPLE_CRITIC, exc, "the sample critic did not listen: samples play the network's "
                  "likeliest candidate", warn)  # fmt: skip
        return None


def sample_model(registry: ModelRegistry, name: str | None = None, warn: Warn | None = None) -> SampleModel:
    """The text2sample network with its embedder and, when installed and sound, the sample critic;
    built once per loaded model and critic (``warn`` hears of a broken critic).

    Raises:
        ModelNotFound, ModelUnavailable: the text2sample or the text-embedding model (whose
            embedding of the prompt is the network's input) is not installed or is broken.
    """
    model = model_for(registry, TEXT_TO_SAMPLE, name)
    try:
        words = embedder(registry)
    except ModelUnavailable as exc:
        raise ModelUnavailable(f"the text-to-sample model hears prompts through the text-embedding model: "
                               f"{exc.message}") from None  # fmt: skip
    critic = _critic(registry, warn)

    def build(loaded: OnnxModel) -> SampleModel:
        return SampleModel(loaded, words, critic)

    # Keyed by the critic too: a critic repaired (or broken) after the first build is heard (or not).
    return model.attachment("sample_model" if critic is not None else "sample_model without critic", build)
