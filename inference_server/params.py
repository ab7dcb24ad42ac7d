"""Reading request parameters: each error names the field, the value and what is valid."""

from __future__ import annotations

from typing import Any

from promptdaw.core.limits import SAMPLE_RATE_RANGE, SEED_MAX, TARGET_LUFS_RANGE
from promptdaw.inference_server.errors import InvalidInput
from promptdaw.inference_server.protocol import Audio, Request

__all__ = [
    "bool_param",
    "number_param",
    "sample_rate_param",
    "seed_param",
    "single_audio",
    "string_param",
    "target_lufs_param",
]


def number_param(request: Request, name: str, default: float, *, lo: float, hi: float, integer: bool = False) -> float:
    value: Any = request.params.get(name, default)
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
        raise InvalidInput(f"{name} must be {kind} in [{lo:g}, {hi:g}], got {value!r}")
    if not lo <= value <= hi:  # also false for NaN
        raise InvalidInput(f"{name} must be in [{lo:g}, {hi:g}], got {value!r}")
    return value


def bool_param(request: Request, name: str, default: bool) -> bool:
    value = request.params.get(name, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false, got {value!r}")
    return value


def string_param(request: Request, name: str, default: str | None = None) -> str | None:
    value = request.params.get(name, default)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string, got {value!r}")
    return value


def single_audio(request: Request) -> Audio:
    """The request's one audio buffer."""
    audio = [p for p in request.payloads if isinstance(p, Audio)]
    if len(audio) != 1:
        raise InvalidInput(f"{request.type} needs exactly one audio buffer, got {len(audio)}")
    return audio[0]


def seed_param(request: Request, default: int = 0) -> int:
    return int(number_param(request, "seed", default, lo=0, hi=SEED_MAX, integer=True))


def sample_rate_param(request: Request, default: int) -> int:
    lo, hi = SAMPLE_RATE_RANGE
    return int(number_param(request, "sample_rate", default, lo=lo, hi=hi, integer=True))


def target_lufs_param(request: Request, default: float) -> float:
    lo, hi = TARGET_LUFS_RANGE
    return float(number_param(request, "target_lufs", default, lo=lo, hi=hi))
