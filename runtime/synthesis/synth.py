"""The sample synthesiser in numpy: a patch, a note and a gate in, stereo audio out.

Four layers, summed and saturated (``training/text2sample/synth_torch.py`` is the same math in
torch for training; ``tests/test_text2sample_synth.py`` checks the two agree):

* **tonal**: harmonics 1..48 of the note with their own levels, an ADSR envelope, faster
  decay for higher harmonics (``harm_damping``), a brightness envelope that opens or closes
  the upper harmonics after the onset (``bright_start_db``, ``bright_time_s``: brass swells
  bright, a pluck's edge fades), a decaying pitch envelope (kicks, toms,
  808s), a glide over the held note (risers), vibrato, and two detuned unison voices spread
  across the stereo field;
* **bell**: eight inharmonic partials with their own decay;
* **noise**: white noise shaped by 16 band levels (50 Hz..16 kHz) whose spectrum can sweep
  over the held note, with its own ADSR and optional clap bursts before the main hit;
* **click**: a short broadband transient.

The harmonic sum is evaluated as a polynomial (Horner's rule) in
``w(t) = exp(-harm_damping * t - b * exp(-t / bright_time_s)) * exp(i * phase(t))``:
``sum_k a_k e^{-(k-1) (d t + b e^{-t/T})} sin(k phase)`` is ``Im(e^{i phase} * sum_k a_k w^(k-1))``,
which costs two complex operations per harmonic and sample instead of a sine and an
exponential. Both spectral envelopes act per harmonic number, like a low-pass filter whose
slope is fixed and whose cutoff moves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np
import soxr

from promptdaw.core.music.pitch import midi_to_hz
from promptdaw.runtime.synthesis.constants import (
    BELL_RATIOS,
    N_HARMONIC_PARAMS,
    N_HARMONICS,
    N_NOISE_BANDS,
    NOISE_BAND_HZ,
)

__all__ = [
    "CLAP_BURST_S",
    "Frames",
    "NoiseDraw",
    "draw_noise",
    "frame_layout",
    "harmonic_levels_db",
    "layer_gain",
    "render",
    "render_channels",
    "sound_length_s",
    "uses_noise",
]

#: Decay time constant of each clap burst.
CLAP_BURST_S = 0.005
#: A burst's length in float32: e^-120 (120 time constants) rounds to exactly 0.
CLAP_SPAN_S = 120 * CLAP_BURST_S
#: Seconds over which vibrato fades in.
VIBRATO_ONSET_S = 0.3
#: Initial phases of the detuned unison voices (radians), fixed so renders are repeatable.
UNISON_PHASES = (2.0, 4.0)
#: Harmonics and partials at or above this fraction of the sample rate are dropped (no aliasing).
NYQUIST_GUARD = 0.45
#: Layers (and partials) below this gain (-80 dB) are not computed: inaudible, and they cost time.
SKIP_GAIN = 1e-4
#: ln(1000): time constants to fall by 60 dB.
T60 = math.log(1000.0)
#: Seconds of the click's noise buffer.
CLICK_S = 0.25
#: Floor of the level the drive is measured against (a silent render stays silent).
MIN_PEAK = 1e-6
#: Linear fade at the end of every render (no click when a long sound is cut).
END_FADE_S = 0.005
#: Noise frames: about 23 ms, a power of two in samples, hop a quarter of it.
NOISE_FRAME_S = 0.0232


@dataclass(frozen=True)
class Frames:
    """Layout of the noise layer's overlap-added frames for ``n_samples`` at some rate."""

    n_fft: int
    hop: int
    count: int

    @property
    def lead(self) -> int:
        """Samples the first frame starts before t = 0, so every output sample gets full overlap."""
        return self.n_fft - self.hop

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    def centres_s(self, sample_rate: int) -> np.ndarray:
        return (np.arange(self.count) * self.hop - self.lead + self.n_fft / 2) / sample_rate


