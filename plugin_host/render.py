"""Rendering a score: notes to per-part audio, placed to the sample, tails folded for loops.

``render(score, instruments, effects, sample_rate=44100) -> Stems``. Every note starts at
``round(start_s * sample_rate)``; an :class:`~.instruments.Instrument` is asked once per
distinct (pitch, velocity, length) and the result is reused, an
:class:`~.instruments.EventInstrument` plays the whole part in one pass. With ``wrap=True``
(loops) everything that sounds past the end, note tails and effect tails alike, is folded
back onto the start, so the audio is exactly the score's length and repeats without a click;
with ``wrap=False`` the tails are kept after the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from promptdaw.core.clip import Clip
from promptdaw.plugin_host.effects import AudioEffect
from promptdaw.plugin_host.instruments import EventInstrument, Instrument, NoteEvent
from promptdaw.plugin_host.score import Score, ScorePart

__all__ = ["DECLICK_S", "DEFAULT_SAMPLE_RATE", "DEFAULT_TAIL_S", "Stems", "fold", "render"]

DEFAULT_SAMPLE_RATE = 44100
#: How long a plugin (whose release is unknown) keeps rendering after the last note.
DEFAULT_TAIL_S = 2.0
#: Each note fades in over this long: a sound whose first sample is not zero would otherwise
#: step, which is a click (at the loop seam too, when a note starts on beat one).
DECLICK_S = 0.001
#: Tails below this (relative to full scale) are dropped when ``wrap=False``.
_SILENCE = 10 ** (-96 / 20)

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Stems:
    """Per-part audio of one render: ``audio[k]`` is ``[frames, 2]`` float32 of part ``names[k]``."""

    names: tuple[str, ...]
    roles: tuple[str, ...]
    audio: tuple[np.ndarray, ...]
    sample_rate: int
    length_samples: int  # the score's exact length; with wrap=False the audio may be longer

    def mix(self) -> np.ndarray:
        """The sum of all parts, ``[frames, 2]`` float32."""
        if not self.audio:
            return np.zeros((self.length_samples, 2), np.float32)
        frames = max(a.shape[0] for a in self.audio)
        out = np.zeros((frames, 2), np.float64)
        for audio in self.audio:
            out[: audio.shape[0]] += audio
        return out.astype(np.float32)

    def __getitem__(self, key: str) -> np.ndarray:
        for name, role, audio in zip(self.names, self.roles, self.audio, strict=True):
            if key in (name, role):
                return audio
        raise KeyError(f"no part {key!r}; parts: {', '.join(self.names)}")


def fold(audio: np.ndarray, length: int) -> np.ndarray:
    """``audio`` wrapped onto ``length`` frames: everything past the end is added at the start."""
    if length <= 0:
        raise ValueError(f"length must be positive, got {length}")
    out = np.zeros((length, *audio.shape[1:]), np.float64)
    for start in range(0, audio.shape[0], length):
        piece = audio[start : start + length]
        out[: piece.shape[0]] += piece
    return out


def _stereo(audio: np.ndarray, where: str) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2 or audio.shape[1] not in (1, 2):
        raise ValueError(f"{where} returned audio of shape {audio.shape}; expected [frames, 2] (or mono)")
    if audio.shape[1] == 1:
        audio = np.repeat(audio, 2, axis=1)
    if not np.isfinite(audio).all():
        raise ValueError(f"{where} returned NaN or infinite samples")
    return audio


def _declick(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    ramp = min(audio.shape[0], max(1, round(DECLICK_S * sample_rate)))
    if ramp <= 1:
        return audio
    out = audio.copy()
    out[:ramp] *= (0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp))[:, None].astype(np.float32)
    return out


def _note_spans(score: Score, part: ScorePart, sample_rate: int) -> list[tuple[int, int, int, int]]:
    """``(start_sample, length_samples, pitch, velocity)`` of each note, clipped to the score."""
    end = score.length_samples(sample_rate)
    spans = []
    for note in part.notes:
        start = round(score.seconds(note.start_beats) * sample_rate)
        stop = min(round(score.seconds(note.start_beats + note.duration_beats) * sample_rate), end)
        if 0 <= start < end and stop > start:
            spans.append((start, stop - start, note.pitch, int(np.clip(note.velocity, 1, 127))))
    return spans


def _render_notes(instrument: Instrument, spans: list[tuple[int, int, int, int]], sample_rate: int,
                  where: str) -> np.ndarray:  # fmt: skip
    cache: dict[tuple[int, int, int], np.ndarray] = {}
    placed: list[tuple[int, np.ndarray]] = []
    for start, length, pitch, velocity in spans:
        key = (pitch, velocity, length)
        if key not in cache:
            audio = instrument.render_note(pitch, velocity, length / sample_rate, sample_rate)
            cache[key] = _declick(_stereo(audio, f"{where} note {pitch}"), sample_rate)
        placed.append((start, cache[key]))
    frames = max((start + audio.shape[0] for start, audio in placed), default=0)
    out = np.zeros((frames, 2), np.float64)
    for start, audio in placed:
        out[start : start + audio.shape[0]] += audio
    return out


def _render_events(instrument: EventInstrument, spans: list[tuple[int, int, int, int]], length: int,
                   sample_rate: int, where: str) -> np.ndarray:  # fmt: skip
    events = [NoteEvent(s / sample_rate, n / sample_rate, p, v) for s, n, p, v in spans]
    frames = length + round(DEFAULT_TAIL_S * sample_rate)
    audio = instrument.render_events(events, frames / sample_rate, sample_rate)
    return _stereo(audio, where).astype(np.float64)


def _trim_tail(audio: np.ndarray, length: int) -> np.ndarray:
    tail = np.abs(audio[length:])
    loud = np.flatnonzero(np.maximum(tail[:, 0], tail[:, 1]) > _SILENCE)
    return audio[: length + (int(loud[-1]) + 1 if loud.size else 0)]


def _instrument_for(part: ScorePart, instruments: Mapping[str, Instrument | EventInstrument]) -> object:
    folded = {key.casefold(): value for key, value in instruments.items()}
    for key in (part.role, part.name):
        if key.casefold() in folded:
            return folded[key.casefold()]
    if "*" in folded:
        return folded["*"]
    raise ValueError(
        f"no instrument for part {part.name!r} (role {part.role!r}); instruments were given for: "
        f"{', '.join(instruments) or 'none'}"
    )


def render(
    score: Score | Clip,
    instruments: Mapping[str, Instrument | EventInstrument],
    effects: Mapping[str, AudioEffect] | None = None,
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    wrap: bool = True,
    progress: Progress | None = None,
) -> Stems:
    """Render every part of ``score`` with its instrument, then its effect chain.

    Args:
        score: a :class:`~.score.Score`, or a generated clip (converted with its swing).
        instruments: by part role or track name (case-insensitive); ``"*"`` for every other part.
        effects: effect chains, keyed like ``instruments``; parts without one stay dry.
        sample_rate: output rate in Hz.
        wrap: fold tails onto the start (a loop of exactly the score's length), or keep them.
        progress: called with the fraction of parts done.

    Returns:
        :class:`Stems` in the score's part order.

    Raises:
        ValueError: a part has no instrument, an instrument returned bad audio, or
            ``sample_rate`` is outside [8000, 384000].
    """
    if isinstance(score, Clip):
        score = Score.from_clip(score)
    if not isinstance(sample_rate, int) or not 8000 <= sample_rate <= 384_000:
        raise ValueError(f"sample_rate must be an integer in [8000, 384000] Hz, got {sample_rate!r}")
    length = score.length_samples(sample_rate)
    effects = {k.casefold(): v for k, v in (effects or {}).items()}
    chosen = [_instrument_for(part, instruments) for part in score.parts]  # all errors before any work
    stems = []
    for index, (part, instrument) in enumerate(zip(score.parts, chosen, strict=True)):
        where = f"the instrument of part {part.name!r}"
        spans = _note_spans(score, part, sample_rate)
        if isinstance(instrument, EventInstrument):
            audio = _render_events(instrument, spans, length, sample_rate, where)
        elif isinstance(instrument, Instrument):
            audio = _render_notes(instrument, spans, sample_rate, where)
        else:
            raise ValueError(f"{where} has neither render_note nor render_events: {type(instrument).__name__}")
        if audio.shape[0] < length:
            audio = np.pad(audio, ((0, length - audio.shape[0]), (0, 0)))
        if wrap:
            audio = fold(audio, length)
        chain = effects.get(part.role.casefold()) or effects.get(part.name.casefold()) or effects.get("*")
        if chain is not None:
            audio = chain.process(audio, sample_rate, wrap=wrap)
        if not wrap:
            audio = _trim_tail(audio, length)
        stems.append(audio.astype(np.float32))
        if progress is not None:
            progress((index + 1) / len(score.parts))
    names = tuple(p.name for p in score.parts)
    roles = tuple(p.role for p in score.parts)
    return Stems(names, roles, tuple(stems), sample_rate, length)
