"""Fitting audio to a project: time-stretch to a tempo, pitch-shift to a key.

Both use pedalboard's Rubber Band stretcher (``pedalboard.time_stretch``), which keeps
pitch while changing length and formants while changing pitch. Quality, honestly: clean
for moderate changes (tempo within about ±20 %, pitch within ±5 semitones); transients
soften and low bass smears beyond that, and very short sounds (< 50 ms) may lose their
attack. Lengths are exact to the sample: the stretcher's output is trimmed or padded to
the length the tempo ratio asks for. Loops are stretched as loops: with context on both
sides of the seam, then cross-faded over 20 ms at the seam so they wrap without a click.
"""

from __future__ import annotations

import numpy as np

from promptdaw.core.errors import InvalidInput
from promptdaw.core.music.prompt import parse_key
from promptdaw.plugin_host.mastering import smooth_seam
from promptdaw.plugin_host.score import loop_length_samples

__all__ = ["key_shift_semitones", "pitch_shift", "stretch_loop", "stretch_to_tempo"]

#: Largest stretch either way: beyond 4x the result is a smear, not the same music.
MAX_STRETCH = 4.0
MAX_SEMITONES = 24.0
#: Audio either side of a loop's seam the stretcher hears when stretching a loop.
LOOP_CONTEXT_S = 1.0
#: Cross-fade at a stretched loop's seam.
SEAM_FADE_S = 0.02


def _check(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2 or audio.shape[0] == 0:
        raise ValueError(f"audio must be [frames, channels] with at least one frame, got shape {audio.shape}")
    if not isinstance(sample_rate, int) or not 8000 <= sample_rate <= 384_000:
        raise ValueError(f"sample_rate must be an integer in [8000, 384000] Hz, got {sample_rate!r}")
    if not np.isfinite(audio).all():
        raise ValueError("audio contains NaN or infinite samples")
    return audio


def _check_semitones(semitones: float) -> float:
    if not -MAX_SEMITONES <= semitones <= MAX_SEMITONES:
        raise ValueError(f"semitones must be in [-{MAX_SEMITONES:g}, {MAX_SEMITONES:g}], got {semitones!r}")
    return float(semitones)


def _stretch(audio: np.ndarray, sample_rate: int, speed: float, semitones: float, frames: int) -> np.ndarray:
    import pedalboard

    out = pedalboard.time_stretch(
        np.ascontiguousarray(audio.T), sample_rate, stretch_factor=speed, pitch_shift_in_semitones=semitones
    )
    out = np.asarray(out, dtype=np.float32).T
    if out.shape[0] < frames:
        out = np.pad(out, ((0, frames - out.shape[0]), (0, 0)))
    return out[:frames]


def stretch_to_tempo(
    audio: np.ndarray, sample_rate: int, *, from_bpm: float, to_bpm: float, semitones: float = 0.0
) -> np.ndarray:
    """Play ``audio`` recorded at ``from_bpm`` at ``to_bpm`` (pitch kept, or moved by ``semitones``).

    Returns ``round(frames * from_bpm / to_bpm)`` frames.

    Raises:
        ValueError: a tempo outside [1, 1000] bpm, a ratio beyond 4x, semitones beyond ±24,
            or audio that is empty or not finite.
    """
    audio = _check(audio, sample_rate)
    for name, bpm in (("from_bpm", from_bpm), ("to_bpm", to_bpm)):
        if not 1.0 <= bpm <= 1000.0:
            raise ValueError(f"{name} must be in [1, 1000], got {bpm!r}")
    speed = to_bpm / from_bpm
    if not 1 / MAX_STRETCH <= speed <= MAX_STRETCH:
        raise ValueError(f"{from_bpm:g} -> {to_bpm:g} bpm is a {speed:.2f}x change; the limit is {MAX_STRETCH:g}x")
    semitones = _check_semitones(semitones)
    frames = round(audio.shape[0] * from_bpm / to_bpm)
    if speed == 1.0 and semitones == 0.0:
        return audio.copy()
    return _stretch(audio, sample_rate, speed, semitones, frames)


def stretch_loop(
    audio: np.ndarray,
    sample_rate: int,
    *,
    bars: int,
    meter: tuple[int, int],
    from_bpm: float,
    to_bpm: float,
    semitones: float = 0.0,
) -> np.ndarray:
    """A loop of ``bars`` bars at ``from_bpm`` re-timed to ``to_bpm``, exactly the new loop length.

    The loop is stretched with up to :data:`LOOP_CONTEXT_S` of its end before it and of its
    start after it, and the middle kept, so the stretcher hears what surrounds the seam and
    the result wraps as the original did.
    """
    audio = _check(audio, sample_rate)
    frames = audio.shape[0]
    length = loop_length_samples(bars, meter, to_bpm, sample_rate)
    context = min(frames, round(LOOP_CONTEXT_S * sample_rate))
    wrapped = np.concatenate([audio[frames - context :], audio, audio[:context]])
    stretched = stretch_to_tempo(wrapped, sample_rate, from_bpm=from_bpm, to_bpm=to_bpm, semitones=semitones)
    start = round(context * from_bpm / to_bpm)
    out = stretched[start : start + length].copy()
    if out.shape[0] < length:
        out = np.pad(out, ((0, length - out.shape[0]), (0, 0)))
    # The stretcher's phases do not repeat from one pass over the loop to the next, so the cut
    # is not seamless by itself: what follows the cut is cross-faded into the start, making
    # the last sample flow into the first as it did in the stretched stream.
    after = stretched[start + length : start + length + round(SEAM_FADE_S * sample_rate)]
    fade = after.shape[0]
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, endpoint=False, dtype=np.float32)[:, None]
        out[:fade] = after * (1 - ramp) + out[:fade] * ramp
    return smooth_seam(out)[0].astype(np.float32)


def pitch_shift(audio: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    """``audio`` moved by ``semitones`` (fractions allowed), same length, same tempo."""
    audio = _check(audio, sample_rate)
    semitones = _check_semitones(semitones)
    if semitones == 0.0:
        return audio.copy()
    return _stretch(audio, sample_rate, 1.0, semitones, audio.shape[0])


def key_shift_semitones(from_key: str | tuple[int, str], to_key: str | tuple[int, str]) -> int:
    """The smallest move (-6..+5 semitones) from one key's tonic to another's.

    Keys are names ("F# minor", "Eb", "C#m") or ``(tonic pitch class, mode)``. Modes may
    differ: only the tonic moves (A minor to C major is +3, not a change of mode).

    Raises:
        ValueError: a key name that cannot be read.
    """
    tonics = []
    for key in (from_key, to_key):
        if isinstance(key, tuple):
            tonics.append(int(key[0]) % 12)
        else:
            try:
                tonics.append(parse_key(key)[0])
            except InvalidInput as exc:
                raise ValueError(exc.message) from None
    shift = (tonics[1] - tonics[0]) % 12
    return shift - 12 if shift > 5 else shift
