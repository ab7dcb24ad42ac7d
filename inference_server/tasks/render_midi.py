"""``render-midi``: a Standard MIDI File rendered by plugin_host, part by part, mixed and mastered.

Each part plays the instrument its spec names (``PART=builtin:"prompt"`` or
``PART=/path/to/Synth.vst3``; parts without one play the built-in instrument prompted with
the track's name), through its effect chain (``PART=reverb(room_size=0.3),...``). ``bpm``
re-times the file (MIDI moves exactly, nothing is stretched) and ``key`` transposes its
pitched parts to the nearest tonic of that key. Plugin paths are paths on the daemon's
machine, inside its plugin folders (``plugin_host.sandbox``), and plugins run in a sandbox
process of the job's own; the built-in instrument and effects run here. With ``wrap`` (the
default) the render is a loop of whole bars whose tails fold round to the start; without,
tails ring on past the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from promptdaw.core.limits import BPM_RANGE, MAX_METER_NUMERATOR, METER_DENOMINATORS
from promptdaw.core.music.theory import estimate_key
from promptdaw.inference_server.errors import InferenceFailed, InvalidInput, InvalidMidi
from promptdaw.inference_server.jobs import JobContext, TaskResult
from promptdaw.inference_server.params import (
    number_param,
    sample_rate_param,
    seed_param,
    string_param,
    target_lufs_param,
)
from promptdaw.inference_server.protocol import Audio, Midi, Request
from promptdaw.inference_server.tasks.rendering import builtin_instruments, check_length, render_loop, reply_for
from promptdaw.plugin_host import (
    DEFAULT_SAMPLE_RATE,
    DEFAULT_TARGET_LUFS,
    AudioEffect,
    EffectChain,
    EffectSpec,
    EventInstrument,
    Instrument,
    InstrumentSpec,
    PluginCrashed,
    PluginLoadError,
    PluginPathRefused,
    PluginSandbox,
    Score,
    check_plugin_path,
    key_shift_semitones,
    load_instrument,
    parse_fx,
    parse_instrument_spec,
    plugin_folders,
)

__all__ = ["render_midi", "score_for_request"]

MAX_PARTS = 64


def _strings(request: Request, name: str) -> list[str]:
    value = request.params.get(name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{name} must be a list of strings like 'PART=...', got {value!r}")
    return value


def _bool(request: Request, name: str, default: bool) -> bool:
    value = request.params.get(name, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false, got {value!r}")
    return value


def _source_key(score: Score) -> tuple[int, str] | None:
    if score.key is not None:
        return score.key
    weights = [0.0] * 12
    for part in score.parts:
        if not part.is_drums:
            for note in part.notes:
                weights[note.pitch % 12] += note.duration_beats
    return estimate_key(weights) if any(weights) else None


def score_for_request(request: Request) -> Score:
    """The request's MIDI buffer as a score, re-timed and transposed as its params ask."""
    midi = [p for p in request.payloads if isinstance(p, Midi)]
    if len(midi) != 1:
        raise InvalidInput(f"{request.type} needs exactly one midi buffer, got {len(midi)}")
    bars = request.params.get("bars")
    if bars is not None:
        bars = int(number_param(request, "bars", 1, lo=1, hi=256, integer=True))
    score = Score.from_midi(midi[0].data, bars=bars)  # InvalidMidi names the midi buffer
    if len(score.parts) > MAX_PARTS:
        raise InvalidMidi(f"midi buffer: the file has {len(score.parts)} parts; the limit is {MAX_PARTS}")
    lo, hi = BPM_RANGE
    if request.params.get("bpm") is not None:
        score = score.with_tempo(float(number_param(request, "bpm", 120, lo=lo, hi=hi)))
    elif not lo <= score.bpm <= hi:  # a file's own tempo: 1 microsecond per beat renders 0 samples
        raise InvalidMidi(f"midi buffer: its tempo, {score.bpm:g} bpm, is outside {lo:g}..{hi:g}; give params.bpm")
    numerator, denominator = score.meter
    if not 1 <= numerator <= MAX_METER_NUMERATOR or denominator not in METER_DENOMINATORS:
        valid = f"numerator 1..{MAX_METER_NUMERATOR}, denominator one of {', '.join(map(str, METER_DENOMINATORS))}"
        raise InvalidMidi(f"midi buffer: its time signature {numerator}/{denominator} cannot be rendered ({valid})")
    key = string_param(request, "key")
    if key is not None:
        source = _source_key(score)
        try:
            shift = key_shift_semitones(source, key) if source is not None else 0
        except ValueError as exc:
            raise InvalidInput(f"key: {exc}") from None
        score = score.transposed(shift)
    sample_rate = sample_rate_param(request, DEFAULT_SAMPLE_RATE)
    check_length(score.bars, score.meter, score.bpm, sample_rate=sample_rate, tracks=len(score.parts) + 1)
    return score


def _plugin_path(field: str, text: str, path: Path, folders: Sequence[Path]) -> Path:
    """The real path of a plugin the request names, or one error for every path outside the folders.

    Only names are compared (nothing of the plugin is read) until the path is accepted; then a
    missing plugin may be said to be missing: its folder is the user's own.
    """
    try:
        real = check_plugin_path(path, folders)
    except PluginPathRefused as exc:
        raise InvalidInput(f"{field} {text!r}: {exc}") from None
    if not real.exists():
        kind = "instrument" if field == "instruments" else "effect"
        raise InvalidInput(f"{field} {text!r}: no such VST3 {kind}: {path}")
    return real


