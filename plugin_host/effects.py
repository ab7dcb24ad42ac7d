"""Effect chains: pedalboard built-ins by name, or VST3 effects by path, and their spec syntax.

A chain spec lists effects in order, each with optional parameters::

    reverb(room_size=0.3), compressor(threshold_db=-18, ratio=4)
    highpass(cutoff_frequency_hz=120), /path/to/Echo.vst3(mix=0.4)

and ``--fx`` prefixes it with the part: ``drums=reverb(room_size=0.3),compressor``.
Parameter names are pedalboard's (units in the name: ``_db``, ``_hz``, ``_ms``); every error
names the effect, the parameter or value at fault, and the valid choices or range.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from promptdaw.plugin_host.instruments import PluginLoadError, _quiet_dpf_parameters, set_plugin_parameter

__all__ = [
    "BUILTIN_EFFECTS",
    "DEFAULT_TAIL_S",
    "AudioEffect",
    "EffectChain",
    "EffectSpec",
    "builtin_parameters",
    "parse_chain",
    "parse_fx",
]

#: Seconds of echo a chain with a reverb, delay or plugin may leave after the input stops.
DEFAULT_TAIL_S = 4.0
#: The same for chains of filters and dynamics only (their memory is milliseconds).
_SHORT_TAIL_S = 0.5
_LONG_TAIL_EFFECTS = {"reverb", "delay", "chorus", "phaser"}


def _builtin_effects() -> dict[str, Any]:
    import pedalboard as pb

    return {
        "bitcrush": pb.Bitcrush,
        "chorus": pb.Chorus,
        "clipping": pb.Clipping,
        "compressor": pb.Compressor,
        "delay": pb.Delay,
        "distortion": pb.Distortion,
        "gain": pb.Gain,
        "highpass": pb.HighpassFilter,
        "highshelf": pb.HighShelfFilter,
        "ladder": pb.LadderFilter,
        "limiter": pb.Limiter,
        "lowpass": pb.LowpassFilter,
        "lowshelf": pb.LowShelfFilter,
        "noisegate": pb.NoiseGate,
        "peak": pb.PeakFilter,
        "phaser": pb.Phaser,
        "pitchshift": pb.PitchShift,
        "reverb": pb.Reverb,
    }


#: Effect name -> pedalboard class. Names are matched without case, "_", "-" or a "filter" suffix.
BUILTIN_EFFECTS: Mapping[str, Any] = _builtin_effects()


def _canonical(name: str) -> str:
    key = re.sub(r"[\s_\-]", "", name.casefold())
    if key.endswith("filter") and key != "filter":
        key = key[: -len("filter")]
    return key


def builtin_parameters(name: str) -> tuple[str, ...]:
    """Parameter names of a built-in effect, e.g. ``("room_size", "damping", ...)`` for reverb."""
    cls = BUILTIN_EFFECTS[_canonical(name)]
    return tuple(n for n, v in vars(cls).items() if isinstance(v, property))


@dataclass(frozen=True)
class EffectSpec:
    """One effect of a chain: a built-in ``name`` or a VST3 ``path``, with parameters."""

    name: str  # canonical built-in name, or the plugin file name
    parameters: Mapping[str, float | bool | str] = field(default_factory=dict)
    path: Path | None = None

    def __str__(self) -> str:
        args = ", ".join(f"{k}={_format(v)}" for k, v in self.parameters.items())
        head = str(self.path) if self.path is not None else self.name
        return f"{head}({args})" if args else head


def _format(value: float | bool | str) -> str:
    """A parameter value as the spec syntax reads it back."""
    if isinstance(value, str) and not re.fullmatch(r"[A-Za-z0-9_.+\-]+", value):
        return '"' + value.replace('"', "") + '"'
    return str(value).lower() if isinstance(value, bool) else str(value)


# ------------------------------------------------------------------------------------- parsing


def _split_top_level(text: str, where: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    pieces, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"{where}: unbalanced ')' in {text!r}")
        elif char == "," and depth == 0:
            pieces.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if quote:
        raise ValueError(f"{where}: unclosed quote in {text!r}")
    if depth:
        raise ValueError(f"{where}: unclosed '(' in {text!r}")
    pieces.append("".join(current).strip())
    return pieces


def _value(text: str) -> float | bool | str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    lowered = text.casefold()
    if lowered in ("true", "on", "yes"):
        return True
    if lowered in ("false", "off", "no"):
        return False
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite number")
    return number


def _parse_effect(text: str) -> EffectSpec:
    match = re.fullmatch(r"\s*(?P<head>[^()]+?)\s*(?:\((?P<args>.*)\))?\s*", text, re.DOTALL)
    if not match or not match["head"]:
        raise ValueError(f"effect {text!r} must look like name(param=value, ...), e.g. reverb(room_size=0.3)")
    head = match["head"].strip().strip("\"'")
    parameters: dict[str, float | bool | str] = {}
    if match["args"] and match["args"].strip():
        for arg in _split_top_level(match["args"], f"effect {head!r}"):
            key, sep, raw = arg.partition("=")
            key = key.strip()
            if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) or not raw.strip():
                raise ValueError(f"effect {head!r}: {arg!r} must look like parameter=value, e.g. room_size=0.3")
            if key in parameters:
                raise ValueError(f"effect {head!r}: parameter {key!r} is given twice")
            try:
                parameters[key] = _value(raw)
            except ValueError as exc:
                raise ValueError(f"effect {head!r}: {key}: {exc}") from None
    if head.rstrip("/").casefold().endswith(".vst3"):
        path = Path(head).expanduser()
        return EffectSpec(path.name, parameters, path)
    name = _canonical(head)
    if name not in BUILTIN_EFFECTS:
        raise ValueError(
            f"unknown effect {head!r}; valid: {', '.join(sorted(BUILTIN_EFFECTS))}, or a path to a .vst3 effect"
        )
    valid = builtin_parameters(name)
    for key in parameters:
        if key not in valid:
            raise ValueError(f"effect {name!r} has no parameter {key!r}; valid: {', '.join(valid)}")
    return EffectSpec(name, parameters)


def parse_chain(text: str) -> tuple[EffectSpec, ...]:
    """Read a chain spec (``reverb(room_size=0.3),compressor(threshold_db=-18)``).

    Raises:
        ValueError: naming the effect, parameter or value at fault and the valid choices.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"an effect chain must be a non-empty string like reverb(room_size=0.3), got {text!r}")
    return tuple(_parse_effect(piece) for piece in _split_top_level(text, "effect chain") if piece)


