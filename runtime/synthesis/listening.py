"""What the sample critic hears of a sound: log-mel statistics and the level envelope, in numpy.

The critic (:mod:`.critic`) names a one-shot's family (kick, hihat, keys, brass, ...) from
these features, so that the generator can play the candidate patch that sounds most like what
the prompt asked for. They describe the first ``LISTEN_SECONDS`` after the onset: the spectral
profile while the sound is audible, how much each band moves, the attack's spectrum, the level
envelope on a log time axis, and how noisy the sound is.

The evaluation judge of ``scripts/eval_sample.py`` uses the same kind of description but its own
implementation (librosa) and its own training data: the judge stays independent of the generator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np

from promptdaw.runtime.synthesis.synth import NoiseDraw, draw_noise, render, sound_length_s, uses_noise

__all__ = ["FEATURE_SIZE", "LISTEN_RATE", "LISTEN_SECONDS", "Heard", "hear", "listening_features", "mel_filterbank"]

#: The critic hears sounds at this rate (the synthesiser renders candidates at it directly).
LISTEN_RATE = 22050
#: Seconds of a sound the critic hears, from its onset.
LISTEN_SECONDS = 1.25
N_FFT = 2048
HOP = 256
N_MELS = 48
MEL_LOW_HZ = 30.0
#: Frames quieter than this below the loudest frame do not count as "while the sound is audible".
AUDIBLE_DB = 40.0
#: Frames averaged for the attack's spectrum (about 70 ms).
ATTACK_FRAMES = 8
ENVELOPE_POINTS = 24
FEATURE_SIZE = 3 * N_MELS + ENVELOPE_POINTS + 3


#: The mel scale's break: linear below, logarithmic above (Slaney's Auditory Toolbox).
_BREAK_HZ = 1000.0
_HZ_PER_MEL = 200.0 / 3.0
_LOG_STEP = np.log(6.4) / 27.0


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    above = _BREAK_HZ / _HZ_PER_MEL + np.log(np.maximum(hz, 1e-9) / _BREAK_HZ) / _LOG_STEP
    return np.where(hz < _BREAK_HZ, hz / _HZ_PER_MEL, above)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    knee = _BREAK_HZ / _HZ_PER_MEL
    return np.where(mel < knee, mel * _HZ_PER_MEL, _BREAK_HZ * np.exp(_LOG_STEP * (mel - knee)))


@cache
def mel_filterbank(sample_rate: int = LISTEN_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular filters evenly spaced on the mel scale, each of unit area: ``[n_mels, n_fft // 2 + 1]``."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.float64(MEL_LOW_HZ)), _hz_to_mel(np.float64(sample_rate / 2)),
                                   n_mels + 2))  # fmt: skip
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    bank = np.maximum(0.0, np.minimum(rising, falling))
    bank /= np.maximum(bank.sum(axis=1, keepdims=True), 1e-12)
    bank.setflags(write=False)
    return bank


def _onset_view(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    """The sound from its onset (first sample above -60 dB of the peak), peak 1, exactly LISTEN_SECONDS long."""
    if sample_rate != LISTEN_RATE:
        raise ValueError(f"the critic listens at {LISTEN_RATE} Hz, got {sample_rate} Hz")
    level = np.abs(mono)
    peak = float(level.max()) if level.size else 0.0
    if not peak > 0.0:
        raise ValueError("the critic cannot listen to silence")
    start = int(np.argmax(level > peak * 1e-3))
    n = round(LISTEN_SECONDS * LISTEN_RATE)
    view = np.zeros(n, np.float64)
    part = mono[start : start + n]
    view[: len(part)] = part / peak
    return view


def listening_features(mono: np.ndarray, sample_rate: int = LISTEN_RATE) -> np.ndarray:
    """The critic's description of one mono sound rendered at ``LISTEN_RATE``: float32 ``[FEATURE_SIZE]``.

    Raises:
        ValueError: silence, or another sample rate.
    """
    x = _onset_view(np.asarray(mono, dtype=np.float64), sample_rate)
    padded = np.pad(x, (N_FFT // 2, N_FFT // 2))
    starts = np.arange(0, len(padded) - N_FFT + 1, HOP)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    # float64: numpy's float32 FFT is several times slower (and scipy.fft takes longer to import
    # into each listening worker than it saves).
    spectrum = np.fft.rfft(frames * _window(), axis=1)
    power = spectrum.real**2 + spectrum.imag**2 + 1e-12  # [frames, bins]
    mel = power @ mel_filterbank(LISTEN_RATE, N_FFT, N_MELS).T  # [frames, mels]
    log_mel = 10.0 * np.log10(mel + 1e-10)
    frame_db = 10.0 * np.log10(mel.sum(axis=1) + 1e-10)
    audible = frame_db > frame_db.max() - AUDIBLE_DB
    active = log_mel[audible]
    profile = active.mean(axis=0) - active.mean()
    movement = active.std(axis=0)
    attack = log_mel[:ATTACK_FRAMES].mean(axis=0) - log_mel[:ATTACK_FRAMES].mean()
    times = np.geomspace(0.01, LISTEN_SECONDS * 0.98, ENVELOPE_POINTS)
    envelope = np.interp(times, np.arange(len(frame_db)) * HOP / LISTEN_RATE, frame_db - frame_db.max())
    flatness = np.exp(np.log(power[audible]).mean(axis=1)) / power[audible].mean(axis=1)
    # Sign changes per frame from one running count (not N_FFT comparisons per frame).
    changes = np.concatenate([[0], np.cumsum(np.signbit(padded[1:]) != np.signbit(padded[:-1]))])
    crossings = (changes[starts + N_FFT - 1] - changes[starts])[audible] / (N_FFT - 1)
    noisiness = [np.log10(flatness.mean() + 1e-6), crossings.mean(), audible.mean()]
    return np.concatenate([profile, movement, attack, np.maximum(envelope, -80.0) / 10.0, noisiness]).astype(np.float32)


@dataclass(frozen=True)
class Heard:
    """What the critic heard of one candidate."""

    features: np.ndarray  # float32 [FEATURE_SIZE]
    #: Seconds until the last sample within 60 dB of the peak (the one-shot trim's threshold).
    audible_s: float
    #: Whether it was still sounding when listening stopped (``audible_s`` is then a lower bound).
    cut: bool


def hear(controls: Mapping[str, np.ndarray | float], note: int, gate_s: float) -> Heard | None:
    """Play a patch's controls at ``note`` held ``gate_s`` and describe its first ``LISTEN_SECONDS``
    (:func:`listening_features`); None when it renders silence or non-finite samples.

    Rendered mono at the listening rate, with the tonal layers at a reduced rate where they fit
    (``fast``): below 11 kHz, what is heard is what would be played.
    """
    whole = sound_length_s(controls, gate_s)
    n = max(1, math.ceil(min(whole, LISTEN_SECONDS) * LISTEN_RATE))
    noise = _listening_noise() if uses_noise(controls) else None
    audio = render(controls, note, gate_s, n, LISTEN_RATE, noise, fast=True).mean(axis=1)
    level = np.abs(audio)
    if not (np.isfinite(audio).all() and level.max() > 1e-6):
        return None
    last = int(np.flatnonzero(level > level.max() * 1e-3)[-1]) + 1
    # The render's last milliseconds are faded out: sounding up to there is sounding to the end.
    cut = whole > LISTEN_SECONDS and last >= n - round(0.02 * LISTEN_RATE)
    return Heard(listening_features(audio, LISTEN_RATE), last / LISTEN_RATE, cut)


@cache
def _listening_noise() -> NoiseDraw:
    """One noise draw for everything the critic hears (drawing it costs as much as a render):
    candidates differ in how they filter it, not in the dice."""
    noise = draw_noise(np.random.default_rng(0x0E), math.ceil(LISTEN_SECONDS * LISTEN_RATE), LISTEN_RATE)
    noise.spectra.setflags(write=False)
    noise.click.setflags(write=False)
    return noise


@cache
def _window() -> np.ndarray:
    window = np.hanning(N_FFT)
    window.setflags(write=False)
    return window
