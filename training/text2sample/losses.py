"""Losses shared by the text-to-sample training and the per-sound patch fit (torch; training only)."""

from __future__ import annotations

import math

import numpy as np
import torch

from promptdaw.runtime.synthesis.constants import DRUM_CATEGORIES
from promptdaw.runtime.synthesis.patch import PARAM_BY_NAME, SLICES

__all__ = ["HELD", "STFT_SIZES", "hold_still", "spectral_loss", "stft_mag"]

STFT_SIZES = (2048, 512, 128)

#: Pitch movements rendered acoustic sounds do not make: (control, value in physical units, categories
#: exempt). The spectrogram loss would otherwise smear a steady tone with a glide or sweep (a moving
#: tone covers more bins and lowers the average error), so these controls are held at their values
#: when a patch is rendered against a sound; presets still teach them.
HELD = (
    ("glide_st", 0.0, frozenset({"riser", "downlifter", "noise sweep", "impact"})),
    ("noise_sweep_oct", 0.0, frozenset({"riser", "downlifter", "noise sweep", "impact"})),
    ("pitch_env_st", 0.0, DRUM_CATEGORIES),  # drums and effects keep their pitch drop
)


def held_masks(categories: list[str]) -> list[tuple[int, torch.Tensor, float]]:
    """(column, [B] bool mask of the examples it applies to, unit value) for each held control."""
    out = []
    for name, value, exempt in HELD:
        mask = torch.tensor([c not in exempt for c in categories])
        out.append((SLICES[name].start, mask, float(PARAM_BY_NAME[name].to_unit(np.array([value]))[0])))
    return out


def hold_still(unit: torch.Tensor, categories: list[str]) -> torch.Tensor:
    """``unit`` [B, PARAM_SIZE] with the held controls set to their values where they apply."""
    held = unit.clone()
    for column, mask, target in held_masks(categories):
        held[:, column] = torch.where(mask, torch.full_like(unit[:, column], target), unit[:, column])
    return held


def stft_mag(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    window = torch.hann_window(n_fft)
    spec = torch.stft(x, n_fft, hop_length=n_fft // 4, window=window, return_complex=True, center=True)
    return spec.abs() / math.sqrt(n_fft)


def spectral_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Multi-resolution linear + log magnitude L1 between RMS-normalised signals [B, N]; per example [B]."""
    pred = pred / (pred.pow(2).mean(dim=1, keepdim=True).sqrt() + 1e-6)
    target = target / (target.pow(2).mean(dim=1, keepdim=True).sqrt() + 1e-6)
    total = torch.zeros(pred.shape[0])
    for n_fft in STFT_SIZES:
        p, t = stft_mag(pred, n_fft), stft_mag(target, n_fft)
        total = (
            total + (p - t).abs().mean(dim=(1, 2)) + (torch.log(p + 1e-3) - torch.log(t + 1e-3)).abs().mean(dim=(1, 2))
        )
    return total / len(STFT_SIZES)