def _specs(request: Request, score: Score,
           folders: Sequence[Path]) -> tuple[dict[str, InstrumentSpec], dict[str, Chain]]:  # fmt: skip
    """Each part's instrument spec and effect specs, checked; nothing is loaded yet.

    A plugin's path is replaced by its real path (the one that was checked); the built-in
    effects' values are checked by building them, in milliseconds.
    """
    names = ", ".join(f"{p.role} ({p.name})" if p.name != p.role else p.role for p in score.parts)
    specs: dict[str, InstrumentSpec] = {}
    for text in _strings(request, "instruments"):
        try:
            spec = parse_instrument_spec(text)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        part = score.part(spec.part)
        if part is None:
            raise InvalidInput(f"instrument {text!r}: the file has no part {spec.part!r}; its parts: {names}")
        if spec.path is not None:
            spec = replace(spec, path=_plugin_path("instruments", text, spec.path, folders))
        specs[part.role] = spec
    effects: dict[str, Chain] = {}
    for text in _strings(request, "fx"):
        try:
            part_key, chain = parse_fx(text)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        part = score.part(part_key)
        if part is None and part_key != "*":
            raise InvalidInput(f"fx {text!r}: the file has no part {part_key!r}; its parts: {names}")
        chain = tuple(replace(e, path=_plugin_path("fx", text, e.path, folders)) if e.path else e for e in chain)
        if all(effect.path is None for effect in chain):
            try:
                EffectChain(chain)
            except ValueError as exc:
                raise InvalidInput(f"fx {text!r}: {exc}") from None
        effects[part.role if part else "*"] = Chain(text, chain)
    return specs, effects


@dataclass(frozen=True)
class Chain:
    """A part's effects as the request gave them (``text``) and parsed."""

    text: str
    effects: tuple[EffectSpec, ...]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"{exc.strerror}: {exc.filename}"
    return str(exc)


def _load_effects(chains: dict[str, Chain], sandbox: PluginSandbox) -> dict[str, AudioEffect]:
    """Chains of built-ins run here; a chain holding a plugin runs whole in the sandbox."""
    effects: dict[str, AudioEffect] = {}
    for role, chain in chains.items():
        try:
            if any(e.path is not None for e in chain.effects):
                effects[role] = sandbox.effect_chain(chain.effects)
            else:
                effects[role] = EffectChain(chain.effects)
        except PluginCrashed as exc:
            raise InferenceFailed(f"fx {chain.text!r}: {exc}") from None
        except (ValueError, OSError) as exc:
            raise InvalidInput(f"fx {chain.text!r}: {_describe(exc)}") from None
    return effects


def render_midi(ctx: JobContext) -> TaskResult:
    request = ctx.request
    sample_rate = sample_rate_param(request, DEFAULT_SAMPLE_RATE)
    target_lufs = target_lufs_param(request, DEFAULT_TARGET_LUFS)
    wrap = _bool(request, "wrap", True)
    seed = seed_param(request)
    score = score_for_request(request)
    specs, chains = _specs(request, score, plugin_folders(ctx.plugin_paths))
    for part in score.parts:  # every part without a spec plays the built-in instrument
        if part.role not in specs:
            specs[part.role] = InstrumentSpec(part.role, "builtin", prompt=part.name if part.name else part.role)
    needs_builtin = any(s.kind == "builtin" for s in specs.values())
    builtin = builtin_instruments(ctx.registry, seed, ctx.warn) if needs_builtin else None
    # Plugins load and play in a process of their own, killed when the job ends however it ends.
    with PluginSandbox(check=ctx.check) as sandbox:
        ctx.progress(0.05, "loading instruments")
        effects = _load_effects(chains, sandbox)
        instruments: dict[str, Instrument | EventInstrument] = {}
        for part in score.parts:
            spec = specs[part.role]
            try:
                instruments[part.role] = load_instrument(
                    spec,
                    role=part.role,
                    make_voice=builtin.voice if builtin else None,
                    make_kit=builtin.kit if builtin else None,
                    host=sandbox,
                )
            except PluginCrashed as exc:
                raise InferenceFailed(f"instrument {spec}: {exc}") from None
            except (ValueError, OSError) as exc:  # a file that is no VST3, an effect given as instrument, ...
                raise InvalidInput(f"instrument {spec}: {_describe(exc)}") from None
            ctx.progress(0.05 + 0.15 * len(instruments) / len(score.parts), "loading instruments")
        try:
            rendered = render_loop(score, instruments, effects, sample_rate=sample_rate, target_lufs=target_lufs,
                                   wrap=wrap, progress=lambda f: ctx.progress(0.2 + 0.7 * f, "rendering"))  # fmt: skip
        except (ValueError, PluginLoadError, RuntimeError) as exc:  # PluginCrashed is a RuntimeError
            raise InferenceFailed(f"rendering failed: {exc}") from None
    numerator, denominator = score.meter
    described: dict[str, Any] = {role: str(spec).split("=", 1)[1] for role, spec in specs.items()}
    for part in score.parts:
        if part.role == "drums" and specs[part.role].kind == "builtin":
            described[part.role] += " (drum kit)"
    result = {
        **reply_for(rendered, described),
        "effects": {role: str(chain) for role, chain in effects.items()},  # plugins by their real paths
        "bars": score.bars,
        "bpm": score.bpm,
        "meter": f"{numerator}/{denominator}",
        "beats": score.bars * numerator,
        "root_note": 60 + score.key[0] if score.key else 60,
        "wrap": wrap,
    }
    payloads: list[Audio] = [Audio(rendered.mix, sample_rate)]
    payloads += [Audio(stem, sample_rate) for stem in rendered.stems.audio]
    return result, payloads
