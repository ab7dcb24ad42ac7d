"""Reading Standard MIDI Files: the one place where bytes from outside become a ``mido.MidiFile``.

Every reader of MIDI input (:func:`promptdaw.core.clip.clip_from_midi`,
``plugin_host.Score.from_midi``, the daemon's MIDI tasks) parses through :func:`read_midi`,
so a truncated, garbage or nonsensical file is always :class:`~promptdaw.core.errors.InvalidMidi`
naming what was read, never a stray ``EOFError`` or ``ZeroDivisionError`` further on.
"""

from __future__ import annotations

import io

import mido

from promptdaw.core.errors import InvalidMidi

__all__ = ["read_midi"]


def read_midi(data: bytes, what: str = "midi buffer") -> mido.MidiFile:
    """Parse Standard MIDI File ``data``.

    The file returned has a positive tick resolution (``ticks_per_beat >= 1``; SMPTE time
    division is refused), and every ``set_tempo`` is positive and every ``time_signature``
    has a positive numerator, so its readers can divide by them.

    Args:
        data: the file's bytes.
        what: names the source in error messages ("midi buffer", a path).

    Raises:
        InvalidMidi: ``"<what>: not a readable Standard MIDI File: <reason>"``, whatever the
            bytes are (truncated, garbage, undefined status bytes, undecodable meta events).
    """
    try:
        midi = mido.MidiFile(file=io.BytesIO(bytes(data)))
    except Exception as exc:
        # Arbitrary bytes: mido raises EOFError, OSError, ValueError, KeyError, IndexError,
        # struct.error, its own KeySignatureError (an Exception), ...; every one of them means
        # the same to the caller: unreadable input.
        raise InvalidMidi(f"{what}: not a readable Standard MIDI File: {_reason(exc)}") from None
    problem = _problem(midi)
    if problem:
        raise InvalidMidi(f"{what}: not a readable Standard MIDI File: {problem}")
    return midi


def _reason(exc: BaseException) -> str:
    """One non-empty line for a parse failure (``EOFError()`` says nothing by itself)."""
    if isinstance(exc, EOFError):
        return "the data ends in the middle of a chunk (truncated file)"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _problem(midi: mido.MidiFile) -> str | None:
    division = midi.ticks_per_beat
    if division < 0:
        return "SMPTE time division (frames per second instead of ticks per beat) is not supported"
    if division == 0:
        return "the header gives 0 ticks per beat"
    for index, track in enumerate(midi.tracks):
        for message in track:
            if message.type == "set_tempo" and message.tempo <= 0:
                return f"track {index} sets a tempo of 0 microseconds per beat"
            if message.type == "time_signature" and message.numerator <= 0:
                return f"track {index} has a time signature of 0/{message.denominator}"
    return None
