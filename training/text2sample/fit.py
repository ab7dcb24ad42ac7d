"""Fit a synth patch to each rendered training sound by gradient descent (torch; training only).

A network trained straight on the spectrogram loss learns, for a description, the average of
every sound it could mean; for noisy and bright families (hats, shakers, leads) that average
is a dull sound of no family. Fitting the synthesiser's controls to each sound on its own
keeps what makes it sound like itself, and the mixture network (``model.py``) then learns the
fitted patches as several modes per description instead of their mean.

Each sound starts from a given patch (the amortised network's guess for its text) and takes
``steps`` Adam steps on the same multi-resolution spectrogram loss the network trains with.
The controls acoustic sounds do not move (glide, noise sweep, a pitched sound's pitch
envelope) stay held, as in training. Work is saved after every batch, so a long fit resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from promptdaw.runtime.synthesis.constants import CATEGORIES
from promptdaw.runtime.synthesis.patch import DEFAULT_UNIT, PARAM_BY_NAME, PARAM_SIZE, PARAMS, SLICES
from training.text2sample.dataset import TRAIN_DURATION_S, TRAIN_RATE, TrainingSet
from training.text2sample.losses import hold_still, spectral_loss
from training.text2sample.synth_torch import controls_from_unit, draw_noise, render_batch

__all__ = ["FitResult", "fit_patches", "load_fits", "widen_fits"]

#: Unit values are optimised as logits, kept this far from 0 and 1 so gradients still flow.
_EDGE = 0.02


@dataclass
class FitResult:
    items: np.ndarray  # int64 [n] sound indices into the training set
    unit: np.ndarray  # float32 [n, PARAM_SIZE] fitted patches
    loss_start: np.ndarray  # float32 [n] spectrogram loss of the starting patch
    loss_end: np.ndarray  # float32 [n] after fitting

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part.npz")
        np.savez(tmp, items=self.items, unit=self.unit, loss_start=self.loss_start, loss_end=self.loss_end)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> FitResult:
        with np.load(path) as stored:
            return cls(**{k: stored[k] for k in stored.files})

    @classmethod
    def empty(cls, size: int) -> FitResult:
        return cls(np.zeros(0, np.int64), np.zeros((0, size), np.float32), np.zeros(0, np.float32),
                   np.zeros(0, np.float32))  # fmt: skip

    def extend(self, other: FitResult) -> FitResult:
        return FitResult(*(np.concatenate([a, b]) for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[np.ndarray, ...]:
        return self.items, self.unit, self.loss_start, self.loss_end

    def by_item(self) -> FitResult:
        """The same fits ordered by sound index."""
        order = np.argsort(self.items)
        return FitResult(*(a[order] for a in self.astuple()))


def _fit_batch(data: TrainingSet, items: np.ndarray, start: np.ndarray, steps: int, lr: float,
               generator: torch.Generator) -> FitResult:  # fmt: skip
    n = round(TRAIN_DURATION_S * TRAIN_RATE)
    logits = torch.nn.Parameter(torch.logit(torch.from_numpy(np.clip(start, _EDGE, 1 - _EDGE))))
    optimizer = torch.optim.Adam([logits], lr=lr)
    names = [CATEGORIES[c] for c in data.category[items]]
    root = torch.from_numpy(data.root[items].astype(np.float32))
    gate = torch.from_numpy(data.gate_s[items])
    target = torch.from_numpy(data.audio[items])
    first = best = None
    best_unit = None
    for _ in range(steps + 1):
        unit = hold_still(torch.sigmoid(logits), names)
        spectra, click = draw_noise(len(items), n, TRAIN_RATE, generator)
        audio = render_batch(controls_from_unit(unit), root, gate, n, TRAIN_RATE, spectra, click)
        loss = spectral_loss(audio.mean(dim=1), target)
        with torch.no_grad():  # keep each sound's best patch (a noisy step can overshoot)
            value = loss.detach().clone()
            if first is None:
                first, best, best_unit = value.clone(), value.clone(), unit.detach().clone()
            better = value < best
            best = torch.where(better, value, best)
            best_unit[better] = unit.detach()[better]
        optimizer.zero_grad()
        loss.sum().backward()
        optimizer.step()
    fitted = best_unit.numpy().astype(np.float32)
    # the controls the render did not see: the note it was played at and how long it was held
    fitted[:, SLICES["root_note"]] = np.clip(PARAM_BY_NAME["root_note"].to_unit(data.root[items]), 0, 1)[:, None]
    fitted[:, SLICES["hold_s"]] = np.clip(PARAM_BY_NAME["hold_s"].to_unit(data.hold_s[items]), 0, 1)[:, None]
    return FitResult(items.astype(np.int64), fitted, first.numpy().astype(np.float32), best.numpy().astype(np.float32))


def fit_patches(
    data: TrainingSet,
    items: np.ndarray,
    start: np.ndarray,
    *,
    steps: int = 150,
    batch: int = 32,
    lr: float = 0.05,
    seed: int = 1234,
    cache: Path | None = None,
    log: Callable[[str], None] = print,
) -> FitResult:
    """Fit patches to ``data``'s sounds ``items``, starting from ``start`` [len(items), PARAM_SIZE] in 0..1.

    Sounds are fitted in batches of similar root notes (a batch renders as many harmonics as its
    lowest note needs). With ``cache``, finished batches are saved there and skipped on a rerun.
    """
    done = FitResult.load(cache) if cache is not None and cache.exists() else FitResult.empty(start.shape[1])
    todo = np.flatnonzero(~np.isin(items, done.items))
    todo = todo[np.argsort(data.root[items[todo]], kind="stable")]
    generator = torch.Generator().manual_seed(seed)
    for b in range(0, len(todo), batch):
        chunk = todo[b : b + batch]
        result = _fit_batch(data, items[chunk], start[chunk], steps, lr, generator)
        done = done.extend(result)
        if cache is not None:
            done.save(cache)
        log(f"fitted {len(done.items)}/{len(items)} sounds: loss {result.loss_start.mean():.3f} -> "
            f"{result.loss_end.mean():.3f}")  # fmt: skip
    return done.by_item()


def load_fits(paths: list[Path]) -> FitResult:
    """Merge fit caches (one per worker) into one result ordered by sound index."""
    merged, *rest = [FitResult.load(path) for path in paths]
    for part in rest:
        merged = merged.extend(part)
    return merged.by_item()


def widen_fits(fits: FitResult) -> FitResult:
    """Fits saved before the controls that have a ``default`` existed, in today's layout.

    Those controls were added after the first fits (see ``ParamSpec.default``); they take their
    default, which leaves the sound as the older synthesiser made it, so a new fit can go on
    from an old one instead of starting over.
    """
    width = fits.unit.shape[1]
    if width == PARAM_SIZE:
        return fits
    older = [spec for spec in PARAMS if spec.default is None]
    if width != sum(spec.size for spec in older):
        raise ValueError(f"fits have {width} controls; today's synthesiser has {PARAM_SIZE}")
    unit = np.tile(DEFAULT_UNIT.astype(np.float32), (len(fits.items), 1))
    column = 0
    for spec in older:
        unit[:, SLICES[spec.name]] = fits.unit[:, column : column + spec.size]
        column += spec.size
    return FitResult(fits.items, unit, fits.loss_start, fits.loss_end)
