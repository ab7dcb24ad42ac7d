"""Range checks of what a prompt or an override states: each error names the field and what is valid."""

from __future__ import annotations

from promptdaw.core.errors import InvalidInput
from promptdaw.core.limits import BPM_RANGE, MAX_BARS, MAX_METER_NUMERATOR, MAX_PROMPT_CHARS, METER_DENOMINATORS

__all__ = ["check_bars", "check_bpm", "check_meter", "check_prompt", "invalid"]


def invalid(name: str, value: object, valid: str) -> InvalidInput:
    return InvalidInput(f"{name}: {value!r} is invalid; {valid}")


def check_prompt(prompt: object) -> str:
    if not isinstance(prompt, str):
        raise invalid("prompt", type(prompt).__name__, "expected a string")
    if not prompt.strip():
        raise invalid("prompt", prompt, "the prompt is empty")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise invalid("prompt", f"{len(prompt)} characters", f"valid length is 1..{MAX_PROMPT_CHARS} characters")
    return prompt


def check_bpm(bpm: float) -> float:
    if not BPM_RANGE[0] <= bpm <= BPM_RANGE[1]:
        raise invalid("bpm", bpm, f"valid range is {BPM_RANGE[0]:g}..{BPM_RANGE[1]:g}")
    return bpm


def check_bars(bars: int) -> int:
    if not 1 <= bars <= MAX_BARS:
        raise invalid("bars", bars, f"valid range is 1..{MAX_BARS}")
    return bars


def check_meter(numerator: int, denominator: int) -> tuple[int, int]:
    if not 1 <= numerator <= MAX_METER_NUMERATOR or denominator not in METER_DENOMINATORS:
        raise invalid("meter", f"{numerator}/{denominator}", f"the numerator must be 1..{MAX_METER_NUMERATOR} and "
                      f"the denominator one of {', '.join(map(str, METER_DENOMINATORS))}")  # fmt: skip
    return numerator, denominator