def parse_fx(text: str) -> tuple[str, tuple[EffectSpec, ...]]:
    """Read ``PART=chain`` (an ``--fx`` value) into the part and its effects."""
    if not isinstance(text, str):
        raise ValueError(f"an --fx spec must be a string like drums=reverb(room_size=0.3), got {text!r}")
    part, sep, chain = text.partition("=")
    # "PART=" must come before any "(": reverb(room_size=0.3) alone has no part.
    if not sep or "(" in part or not part.strip():
        raise ValueError(f"--fx spec {text!r} must look like PART=effect(param=value),... e.g. "
                         "drums=reverb(room_size=0.3),compressor(threshold_db=-18)")  # fmt: skip
    return part.strip(), parse_chain(chain)


# ------------------------------------------------------------------------------------- chains


def _set_enum_aware(plugin: Any, effect: str, name: str, value: float | bool | str) -> None:
    current = getattr(plugin, name)
    members = getattr(type(current), "__members__", None)
    if members:  # e.g. LadderFilter.mode: pass the member's name ("LPF24")
        if not isinstance(value, str) or value.upper() not in {k.upper() for k in members}:
            raise ValueError(f"effect {effect!r}: {name}={value!r} is invalid; valid: {', '.join(members)}")
        value = next(v for k, v in members.items() if k.upper() == value.upper())
    elif isinstance(value, str):
        raise ValueError(f"effect {effect!r}: {name}={value!r} is invalid; it takes a number")
    try:
        setattr(plugin, name, value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"effect {effect!r}: {name}={value!r} is invalid: {exc}") from None


def _build(spec: EffectSpec) -> Any:
    if spec.path is None:
        plugin = BUILTIN_EFFECTS[spec.name]()
        for key, value in spec.parameters.items():
            _set_enum_aware(plugin, spec.name, key, value)
        return plugin
    import pedalboard

    if not spec.path.exists():
        raise FileNotFoundError(2, "no such VST3 effect", str(spec.path))
    _quiet_dpf_parameters()
    try:
        plugin = pedalboard.load_plugin(str(spec.path))
    except (ImportError, RuntimeError, ValueError) as exc:
        detail = " ".join(str(exc).split())
        raise PluginLoadError(f"{spec.path} cannot be loaded as a VST3 plugin: {detail}") from None
    if getattr(plugin, "is_instrument", False) and not getattr(plugin, "is_effect", True):
        raise PluginLoadError(f"{spec.path} is an instrument, not an effect; use it with --instrument")
    for key, value in spec.parameters.items():
        set_plugin_parameter(plugin, str(spec.path), key, value)
    return plugin


class AudioEffect(Protocol):
    """What a part's audio goes through: an :class:`EffectChain`, or one in the plugin sandbox."""

    def process(self, audio: np.ndarray, sample_rate: int, *, wrap: bool = True) -> np.ndarray: ...


class EffectChain:
    """Effects applied in order.

    Args:
        effects: specs (from :func:`parse_chain`) or a chain spec string.
        tail_s: how long the chain may ring after its input stops; default
            :data:`DEFAULT_TAIL_S` when it holds a reverb, delay, modulation or plugin, else 0.5 s.

    Raises:
        ValueError, FileNotFoundError, PluginLoadError: a bad effect, parameter, value or path.
    """

    def __init__(self, effects: Sequence[EffectSpec] | str, *, tail_s: float | None = None) -> None:
        import pedalboard

        self.specs = parse_chain(effects) if isinstance(effects, str) else tuple(effects)
        self._board = pedalboard.Pedalboard([_build(spec) for spec in self.specs])
        long_tail = any(s.path is not None or s.name in _LONG_TAIL_EFFECTS for s in self.specs)
        self.tail_s = float(tail_s) if tail_s is not None else (DEFAULT_TAIL_S if long_tail else _SHORT_TAIL_S)

    def __str__(self) -> str:
        return ", ".join(str(s) for s in self.specs)

    def process(self, audio: np.ndarray, sample_rate: int, *, wrap: bool = True) -> np.ndarray:
        """``[frames, 2]`` audio through the chain.

        With ``wrap`` the audio is a loop: the chain hears it enough times for its tails to
        come round, and the last pass is returned, so the end flows into the start and the
        length is kept. Without, ``tail_s`` of silence is appended for the tails to ring into.
        """
        frames = audio.shape[0]
        if not self.specs or frames == 0:
            return audio
        tail = round(self.tail_s * sample_rate)
        if wrap:
            passes = 1 + max(1, math.ceil(tail / frames))
            source = np.tile(audio, (passes, 1))
        else:
            source = np.pad(audio, ((0, tail), (0, 0)))
        out = self._board(np.ascontiguousarray(source.T, dtype=np.float32), sample_rate, reset=True)
        out = np.asarray(out, dtype=np.float64).T
        if out.shape[1] == 1:
            out = np.repeat(out, 2, axis=1)
        return out[-frames:] if wrap else out
