"""What ``generate-loop`` and ``render-midi`` share: built-in instruments, render and master, reply fields.

``plugin_host`` renders and masters; the built-in instrument is the ``text2sample`` model
(:class:`~promptdaw.runtime.synthesis.instrument.NeuralInstrument`), made once per prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from promptdaw.core.clip import Clip
from promptdaw.core.limits import MAX_LOOP_S, check_output_size
from promptdaw.core.music.spec import MusicSpec, PartSpec
from promptdaw.inference_server.errors import InvalidInput, ModelUnavailable
from promptdaw.plugin_host import (
    DEFAULT_SAMPLE_RATE,
    DEFAULT_TARGET_LUFS,
    AudioEffect,
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
    "Builtin",
    "LoopRender",
    "builtin_instruments",
    "check_length",
    "loop_instruments",
    "part_prompt",
    "render_loop",
    "reply_for",
]


# ---------------------------------------------------------------------------- instruments


@dataclass(frozen=True)
class Builtin:
    """How the built-in instrument is made: ``voice(prompt)`` for a part, ``kit(style)`` for drums."""

    voice: VoiceFactory
    kit: VoiceFactory


def builtin_instruments(registry: ModelRegistry, seed: int, warn: Callable[[str], None] | None = None) -> Builtin:
    """The text-to-sample model as instruments: one ``NeuralInstrument`` per prompt, kits in
    drum mode (each General MIDI key plays the kit piece the prompt's style describes).

    ``warn`` hears what is degraded (a broken sample critic), for the job's ``warnings``.

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
            made[prompt, drums] = NeuralInstrument(registry, prompt, seed=seed, drums=drums, warn=warn)
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


def check_length(bars: int, meter: tuple[int, int], bpm: float, *, sample_rate: int, tracks: int) -> float:
    """The loop's length in seconds; raises InvalidInput past :data:`MAX_LOOP_S`, or when its
    ``tracks`` buffers (mix and stems) at ``sample_rate`` would pass the output budget."""
    seconds = bars * meter[0] * 4 / meter[1] * 60 / bpm
    if seconds > MAX_LOOP_S:
        raise InvalidInput(
            f"bars: {bars} bars of {meter[0]}/{meter[1]} at {bpm:g} bpm last {seconds:.0f} s; "
            f"the limit is {MAX_LOOP_S:.0f} s"
        )
    check_output_size(seconds, sample_rate, tracks)
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
    effects: Mapping[str, AudioEffect] | None = None,
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
