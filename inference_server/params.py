"""Reading request parameters: each error names the field, the value and what is valid."""

from __future__ import annotations

from typing import Any

from promptdaw.inference_server.errors import InvalidParams
from promptdaw.inference_server.protocol import Audio, Request

__all__ = ["number_param", "single_audio", "string_param"]


def number_param(request: Request, name: str, default: float, *, lo: float, hi: float, integer: bool = False) -> float:
    value: Any = request.params.get(name, default)
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
        raise InvalidParams(f"{name} must be {kind} in [{lo:g}, {hi:g}], got {value!r}")
    if not lo <= value <= hi:  # also false for NaN
        raise InvalidParams(f"{name} must be in [{lo:g}, {hi:g}], got {value!r}")
    return value


def string_param(request: Request, name: str, default: str | None = None) -> str | None:
    value = request.params.get(name, default)
    if value is not None and not isinstance(value, str):
        raise InvalidParams(f"{name} must be a string, got {value!r}")
    return value


def single_audio(request: Request) -> Audio:
    """The request's one audio buffer."""
    audio = [p for p in request.payloads if isinstance(p, Audio)]
    if len(audio) != 1:
        raise InvalidParams(f"{request.type} needs exactly one audio buffer, got {len(audio)}")
    return audio[0]
