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
from dataclasses import replace

from promptdaw.core.clip import clip_to_midi
from promptdaw.core.music.lexicon import LOOP_DRUM_WORDS
from promptdaw.core.music.spec import MusicSpec
from promptdaw.inference_server.errors import InferenceFailed
from promptdaw.inference_server.jobs import JobContext, TaskResult
from promptdaw.inference_server.params import sample_rate_param, string_param, target_lufs_param
from promptdaw.inference_server.protocol import Audio, Midi, Request
from promptdaw.inference_server.tasks.generate_midi import resolve_spec
from promptdaw.inference_server.tasks.rendering import (
    builtin_instruments,
    check_length,
    loop_instruments,
    part_prompt,
    render_loop,
    reply_for,
)
from promptdaw.plugin_host import (
    DEFAULT_SAMPLE_RATE,
    DEFAULT_TARGET_LUFS,
)
from promptdaw.runtime.catalog import midi_generator

__all__ = ["generate_loop"]

#: Any of the lexicon's loop drum words as a whole word ("hi hat" also as "hihat", "hi-hat").
_DRUM_WORDS = re.compile(
    r"\b(?:" + "|".join(r"[\s\-]*".join(map(re.escape, w.split())) for w in LOOP_DRUM_WORDS) + r")\b", re.IGNORECASE
)
_LOOP_WORD = re.compile(r"\bloops?\b", re.IGNORECASE)


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


def generate_loop(ctx: JobContext) -> TaskResult:
    request = ctx.request
    sample_rate = sample_rate_param(request, DEFAULT_SAMPLE_RATE)
    target_lufs = target_lufs_param(request, DEFAULT_TARGET_LUFS)
    generator = midi_generator(ctx.registry, string_param(request, "model"))
    spec = _loop_spec(ctx, request)
    duration_s = check_length(spec.bars, spec.meter, spec.bpm, sample_rate=sample_rate, tracks=len(spec.parts) + 1)
    builtin = builtin_instruments(ctx.registry, spec.seed, ctx.warn)
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
