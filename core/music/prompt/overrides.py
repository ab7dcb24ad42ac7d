"""Values given beside the prompt (CLI flags, request params) that win over what it says."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from promptdaw.core.music.prompt.checks import check_bars, check_bpm, check_meter, invalid
from promptdaw.core.music.prompt.keys import parse_key
from promptdaw.core.music.prompt.meter import parse_meter

__all__ = ["OVERRIDE_KEYS", "check_overrides"]

OVERRIDE_KEYS = ("bars", "bpm", "key", "meter", "seed")


def check_overrides(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate ``overrides``; returns them converted (key -> (tonic, mode), meter -> tuple)."""
    if not overrides:
        return {}
    unknown = sorted(set(overrides) - set(OVERRIDE_KEYS))
    if unknown:
        raise invalid("overrides", unknown, f"valid keys are {', '.join(OVERRIDE_KEYS)}")
    checked: dict[str, Any] = {}
    for name, value in overrides.items():
        if value is None:
            continue
        if name in ("bars", "seed"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise invalid(name, value, "expected an integer")
            checked[name] = check_bars(value) if name == "bars" else value
        elif name == "bpm":
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise invalid("bpm", value, "expected a number")
            checked["bpm"] = check_bpm(float(value))
        elif name == "key":
            if not isinstance(value, str):
                raise invalid("key", value, "expected a key name such as 'F minor'")
            checked["key"] = parse_key(value)
        elif name == "meter":
            if isinstance(value, str):
                checked["meter"] = parse_meter(value)
            elif isinstance(value, Sequence) and len(value) == 2 and all(isinstance(v, int) for v in value):
                checked["meter"] = check_meter(*value)
            else:
                raise invalid("meter", value, "expected a time signature such as '6/8'")
    return checked
