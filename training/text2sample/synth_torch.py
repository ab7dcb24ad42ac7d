"""The sample synthesiser in torch, differentiable, batched: the training twin of
``runtime/synthesis/synth.py``.

Same controls, same maths, same noise layout; the runtime's numpy version skips layers that
are inaudible (below -80 dB), which is the only difference. ``tests/test_text2sample_synth.py``
renders random patches with both and compares.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from promptdaw.runtime.synthesis import synth as np_synth
from promptdaw.runtime.synthesis.constants import (
    BELL_RATIOS,
    N_HARMONIC_PARAMS,
    N_HARMONICS,
    N_NOISE_BANDS,
    NOISE_BAND_HZ,
)
from promptdaw.runtime.synthesis.patch import PARAMS, SLICES

__all__ = ["controls_from_unit", "draw_noise", "render_batch"]

Controls = dict[str, torch.Tensor]


def controls_from_unit(unit: torch.Tensor) -> Controls:
    """[B, PARAM_SIZE] values in 0..1 -> physical controls: [B] tensors, [B, size] for arrays."""
    out: Controls = {}
    for spec in PARAMS:
        v = unit[:, SLICES[spec.name]]
        x = (
            spec.lo * torch.exp(v * math.log(spec.hi / spec.lo))
            if spec.scale == "log"
            else spec.lo + v * (spec.hi - spec.lo)
        )
        out[spec.name] = x if spec.size > 1 else x[:, 0]
    return out


def draw_noise(batch: int, n_samples: int, sample_rate: int, generator: torch.Generator | None = None):
    """Noise spectra [B, 2, frames, bins] (complex64) and click noise [B, samples] for a batch."""
    frames = np_synth.frame_layout(n_samples, sample_rate)
    shape = (batch, 2, frames.count, frames.bins)
    real = torch.randn(shape, generator=generator)
    imag = torch.randn(shape, generator=generator)
    spectra = torch.complex(real, imag) * math.sqrt(0.5)
    click = torch.randn((batch, min(n_samples, round(np_synth.CLICK_S * sample_rate))), generator=generator)
    return spectra, click


def _db(x: torch.Tensor) -> torch.Tensor:
    return torch.pow(10.0, x / 20.0)


def _layer_gain(level_db: torch.Tensor) -> torch.Tensor:
    return _db(level_db) * torch.clamp((level_db + 60.0) / 6.0, 0.0, 1.0)


def _harmonic_levels_db(c: Controls) -> torch.Tensor:
    k = torch.arange(N_HARMONIC_PARAMS + 1, N_HARMONICS + 1, dtype=torch.float32)
    last = c["harm_db"][:, N_HARMONIC_PARAMS - 1 : N_HARMONIC_PARAMS]
    tail = last + c["harm_tail_db_per_oct"][:, None] * torch.log2(k / N_HARMONIC_PARAMS)[None]
    tail = tail + c["harm_even_db"][:, None] * (k % 2 == 0).float()[None]
    return torch.cat([c["harm_db"], tail], dim=1)


def _adsr(t: torch.Tensor, attack, decay, sustain, release, gate) -> torch.Tensor:
    """As the numpy version; every control is [B, 1], ``t`` is [1, N] (or [B, N])."""

    def held(x: torch.Tensor) -> torch.Tensor:
        rising = x / attack
        falling = sustain + (1.0 - sustain) * torch.exp(-torch.clamp(x - attack, min=0.0) / decay)
        return torch.where(x < attack, rising, falling) * (x >= 0).float()

    released = held(gate) * torch.exp(-torch.clamp(t - gate, min=0.0) / release)
    return torch.where(t < gate, held(t), released)


def _horner(levels: torch.Tensor, w_re: torch.Tensor, w_im: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """sum_j levels[:, j] * w**j in real arithmetic (torch's complex kernels are slow on CPU).

    levels [B, K]; w = w_re + i w_im, each [B, N]. Returns (real, imaginary) parts.
    """
    p_re = levels[:, -1:].expand_as(w_re)
    p_im = torch.zeros_like(w_re)
    for j in range(levels.shape[1] - 2, -1, -1):
        p_re, p_im = torch.addcmul(levels[:, j : j + 1] - p_im * w_im, p_re, w_re), p_re * w_im + p_im * w_re
    return p_re, p_im


def render_batch(
    c: Controls,
    note: torch.Tensor,
    gate_s: torch.Tensor,
    n_samples: int,
    sample_rate: int,
    spectra: torch.Tensor,
    click: torch.Tensor,
) -> torch.Tensor:
    """Synthesise a batch: [B, 2, n_samples], each example saturated relative to its own peak.

    Args:
        c: controls from :func:`controls_from_unit` (physical units).
        note: [B] MIDI notes; gate_s: [B] seconds held.
        spectra, click: the noise draw (:func:`draw_noise`) for this length and rate.
    """
    n, sr = int(n_samples), float(sample_rate)
    batch = note.shape[0]
    t = (torch.arange(n, dtype=torch.float64) / sr)[None]
    t32 = t.float()
    gate = torch.clamp(gate_s, min=1.0 / sr)[:, None]
    col = {name: value[:, None] for name, value in c.items() if value.dim() == 1}
    release = col["release_s"]

    # pitch and phase, in float64 as the numpy version: phase errors grow with every sample
    c64 = {name: value.double() for name, value in col.items()}
    semis = c64["pitch_env_st"] * torch.exp(-t / c64["pitch_env_decay_s"])
    semis = semis + c64["glide_st"] * torch.clamp(t / gate.double(), 0.0, 1.0)
    vibrato = (c64["vibrato_cents"] / 100.0) * torch.sin(2 * math.pi * c64["vibrato_hz"] * t)
    semis = semis + vibrato * torch.clamp(t / np_synth.VIBRATO_ONSET_S, max=1.0)
    f0_64 = (440.0 * torch.pow(2.0, (note.double()[:, None] - 69.0) / 12.0)) * torch.pow(2.0, semis / 12.0)
    phase = 2 * math.pi * (torch.cumsum(f0_64, dim=1) - f0_64[:, :1]) / sr  # float64 [B, N]
    f0_max = f0_64.detach().max(dim=1).values[:, None].float()

    # tonal layer
    k = torch.arange(1, N_HARMONICS + 1, dtype=torch.float32)[None]
    detune = col["detune_cents"]
    up = torch.pow(2.0, detune / 1200.0)
    alias_ok = (k * f0_max * up.detach() < np_synth.NYQUIST_GUARD * sr).float()
    levels = _db(_harmonic_levels_db(c)) * alias_ok
    onset = np_synth.bright_nepers(c64["bright_start_db"]) * torch.exp(-t / c64["bright_time_s"])
    damping = torch.exp(-c64["harm_damping"] * t - onset).float()  # raised to the 47th power: float64 first
    amp = _adsr(t32, col["amp_attack_s"], col["amp_decay_s"], col["amp_sustain"], release, gate)
    amp = amp * _layer_gain(col["harm_level_db"])

    count = int(alias_ok.sum(dim=1).max().item())  # harmonics above every example's limit are all zero
    levels = levels[:, : max(count, 1)]

    def voice(ratio: torch.Tensor | float, offset: float) -> torch.Tensor:
        theta = torch.remainder(ratio * phase + offset, 2 * math.pi).float()
        cos, sin = torch.cos(theta), torch.sin(theta)
        p_re, p_im = _horner(levels, cos * damping, sin * damping)
        return cos * p_im + sin * p_re  # Im(e^{i theta} * p)

    up64 = torch.pow(2.0, c64["detune_cents"] / 1200.0)  # float64: it scales phases hundreds of radians long
    centre = voice(1.0, 0.0) * amp
    plus = voice(up64, np_synth.UNISON_PHASES[0]) * amp * col["unison_level"]
    minus = voice(1.0 / up64, np_synth.UNISON_PHASES[1]) * amp * col["unison_level"]
    side_l, side_r = 0.5 * (1 + col["width"]), 0.5 * (1 - col["width"])
    left = centre + side_l * plus + side_r * minus
    right = centre + side_r * plus + side_l * minus

    # bell layer
    attack = torch.clamp(t32 / col["amp_attack_s"], max=1.0)
    tail = torch.exp(-torch.clamp(t32 - gate, min=0.0) / release)
    bell = torch.zeros((batch, n))
    bell_levels = _db(c["bell_db"])
    for m, ratio in enumerate(BELL_RATIOS):
        ok = (ratio * f0_max < np_synth.NYQUIST_GUARD * sr).float()
        decay = torch.exp(-t32 * math.sqrt(ratio / BELL_RATIOS[0]) / col["bell_decay_s"])
        bell = bell + bell_levels[:, m : m + 1] * ok * decay * torch.sin(
            torch.remainder(ratio * phase, 2 * math.pi).float()
        )
    bell = bell * attack * tail * _layer_gain(col["bell_level_db"])
    left, right = left + bell, right + bell

    # noise layer
    frames = np_synth.frame_layout(n, sample_rate)
    freqs = torch.arange(frames.bins, dtype=torch.float64) * sr / frames.n_fft
    base = torch.from_numpy(np_synth._band_position(freqs.numpy())).float()
    centres = torch.from_numpy(frames.centres_s(sample_rate)).float()[None]
    shift = col["noise_sweep_oct"] * torch.clamp(centres / gate, 0.0, 1.0)
    shift = shift * (N_NOISE_BANDS - 1) / math.log2(NOISE_BAND_HZ[-1] / NOISE_BAND_HZ[0])
    position = torch.clamp(base[None, None] - shift[:, :, None], 0.0, N_NOISE_BANDS - 1.0)  # [B, F, bins]
    low = torch.clamp(torch.floor(position).long(), max=N_NOISE_BANDS - 2)
    frac = position - low.float()
    bands = c["noise_db"]
    flat_low = low.reshape(batch, -1)
    db_low = torch.gather(bands, 1, flat_low).reshape(low.shape)
    db_high = torch.gather(bands, 1, flat_low + 1).reshape(low.shape)
    mags = _db(db_low * (1.0 - frac) + db_high * frac)
    mags = mags * (freqs > 0).float()[None, None] * math.sqrt(frames.n_fft / 1.5)
    shaped = torch.fft.irfft(spectra * mags[:, None].to(spectra.dtype), n=frames.n_fft, dim=-1)
    window = torch.hann_window(frames.n_fft, periodic=True)
    shaped = shaped * window  # [B, 2, F, n_fft]
    length = (frames.count - 1) * frames.hop + frames.n_fft
    folded = F.fold(
        shaped.reshape(batch * 2, frames.count, frames.n_fft).transpose(1, 2),
        output_size=(1, length),
        kernel_size=(1, frames.n_fft),
        stride=(1, frames.hop),
    ).reshape(batch, 2, length)[:, :, frames.lead : frames.lead + n]
    angle = col["width"] * math.pi / 4
    noise_l = folded[:, 0] * torch.cos(angle) + folded[:, 1] * torch.sin(angle)
    noise_r = folded[:, 0] * torch.cos(angle) - folded[:, 1] * torch.sin(angle)
    spacing, bursts = col["clap_spacing_s"], col["clap_bursts"]
    delay = 3.0 * spacing * bursts
    main = _adsr(t32 - delay, col["noise_attack_s"], col["noise_decay_s"], col["noise_sustain"], release,
                 gate - delay)  # fmt: skip
    claps = torch.zeros_like(main)
    for j in range(3):
        since = t32 - j * spacing
        claps = claps + torch.where(since >= 0, torch.exp(-torch.clamp(since, min=0.0) / np_synth.CLAP_BURST_S), 0.0)
    envelope = (main + bursts * claps) * _layer_gain(col["noise_level_db"])
    left, right = left + noise_l * envelope, right + noise_r * envelope

    # click
    m = min(n, click.shape[1])
    clicked = click[:, :m] * torch.exp(-t32[:, :m] / col["click_decay_s"]) * _layer_gain(col["click_db"])
    pad = (0, n - m)
    left, right = left + F.pad(clicked, pad), right + F.pad(clicked, pad)

    # drive and end fade
    out = torch.stack([left, right], dim=1)
    # The peak only sets the drive's operating level: held constant for the gradient (a near-silent
    # render would otherwise divide by almost zero and poison the step with NaN).
    peak = torch.clamp(out.detach().abs().amax(dim=(1, 2), keepdim=True), min=np_synth.MIN_PEAK)
    gain = (0.1 + 12.0 * c["drive"] ** 2)[:, None, None]
    out = torch.tanh(out * gain / peak) / torch.tanh(gain)
    fade = min(n, max(1, round(np_synth.END_FADE_S * sr)))
    ramp = torch.ones(n)
    ramp[-fade:] = torch.linspace(1.0, 0.0, fade)
    return out * ramp
