"""The synth patch: every control of the synthesiser, by name, in physical units.

The network predicts a vector of numbers in [0, 1] (one per control value, in
:data:`PARAMS` order); :class:`Patch` maps it to physical units (seconds, dB, semitones) and
back. A patch travels to clients as a JSON dict that a person can edit and send back::

    {"format": "promptdaw-patch", "version": 1, "category": "kick",
     "params": {"amp_attack_s": 0.001, "harm_db": [0.0, -6.5, ...], ...}}

Values outside a control's range are refused with an error naming the control and the
range, never clamped silently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from promptdaw.core.errors import InvalidInput
from promptdaw.runtime.synthesis.constants import (
    CATEGORIES,
    N_BELL,
    N_HARMONIC_PARAMS,
    N_NOISE_BANDS,
    PITCHED_CATEGORIES,
)

__all__ = [
    "DEFAULT_SEED_STRENGTH",
    "PARAMS",
    "PARAM_SIZE",
    "PATCH_FORMAT",
    "PATCH_VERSION",
    "ParamSpec",
    "Patch",
    "vary_vector",
]

PATCH_FORMAT = "promptdaw-patch"
PATCH_VERSION = 1
#: How far (0..1, as ``vary``'s strength) a seed moves a predicted patch.
DEFAULT_SEED_STRENGTH = 0.35


@dataclass(frozen=True)
class ParamSpec:
    """One control: ``size`` values between ``lo`` and ``hi`` (``scale`` "lin" or "log")."""

    name: str
    lo: float
    hi: float
    scale: str = "lin"
    size: int = 1
    #: Standard deviation, in normalised units, of a ``vary`` step at strength 1.
    spread: float = 0.1
    doc: str = ""
    #: The value a patch dict without this control gets (no base patch): a control added after
    #: patches were saved sets the value that leaves their sound as it was. None: mid-range.
    default: float | None = None

    def to_physical(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64)
        if self.scale == "log":
            return self.lo * (self.hi / self.lo) ** v
        return self.lo + v * (self.hi - self.lo)

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.scale == "log":
            return np.log(x / self.lo) / math.log(self.hi / self.lo)
        return (x - self.lo) / (self.hi - self.lo)


_P = ParamSpec
#: Every control, in the order of the network's output vector.
PARAMS: tuple[ParamSpec, ...] = (
    # tonal layer: harmonics 1..48 of the note, one shared amplitude envelope
    _P("harm_level_db", -60, 0, spread=0.05, doc="level of the harmonic (tonal) layer"),
    _P("harm_db", -60, 0, size=N_HARMONIC_PARAMS, spread=0.05, doc="levels of harmonics 1..16"),
    _P("harm_tail_db_per_oct", -36, 6, spread=0.05, doc="slope of harmonics 17..48 from harmonic 16"),
    _P("harm_even_db", -40, 0, spread=0.05, doc="extra level of even harmonics 17..48"),
    _P("harm_damping", 0.01, 40, "log", spread=0.06, doc="extra decay rate per harmonic number (1/s)"),
    _P("bright_start_db", -48, 6, spread=0.05, default=0.0, doc="harmonic 16 at onset vs settled (<0 opens)"),
    _P("bright_time_s", 0.003, 3, "log", spread=0.05, default=0.05, doc="time constant of that brightness change"),
    _P("amp_attack_s", 0.0005, 4, "log", spread=0.05, doc="amplitude attack time"),
    _P("amp_decay_s", 0.005, 12, "log", spread=0.06, doc="amplitude decay time constant"),
    _P("amp_sustain", 0, 1, spread=0.06, doc="sustain level while the note is held"),
    _P("release_s", 0.003, 6, "log", spread=0.05, doc="release time constant of every layer"),
    _P("pitch_env_st", -12, 48, spread=0.02, doc="pitch offset at the start, decaying to the note (semitones)"),
    _P("pitch_env_decay_s", 0.002, 1.5, "log", spread=0.05, doc="time constant of the pitch envelope"),
    _P("glide_st", -36, 36, spread=0.0, doc="pitch change over the held note (semitones; risers, drops)"),
    _P("vibrato_hz", 2, 9, spread=0.05, doc="vibrato rate"),
    _P("vibrato_cents", 0, 60, spread=0.04, doc="vibrato depth"),
    _P("unison_level", 0, 1, spread=0.06, doc="level of the two detuned voices beside the centre voice"),
    _P("detune_cents", 0, 50, spread=0.06, doc="detune of the unison voices"),
    _P("width", 0, 1, spread=0.08, doc="stereo width of unison voices and noise"),
    # bell layer: inharmonic partials at BELL_RATIOS
    _P("bell_level_db", -60, 0, spread=0.05, doc="level of the inharmonic (bell) partials"),
    _P("bell_db", -60, 0, size=N_BELL, spread=0.05, doc="levels of the partials"),
    _P("bell_decay_s", 0.02, 12, "log", spread=0.05, doc="decay time constant of the lowest partial"),
    # noise layer: 16 bands of filtered noise with their own envelope
    _P("noise_level_db", -60, 0, spread=0.05, doc="level of the noise layer"),
    _P("noise_db", -60, 0, size=N_NOISE_BANDS, spread=0.05, doc="noise band levels, 50 Hz..16 kHz"),
    _P("noise_attack_s", 0.0005, 4, "log", spread=0.05, doc="noise attack time"),
    _P("noise_decay_s", 0.003, 12, "log", spread=0.06, doc="noise decay time constant"),
    _P("noise_sustain", 0, 1, spread=0.06, doc="noise sustain level"),
    _P("noise_sweep_oct", -6, 6, spread=0.0, doc="shift of the noise spectrum over the held note (octaves)"),
    _P("clap_bursts", 0, 1, spread=0.03, doc="level of three short noise bursts before the main hit (claps)"),
    _P("clap_spacing_s", 0.004, 0.03, "log", spread=0.05, doc="time between clap bursts"),
    _P("click_db", -60, 0, spread=0.05, doc="level of the broadband click at the start"),
    _P("click_decay_s", 0.0003, 0.03, "log", spread=0.05, doc="decay time constant of the click"),
    # whole sound
    _P("drive", 0, 1, spread=0.05, doc="saturation (tanh) of the mixed layers"),
    _P("hold_s", 0.03, 8, "log", spread=0.04, doc="how long the note is held when no duration is asked for"),
    _P("root_note", 12, 108, spread=0.0, doc="MIDI note played when none is asked for"),
)  # fmt: skip

PARAM_BY_NAME: Mapping[str, ParamSpec] = MappingProxyType({p.name: p for p in PARAMS})
#: Slices of each control in the flat vector.
_STARTS = np.cumsum([0, *[p.size for p in PARAMS]])[:-1]
SLICES: Mapping[str, slice] = MappingProxyType(
    {p.name: slice(int(start), int(start) + p.size) for p, start in zip(PARAMS, _STARTS, strict=True)}
)
PARAM_SIZE = sum(p.size for p in PARAMS)
SPREADS = np.concatenate([np.full(p.size, p.spread) for p in PARAMS])
#: Normalised values of controls a patch dict leaves out when there is no base patch.
DEFAULT_UNIT = np.concatenate([np.full(p.size, 0.5 if p.default is None else p.to_unit(p.default)) for p in PARAMS])


def vary_vector(unit: np.ndarray, strength: float, seed: int) -> np.ndarray:
    """A seeded step away from ``unit`` (normalised controls): ``strength`` 0 keeps it, 1 moves it far.

    The note and the pitch-defining controls move least (their spreads are small or zero), so a
    variation stays the same kind of sound at the same pitch.
    """
    rng = np.random.default_rng(seed)
    step = rng.standard_normal(PARAM_SIZE) * SPREADS * float(strength)
    return np.clip(np.asarray(unit, dtype=np.float64) + step, 0.0, 1.0)


class Patch:
    """A complete set of synth controls (a flat normalised vector underneath) and a category."""

    def __init__(self, unit: np.ndarray, category: str = "") -> None:
        unit = np.asarray(unit, dtype=np.float64).reshape(-1)
        if unit.shape != (PARAM_SIZE,):
            raise ValueError(f"a patch vector has {PARAM_SIZE} values, got {unit.shape[0]}")
        self.unit = np.clip(unit, 0.0, 1.0)
        self.category = category

    # ------------------------------------------------------------------ access

    def __getitem__(self, name: str) -> np.ndarray | float:
        """A control in physical units: a float, or an array for multi-valued controls."""
        spec = PARAM_BY_NAME[name]
        value = spec.to_physical(self.unit[SLICES[name]])
        return value if spec.size > 1 else float(value[0])

    def physical(self) -> dict[str, np.ndarray | float]:
        return {p.name: self[p.name] for p in PARAMS}

    def replace(self, **values: Any) -> Patch:
        """A copy with some controls changed (physical units); raises InvalidInput when out of range."""
        unit = self.unit.copy()
        for name, value in values.items():
            unit[SLICES[name]] = _unit_value(name, value)
        return Patch(unit, self.category)

    def varied(self, strength: float, seed: int) -> Patch:
        return Patch(vary_vector(self.unit, strength, seed), self.category)

    def steady(self) -> Patch:
        """For a pitched category, the same patch holding its note: no glide or noise sweep, and a
        pitch envelope under 1 semitone (a regression's noise around zero, not a drop) removed.

        The network is trained to give pitched sounds no pitch movement (they are rendered without
        it), but a control spanning +-36 semitones turns a 1 % error into a detuned note.
        """
        if self.category not in PITCHED_CATEGORIES:
            return self
        values: dict[str, float] = {"glide_st": 0.0, "noise_sweep_oct": 0.0}
        if abs(self["pitch_env_st"]) < 1.0:
            values["pitch_env_st"] = 0.0
        return self.replace(**values)

    # ------------------------------------------------------------------ JSON

    def to_dict(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for spec in PARAMS:
            value = self[spec.name]
            params[spec.name] = [_round(v) for v in value] if spec.size > 1 else _round(value)
        return {"format": PATCH_FORMAT, "version": PATCH_VERSION, "category": self.category, "params": params}

    @classmethod
    def from_dict(cls, data: Any, base: Patch | None = None) -> Patch:
        """Read a patch dict (as :meth:`to_dict` writes, possibly edited).

        Controls the dict leaves out come from ``base`` (the model's patch for the prompt) or,
        without one, from their ``default`` (the middle of their ranges where none is set).

        Raises:
            InvalidInput: naming the control, the value and its valid range, for an unknown
                control, a wrong type or size, or a value out of range.
        """
        if not isinstance(data, Mapping):
            raise InvalidInput(f"patch must be a JSON object, got {type(data).__name__}")
        if data.get("format", PATCH_FORMAT) != PATCH_FORMAT:
            raise InvalidInput(f"patch.format must be {PATCH_FORMAT!r}, got {data.get('format')!r}")
        if data.get("version", PATCH_VERSION) != PATCH_VERSION:
            raise InvalidInput(f"patch.version must be {PATCH_VERSION}, got {data.get('version')!r}")
        params = data.get("params")
        if not isinstance(params, Mapping):
            raise InvalidInput("patch.params must be an object of control names to values")
        unknown = sorted(set(params) - set(PARAM_BY_NAME))
        if unknown:
            raise InvalidInput(
                f"patch.params has unknown controls {', '.join(unknown)}; known: {', '.join(PARAM_BY_NAME)}"
            )
        unit = base.unit.copy() if base is not None else DEFAULT_UNIT.copy()
        for name, value in params.items():
            unit[SLICES[name]] = _unit_value(name, value)
        category = data.get("category") or (base.category if base is not None else "")
        if category and category not in CATEGORIES:
            raise InvalidInput(f"patch.category must be one of {', '.join(CATEGORIES)}, got {category!r}")
        return cls(unit, category)


def _round(value: float) -> float:
    """Six significant digits: readable JSON, and re-reading it changes the sound inaudibly."""
    return float(f"{float(value):.6g}")


def _unit_value(name: str, value: Any) -> np.ndarray:
    spec = PARAM_BY_NAME.get(name)
    if spec is None:
        raise InvalidInput(f"unknown patch control {name!r}; known: {', '.join(PARAM_BY_NAME)}")
    values = value if isinstance(value, list | tuple) else [value]
    if spec.size > 1 and not isinstance(value, list | tuple):
        raise InvalidInput(f"patch control {name} takes a list of {spec.size} numbers, got {value!r}")
    if len(values) != spec.size:
        raise InvalidInput(f"patch control {name} takes {spec.size} value(s), got {len(values)}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise InvalidInput(f"patch control {name} must be numbers, got {v!r}")
        # A little slack so values written with six digits read back even at the range ends.
        slack = 1e-5 * (spec.hi - spec.lo)
        if not spec.lo - slack <= v <= spec.hi + slack:
            raise InvalidInput(f"patch control {name} must be in [{spec.lo:g}, {spec.hi:g}], got {v!r}")
    clipped = np.clip(np.asarray(values, dtype=np.float64), spec.lo, spec.hi)
    return np.clip(spec.to_unit(clipped), 0.0, 1.0)
