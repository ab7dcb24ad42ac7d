"""``generate-sample``: a prompt (or an edited patch) in, one stereo one-shot and its patch out.

Params: ``prompt``, ``note`` ("C3" or a MIDI number; else the prompt's, else the model's
root note), ``velocity`` (1..127, 100), ``duration_s`` (the sample's whole length; else the
prompt's, else the patch's hold time plus its release), ``seed`` (0), ``patch`` (a patch
dict from an earlier result, possibly edited: re-rendered as is, the prompt only filling
controls it leaves out), ``vary_from`` + ``strength`` (a seeded variation of a given patch,
0 = identical .. 1 = far), ``listen`` (how the sample critic chooses among the model's
candidates: "thorough", "quick" or "off"), ``model``.

The core (:func:`generate_sample_core`) is socket-free, for benchmarks and the evaluation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from promptdaw.core.music.theory import note_name
from promptdaw.inference_server.errors import InvalidInput
from promptdaw.inference_server.jobs import JobContext, TaskResult
from promptdaw.inference_server.params import number_param, sample_rate_param, seed_param, string_param
from promptdaw.inference_server.protocol import Audio, Request
from promptdaw.runtime.catalog import sample_model
from promptdaw.runtime.synthesis.constants import CATEGORY_FAMILY, DEFAULT_SAMPLE_RATE, DRUM_CATEGORIES, MAX_DURATION_S
from promptdaw.runtime.synthesis.generator import (
    DEFAULT_VELOCITY,
    LISTEN_MODES,
    SampleModel,
    lengthened,
    render_one_shot,
)
from promptdaw.runtime.synthesis.patch import Patch
from promptdaw.runtime.synthesis.prompt import MIN_DURATION_S, parse_note_param, read_sample_prompt

__all__ = ["SampleOptions", "generate_sample", "generate_sample_core"]

#: Renders with longer decays a sound that ends before its requested length may take.
STRETCH_TRIES = 3


@dataclass(frozen=True)
class SampleOptions:
    prompt: str | None = None
    note: int | None = None
    velocity: int = DEFAULT_VELOCITY
    duration_s: float | None = None
    seed: int = 0
    patch: dict | None = None
    vary_from: dict | None = None
    strength: float = 0.3
    sample_rate: int = DEFAULT_SAMPLE_RATE
    listen: str = "thorough"

    @classmethod
    def from_request(cls, request: Request) -> SampleOptions:
        params = request.params
        for name in ("patch", "vary_from"):
            if params.get(name) is not None and not isinstance(params[name], dict):
                raise InvalidInput(f"{name} must be a patch object from an earlier result, got {params[name]!r}")
        if params.get("patch") is not None and params.get("vary_from") is not None:
            raise InvalidInput("give either patch (re-render it) or vary_from (vary it), not both")
        note = params.get("note")
        duration = params.get("duration_s")
        duration_s = None
        if duration is not None:
            duration_s = number_param(request, "duration_s", 1.0, lo=MIN_DURATION_S, hi=MAX_DURATION_S)
        rate = sample_rate_param(request, DEFAULT_SAMPLE_RATE)
        listen = string_param(request, "listen", "thorough")
        if listen not in LISTEN_MODES:
            raise InvalidInput(f"listen must be one of {', '.join(LISTEN_MODES)}, got {listen!r}")
        return cls(
            prompt=string_param(request, "prompt"),
            note=None if note is None else parse_note_param(note),
            velocity=int(number_param(request, "velocity", DEFAULT_VELOCITY, lo=1, hi=127, integer=True)),
            duration_s=duration_s,
            seed=seed_param(request),
            patch=params.get("patch"),
            vary_from=params.get("vary_from"),
            strength=number_param(request, "strength", 0.3, lo=0.0, hi=1.0),
            sample_rate=int(rate),
            listen=str(listen),
        )


def generate_sample_core(model: SampleModel | None, options: SampleOptions) -> TaskResult:
    """The whole request, socket-free. ``model`` may be None only when a full patch is given."""
    read = read_sample_prompt(options.prompt) if options.prompt is not None else None
    note = options.note if options.note is not None else (read.note if read else None)
    duration = options.duration_s if options.duration_s is not None else (read.duration_s if read else None)
    probabilities: dict[str, float] = {}
    if options.patch is not None or options.vary_from is not None:
        base = None
        if read is not None and model is not None:
            base, probabilities = model.predict(read.text, note=note, velocity=options.velocity, duration_s=duration)
        patch = Patch.from_dict(options.patch if options.patch is not None else options.vary_from, base)
        if options.vary_from is not None:
            patch = patch.varied(options.strength, options.seed).steady()
    else:
        if read is None:
            raise InvalidInput("generate-sample needs params.prompt (or params.patch from an earlier result)")
        if model is None:
            raise InvalidInput("generate-sample needs a text2sample model to read a prompt")
        patch, probabilities = model.predict(read.text, note=note, velocity=options.velocity, seed=options.seed,
                                             duration_s=duration, listen=options.listen)  # fmt: skip
    # Render exactly what the returned patch says (its values are rounded to 6 digits), so sending
    # it back unchanged gives bit-identical audio.
    patch = Patch.from_dict(patch.to_dict())
    if note is None:
        note = round(patch["root_note"])
    draws: dict = {}
    shot = render_one_shot(patch, note=note, duration_s=duration, sample_rate=options.sample_rate,
                           seed=options.seed, draws=draws)  # fmt: skip
    for _ in range(STRETCH_TRIES):
        if duration is None or options.patch is not None:  # an edited patch is rendered as given
            break
        # A sound that dies away before the requested length ("a 3 second downlifter") gets
        # proportionally longer decays; a note already faded when released ends sooner than its
        # release says, hence the tries.
        longer = lengthened(patch, shot.audio.shape[0] / shot.sample_rate, duration)
        if longer is patch:
            break
        patch = longer
        shot = render_one_shot(patch, note=note, duration_s=duration, sample_rate=options.sample_rate,
                               seed=options.seed, draws=draws)  # fmt: skip
    category = patch.category
    result: dict[str, Any] = {
        "category": category,
        "family": CATEGORY_FAMILY.get(category),
        "pitched": bool(category) and category not in DRUM_CATEGORIES,
        "note": note,
        "note_name": note_name(note, flats=True),
        "velocity": options.velocity,
        "seed": options.seed,
        "duration_s": round(shot.audio.shape[0] / shot.sample_rate, 4),
        "gate_s": round(shot.gate_s, 4),
        "sample_rate": shot.sample_rate,
        "channels": 2,
        "peak_dbfs": round(20 * math.log10(float(np.abs(shot.audio).max())), 3),
        "patch": patch.to_dict(),
    }
    if read is not None:
        result["prompt_read"] = {"text": read.text, "note": read.note, "duration_s": read.duration_s}
    if probabilities:
        top = sorted(probabilities.items(), key=lambda kv: -kv[1])[:3]
        result["category_scores"] = {k: round(v, 4) for k, v in top}
    if model is not None:
        result["model"] = model.model.manifest.name
        result["model_version"] = model.model.manifest.version
    return result, (Audio(shot.audio, shot.sample_rate),)


def generate_sample(ctx: JobContext) -> TaskResult:
    request = ctx.request
    options = SampleOptions.from_request(request)
    # A prompt needs the network; an edited patch (or a variation of one) alone does not.
    model = sample_model(ctx.registry, string_param(request, "model"), ctx.warn) if options.prompt is not None else None
    ctx.progress(0.1, "synthesising")
    return generate_sample_core(model, options)
