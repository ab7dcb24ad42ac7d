"""Text-to-MIDI requests: ``generate-midi``, ``vary-midi``, ``continue-midi``, ``regenerate-midi``.

Each reads the prompt into a MusicSpec (or takes the ``spec`` a previous result returned),
runs the ``text2midi`` model through :class:`~..generation.midi_generator.MidiGenerator`, and
replies with the resolved spec and one Standard MIDI File.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import mido

from promptdaw.core.clip import Clip, clip_from_midi, clip_to_midi
from promptdaw.core.limits import BPM_RANGE, MAX_BARS, MAX_METER_NUMERATOR, METER_DENOMINATORS
from promptdaw.core.midi_files import read_midi
from promptdaw.core.music.prompt import parse_prompt
from promptdaw.core.music.spec import PART_ROLES, MusicSpec, PartSpec
from promptdaw.core.music.theory import estimate_key, pitch_class_name
from promptdaw.inference_server.errors import InvalidInput, InvalidMidi
from promptdaw.inference_server.jobs import JobContext, TaskResult
from promptdaw.inference_server.params import number_param, seed_param, string_param
from promptdaw.inference_server.protocol import Midi, Request
from promptdaw.runtime.catalog import midi_generator, prompt_embedder
from promptdaw.runtime.text2midi.generator import MidiGenerator

__all__ = ["continue_midi", "generate_midi", "regenerate_midi", "resolve_spec", "vary_midi"]


def _overrides(request: Request) -> dict:
    """Explicit values from request params (CLI flags) that win over the prompt."""
    out = {}
    for name in ("bars", "bpm", "key", "meter", "seed"):
        if request.params.get(name) is not None:
            out[name] = request.params[name]
    return out


def resolve_spec(ctx: JobContext, request: Request, defaults: dict | None = None) -> MusicSpec:
    """The request's spec: ``params.spec`` from an earlier result, else ``params.prompt`` parsed."""
    if isinstance(request.params.get("spec"), dict):
        try:
            spec = MusicSpec.from_dict(request.params["spec"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"spec is not a spec returned by promptdaw: {exc}") from None
        seed = request.params.get("seed")
        return spec if seed is None else replace(spec, seed=seed_param(request))
    prompt = string_param(request, "prompt")
    if prompt is None:
        raise InvalidInput(f"{request.type} needs params.prompt (or params.spec from an earlier result)")
    overrides = {**(defaults or {}), **_overrides(request)}
    words = prompt_embedder(ctx.registry, ctx.warn)  # None: the lexicon alone, and the result says so
    return parse_prompt(prompt, overrides=overrides, embedder=words, seed=seed_param(request))


def _reply(clip: Clip, generator: MidiGenerator) -> TaskResult:
    spec = clip.spec
    result = {
        "spec": spec.to_dict(),
        "model": generator.model.manifest.name,
        "model_version": generator.model.manifest.version,
        "duration_s": round(spec.bars * spec.beats_per_bar * 60 / spec.bpm, 4),
        "tracks": [{"role": t.role, "name": t.name, "program": t.program, "notes": len(t.notes)} for t in clip.tracks],
    }
    return result, (Midi(clip_to_midi(clip)),)


def _progress(ctx: JobContext, stage: str) -> Callable[[float], None]:
    return lambda fraction: ctx.progress(0.05 + 0.9 * fraction, stage)


def _input_clip(request: Request, spec: MusicSpec) -> Clip:
    midi = [p for p in request.payloads if isinstance(p, Midi)]
    if len(midi) != 1:
        raise InvalidInput(f"{request.type} needs exactly one midi buffer, got {len(midi)}")
    tracks = clip_from_midi(midi[0].data, spec)  # InvalidMidi names the midi buffer
    if not tracks:
        raise InvalidInput("the midi buffer holds no notes")
    by_role = {t.role: t for t in tracks}  # one track per role: the generator plays one part each
    parts = [p for p in spec.parts if p.role in by_role]
    parts += [PartSpec(t.role, t.program, t.name) for t in by_role.values() if spec.part(t.role) is None]
    return Clip(replace(spec, parts=tuple(parts)), list(by_role.values()))


def _midi_facts(data: bytes) -> dict:
    """Tempo, meter, key and length of a MIDI file, for continuing it.

    Raises:
        InvalidMidi: the data is not a readable Standard MIDI File.
    """
    midi = read_midi(data)
    facts: dict = {}
    weights = [0.0] * 12
    end_tick = 0
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "set_tempo" and "bpm" not in facts:
                facts["bpm"] = round(mido.tempo2bpm(message.tempo), 3)
            elif message.type == "time_signature" and "meter" not in facts:
                facts["meter"] = f"{message.numerator}/{message.denominator}"
            elif message.type == "key_signature" and "key" not in facts:
                facts["key"] = message.key  # mido's names ("F#m", "Bb") are key names parse_key reads
            elif message.type == "note_on" and message.velocity and message.channel != 9:
                weights[message.note % 12] += 1
        end_tick = max(end_tick, tick)
    if "key" not in facts and any(weights):
        tonic, mode = estimate_key(weights)
        facts["key"] = f"{pitch_class_name(tonic)} {mode}"
    numerator, denominator = (int(x) for x in facts.get("meter", "4/4").split("/"))
    ticks_per_bar = midi.ticks_per_beat * numerator * 4 / denominator
    facts["bars"] = max(1, round(end_tick / ticks_per_bar))
    return facts


# ---------------------------------------------------------------------- tasks


def generate_midi(ctx: JobContext) -> TaskResult:
    generator = midi_generator(ctx.registry, string_param(ctx.request, "model"))
    spec = resolve_spec(ctx, ctx.request)
    ctx.progress(0.05, "generating")
    return _reply(generator.generate(spec, _progress(ctx, "generating")), generator)


def vary_midi(ctx: JobContext) -> TaskResult:
    request = ctx.request
    generator = midi_generator(ctx.registry, string_param(request, "model"))
    spec = resolve_spec(ctx, request)
    keep = number_param(request, "keep", 0.5, lo=0.0, hi=1.0)
    clip = _input_clip(request, spec)
    return _reply(generator.vary(clip, keep, seed_param(request), _progress(ctx, "varying")), generator)


def _file_defaults(request: Request, data: bytes) -> dict:
    """The input file's facts the params do not override, checked against the limits.

    A file's own tempo, meter or length outside what promptdaw writes is an error naming the
    midi buffer (and the param that would override it), not the prompt reader's "bpm: ... is
    invalid" about a param the user never gave.
    """
    facts = _midi_facts(data)
    if isinstance(request.params.get("spec"), dict):
        return {}  # the spec says it all; the file was still checked
    facts = {name: value for name, value in facts.items() if request.params.get(name) is None}
    lo, hi = BPM_RANGE
    if "bpm" in facts and not lo <= facts["bpm"] <= hi:
        raise InvalidMidi(f"midi buffer: its tempo, {facts['bpm']:g} bpm, is outside {lo:g}..{hi:g}; give params.bpm")
    if "meter" in facts:
        numerator, denominator = (int(x) for x in facts["meter"].split("/"))
        if not 1 <= numerator <= MAX_METER_NUMERATOR or denominator not in METER_DENOMINATORS:
            raise InvalidMidi(f"midi buffer: its time signature {facts['meter']} is not one promptdaw writes "
                              f"(numerator 1..{MAX_METER_NUMERATOR}, denominator one of "
                              f"{', '.join(map(str, METER_DENOMINATORS))}); give params.meter")  # fmt: skip
    if facts.get("bars", 0) > MAX_BARS:
        raise InvalidMidi(f"midi buffer: it is {facts['bars']} bars long; the limit is {MAX_BARS}; give params.bars")
    return facts


def continue_midi(ctx: JobContext) -> TaskResult:
    request = ctx.request
    generator = midi_generator(ctx.registry, string_param(request, "model"))
    midi = [p for p in request.payloads if isinstance(p, Midi)]
    facts = _file_defaults(request, midi[0].data) if len(midi) == 1 else {}
    bars = int(number_param(request, "add_bars", 4, lo=1, hi=256, integer=True))
    spec = resolve_spec(ctx, request, defaults=facts)
    clip = _input_clip(request, spec)
    return _reply(generator.extend(clip, bars, seed_param(request), _progress(ctx, "continuing")), generator)


def regenerate_midi(ctx: JobContext) -> TaskResult:
    request = ctx.request
    generator = midi_generator(ctx.registry, string_param(request, "model"))
    spec = resolve_spec(ctx, request)
    clip = _input_clip(request, spec)
    part = string_param(request, "part")
    roles = [t.role for t in clip.tracks] if part in (None, "all") else [part]
    if any(role not in PART_ROLES for role in roles):
        raise InvalidInput(f"part must be one of {', '.join(PART_ROLES)} or 'all', got {part!r}")
    start = int(number_param(request, "from_bar", 0, lo=0, hi=spec.bars - 1, integer=True))
    stop = int(number_param(request, "to_bar", spec.bars, lo=start + 1, hi=spec.bars, integer=True))
    return _reply(generator.regenerate(clip, roles, (start, stop), seed_param(request), _progress(ctx, "regenerating")),
                  generator)  # fmt: skip
