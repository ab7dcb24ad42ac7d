"""What a one-shot prompt states exactly: the note ("E5", "on G3") and the length ("4 seconds").

Everything else in the prompt (the kind of sound and its character) is read by the
text2sample network from the MiniLM embedding of what is left once the note and length are
taken out. Note names use the one music-theory module (``music.theory.parse_note``); numbers
in words ("twenty-four seconds") use the prompt reader's grammar (``music.prompt.numbers``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from promptdaw.core.errors import InvalidInput
from promptdaw.core.limits import MAX_PROMPT_CHARS
from promptdaw.core.music.prompt import COUNT_WORDS, read_number
from promptdaw.core.music.theory import NOTE_NAME, parse_note
from promptdaw.runtime.synthesis.constants import MAX_DURATION_S

__all__ = ["MIN_DURATION_S", "SamplePrompt", "parse_note_param", "read_sample_prompt"]

MIN_DURATION_S = 0.02

_NOTE = re.compile(rf"(?<![\w#♯♭])(?:(?:on|in|at|note|pitch|key of|tuned to)\s+)?(?P<note>{NOTE_NAME})(?![\w#♯♭])",
                   re.IGNORECASE)  # fmt: skip
_MIDI = re.compile(r"(?<![\w])(?:midi(?:\s+note)?|note)\s*(?:#|number\s*)?(?P<n>\d{1,3})(?![\w.])", re.IGNORECASE)
_DURATION = re.compile(
    rf"(?<![\w.'\u2019])(?P<value>\d+(?:\.\d+)?|{COUNT_WORDS}|half an?|a)[\s-]*"
    r"(?P<unit>milliseconds?|ms|seconds?|secs?|s)(?![\w])(?:\s+(?:long|in length))?",
    re.IGNORECASE,
)
_LEFTOVER = re.compile(r"^[\s,;:.\-]+|[\s,;:\-]+$")


@dataclass(frozen=True)
class SamplePrompt:
    text: str  # the prompt without the note and length: what the network reads
    note: int | None
    duration_s: float | None


def parse_note_param(value: object) -> int:
    """A note given as a name ("C3", "F#1", "Bb3") or a MIDI number 0..127.

    Raises:
        InvalidInput: naming ``note``, the value and the valid forms.
    """
    if isinstance(value, bool):
        value = repr(value)
    if isinstance(value, int | float) and float(value).is_integer() and 0 <= value <= 127:
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and 0 <= int(text) <= 127:
            return int(text)
        try:
            note = parse_note(text)
        except ValueError:
            note = None
        if note is not None and 0 <= note <= 127:
            return note
    raise InvalidInput(f"note must be a note name C-1..G9 (e.g. C3, F#1, Bb3) or a MIDI number 0..127, got {value!r}")


def _is_decade(match: re.Match[str]) -> bool:
    """ "80s synth brass", "1970s funk bass": a decade, not a length (an "s" right after 40, 50, ... or a year)."""
    value, unit = match["value"], match["unit"]
    if unit != "s" or not value.isdigit() or match[0][len(value)] != "s":
        return False
    number = int(value)
    return number % 10 == 0 and (40 <= number <= 90 or 1900 <= number <= 2090)


def _duration_match(text: str) -> re.Match[str] | None:
    return next((m for m in _DURATION.finditer(text) if not _is_decade(m)), None)


def _duration_value(value: str, unit: str) -> float:
    value = value.lower()
    if value.startswith("half"):
        number = 0.5
    elif value == "a":
        number = 1.0
    elif value[:1].isalpha():
        number = float(read_number(value))
    else:
        number = float(value)
    return number / 1000.0 if unit.lower().startswith("m") else number


def read_sample_prompt(prompt: object) -> SamplePrompt:
    """Split a one-shot prompt into the sound description, the note and the length.

    Raises:
        InvalidInput: naming ``prompt`` when it is not a non-empty string of at most 2000
            characters, or naming ``duration_s`` or ``note`` when the prompt states an
            impossible one ("a 90 second kick", "bass at C12").
    """
    if not isinstance(prompt, str):
        raise InvalidInput(f"prompt must be a string, got {type(prompt).__name__}")
    if not prompt.strip():
        raise InvalidInput("prompt is empty; describe the sound, e.g. 'punchy 808 kick' or 'warm pad on G3'")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidInput(f"prompt is {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}")
    text = prompt
    note: int | None = None
    duration: float | None = None
    if match := _duration_match(text):
        duration = _duration_value(match["value"], match["unit"])
        if not MIN_DURATION_S <= duration <= MAX_DURATION_S:
            raise InvalidInput(
                f"duration_s: the prompt asks for {match[0]!r}; "
                f"valid lengths are {MIN_DURATION_S:g}..{MAX_DURATION_S:g} s"
            )
        text = text[: match.start()] + " " + text[match.end() :]
    if match := _NOTE.search(text):
        try:
            note = parse_note(match["note"])
        except ValueError:
            note = None
        if note is not None:
            if not 0 <= note <= 127:
                raise InvalidInput(f"note: the prompt asks for {match['note']!r}; valid notes are C-1..G9")
            text = text[: match.start()] + " " + text[match.end() :]
    elif match := _MIDI.search(text):
        value = int(match["n"])
        if value > 127:
            raise InvalidInput(f"note: the prompt asks for MIDI note {value}; valid notes are 0..127")
        note = value
        text = text[: match.start()] + " " + text[match.end() :]
    text = " ".join(text.split())
    text = re.sub(r"\s+([,;:.])", r"\1", text)
    text = _LEFTOVER.sub("", re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text))
    return SamplePrompt(text or prompt.strip(), note, duration)