def frame_layout(n_samples: int, sample_rate: int) -> Frames:
    n_fft = 2 ** round(math.log2(NOISE_FRAME_S * sample_rate))
    hop = n_fft // 4
    count = -(-(n_samples + n_fft - hop) // hop)
    return Frames(n_fft, hop, count)


@dataclass(frozen=True)
class NoiseDraw:
    """The random part of one render: noise spectra per channel and frame, and the click's noise."""

    spectra: np.ndarray  # complex64 [2, frames, bins], unit variance
    click: np.ndarray  # float32 [click samples]


def draw_noise(rng: np.random.Generator, n_samples: int, sample_rate: int) -> NoiseDraw:
    frames = frame_layout(n_samples, sample_rate)
    pairs = _normal_samples(rng, (2, frames.count, frames.bins, 2))
    pairs *= np.float32(math.sqrt(0.5))
    spectra = pairs.view(np.complex64)[..., 0]  # (real, imaginary) pairs read as complex, no copy
    click = _normal_samples(rng, (min(n_samples, round(CLICK_S * sample_rate)),))
    return NoiseDraw(spectra, click)


#: Random bits per standard-normal sample of a noise draw.
NORMAL_TABLE_BITS = 16


def _normal_samples(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard-normal float32 samples, looked up from random 16-bit integers (:func:`_normal_table`).

    A second's noise draw is 360,000 samples: numpy's normal sampler takes 3 ms of a 1 s one-shot's
    budget, the look-up under 1 ms, and noise shaped from either is the same to the ear (and to
    every statistic up to the cut tails, 4.3 sigma).
    """
    return _normal_table().take(rng.integers(0, 1 << NORMAL_TABLE_BITS, shape, dtype=np.uint16))


@lru_cache(maxsize=1)
def _normal_table() -> np.ndarray:
    """The standard normal's quantiles at the middles of 2**16 equally likely steps, scaled to unit variance."""
    steps, normal = 1 << NORMAL_TABLE_BITS, NormalDist()
    quantiles = np.array([normal.inv_cdf((i + 0.5) / steps) for i in range(steps)])
    table = (quantiles / quantiles.std()).astype(np.float32)
    table.flags.writeable = False
    return table


# --------------------------------------------------------------------------- shared maths


def harmonic_levels_db(harm_db: np.ndarray, tail_db_per_oct: float, even_db: float) -> np.ndarray:
    """Levels of harmonics 1..48: the given 16, then a slope from the 16th (even ones offset)."""
    k = np.arange(N_HARMONIC_PARAMS + 1, N_HARMONICS + 1)
    tail = harm_db[N_HARMONIC_PARAMS - 1] + tail_db_per_oct * np.log2(k / N_HARMONIC_PARAMS)
    tail = tail + np.where(k % 2 == 0, even_db, 0.0)
    return np.concatenate([np.asarray(harm_db, dtype=np.float64), tail])


def _adsr(t: np.ndarray, attack: float, decay: float, sustain: float, release: float, gate: float) -> np.ndarray:
    """Linear attack, exponential decay to ``sustain``, exponential release after ``gate`` (in ``t``'s dtype).

    ``t`` is a time axis (increasing), so the held and released stages are each computed only
    over their own span (an exponential per sample, not two).
    """
    dtype = t.dtype
    attack, decay, sustain, release, gate = (dtype.type(v) for v in (attack, decay, sustain, release, gate))

    def held(x: np.ndarray) -> np.ndarray:
        rising = x / attack
        falling = sustain + (1 - sustain) * np.exp(-np.maximum(x - attack, 0) / decay)
        return np.where(x < attack, rising, falling) * (x >= 0)

    out = np.empty_like(t)
    release_start = int(np.searchsorted(t, gate))  # the first sample with t >= gate
    out[:release_start] = held(t[:release_start])
    out[release_start:] = held(np.array(gate, dtype=dtype)) * np.exp(-np.maximum(t[release_start:] - gate, 0) / release)
    return out


def _band_position(freqs_hz: np.ndarray) -> np.ndarray:
    """Position of frequencies on the noise-band axis (0 = first band centre, 15 = last)."""
    lo, hi = NOISE_BAND_HZ[0], NOISE_BAND_HZ[-1]
    return np.log2(np.maximum(freqs_hz, 1.0) / lo) / math.log2(hi / lo) * (N_NOISE_BANDS - 1)


def _interp_bands(band_db: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Linear interpolation of band levels at fractional positions, held flat beyond the ends."""
    position = np.clip(position, 0.0, N_NOISE_BANDS - 1.0)
    low = np.minimum(np.floor(position).astype(np.int64), N_NOISE_BANDS - 2)
    frac = position - low
    return band_db[low] * (1.0 - frac) + band_db[low + 1] * frac


def _db(x: float | np.ndarray) -> np.ndarray:
    return 10.0 ** (np.asarray(x, dtype=np.float64) / 20.0)


def layer_gain(level_db: float) -> float:
    """A layer's gain: its level in dB, faded to exactly 0 over the bottom 6 dB of the range (-60 dB)."""
    return float(_db(level_db)) * min(max((float(level_db) + 60.0) / 6.0, 0.0), 1.0)


# --------------------------------------------------------------------------- render


def uses_noise(controls: Mapping[str, np.ndarray | float]) -> bool:
    """Whether a render of these controls reads its noise draw (the noise or click layer sounds)."""
    return max(layer_gain(controls["noise_level_db"]), layer_gain(controls["click_db"])) > SKIP_GAIN


def sound_length_s(controls: Mapping[str, np.ndarray | float], gate_s: float) -> float:
    """An upper bound of how long the sound stays above -60 dB, for sizing the render buffer."""
    c = controls
    release_end = gate_s + T60 * float(c["release_s"])
    ends = [0.02]
    if layer_gain(c["harm_level_db"]) > SKIP_GAIN or layer_gain(c["bell_level_db"]) > SKIP_GAIN:
        held = float(c["amp_attack_s"]) + T60 * float(c["amp_decay_s"])
        ends.append(min(held, release_end) if float(c["amp_sustain"]) < 1e-3 else release_end)
    if layer_gain(c["bell_level_db"]) > SKIP_GAIN:
        ends[-1] = max(ends[-1], min(T60 * float(c["bell_decay_s"]), release_end))
    if layer_gain(c["noise_level_db"]) > SKIP_GAIN:
        delay = 3.0 * float(c["clap_spacing_s"]) * float(c["clap_bursts"])
        held = delay + float(c["noise_attack_s"]) + T60 * float(c["noise_decay_s"])
        ends.append(min(held, release_end) if float(c["noise_sustain"]) < 1e-3 else release_end)
    if layer_gain(c["click_db"]) > SKIP_GAIN:
        ends.append(T60 * float(c["click_decay_s"]))
    return max(ends)


def _pitch_semitones(c: Mapping[str, np.ndarray | float], t: np.ndarray, gate_s: float) -> np.ndarray:
    semitones = np.zeros_like(t)
    if abs(float(c["pitch_env_st"])) > 1e-4:  # zero terms are skipped: they cost a transcendental per sample
        semitones += float(c["pitch_env_st"]) * np.exp(-t / float(c["pitch_env_decay_s"]))
    if abs(float(c["glide_st"])) > 1e-4:
        semitones += float(c["glide_st"]) * np.clip(t / gate_s, 0.0, 1.0)
    if float(c["vibrato_cents"]) > 1e-3:
        # float32 sine: numpy's float64 one is ten times slower, and a vibrato needs no more precision
        rate = np.float32(2 * np.pi * float(c["vibrato_hz"]))
        vibrato = (float(c["vibrato_cents"]) / 100.0) * np.sin(rate * t.astype(np.float32)).astype(t.dtype)
        semitones += vibrato * np.minimum(1.0, t / VIBRATO_ONSET_S)
    return semitones


#: Samples per block of the harmonic sum: small enough that its arrays stay in the CPU cache.
HORNER_BLOCK = 8192


def _horner(levels: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sum_j levels[j] * w**j for a complex64 signal ``w``, block by block."""
    out = np.empty_like(w)
    coefficients = [np.complex64(level) for level in levels[-2::-1]]
    for start in range(0, w.shape[0], HORNER_BLOCK):
        block = w[start : start + HORNER_BLOCK]
        p = np.full(block.shape, levels[-1], dtype=np.complex64)
        for level in coefficients:
            p *= block
            p += level
        out[start : start + HORNER_BLOCK] = p
    return out


def _wrapped32(theta: np.ndarray) -> np.ndarray:
    """float64 phases wrapped to [0, 2 pi) as float32: ``np.mod``'s result, in half its time (floor, not fmod)."""
    turns = theta * (1.0 / (2 * np.pi))
    turns -= np.floor(turns)
    turns *= 2 * np.pi
    return turns.astype(np.float32)


def _unit_phasor(theta: np.ndarray) -> np.ndarray:
    """exp(i theta) as complex64 from float64 phases."""
    theta32 = _wrapped32(theta)
    phasor = np.empty(theta.shape, dtype=np.complex64)
    phasor.real = np.cos(theta32)
    phasor.imag = np.sin(theta32)
    return phasor


def render(
    controls: Mapping[str, np.ndarray | float],
    note: float,
    gate_s: float,
    n_samples: int,
    sample_rate: int,
    noise: NoiseDraw | np.random.Generator | None,
    *,
    fast: bool = False,
) -> np.ndarray:
    """Synthesise one note: float32 ``[n_samples, 2]``, peak at most 1 (not normalised).

    :func:`render_channels` transposed; the arguments are its.
    """
    return render_channels(controls, note, gate_s, n_samples, sample_rate, noise, fast=fast).T.copy()


def render_channels(
    controls: Mapping[str, np.ndarray | float],
    note: float,
    gate_s: float,
    n_samples: int,
    sample_rate: int,
    noise: NoiseDraw | np.random.Generator | None,
    *,
    fast: bool = False,
    memo: dict | None = None,
) -> np.ndarray:
    """Synthesise one note: float32 ``[2, n_samples]`` (a channel per row), peak at most 1 (not normalised).

    Args:
        controls: physical control values by name (``Patch.physical()``).
        note: MIDI note (fractional allowed) of the tonal and bell layers.
        gate_s: how long the note is held; releases start there.
        n_samples: length of the output.
        sample_rate: output rate in Hz; the same controls sound the same at any rate.
        noise: the random draw (``draw_noise``) for this length and rate (a longer one is cut
            to size), or a generator to draw it from when a layer needs it; None when no layer
            does (:func:`uses_noise` is false).
        fast: compute the tonal and bell layers at a half or quarter rate when every partial
            they sound lies below that rate's Nyquist frequency, then resample (soxr). The
            result differs from the full-rate render only by the resampler's ripple; the
            neural instrument uses it, one-shots do not.
        memo: an empty dict kept by the caller for renders of these same controls, which then
            share work between notes (the result is the same with or without it).
    """
    c = controls
    n = int(n_samples)
    sr = float(sample_rate)
    gate = max(float(gate_s), 1.0 / sr)
    out = np.zeros((2, n), dtype=np.float32)
    noise_gain, click_gain = layer_gain(c["noise_level_db"]), layer_gain(c["click_db"])
    if isinstance(noise, np.random.Generator) and uses_noise(c):
        noise = draw_noise(noise, n, sample_rate)
    elif noise is None and uses_noise(c):
        raise ValueError("these controls sound the noise or click layer: a noise draw is needed")

    factor = _decimation(c, note, sr) if fast else 1
    if factor == 1:
        _pitched_layers(c, note, gate, sr, out)
    else:
        reduced = np.zeros((2, -(-n // factor)), dtype=np.float32)
        _pitched_layers(c, note, gate, sr / factor, reduced)
        if reduced.any():
            upsampled = soxr.resample(np.ascontiguousarray(reduced.T), sr / factor, sr, quality="MQ").T
            m = min(n, upsampled.shape[1])
            out[:, :m] += upsampled[:, :m]

    t32 = None
    if noise_gain > SKIP_GAIN or click_gain > SKIP_GAIN:
        t32 = np.arange(n, dtype=np.float32) / np.float32(sr)
    if noise_gain > SKIP_GAIN:
        # a sweeping spectrum moves with the gate, so only a steady one is shared between notes
        layer = _prefix(None if _noise_sweeps(c) else memo, ("noise", sample_rate), n,
                        lambda: _filtered_noise(c, noise, n, sample_rate, gate), source=noise)  # fmt: skip
        angle = float(c["width"]) * np.pi / 4
        envelope = _noise_envelope(c, t32, gate) * np.float32(noise_gain)
        cos, sin = np.float32(math.cos(angle)), np.float32(math.sin(angle))
        out[0] += (layer[0] * cos + layer[1] * sin) * envelope
        out[1] += (layer[0] * cos - layer[1] * sin) * envelope

    if click_gain > SKIP_GAIN:
        m = min(n, noise.click.shape[0])
        click = noise.click[:m] * np.exp(-t32[:m] / np.float32(c["click_decay_s"])) * np.float32(click_gain)
        out[:, :m] += click

    return _finish(out, float(c["drive"]), sr)


def _prefix(memo: dict | None, key: tuple, n: int, make: Callable[[], np.ndarray], source: object = None) -> np.ndarray:
    """``make()``: a signal (time on the last axis, ``n`` samples) whose start does not depend on its
    length. Taken from ``memo`` when one at least as long is kept there for the same ``source``,
    else made and kept (read only).
    """
    kept = memo.get(key) if memo is not None else None
    if kept is not None and kept[0] is source and kept[1].shape[-1] >= n:
        return kept[1][..., :n]
    value = make()
    if memo is not None:
        value.flags.writeable = False
        memo[key] = (source, value)
    return value


def _noise_sweeps(c: Mapping[str, np.ndarray | float]) -> bool:
    """Whether the noise spectrum shifts over the held note."""
    return abs(float(c["noise_sweep_oct"])) > 1e-4


def _filtered_noise(c: Mapping[str, np.ndarray | float], noise: NoiseDraw, n: int, sample_rate: int,
                    gate: float) -> np.ndarray:  # fmt: skip
    """The noise layer before its envelope and stereo width: ``[2, n]`` float32.

    Without a sweep, a note's filtered noise is the start of a longer note's: the same frames,
    summed in the same order.
    """
    sr = float(sample_rate)
    frames = frame_layout(n, sample_rate)
    freqs = np.arange(frames.bins) * sr / frames.n_fft
    bands = np.asarray(c["noise_db"], dtype=np.float64)
    if _noise_sweeps(c):
        sweep = float(c["noise_sweep_oct"]) * np.clip(frames.centres_s(sample_rate) / gate, 0.0, 1.0)
        shift = sweep * (N_NOISE_BANDS - 1) / math.log2(NOISE_BAND_HZ[-1] / NOISE_BAND_HZ[0])
        # Frames share spectra: shifts rounded to 1/64 band (0.1 semitone) repeat over a slow sweep.
        steps, which = np.unique(np.round(shift * 64), return_inverse=True)
        rows = _db(_interp_bands(bands, _band_position(freqs)[None, :] - steps[:, None] / 64))
        mags = rows[which]
    else:  # one spectrum for every frame
        mags = _db(_interp_bands(bands, _band_position(freqs)))[None, :]
    mags[:, 0] = 0.0
    mags *= math.sqrt(frames.n_fft / 1.5)
    spectra = noise.spectra[:, : frames.count]
    shaped = np.fft.irfft(spectra * mags[None].astype(np.float32), n=frames.n_fft, axis=-1)
    shaped = (shaped * _hann(frames.n_fft)).astype(np.float32, copy=False)
    return _overlap_add(shaped, frames)[:, frames.lead : frames.lead + n]


def bright_nepers(start_db: float) -> float:
    """``bright_start_db`` (harmonic 16's onset level) as attenuation per harmonic step, in nepers.

    Plain arithmetic, so the torch twin passes tensors through it too.
    """
    return -start_db / (20.0 * math.log10(math.e) * (N_HARMONIC_PARAMS - 1))


def spectral_motion(c: Mapping[str, np.ndarray | float], t32: np.ndarray) -> np.ndarray:
    """The per-harmonic-step factor of the spectral envelopes over time (``w``'s magnitude), float32."""
    exponent = np.float32(-float(c["harm_damping"])) * t32
    nepers = bright_nepers(float(c["bright_start_db"]))
    if nepers != 0.0:  # most patches: no brightness envelope, no second exponential
        exponent -= np.float32(nepers) * np.exp(-t32 / np.float32(c["bright_time_s"]))
    return np.exp(exponent)


@lru_cache(maxsize=8)
def _hann(size: int) -> np.ndarray:
    window = np.hanning(size + 1)[:-1].astype(np.float32)
    window.flags.writeable = False  # shared by every render
    return window


def _active_levels(c: Mapping[str, np.ndarray | float]) -> tuple[np.ndarray, np.ndarray]:
    """Linear levels of harmonics 1..48 and of the bell partials (zero where inaudible)."""
    harm_db = np.asarray(c["harm_db"])
    harm = _db(harmonic_levels_db(harm_db, float(c["harm_tail_db_per_oct"]), float(c["harm_even_db"])))
    bell = _db(np.asarray(c["bell_db"], dtype=np.float64))
    harm = np.where(harm * layer_gain(c["harm_level_db"]) > SKIP_GAIN, harm, 0.0)
    bell = np.where(bell * layer_gain(c["bell_level_db"]) > SKIP_GAIN, bell, 0.0)
    return harm, bell


def _decimation(c: Mapping[str, np.ndarray | float], note: float, sr: float) -> int:
    """1, 2 or 4: the largest rate divisor under which every audible partial still fits."""
    harm, bell = _active_levels(c)
    semis = max(float(c["pitch_env_st"]), 0.0) + max(float(c["glide_st"]), 0.0) + float(c["vibrato_cents"]) / 100
    f0_bound = float(midi_to_hz(note)) * 2.0 ** (semis / 12.0) * 2.0 ** (float(c["detune_cents"]) / 1200)
    top = 0.0
    if harm.any() and layer_gain(c["harm_level_db"]) > SKIP_GAIN:
        top = max(top, (np.flatnonzero(harm)[-1] + 1) * f0_bound)
    if bell.any() and layer_gain(c["bell_level_db"]) > SKIP_GAIN:
        top = max(top, BELL_RATIOS[int(np.flatnonzero(bell)[-1])] * f0_bound)
    for factor in (4, 2):
        if top * 1.1 < NYQUIST_GUARD * sr / factor and sr / factor >= 8000:
            return factor
    return 1


def _pitched_layers(c: Mapping[str, np.ndarray | float], note: float, gate: float, sr: float, out: np.ndarray) -> None:
    """Add the tonal and bell layers, computed at rate ``sr``, into ``out`` [2, n]."""
    harm_gain, bell_gain = layer_gain(c["harm_level_db"]), layer_gain(c["bell_level_db"])
    if harm_gain <= SKIP_GAIN and bell_gain <= SKIP_GAIN:
        return
    n = out.shape[1]
    release = float(c["release_s"])
    t = np.arange(n, dtype=np.float64) / sr
    t32 = t.astype(np.float32)
    # pitch and phase (float64: phases of long notes grow large before wrapping)
    semitones = _pitch_semitones(c, t, gate)
    if semitones.any():
        f0 = midi_to_hz(note) * 2.0 ** (semitones / 12.0)
        phase = 2 * np.pi * (np.cumsum(f0) - f0[0]) / sr
        f0_max = float(f0.max())
    else:  # a steady note: the same phase in closed form
        f0_max = float(midi_to_hz(note))
        phase = (2 * np.pi * f0_max / sr) * np.arange(n, dtype=np.float64)
    harm_levels, bell_levels = _active_levels(c)

    if harm_gain > SKIP_GAIN:
        detune = float(c["detune_cents"])
        unison = float(c["unison_level"])
        ratios = [1.0] + ([2.0 ** (detune / 1200), 2.0 ** (-detune / 1200)] if unison > 1e-3 else [])
        k = np.arange(1, N_HARMONICS + 1)
        levels = np.where(k * f0_max * 2.0 ** (detune / 1200) < NYQUIST_GUARD * sr, harm_levels, 0.0)
        count = int(np.flatnonzero(levels)[-1]) + 1 if levels.any() else 0
        if count:
            damping = spectral_motion(c, t32)
            voices = []
            for ratio, offset in zip(ratios, (0.0, *UNISON_PHASES), strict=False):
                # 1.0 * phase + 0.0 is phase (phases are never -0.0): the main voice skips two passes.
                moved = phase if (ratio, offset) == (1.0, 0.0) else ratio * phase + offset
                carrier = _unit_phasor(moved)
                voices.append((carrier * _horner(levels[:count], carrier * damping)).imag)
            amp = _adsr(t32, float(c["amp_attack_s"]), float(c["amp_decay_s"]), float(c["amp_sustain"]), release, gate)
            amp *= np.float32(harm_gain)
            out += voices[0] * amp
            if len(voices) == 3:
                side_l, side_r = np.float32(0.5 * (1 + float(c["width"]))), np.float32(0.5 * (1 - float(c["width"])))
                plus, minus = voices[1] * (amp * np.float32(unison)), voices[2] * (amp * np.float32(unison))
                out[0] += side_l * plus + side_r * minus
                out[1] += side_r * plus + side_l * minus

    if bell_gain > SKIP_GAIN:
        attack = np.minimum(np.float32(1.0), t32 / np.float32(c["amp_attack_s"]))
        tail = np.exp(-np.maximum(t32 - np.float32(gate), np.float32(0.0)) / np.float32(release))
        bell = np.zeros(n, dtype=np.float32)
        for ratio, level in zip(BELL_RATIOS, bell_levels, strict=True):
            if ratio * f0_max >= NYQUIST_GUARD * sr or level < SKIP_GAIN:
                continue
            decay = np.exp(-t32 * np.float32(math.sqrt(ratio / BELL_RATIOS[0]) / float(c["bell_decay_s"])))
            bell += np.float32(level) * decay * np.sin(_wrapped32(ratio * phase))
        out += bell * attack * tail * np.float32(bell_gain)


def _noise_envelope(c: Mapping[str, np.ndarray | float], t: np.ndarray, gate: float) -> np.ndarray:
    spacing, bursts = float(c["clap_spacing_s"]), float(c["clap_bursts"])
    delay = 3.0 * spacing * bursts
    attack, decay, sustain = float(c["noise_attack_s"]), float(c["noise_decay_s"]), float(c["noise_sustain"])
    main = _adsr(t - t.dtype.type(delay), attack, decay, sustain, float(c["release_s"]), gate - delay)
    if bursts <= 0.0:
        return main.astype(np.float32, copy=False)
    claps = np.zeros_like(t)
    # A burst has fallen by e^-120 after CLAP_SPAN_S: below float32's smallest value, so the exact
    # zeros after that are left as they are (t is increasing).
    span = int(np.searchsorted(t, t.dtype.type(2 * spacing + CLAP_SPAN_S)))
    for j in range(3):
        since = t[:span] - t.dtype.type(j * spacing)
        claps[:span] += np.where(since >= 0, np.exp(-np.maximum(since, 0) / t.dtype.type(CLAP_BURST_S)), 0)
    return (main + t.dtype.type(bursts) * claps).astype(np.float32, copy=False)


def _overlap_add(frames_audio: np.ndarray, frames: Frames) -> np.ndarray:
    """Sum ``[channels, count, n_fft]`` frames at hop n_fft/4: four strided, non-overlapping adds."""
    channels, count, size = frames_audio.shape
    out = np.zeros((channels, (count - 1) * frames.hop + size + size), dtype=np.float32)
    for r in range(4):
        group = frames_audio[:, r::4]
        if group.shape[1] == 0:
            continue
        start = r * frames.hop
        out[:, start : start + group.shape[1] * size] += group.reshape(channels, -1)
    return out


def _finish(out: np.ndarray, drive: float, sample_rate: float) -> np.ndarray:
    """Saturate (``drive``) relative to the peak, then fade the last few milliseconds."""
    peak = max(float(np.abs(out).max()), MIN_PEAK)
    gain = 0.1 + 12.0 * drive * drive
    out = (np.tanh(out * np.float32(gain / peak)) / np.float32(math.tanh(gain))).astype(np.float32)
    fade = min(out.shape[1], max(1, round(END_FADE_S * sample_rate)))
    out[:, -fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out
