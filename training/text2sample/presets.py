"""The project's own synth and drum-synthesis presets: patches with descriptive words.

Each family below draws random variations of one kind of sound directly in the synthesiser's
controls (so they need no audio to train on: the network regresses the controls) and names
what it drew: a long decay adds "long", a high drive "distorted", a wide detune "wide".
These cover what General MIDI soundfonts lack (808s, sub bass, synth plucks, supersaw pads,
risers, downlifters, impacts, noise sweeps, drum-machine kits) and add synth variants of the
rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from promptdaw.runtime.synthesis.constants import N_BELL, N_HARMONIC_PARAMS, N_NOISE_BANDS, NOISE_BAND_HZ
from promptdaw.runtime.synthesis.patch import PARAM_BY_NAME, PARAM_SIZE, Patch

__all__ = ["FAMILIES", "Preset", "draw_presets"]

K = np.arange(1, N_HARMONIC_PARAMS + 1)
BANDS = np.asarray(NOISE_BAND_HZ)


@dataclass(frozen=True)
class Preset:
    category: str
    names: tuple[str, ...]  # words for the sound, most specific first
    words: tuple[str, ...]  # descriptive adjectives that fit this draw
    patch: Patch
    note: int  # the note it was drawn at (its root note)
    hold_s: float


SILENT = Patch(np.full(PARAM_SIZE, 0.5)).replace(
    harm_level_db=-60.0, bell_level_db=-60.0, noise_level_db=-60.0, click_db=-60.0, pitch_env_st=0.0,
    glide_st=0.0, vibrato_cents=0.0, unison_level=0.0, detune_cents=0.0, width=0.0, drive=0.0, noise_sweep_oct=0.0,
    clap_bursts=0.0, harm_damping=0.01, bright_start_db=0.0, bright_time_s=0.05,
    harm_db=[-60.0] * N_HARMONIC_PARAMS, bell_db=[-60.0] * N_BELL,
    noise_db=[-60.0] * N_NOISE_BANDS, harm_tail_db_per_oct=-36.0, harm_even_db=0.0, amp_sustain=0.0,
    noise_sustain=0.0, vibrato_hz=5.0, pitch_env_decay_s=0.05, release_s=0.1,
)  # fmt: skip


def _in_range(name: str, value):
    spec = PARAM_BY_NAME[name]
    clipped = np.clip(np.asarray(value, dtype=np.float64), spec.lo, spec.hi)
    return [float(v) for v in clipped] if spec.size > 1 else float(clipped)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _lu(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Log-uniform."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _clip_db(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.clip(values, -60.0, 0.0)]


def wave(shape: str, tilt_db_per_oct: float = 0.0) -> dict:
    """Harmonic controls of a basic waveform, tilted brighter (+) or darker (-)."""
    if shape == "sine":
        levels = np.where(K == 1, 0.0, -60.0)
        tail, even = -36.0, 0.0
    elif shape == "square":
        levels = np.where(K % 2 == 1, -20 * np.log10(K), -60.0)
        tail, even = -6.0, -40.0
    elif shape == "triangle":
        levels = np.where(K % 2 == 1, -40 * np.log10(K), -60.0)
        tail, even = -12.0, -40.0
    else:  # saw
        levels = -20 * np.log10(K)
        tail, even = -6.0, 0.0
    levels = levels + tilt_db_per_oct * np.log2(K)
    return {"harm_db": _clip_db(levels), "harm_tail_db_per_oct": float(np.clip(tail + tilt_db_per_oct, -36, 6)),
            "harm_even_db": even}  # fmt: skip


def noise_shape(low_hz: float, high_hz: float, tilt_db_per_oct: float = 0.0, slope_db_per_oct: float = 24.0) -> list:
    """Band levels of noise passed between ``low_hz`` and ``high_hz`` with a tilt inside."""
    octaves_below = np.maximum(np.log2(low_hz / BANDS), 0.0)
    octaves_above = np.maximum(np.log2(BANDS / high_hz), 0.0)
    centre = np.sqrt(low_hz * high_hz)
    levels = -slope_db_per_oct * (octaves_below + octaves_above) + tilt_db_per_oct * np.log2(BANDS / centre)
    return _clip_db(levels - max(levels.max(), -60.0))


class _Words:
    """Collects descriptive words as a preset family draws its values."""

    def __init__(self) -> None:
        self.words: list[str] = []

    def pick(self, value: float, lo: float, hi: float, low_words: tuple[str, ...], high_words: tuple[str, ...],
             rng: np.random.Generator) -> float:  # fmt: skip
        """Add a word when ``value`` falls in the lower or upper quarter of ``lo..hi``."""
        position = (value - lo) / (hi - lo)
        if position < 0.25 and low_words:
            self.words.append(str(rng.choice(low_words)))
        elif position > 0.75 and high_words:
            self.words.append(str(rng.choice(high_words)))
        return value


BRIGHT, DARK = ("bright", "crisp", "sharp", "airy"), ("dark", "warm", "mellow", "muffled")
SHORT, LONG = ("short", "tight", "snappy", "dry"), ("long", "ringing", "long tail", "boomy")
PUNCHY, SOFT = ("punchy", "hard", "hard-hitting", "aggressive"), ("soft", "gentle", "subtle")
DIRTY = ("distorted", "dirty", "saturated", "gritty")
WIDE = ("wide", "stereo", "detuned", "lush")
SLOW_ATTACK, FAST_ATTACK = ("slow attack", "swelling", "fading in"), ("fast attack", "immediate")


# --------------------------------------------------------------------------- drums


def kick_808(rng, w):
    decay = w.pick(_lu(rng, 0.15, 1.5), 0.15, 1.5, SHORT, LONG, rng)
    drive = w.pick(_u(rng, 0, 0.7), 0, 0.7, (), DIRTY, rng)
    values = dict(
        harm_level_db=0.0,
        **wave("sine"),
        amp_attack_s=0.001,
        amp_decay_s=decay,
        amp_sustain=0.0,
        release_s=0.05,
        pitch_env_st=_u(rng, 18, 36),
        pitch_env_decay_s=_lu(rng, 0.02, 0.07),
        drive=drive,
        click_db=w.pick(_u(rng, -40, -12), -40, -12, SOFT, PUNCHY, rng),
        click_decay_s=_lu(rng, 0.0008, 0.004),
    )
    return values, int(rng.integers(28, 40)), 0.25


def kick_punchy(rng, w):
    decay = w.pick(_lu(rng, 0.06, 0.4), 0.06, 0.4, SHORT, LONG, rng)
    tilt = _u(rng, -12, -3)
    values = dict(harm_level_db=0.0, **wave("triangle", tilt), harm_damping=_lu(rng, 1, 20), amp_attack_s=0.0008,
                  amp_decay_s=decay, amp_sustain=0.0, release_s=0.04, pitch_env_st=_u(rng, 14, 30),
                  pitch_env_decay_s=_lu(rng, 0.01, 0.05),
                  click_db=w.pick(_u(rng, -30, -12), -30, -12, SOFT, PUNCHY, rng),
                  click_decay_s=_lu(rng, 0.0006, 0.003), noise_level_db=_u(rng, -45, -28),
                  noise_db=noise_shape(2000, 9000), noise_decay_s=_lu(rng, 0.01, 0.04), noise_attack_s=0.0005,
                  drive=w.pick(_u(rng, 0, 0.6), 0, 0.6, (), DIRTY, rng))  # fmt: skip
    return values, int(rng.integers(31, 45)), 0.2


def snare_synth(rng, w):
    noise_decay = w.pick(_lu(rng, 0.06, 0.35), 0.06, 0.35, SHORT, LONG, rng)
    high = w.pick(_lu(rng, 5000, 14000), 5000, 14000, DARK, BRIGHT, rng)
    values = dict(harm_level_db=_u(rng, -14, -4), **wave("triangle", -9), amp_attack_s=0.0008,
                  amp_decay_s=_lu(rng, 0.04, 0.12), amp_sustain=0.0, release_s=0.05, pitch_env_st=_u(rng, 3, 12),
                  pitch_env_decay_s=_lu(rng, 0.01, 0.04), noise_level_db=0.0,
                  noise_db=noise_shape(_lu(rng, 400, 1800), high, _u(rng, -4, 2)), noise_attack_s=0.0008,
                  noise_decay_s=noise_decay, click_db=w.pick(_u(rng, -30, -8), -30, -8, SOFT, PUNCHY, rng),
                  click_decay_s=_lu(rng, 0.0006, 0.003), drive=w.pick(_u(rng, 0, 0.6), 0, 0.6, (), DIRTY, rng),
                  width=_u(rng, 0, 0.5))  # fmt: skip
    return values, int(rng.integers(50, 62)), 0.15


def clap_synth(rng, w):
    decay = w.pick(_lu(rng, 0.08, 0.45), 0.08, 0.45, SHORT, LONG, rng)
    values = dict(noise_level_db=0.0, noise_db=noise_shape(_lu(rng, 700, 1500), _lu(rng, 3000, 9000), _u(rng, -3, 3)),
                  noise_attack_s=0.0008, noise_decay_s=decay, clap_bursts=_u(rng, 0.6, 1.0),
                  clap_spacing_s=_lu(rng, 0.007, 0.015), release_s=0.05,
                  width=w.pick(_u(rng, 0, 1), 0, 1, (), WIDE, rng),
                  drive=w.pick(_u(rng, 0, 0.5), 0, 0.5, (), DIRTY, rng))  # fmt: skip
    return values, 60, 0.15


def hat(rng, w, open_: bool):
    decay = _lu(rng, 0.15, 0.7) if open_ else _lu(rng, 0.015, 0.07)
    w.pick(decay, *((0.15, 0.7) if open_ else (0.015, 0.07)), SHORT, LONG, rng)
    low = w.pick(_lu(rng, 4000, 9000), 4000, 9000, DARK, BRIGHT, rng)
    values = dict(noise_level_db=0.0, noise_db=noise_shape(low, 16000, _u(rng, -3, 3), 30.0), noise_attack_s=0.0005,
                  noise_decay_s=decay, release_s=0.03, bell_level_db=_u(rng, -50, -30), bell_db=_clip_db(
                      rng.uniform(-30, 0, N_BELL)), bell_decay_s=decay, amp_attack_s=0.0005,
                  width=w.pick(_u(rng, 0, 0.6), 0, 0.6, (), WIDE, rng))  # fmt: skip
    return values, int(rng.integers(80, 96)), 0.05


def cymbal_synth(rng, w):
    decay = w.pick(_lu(rng, 0.7, 3.0), 0.7, 3.0, SHORT, LONG, rng)
    values = dict(noise_level_db=0.0, noise_db=noise_shape(_lu(rng, 2500, 5000), 16000, _u(rng, -3, 2), 18.0),
                  noise_attack_s=0.001, noise_decay_s=decay, release_s=0.1, bell_level_db=_u(rng, -40, -20),
                  bell_db=_clip_db(rng.uniform(-24, 0, N_BELL)), bell_decay_s=decay * 0.8, amp_attack_s=0.001,
                  click_db=_u(rng, -30, -12), click_decay_s=0.002, width=_u(rng, 0.3, 1.0))  # fmt: skip
    return values, int(rng.integers(72, 90)), 0.1


def tom_synth(rng, w):
    decay = w.pick(_lu(rng, 0.15, 0.7), 0.15, 0.7, SHORT, LONG, rng)
    note = int(rng.integers(38, 62))
    w.words.append("low" if note < 46 else "high" if note > 54 else "mid")
    values = dict(wave("sine"), harm_level_db=0.0, harm_db=_clip_db(np.where(K == 1, 0.0, np.where(K == 2, -18, -60))),
                  amp_attack_s=0.001, amp_decay_s=decay, amp_sustain=0.0, release_s=0.05, pitch_env_st=_u(rng, 4, 12),
                  pitch_env_decay_s=_lu(rng, 0.03, 0.15), noise_level_db=_u(rng, -30, -16),
                  noise_db=noise_shape(300, 4000), noise_decay_s=_lu(rng, 0.03, 0.1), noise_attack_s=0.0008,
                  click_db=_u(rng, -30, -10), click_decay_s=0.001)  # fmt: skip
    return values, note, 0.2


def shaker(rng, w):
    decay = w.pick(_lu(rng, 0.03, 0.12), 0.03, 0.12, SHORT, LONG, rng)
    values = dict(
        noise_level_db=0.0,
        noise_db=noise_shape(_lu(rng, 3500, 7000), 14000, 0.0, 24.0),
        noise_attack_s=_lu(rng, 0.005, 0.03),
        noise_decay_s=decay,
        release_s=0.03,
        width=_u(rng, 0, 0.5),
    )
    return values, 84, 0.05


def woodblock(rng, w):
    note = int(rng.integers(64, 84))
    values = dict(harm_level_db=-6.0, **wave("sine"), amp_attack_s=0.0005, amp_decay_s=_lu(rng, 0.02, 0.07),
                  amp_sustain=0.0, release_s=0.03, bell_level_db=0.0, bell_db=_clip_db(np.array(
                      [-60, -6, -60, 0, -60, -12, -60, -60])), bell_decay_s=_lu(rng, 0.02, 0.06),
                  click_db=-16.0, click_decay_s=0.0008)  # fmt: skip
    return values, note, 0.05


def cowbell(rng, w):
    values = dict(harm_level_db=0.0, **wave("square", -3), amp_attack_s=0.0005, amp_decay_s=_lu(rng, 0.06, 0.25),
                  amp_sustain=0.0, release_s=0.04, unison_level=0.8, detune_cents=_u(rng, 25, 50), width=0.2,
                  click_db=-20.0, click_decay_s=0.001)  # fmt: skip
    return values, int(rng.integers(68, 80)), 0.05


def conga(rng, w):
    values = dict(harm_level_db=0.0, **wave("sine"), amp_attack_s=0.0008, amp_decay_s=_lu(rng, 0.08, 0.25),
                  amp_sustain=0.0, release_s=0.04, pitch_env_st=_u(rng, 1, 4), pitch_env_decay_s=0.02,
                  noise_level_db=_u(rng, -30, -16), noise_db=noise_shape(800, 5000), noise_decay_s=0.02,
                  noise_attack_s=0.0005, click_db=-18.0, click_decay_s=0.0008)  # fmt: skip
    return values, int(rng.integers(55, 72)), 0.1


# --------------------------------------------------------------------------- basses


def bass_808(rng, w):
    decay = w.pick(_lu(rng, 0.4, 4.0), 0.4, 4.0, SHORT, LONG, rng)
    drive = w.pick(_u(rng, 0, 0.9), 0, 0.9, (), DIRTY, rng)
    values = dict(wave("sine"), harm_level_db=0.0, harm_db=_clip_db(np.where(
                      K == 1, 0.0, np.where(K == 2, _u(rng, -40, -14), np.where(K == 3, _u(rng, -50, -20), -60)))),
                  amp_attack_s=_lu(rng, 0.001, 0.01), amp_decay_s=decay, amp_sustain=_u(rng, 0.0, 0.5),
                  release_s=_lu(rng, 0.05, 0.5), pitch_env_st=_u(rng, 0, 12), pitch_env_decay_s=_lu(rng, 0.015, 0.08),
                  drive=drive, click_db=_u(rng, -40, -20), click_decay_s=0.001)  # fmt: skip
    return values, int(rng.integers(24, 43)), _lu(rng, 0.4, 1.5)


def sub_bass(rng, w):
    values = dict(wave("sine"), harm_level_db=0.0, harm_db=_clip_db(np.where(K == 1, 0.0, np.where(
                      K == 2, _u(rng, -60, -24), -60))), amp_attack_s=_lu(rng, 0.003, 0.03), amp_decay_s=1.0,
                  amp_sustain=1.0, release_s=w.pick(_lu(rng, 0.03, 0.4), 0.03, 0.4, SHORT, LONG, rng))  # fmt: skip
    return values, int(rng.integers(24, 43)), _lu(rng, 0.5, 1.2)


def synth_bass(rng, w):
    shape = str(rng.choice(["saw", "square"]))
    w.words.append(shape)
    damping = w.pick(_lu(rng, 0.5, 25), 0.5, 25, BRIGHT, DARK, rng)
    values = dict(harm_level_db=0.0, **wave(shape, _u(rng, -6, 0)), harm_damping=damping,
                  amp_attack_s=_lu(rng, 0.001, 0.01), amp_decay_s=_lu(rng, 0.1, 1.0), amp_sustain=_u(rng, 0.3, 1.0),
                  release_s=_lu(rng, 0.02, 0.2), drive=w.pick(_u(rng, 0, 0.7), 0, 0.7, (), DIRTY, rng))  # fmt: skip
    if rng.random() < 0.35:
        values.update(unison_level=_u(rng, 0.6, 1.0), detune_cents=_u(rng, 10, 30), width=_u(rng, 0.0, 0.4))
        w.words.append(str(rng.choice(("reese", "detuned", "wide"))))
    return values, int(rng.integers(28, 48)), _lu(rng, 0.3, 1.0)


# --------------------------------------------------------------------------- tonal synths


def pluck_synth(rng, w):
    shape = str(rng.choice(["saw", "square", "triangle"]))
    decay = w.pick(_lu(rng, 0.08, 0.6), 0.08, 0.6, SHORT, LONG, rng)
    damping = w.pick(_lu(rng, 1, 30), 1, 30, BRIGHT, DARK, rng)
    values = dict(harm_level_db=0.0, **wave(shape, _u(rng, -4, 2)), harm_damping=damping, amp_attack_s=0.001,
                  amp_decay_s=decay, amp_sustain=0.0, release_s=_lu(rng, 0.05, 0.3),
                  unison_level=_u(rng, 0, 0.6), detune_cents=_u(rng, 0, 15), width=w.pick(
                      _u(rng, 0, 1), 0, 1, (), WIDE, rng), click_db=_u(rng, -50, -30), click_decay_s=0.001,
                  bright_start_db=_u(rng, 0, 6), bright_time_s=_lu(rng, 0.005, 0.03))  # a bright edge  # fmt: skip
    return values, int(rng.integers(55, 84)), 0.3


def pad_synth(rng, w):
    shape = str(rng.choice(["saw", "square", "triangle", "saw"]))
    attack = w.pick(_lu(rng, 0.15, 2.5), 0.15, 2.5, FAST_ATTACK, SLOW_ATTACK, rng)
    tilt = w.pick(_u(rng, -9, 0), -9, 0, DARK, BRIGHT, rng)
    values = dict(harm_level_db=0.0, **wave(shape, tilt), harm_damping=_lu(rng, 0.01, 0.3), amp_attack_s=attack,
                  amp_decay_s=_lu(rng, 0.5, 4.0), amp_sustain=_u(rng, 0.6, 1.0), release_s=_lu(rng, 0.4, 2.5),
                  unison_level=_u(rng, 0.4, 1.0), detune_cents=w.pick(_u(rng, 5, 30), 5, 30, (), WIDE, rng),
                  width=_u(rng, 0.5, 1.0), vibrato_cents=_u(rng, 0, 8), vibrato_hz=_u(rng, 3, 6),
                  noise_level_db=_u(rng, -60, -30), noise_db=noise_shape(500, 8000), noise_attack_s=attack,
                  noise_decay_s=1.0, noise_sustain=1.0)  # fmt: skip
    return values, int(rng.integers(48, 72)), _lu(rng, 1.5, 4.0)


def lead_synth(rng, w):
    shape = str(rng.choice(["saw", "square"]))
    w.words.append(shape)
    values = dict(harm_level_db=0.0, **wave(shape, w.pick(_u(rng, -5, 2), -5, 2, DARK, BRIGHT, rng)),
                  amp_attack_s=_lu(rng, 0.002, 0.04), amp_decay_s=_lu(rng, 0.2, 2.0), amp_sustain=_u(rng, 0.6, 1.0),
                  release_s=_lu(rng, 0.05, 0.4), vibrato_cents=_u(rng, 0, 25), vibrato_hz=_u(rng, 4.5, 6.5),
                  unison_level=_u(rng, 0, 0.8), detune_cents=_u(rng, 0, 20), width=w.pick(_u(rng, 0, 0.8), 0, 0.8, (),
                  WIDE, rng), drive=w.pick(_u(rng, 0, 0.6), 0, 0.6, (), DIRTY, rng))  # fmt: skip
    return values, int(rng.integers(60, 86)), _lu(rng, 0.5, 1.5)


def brass_synth(rng, w):
    values = dict(harm_level_db=0.0, **wave("saw", _u(rng, -6, 0)), harm_damping=_lu(rng, 0.01, 0.5),
                  amp_attack_s=_lu(rng, 0.02, 0.1), amp_decay_s=_lu(rng, 0.2, 1.0), amp_sustain=_u(rng, 0.5, 0.9),
                  release_s=_lu(rng, 0.05, 0.3), unison_level=_u(rng, 0.2, 0.7), detune_cents=_u(rng, 4, 15),
                  width=_u(rng, 0.2, 0.7), vibrato_cents=_u(rng, 0, 10),
                  bright_start_db=_u(rng, -30, -10), bright_time_s=_lu(rng, 0.03, 0.15))  # swells bright  # fmt: skip
    return values, int(rng.integers(48, 72)), w.pick(_lu(rng, 0.2, 1.2), 0.2, 1.2, ("stab", "short"), ("long",), rng)


def strings_synth(rng, w):
    values = dict(harm_level_db=0.0, **wave("saw", _u(rng, -8, -2)), amp_attack_s=w.pick(_lu(rng, 0.05, 0.8), 0.05,
                  0.8, FAST_ATTACK, SLOW_ATTACK, rng), amp_decay_s=2.0, amp_sustain=_u(rng, 0.8, 1.0),
                  release_s=_lu(rng, 0.2, 1.0), vibrato_cents=_u(rng, 5, 20), vibrato_hz=_u(rng, 4.5, 6.0),
                  unison_level=_u(rng, 0.5, 1.0), detune_cents=_u(rng, 5, 15), width=_u(rng, 0.5, 1.0),
                  noise_level_db=_u(rng, -45, -30), noise_db=noise_shape(1500, 8000), noise_sustain=1.0,
                  noise_attack_s=0.05, noise_decay_s=1.0)  # fmt: skip
    return values, int(rng.integers(48, 76)), _lu(rng, 1.0, 3.0)


def bell_synth(rng, w):
    decay = w.pick(_lu(rng, 0.6, 5.0), 0.6, 5.0, SHORT, LONG, rng)
    values = dict(wave("sine"), harm_level_db=0.0, harm_db=_clip_db(np.where(K == 1, 0.0, np.where(
                      K == 2, _u(rng, -30, -6), np.where(K == 4, _u(rng, -40, -10), -60)))), amp_attack_s=0.001,
                  amp_decay_s=decay, amp_sustain=0.0, release_s=decay * 0.5,
                  bell_level_db=w.pick(_u(rng, -14, 0), -14, 0, ("soft", "pure"), ("glassy", "metallic", "shimmering"),
                                       rng), bell_db=_clip_db(rng.uniform(-36, 0, N_BELL)),
                  bell_decay_s=decay * _u(rng, 0.3, 0.8), click_db=_u(rng, -50, -30), click_decay_s=0.001,
                  width=_u(rng, 0, 0.3))  # fmt: skip
    return values, int(rng.integers(67, 92)), 0.3


def mallet_synth(rng, w):
    values = dict(harm_level_db=0.0, **wave("sine"), amp_attack_s=0.0008,
                  amp_decay_s=w.pick(_lu(rng, 0.15, 1.2), 0.15, 1.2, SHORT, LONG, rng), amp_sustain=0.0,
                  release_s=0.2, bell_level_db=_u(rng, -12, -2), bell_db=_clip_db(np.array(
                      [-60, -60, 0, -60, -60, -60, _u(rng, -30, -10), -60])), bell_decay_s=_lu(rng, 0.05, 0.3),
                  click_db=_u(rng, -40, -20), click_decay_s=0.001)  # fmt: skip
    return values, int(rng.integers(55, 84)), 0.2


def keys_synth(rng, w):
    values = dict(wave("sine"), harm_level_db=0.0, harm_db=_clip_db(np.where(K == 1, 0.0, np.where(
                      K == 2, _u(rng, -20, -6), np.where(K == 3, _u(rng, -30, -12), -60)))), amp_attack_s=0.002,
                  amp_decay_s=_lu(rng, 0.8, 3.0), amp_sustain=_u(rng, 0.0, 0.3), release_s=_lu(rng, 0.1, 0.4),
                  bell_level_db=_u(rng, -24, -10), bell_db=_clip_db(np.array([-60, -60, -60, -60, -60, 0, -60, -60])),
                  bell_decay_s=_lu(rng, 0.1, 0.4), width=w.pick(_u(rng, 0, 0.6), 0, 0.6, (), WIDE, rng))  # fmt: skip
    return values, int(rng.integers(48, 76)), 1.0


# --------------------------------------------------------------------------- effects


def riser(rng, w):
    hold = _lu(rng, 1.5, 6.0)
    values = dict(
        noise_level_db=0.0,
        noise_db=noise_shape(_lu(rng, 150, 600), _lu(rng, 1200, 4000), 0.0, 12.0),
        noise_attack_s=hold * _u(rng, 0.6, 1.0),
        noise_decay_s=1.0,
        noise_sustain=1.0,
        noise_sweep_oct=_u(rng, 2.0, 4.0),
        release_s=_lu(rng, 0.01, 0.06),
        width=_u(rng, 0.3, 1.0),
    )
    if rng.random() < 0.4:
        values.update(harm_level_db=_u(rng, -14, -4), **wave("saw", -3), amp_attack_s=hold * 0.8, amp_decay_s=1.0,
                      amp_sustain=1.0, glide_st=_u(rng, 12, 24), unison_level=0.8, detune_cents=20.0)  # fmt: skip
        w.words.append("synth")
    else:
        w.words.append(str(rng.choice(("white noise", "noise"))))
    return values, 48, hold


def downlifter(rng, w):
    hold = _lu(rng, 1.0, 4.0)
    values = dict(
        noise_level_db=0.0,
        noise_db=noise_shape(_lu(rng, 2000, 5000), 14000, 0.0, 12.0),
        noise_attack_s=0.002,
        noise_decay_s=hold * _u(rng, 0.25, 0.5),
        noise_sustain=0.0,
        noise_sweep_oct=_u(rng, -5.0, -2.5),
        release_s=_lu(rng, 0.1, 0.5),
        width=_u(rng, 0.3, 1.0),
    )
    if rng.random() < 0.4:
        values.update(harm_level_db=_u(rng, -14, -4), **wave("saw", -3), amp_attack_s=0.002,
                      amp_decay_s=hold * 0.4, amp_sustain=0.0, glide_st=_u(rng, -24, -12))  # fmt: skip
    return values, 60, hold


def impact(rng, w):
    decay = w.pick(_lu(rng, 0.6, 3.0), 0.6, 3.0, SHORT, LONG, rng)
    values = dict(harm_level_db=0.0, **wave("sine"), amp_attack_s=0.001, amp_decay_s=decay, amp_sustain=0.0,
                  release_s=0.3, pitch_env_st=_u(rng, 18, 36), pitch_env_decay_s=_lu(rng, 0.05, 0.2),
                  noise_level_db=_u(rng, -10, 0), noise_db=noise_shape(60, 6000, -3.0, 12.0), noise_attack_s=0.001,
                  noise_decay_s=decay * 0.6, click_db=-8.0, click_decay_s=0.003, width=_u(rng, 0.4, 1.0),
                  drive=w.pick(_u(rng, 0.2, 0.8), 0.2, 0.8, (), DIRTY, rng))  # fmt: skip
    return values, int(rng.integers(24, 36)), 0.5


def noise_sweep(rng, w):
    hold = _lu(rng, 1.0, 4.0)
    direction = float(rng.choice([-1.0, 1.0]))
    w.words.append("up" if direction > 0 else "down")
    centre = _lu(rng, 300, 2000)
    values = dict(
        noise_level_db=0.0,
        noise_db=noise_shape(centre, centre * 2.5, 0.0, 18.0),
        noise_attack_s=hold * 0.3,
        noise_decay_s=1.0,
        noise_sustain=1.0,
        noise_sweep_oct=direction * _u(rng, 1.5, 3.5),
        release_s=_lu(rng, 0.1, 0.5),
        width=_u(rng, 0.3, 1.0),
    )
    return values, 60, hold


# category, names, draw function
FAMILIES: tuple[tuple[str, tuple[str, ...], Callable], ...] = (
    ("kick", ("808 kick", "trap kick", "electronic kick", "kick drum", "kick"), kick_808),
    ("kick", ("punchy kick", "house kick", "techno kick", "909 kick", "kick drum", "kick"), kick_punchy),
    ("snare", ("electronic snare", "synth snare", "trap snare", "snare", "snare drum"), snare_synth),
    ("clap", ("clap", "808 clap", "electronic clap", "hand clap", "layered clap"), clap_synth),
    ("closed hat", ("closed hi-hat", "closed hat", "hi-hat", "808 hat", "trap hat"),
     lambda rng, w: hat(rng, w, False)),
    ("open hat", ("open hi-hat", "open hat", "808 open hat", "open hihat"), lambda rng, w: hat(rng, w, True)),
    ("cymbal", ("crash cymbal", "synth crash", "electronic cymbal", "cymbal"), cymbal_synth),
    ("tom", ("tom", "electronic tom", "808 tom", "synth tom"), tom_synth),
    ("percussion", ("shaker", "electronic shaker", "shaker loop hit"), shaker),
    ("percussion", ("woodblock", "wood block", "rim", "block"), woodblock),
    ("percussion", ("cowbell", "808 cowbell", "cow bell"), cowbell),
    ("percussion", ("conga", "bongo", "hand drum", "percussion hit"), conga),
    ("808", ("808", "808 bass", "trap 808", "808 sub", "booming 808"), bass_808),
    ("sub bass", ("sub bass", "sub", "sine sub bass", "deep sub bass"), sub_bass),
    ("bass", ("synth bass", "analog bass", "bass synth", "bass"), synth_bass),
    ("pluck", ("pluck", "synth pluck", "plucky synth", "pluck synth"), pluck_synth),
    ("pad", ("pad", "synth pad", "analog pad", "supersaw pad", "ambient pad"), pad_synth),
    ("lead", ("lead", "synth lead", "lead synth", "mono lead"), lead_synth),
    ("brass", ("synth brass", "brass synth", "brass stab", "analog brass"), brass_synth),
    ("strings", ("synth strings", "string synth", "string pad", "strings"), strings_synth),
    ("bell", ("bell", "fm bell", "bell synth", "chime", "glass bell"), bell_synth),
    ("mallet", ("mallet", "synth marimba", "mallet synth"), mallet_synth),
    ("keys", ("electric piano", "fm piano", "synth keys", "keys"), keys_synth),
    ("riser", ("riser", "uplifter", "build up", "rising sweep", "noise riser"), riser),
    ("downlifter", ("downlifter", "downsweep", "falling sweep", "drop fx"), downlifter),
    ("impact", ("impact", "cinematic impact", "boom hit", "sub drop impact"), impact),
    ("noise sweep", ("noise sweep", "filter sweep", "white noise sweep", "sweep fx"), noise_sweep),
)  # fmt: skip


def draw_presets(per_family: int, seed: int) -> list[Preset]:
    """``per_family`` random draws of every family, reproducibly."""
    rng = np.random.default_rng(seed)
    presets = []
    for category, names, draw in FAMILIES:
        for _ in range(per_family):
            words = _Words()
            values, note, hold = draw(rng, words)
            values = {**values, "hold_s": hold, "root_note": float(note)}
            patch = SILENT.replace(**{k: _in_range(k, v) for k, v in values.items()})
            patch = Patch(patch.unit, category)
            presets.append(Preset(category, names, tuple(dict.fromkeys(words.words)), patch, note, hold))
    return presets
