"""MusicSpec: what a prompt asks for, fully resolved. Every generator takes one.

The prompt parser (``music.prompt``) is the only producer; ``explicit`` records which
fields the prompt (or a CLI flag) set, so results can show the user how they were read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from promptdaw.core.errors import InvalidInput
from promptdaw.core.limits import BPM_RANGE, MAX_BARS, MAX_METER_NUMERATOR, METER_DENOMINATORS, SEED_MAX
from promptdaw.core.music.theory import MODES, parse_chord

__all__ = ["FEELS", "PART_ROLES", "ChordChange", "MusicSpec", "PartSpec"]

#: Roles a part can play. Drums always go to MIDI channel 10.
PART_ROLES = ("drums", "bass", "chords", "melody", "arp", "pad")
FEELS = ("normal", "half-time", "double-time")


@dataclass(frozen=True)
class PartSpec:
    role: str  # one of PART_ROLES
    program: int  # General MIDI program 0..127 (0-based); ignored for drums
    name: str  # track name shown in the DAW, e.g. "808 Bass"


@dataclass(frozen=True)
class ChordChange:
    symbol: str  # a chord symbol in the spec's key, e.g. "Am7", "F#m7b5", "E5", "Gsus4"
    bar: int  # 0-based bar where it starts
    beat: float = 0.0  # quarter-note beats into the bar
    duration_beats: float = 0.0  # 0 = until the next change (or the end)


@dataclass(frozen=True)
class MusicSpec:
    bpm: float
    key_tonic: int  # pitch class, C = 0
    key_mode: str  # "major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian"
    meter: tuple[int, int]  # (numerator, denominator)
    bars: int
    genre: str
    parts: tuple[PartSpec, ...]
    mood: str | None = None
    #: Explicit harmony (expanded over all bars, repeating if shorter); empty = the model chooses.
    chords: tuple[ChordChange, ...] = ()
    swing: float = 0.0  # 0 straight .. 1 full triplet swing of off-beat 16ths (or 8ths)
    density: float = 0.5  # 0 sparse .. 1 busy
    feel: str = "normal"  # "normal", "half-time", "double-time"
    seed: int = 0
    #: Named patterns the music must keep, e.g. "four_on_the_floor" (a kick on every beat).
    idioms: tuple[str, ...] = ()
    explicit: frozenset[str] = field(default_factory=frozenset)

    @property
    def beats_per_bar(self) -> float:
        """Quarter-note beats in one bar: numerator * 4 / denominator."""
        return self.meter[0] * 4 / self.meter[1]

    @property
    def steps_per_bar(self) -> int:
        """16th-note grid steps in one bar."""
        return self.meter[0] * 16 // self.meter[1]

    def part(self, role: str) -> PartSpec | None:
        return next((p for p in self.parts if p.role == role), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["meter"] = f"{self.meter[0]}/{self.meter[1]}"
        data["explicit"] = sorted(self.explicit)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> MusicSpec:
        """Read a spec as :meth:`to_dict` writes it (a request's ``spec``, possibly edited).

        Every field is checked as the prompt reader would check it, since the dict comes from
        outside; unknown fields are ignored.

        Raises:
            InvalidInput: naming the field (``spec.bpm``, ``spec.parts[1].role``), for a missing
                field, a wrong type or a value out of range.
        """
        fields = _Fields(data, "spec")
        bars = fields.integer("bars", 1, MAX_BARS)
        parts = fields.items("parts", _part_from_dict)
        if not parts:
            raise InvalidInput("spec.parts: a spec needs at least one part")
        roles = [p.role for p in parts]
        if len(set(roles)) != len(roles):
            raise InvalidInput(f"spec.parts: each role may appear once, got {roles}")
        mood = data.get("mood")
        if mood is not None and not isinstance(mood, str):
            raise InvalidInput(f"spec.mood must be a string or null, got {mood!r}")
        return cls(
            bpm=fields.number("bpm", *BPM_RANGE),
            key_tonic=fields.integer("key_tonic", 0, 11),
            key_mode=fields.choice("key_mode", tuple(MODES)),
            meter=_meter(data.get("meter")),
            bars=bars,
            genre=fields.string("genre"),
            parts=parts,
            mood=mood,
            chords=fields.items("chords", _chord_from_dict, ()),
            swing=fields.number("swing", 0.0, 1.0, 0.0),
            density=fields.number("density", 0.0, 1.0, 0.5),
            feel=fields.choice("feel", FEELS, "normal"),
            seed=fields.integer("seed", 0, SEED_MAX, 0),
            idioms=fields.items("idioms", _string_item, ()),
            explicit=frozenset(fields.items("explicit", _string_item, ())),
        )


# ---------------------------------------------------------------------------- reading dicts

_MISSING = object()


class _Fields:
    """Checked reads of one JSON object's fields; errors name ``where.field``."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise InvalidInput(f"{where} must be an object, got {data!r}")
        self.data, self.where = data, where

    def _get(self, name: str, default: Any) -> Any:
        value = self.data.get(name, default)
        if value is _MISSING:
            raise InvalidInput(f"{self.where}.{name} is missing")
        return value

    def number(self, name: str, lo: float, hi: float, default: Any = _MISSING) -> float:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidInput(f"{self.where}.{name} must be a number in {lo:g}..{hi:g}, got {value!r}")
        if not lo <= value <= hi:
            raise InvalidInput(f"{self.where}.{name} must be in {lo:g}..{hi:g}, got {value!r}")
        return float(value)

    def integer(self, name: str, lo: int, hi: int, default: Any = _MISSING) -> int:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise InvalidInput(f"{self.where}.{name} must be an integer in {lo}..{hi}, got {value!r}")
        return value

    def string(self, name: str, default: Any = _MISSING) -> str:
        value = self._get(name, default)
        if not isinstance(value, str):
            raise InvalidInput(f"{self.where}.{name} must be a string, got {value!r}")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self._get(name, default)
        if value not in choices or not isinstance(value, str):
            raise InvalidInput(f"{self.where}.{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def items(self, name: str, read: Any, default: Any = _MISSING) -> tuple:
        value = self._get(name, default)
        if not isinstance(value, list | tuple):
            raise InvalidInput(f"{self.where}.{name} must be a list, got {value!r}")
        return tuple(read(item, f"{self.where}.{name}[{i}]") for i, item in enumerate(value))


def _meter(value: Any) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,3})/(\d{1,3})", value) if isinstance(value, str) else None
    meter = (int(match[1]), int(match[2])) if match else None
    if meter is None or not 1 <= meter[0] <= MAX_METER_NUMERATOR or meter[1] not in METER_DENOMINATORS:
        raise InvalidInput(f"spec.meter must be a time signature such as '6/8' (numerator 1..{MAX_METER_NUMERATOR}, "
                           f"denominator one of {', '.join(map(str, METER_DENOMINATORS))}), got {value!r}")  # fmt: skip
    return meter


def _part_from_dict(data: Any, where: str) -> PartSpec:
    fields = _Fields(data, where)
    return PartSpec(fields.choice("role", PART_ROLES), fields.integer("program", 0, 127), fields.string("name"))


def _chord_from_dict(data: Any, where: str) -> ChordChange:
    fields = _Fields(data, where)
    symbol = fields.string("symbol")
    try:
        parse_chord(symbol)
    except ValueError as exc:
        raise InvalidInput(f"{where}.symbol: {exc}") from None
    return ChordChange(
        symbol,
        fields.integer("bar", 0, MAX_BARS - 1),
        fields.number("beat", 0.0, 64.0, 0.0),
        fields.number("duration_beats", 0.0, 64.0 * MAX_BARS, 0.0),
    )


def _string_item(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be a string, got {value!r}")
    return value
