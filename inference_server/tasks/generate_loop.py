"""``generate-loop``: prompt -> MusicSpec -> text-to-MIDI clip -> each part rendered -> mastered mix.

The prompt goes through the one parser (:func:`.generate_midi.resolve_spec`), the clip comes
from the ``text2midi`` model, and ``plugin_host`` renders every part with the built-in
neural instrument (drums as a kit: one voice per General MIDI drum sound), folds the tails
round so the loop wraps without a click, mixes, and masters to -14 LUFS integrated with
true peaks under -1 dBTP. The loop is exactly
``round(bars * numerator * 4 / denominator * 60 / bpm * sample_rate)`` samples long.

Reply buffers: the mix, the clip as a Standard MIDI File, then one stem per part in the
order of ``result.parts`` (the stems are mastered with the mix's chain and add up to it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from promptdaw.core.clip import Clip, clip_to_midi
from promptdaw.core.music.spec import MusicSpec, PartSpec
from promptdaw.inference_server.errors import InferenceFailed, InvalidParams, ModelUnavailable
from promptdaw.inference_server.jobs import JobContext, TaskResult
from promptdaw.inference_server.params import number_param, string_param
from promptdaw.inference_server.protocol import Audio, Midi, Request
from promptdaw.inference_server.tasks.generate_midi import midi_generator, resolve_spec
from promptdaw.plugin_host import (
    DEFAULT_SAMPLE_RATE,
    DEFAULT_TARGET_LUFS,
    EffectChain,
    EventInstrument,
    Instrument,
    Mastered,
    Score,
    Stems,
    VoiceFactory,
    master,
    render,
)
from promptdaw.runtime.registry import ModelRegistry

__all__ = [
    "MAX_LOOP_S",
    "Builtin",
    "LoopRender",
    "builtin_instruments",
    "check_length",
    "generate_loop",
    "loop_instruments",
    "part_prompt",
    "render_loop",
    "reply_for",
]

#: Longest loop (or render) the daemon makes: ten minutes.
MAX_LOOP_S = 600.0
SAMPLE_RATE_RANGE = (8000, 192_000)
_DRUM_WORDS = re.compile(
    r"\b(drums?|drum\s*kit|kit|beats?|grooves?|percussion|perc|breaks?|breakbeats?|hats?|hi-?hats?|kicks?|snares?)\b",
    re.IGNORECASE,
)
_LOOP_WORD = re.compile(r"\bloops?\b", re.IGNORECASE)

Progress = Callable[[float, str], None]


# ---------------------------------------------------------------------------- instruments


@dataclass(frozen=True)
class Builtin:
    """How the built-in instrument is made: ``voice(prompt)`` for a part, ``kit(style)`` for drums."""

    voice: VoiceFactory
    kit: VoiceFactory


def builtin_instruments(registry: ModelRegistry, seed: int) -> Builtin:
    """The text-to-sample model as instruments: one ``NeuralInstrument`` per prompt, kits in
    drum mode (each General MIDI key plays the kit piece the prompt's style describes).

    Raises:
        ModelUnavailable: the built-in instrument's code is missing from this daemon.
        ModelNotFound, ModelUnavailable: (when an instrument is made) its models are not installed.
    """
    try:
        from promptdaw.runtime.synthesis.instrument import NeuralInstrument
    except ImportError as exc:
        raise ModelUnavailable(f"the built-in instrument (text-to-sample) is not available: {exc}") from None
    made: dict[tuple[str, bool], Instrument] = {}

    def make(prompt: str, drums: bool) -> Instrument:
        if (prompt, drums) not in made:
            made[prompt, drums] = NeuralInstrument(registry, prompt, seed=seed, drums=drums)
        return made[prompt, drums]

    return Builtin(voice=lambda prompt: make(prompt, False), kit=lambda style: make(style, True))


def part_prompt(spec: MusicSpec, part: PartSpec) -> str:
    """The built-in instrument's prompt for a part: mood, genre and the part's instrument name.

    For drums this is the kit's style; each drum sound adds its own words ("kick").
    """
    words = [spec.mood or "", spec.genre or ""]
    if part.role != "drums":
        words.append(part.name)
    seen: list[str] = []
    for word in " ".join(words).split():
        if word.casefold() not in (w.casefold() for w in seen):
            seen.append(word)
    return " ".join(seen) or part.role


def loop_instruments(spec: MusicSpec, builtin: Builtin) -> dict[str, Instrument]:
    """One built-in instrument per part of ``spec`` (a kit for drums), by role."""
    out: dict[str, Instrument] = {}
    for part in spec.parts:
        prompt = part_prompt(spec, part)
        out[part.role] = builtin.kit(prompt) if part.role == "drums" else builtin.voice(prompt)
    return out


# ---------------------------------------------------------------------------- rendering


def check_length(bars: int, meter: tuple[int, int], bpm: float) -> float:
    """The loop's length in seconds; raises InvalidParams past :data:`MAX_LOOP_S`."""
    seconds = bars * meter[0] * 4 / meter[1] * 60 / bpm
    if seconds > MAX_LOOP_S:
        raise InvalidParams(
            f"bars: {bars} bars of {meter[0]}/{meter[1]} at {bpm:g} bpm last {seconds:.0f} s; "
            f"the limit is {MAX_LOOP_S:.0f} s"
        )
    return seconds


@dataclass(frozen=True)
class LoopRender:
    stems: Stems  # mastered with the mix's chain
    mastered: Mastered

    @property
    def mix(self) -> np.ndarray:
        return self.mastered.audio


def render_loop(
    score: Score | Clip,
    instruments: Mapping[str, Instrument | EventInstrument],
    effects: Mapping[str, EffectChain] | None = None,
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    target_lufs: float = DEFAULT_TARGET_LUFS,
    wrap: bool = True,
    progress: Callable[[float], None] | None = None,
) -> LoopRender:
    """Render every part, mix, master; the stems go through the mix's mastering chain."""
    raw = render(score, instruments, effects, sample_rate=sample_rate, wrap=wrap, progress=progress)
    mix = raw.mix()
    mastered = master(mix, sample_rate, target_lufs=target_lufs, wrap=wrap)
    frames = mix.shape[0]
    stems = tuple(mastered.apply(a if a.shape[0] == frames else np.pad(a, ((0, frames - a.shape[0]), (0, 0))))
                  for a in raw.audio)  # fmt: skip
    return LoopRender(replace(raw, audio=stems), mastered)


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def reply_for(rendered: LoopRender, instruments: Mapping[str, str]) -> dict:
    """The result fields every rendering request shares."""
    stems, mastered = rendered.stems, rendered.mastered
    return {
        "parts": list(stems.roles),
        "part_names": list(stems.names),
        "instruments": dict(instruments),
        "sample_rate": stems.sample_rate,
        "channels": 2,
        "length_samples": int(rendered.mix.shape[0]),
        "lufs": _round(mastered.lufs),
        "true_peak_dbtp": _round(mastered.true_peak_dbtp),
        "peak_dbfs": _round(mastered.peak_dbfs),
        "gain_db": _round(mastered.gain_db),
        "limiter_db": _round(mastered.limiter_db),
    }


def _sample_rate(request: Request) -> int:
    lo, hi = SAMPLE_RATE_RANGE
    return int(number_param(request, "sample_rate", DEFAULT_SAMPLE_RATE, lo=lo, hi=hi, integer=True))


def _target_lufs(request: Request) -> float:
    return float(number_param(request, "target_lufs", DEFAULT_TARGET_LUFS, lo=-40.0, hi=-6.0))


def _loop_spec(ctx: JobContext, request: Request) -> MusicSpec:
    """The spec of a loop prompt, with "loop" read as the request, not as a part word.

    The parser reads "trap loop" like "trap beat": drums alone. Asked for a loop, a producer
    means the genre's loop, so when "loop" is what made the spec drums-only and the prompt
    names no drums itself ("drum loop", "beat", "hats", ...), the prompt is read again
    without the word and the genre's parts are used.
    """
    spec = resolve_spec(ctx, request)
    prompt = request.params.get("prompt")
    if (
        isinstance(prompt, str)
        and not isinstance(request.params.get("spec"), dict)
        and [p.role for p in spec.parts] == ["drums"]
        and _LOOP_WORD.search(prompt)
        and not _DRUM_WORDS.search(prompt)
    ):
        stripped = " ".join(_LOOP_WORD.sub(" ", prompt).split())
        if stripped:
            spec = resolve_spec(ctx, replace(request, params={**request.params, "prompt": stripped}))
    return spec


# ---------------------------------------------------------------------------- the task


def generate_loop(ctx: JobContext) -> TaskResult:
    request = ctx.request
    sample_rate = _sample_rate(request)
    target_lufs = _target_lufs(request)
    generator = midi_generator(ctx.registry, string_param(request, "model"))
    spec = _loop_spec(ctx, request)
    duration_s = check_length(spec.bars, spec.meter, spec.bpm)
    builtin = builtin_instruments(ctx.registry, spec.seed)
    ctx.progress(0.05, "composing")
    clip = generator.generate(spec, lambda f: ctx.progress(0.05 + 0.3 * f, "composing"))
    instruments = loop_instruments(clip.spec, builtin)
    ctx.progress(0.35, "rendering")
    try:
        rendered = render_loop(clip, instruments, sample_rate=sample_rate, target_lufs=target_lufs,
                               progress=lambda f: ctx.progress(0.35 + 0.55 * f, "rendering"))  # fmt: skip
    except ValueError as exc:
        raise InferenceFailed(f"rendering the loop failed: {exc}") from None
    ctx.progress(0.95, "mastering")
    numerator, denominator = spec.meter
    result = {
        "spec": clip.spec.to_dict(),
        **reply_for(rendered, {p.role: part_prompt(clip.spec, p) for p in clip.spec.parts}),
        "bars": spec.bars,
        "bpm": spec.bpm,
        "meter": f"{numerator}/{denominator}",
        "beats": spec.bars * numerator,
        "root_note": 60 + spec.key_tonic,
        "duration_s": round(duration_s, 6),
        "model": generator.model.manifest.name,
        "model_version": generator.model.manifest.version,
    }
    payloads = [Audio(rendered.mix, sample_rate), Midi(clip_to_midi(clip))]
    payloads += [Audio(stem, sample_rate) for stem in rendered.stems.audio]
    return result, payloads
