"""Training the drum sub-stem model: ``BandUNet`` (``training/stems/model.py``) with five sources.

Examples are random crops of the rendered sub-stems (``data.py``): half of the time all five
from one clip (one kit, one groove), otherwise each from a random clip of the same data set
(remixing across kits and grooves, as Demucs does), with a random level, polarity, channel
swap and dropout per sub-stem; the drum stem is their sum. The loss is the stems model's:
L1 between the predicted masks and the oracle power-ratio masks, weighted by the drum stem's
magnitude. One CPU thread (twice as fast as two on the shared 2-core machine), a wall-clock
budget with warm-up and cosine decay over the larger of step and time progress, a checkpoint
every ``checkpoint_every`` steps and at the end, ``resume`` to continue one.

The STFT is pinned here (2048 / 512, the runtime's ``Geometry`` defaults and this model's
manifest ``window``) rather than taken from ``training.stems.train``, whose geometry may change
for the four-stem model without touching this one.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from promptdaw.runtime.separation.constants import HOP
from promptdaw.runtime.separation.drums import DRUM_SOURCES
from training.stems.model import BandUNet
from training.stems.render import load_dataset
from training.stems.train import batch_sdr, mask_loss

__all__ = ["DrumTrainConfig", "make_batch", "train"]


@dataclass
class DrumTrainConfig:
    data: tuple[str, ...] = ("data/drum_stems/train", "data/drum_stems/train_synth")
    valid: str | None = "data/drum_stems/heldout"
    out: str = "data/drum_stems/run"
    steps: int = 100_000
    max_minutes: float = 45.0
    batch: int = 4
    segment_frames: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    remix: float = 0.5
    dropout: float = 0.15
    seed: int = 0
    threads: int = 1
    checkpoint_every: int = 100
    valid_every: int = 200
    valid_clips: int = 16
    widths: tuple[int, ...] = (16, 32, 48, 96)
    blocks: tuple[int, ...] = (1, 1, 1, 2)


def make_batch(datasets: Sequence[np.ndarray], rng: np.random.Generator, config: DrumTrainConfig) -> torch.Tensor:
    """Augmented sub-stem crops ``[batch, 5, 2, samples]`` float32 (the drum stem is their sum)."""
    length = (config.segment_frames - 1) * HOP
    sizes = np.array([d.shape[0] for d in datasets], np.float64)
    out = np.zeros((config.batch, len(DRUM_SOURCES), 2, length), np.float32)
    for b in range(config.batch):
        data = datasets[int(rng.choice(len(datasets), p=sizes / sizes.sum()))]
        n_clips, clip_samples = data.shape[0], data.shape[2]
        same = rng.random() >= config.remix
        clip, offset = int(rng.integers(n_clips)), int(rng.integers(0, clip_samples - length + 1))
        for s in range(len(DRUM_SOURCES)):
            if not same:
                clip, offset = int(rng.integers(n_clips)), int(rng.integers(0, clip_samples - length + 1))
            if rng.random() < config.dropout:
                continue
            crop = np.asarray(data[clip, s, offset : offset + length], np.float32).T
            if rng.random() < 0.5:
                crop = crop[::-1]
            gain = 10 ** (rng.uniform(-10, 4) / 20) * (-1 if rng.random() < 0.5 else 1)
            out[b, s] = crop * gain
        rms = float(np.sqrt(np.mean(out[b].sum(axis=0) ** 2)))
        if rms > 1e-5:
            out[b] *= 10 ** (rng.uniform(-32, -12) / 20) / rms
    return torch.from_numpy(out)


def _valid_batch(path: Path, config: DrumTrainConfig) -> torch.Tensor | None:
    """Fixed validation crops: the middle of every ``len // valid_clips``-th held-out clip (all kits)."""
    if not (path / "stems.npy").exists():
        return None
    stems, _ = load_dataset(path)
    length = min((config.segment_frames * 2 - 1) * HOP, stems.shape[2])
    start = (stems.shape[2] - length) // 2
    pick = np.linspace(0, stems.shape[0] - 1, min(config.valid_clips, stems.shape[0])).round().astype(int)
    crops = np.asarray(stems[pick, :, start : start + length], np.float32)
    return torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 1, 3, 2)))


def train(config: DrumTrainConfig, *, resume: bool = False, log: Callable[[str], None] = print) -> Path:
    """Train; returns the checkpoint path (``out/checkpoint.pt``)."""
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / "checkpoint.pt"
    datasets = [load_dataset(Path(path))[0] for path in config.data]
    model = BandUNet(sources=len(DRUM_SOURCES), widths=tuple(config.widths), blocks=tuple(config.blocks))
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    step, elapsed_before, history = 0, 0.0, []
    if resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        step, elapsed_before, history = state["step"], state.get("elapsed_s", 0.0), state.get("history", [])
        rng = np.random.default_rng(config.seed + step)
        log(f"resumed at step {step}")
    valid = _valid_batch(Path(config.valid), config) if config.valid else None
    n_params = sum(p.numel() for p in model.parameters())
    log(f"training BandUNet ({n_params / 1e6:.3f} M parameters, {len(DRUM_SOURCES)} sources) on "
        f"{[tuple(d.shape) for d in datasets]}: {json.dumps(asdict(config))}")  # fmt: skip
    start = time.monotonic()
    elapsed = elapsed_before

    def save(final: bool = False) -> None:
        state = {"model": model.state_dict(), "optimiser": optimiser.state_dict(), "step": step,
                 "elapsed_s": elapsed, "config": model.config, "train_config": asdict(config),
                 "history": history, "final": final}  # fmt: skip
        tmp = checkpoint_path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(checkpoint_path)

    running: list[float] = []
    model.train()
    while True:
        elapsed = elapsed_before + time.monotonic() - start
        progress = max(step / config.steps, elapsed / (60 * config.max_minutes))
        if progress >= 1.0:
            break
        lr = config.lr * min(1.0, (step + 1) / config.warmup_steps) * 0.5 * (1 + math.cos(math.pi * progress))
        for group in optimiser.param_groups:
            group["lr"] = lr
        loss = mask_loss(model, make_batch(datasets, rng, config))
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimiser.step()
        step += 1
        running.append(loss.item())
        if step % 25 == 0:
            log(f"step {step} loss {np.mean(running):.4f} lr {lr:.2e} {elapsed / 60:.1f} min")
            running = []
        if valid is None and config.valid and step % config.valid_every == 0:
            valid = _valid_batch(Path(config.valid), config)  # rendered while training started
        if valid is not None and step % config.valid_every == 0:
            model.eval()
            sdr = np.nanmean(batch_sdr(model, valid), axis=0)
            model.train()
            history.append({"step": step, "minutes": round(elapsed / 60, 2),
                            **{k: round(float(v), 2) for k, v in zip(DRUM_SOURCES, sdr, strict=True)}})  # fmt: skip
            log(f"valid step {step}: " + " ".join(f"{k} {v:.2f}" for k, v in zip(DRUM_SOURCES, sdr, strict=True)))
        if step % config.checkpoint_every == 0:
            save()
    save(final=True)
    log(f"done at step {step} ({elapsed / 60:.1f} min): {checkpoint_path}")
    return checkpoint_path
