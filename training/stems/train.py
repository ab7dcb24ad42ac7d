"""Training ``BandUNet`` on rendered stems (CPU, one thread, a wall-clock budget).

Each example is a random crop of each stem, by default from the same clip half of the time
and otherwise from four different clips (remixing, as Demucs does), with a random level per
stem, random stem dropout, random channel swap and polarity; the mixture is their sum.
The loss is the L1 distance between the predicted masks and the oracle Wiener-like masks
(stem power over total power), weighted by the mixture magnitude and normalised per example
(see ``mask_loss``).

The learning rate follows a warm-up and cosine decay over the run's progress, the larger of
``step / steps`` and ``elapsed / max_minutes``, so a run on a busy machine still anneals
before its time is up. A checkpoint (model, optimiser, step, config) is written every
``checkpoint_every`` steps and at the end; ``resume=True`` continues one.
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

from promptdaw.runtime.separation.constants import HOP, N_FFT
from training.stems.model import DEFAULT_CONFIG, BandUNet
from training.stems.render import load_dataset

__all__ = ["TrainConfig", "batch_sdr", "istft", "make_batch", "mask_loss", "stft", "train"]


@dataclass
class TrainConfig:
    data: str = "data/stems/train"
    valid: str | None = "data/stems/heldout"
    out: str = "data/stems/run"
    steps: int = 2000
    max_minutes: float = 40.0
    batch: int = 8
    segment_frames: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    remix: float = 0.5
    dropout: float = 0.1
    seed: int = 0
    threads: int = 1
    checkpoint_every: int = 100
    valid_every: int = 100
    valid_clips: int = 12
    #: More data sets (e.g. the project's own loops, scripts/make_stem_loops.py) and the share of
    #: examples drawn from them.
    extra_data: tuple[str, ...] = ()
    extra_share: float = 0.0
    widths: tuple[int, ...] = tuple(DEFAULT_CONFIG["widths"])
    blocks: tuple[int, ...] = tuple(DEFAULT_CONFIG["blocks"])
    #: Start from the weights of an exported model (e.g. the committed ``models/stems/stems.onnx``,
    #: whose training checkpoint is not kept) instead of a random initialisation; ignored on resume.
    init_onnx: str = ""
    #: BatchNorm as the fixed affine map it is at inference (needed after ``init_onnx``: the
    #: export folded it into the convolutions, see ``export.model_from_onnx``).
    freeze_norm: bool = False


_WINDOWS: dict[int, torch.Tensor] = {}


def stft(audio: torch.Tensor) -> torch.Tensor:
    """Complex STFT of ``[..., samples]`` -> ``[..., 1025, frames]`` (periodic Hann, centred, zero-padded)."""
    if N_FFT not in _WINDOWS:
        _WINDOWS[N_FFT] = torch.hann_window(N_FFT)
    shape = audio.shape
    spec = torch.stft(audio.reshape(-1, shape[-1]), N_FFT, HOP, window=_WINDOWS[N_FFT], center=True,
                      pad_mode="constant", return_complex=True)  # fmt: skip
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(spec: torch.Tensor, length: int) -> torch.Tensor:
    shape = spec.shape
    audio = torch.istft(spec.reshape(-1, *shape[-2:]), N_FFT, HOP, window=_WINDOWS[N_FFT], center=True, length=length)
    return audio.reshape(*shape[:-2], length)


def make_batch(
    stems: np.ndarray, rng: np.random.Generator, config: TrainConfig, extra: Sequence[np.ndarray] = ()
) -> torch.Tensor:
    """Augmented source crops ``[batch, 4, 2, samples]`` float32 (the mixture is their sum).

    Each example comes from ``stems`` or, with probability ``config.extra_share``, from one of
    the ``extra`` data sets (remixing stays within the example's data set).
    """
    n_sources = stems.shape[1]
    length = (config.segment_frames - 1) * HOP
    out = np.zeros((config.batch, n_sources, 2, length), np.float32)
    for b in range(config.batch):
        use_extra = len(extra) > 0 and rng.random() < config.extra_share
        data = extra[int(rng.integers(len(extra)))] if use_extra else stems
        n_clips, clip_samples = data.shape[0], data.shape[2]
        same = rng.random() >= config.remix
        clip = int(rng.integers(n_clips))
        offset = int(rng.integers(0, clip_samples - length + 1))
        for s in range(n_sources):
            if not same:
                clip, offset = int(rng.integers(n_clips)), int(rng.integers(0, clip_samples - length + 1))
            if rng.random() < config.dropout:
                continue
            crop = np.asarray(data[clip, s, offset : offset + length], np.float32).T
            if rng.random() < 0.5:
                crop = crop[::-1]
            gain = 10 ** (rng.uniform(-9, 3) / 20) * (-1 if rng.random() < 0.5 else 1)
            out[b, s] = crop * gain
        mix_rms = float(np.sqrt(np.mean(out[b].sum(axis=0) ** 2)))
        if mix_rms > 1e-5:
            out[b] *= 10 ** (rng.uniform(-32, -12) / 20) / mix_rms
    return torch.from_numpy(out)


def mask_loss(model: BandUNet, sources: torch.Tensor) -> torch.Tensor:
    """L1 distance to the oracle Wiener-like mask (stem power over total), weighted by |mixture|.

    Equivalently: L1 between the masked mixture magnitude and the oracle-masked one. Real masks
    cannot change the mixture's phase, so a waveform or complex-spectrum loss is dominated by an
    error no mask can remove; this target is what the masks can reach (its SDR on the held-out
    set is the "IRM (oracle)" row of docs/stems.md) and trains several times faster.
    """
    spec = stft(sources)  # [B, sources, 2, F, T]
    mix_spec = spec.sum(dim=1)  # the STFT is linear: no fifth transform for the mixture
    power = spec.real.square() + spec.imag.square()
    oracle = power / power.sum(dim=1, keepdim=True).clamp_min(1e-12)
    magnitude = mix_spec.abs()
    masks = model(magnitude)
    scale = magnitude.mean(dim=(1, 2, 3), keepdim=True).unsqueeze(1) + 1e-8
    return ((masks - oracle).abs() * magnitude.unsqueeze(1) / scale).mean()


def batch_sdr(model: BandUNet, sources: torch.Tensor) -> np.ndarray:
    """MDX-style SDR in dB per example and source, ``[batch, sources]``, of the model's waveforms.

    Sources that are silent in an example (below -60 dB relative to its mixture) are NaN: SDR
    means nothing there, and one such clip would otherwise drag a mean down by tens of dB.
    """
    with torch.no_grad():
        mix = sources.sum(dim=1)
        mix_spec = stft(mix)
        estimate = istft(model(mix_spec.abs()) * mix_spec.unsqueeze(1), mix.shape[-1])
    num = (sources**2).sum(dim=(2, 3))
    den = ((sources - estimate) ** 2).sum(dim=(2, 3))
    sdr = (10 * torch.log10((num + 1e-8) / (den + 1e-8))).numpy()
    present = (num > 1e-6 * (mix**2).sum(dim=(1, 2))[:, None]).numpy()
    return np.where(present, sdr, np.nan)


def _valid_batch(path: Path, config: TrainConfig) -> torch.Tensor | None:
    """A fixed validation batch: the middle crop of the first ``valid_clips`` held-out clips."""
    if not (path / "stems.npy").exists():
        return None
    stems, _ = load_dataset(path)
    length = (config.segment_frames * 2 - 1) * HOP
    start = max((stems.shape[2] - length) // 2, 0)
    crops = np.asarray(stems[: config.valid_clips, :, start : start + length], np.float32)
    return torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 1, 3, 2)))


def _train_mode(model: BandUNet, freeze_norm: bool) -> None:
    """``model.train()``, with the BatchNorm layers kept in eval mode when ``freeze_norm``."""
    model.train()
    if freeze_norm:
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eval()


def train(config: TrainConfig, *, resume: bool = False, log: Callable[[str], None] = print) -> Path:
    """Train; returns the checkpoint path (``out/checkpoint.pt``)."""
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / "checkpoint.pt"
    stems, records = load_dataset(Path(config.data))
    extra = [load_dataset(Path(path))[0] for path in config.extra_data]
    if config.init_onnx and not (resume and checkpoint_path.exists()):
        from training.stems.export import model_from_onnx

        shape = {"widths": tuple(config.widths), "blocks": tuple(config.blocks)}
        model = model_from_onnx(Path(config.init_onnx), shape)
        log(f"initialised from {config.init_onnx}")
    else:
        model = BandUNet(widths=tuple(config.widths), blocks=tuple(config.blocks))
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    step, elapsed_before = 0, 0.0
    if resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        step, elapsed_before = state["step"], state.get("elapsed_s", 0.0)
        rng = np.random.default_rng(config.seed + step)
        log(f"resumed at step {step}")
    valid = _valid_batch(Path(config.valid), config) if config.valid else None
    n_params = sum(p.numel() for p in model.parameters())
    log(f"training BandUNet ({n_params / 1e6:.2f} M parameters) on {len(records)} clips "
        f"{tuple(stems.shape)} and {[tuple(e.shape) for e in extra]}: {json.dumps(asdict(config))}")  # fmt: skip

    def save(final: bool = False) -> None:
        state = {
            "model": model.state_dict(),
            "optimiser": optimiser.state_dict(),
            "step": step,
            "elapsed_s": elapsed,
            "config": model.config,
            "train_config": asdict(config),
            "final": final,
        }
        tmp = checkpoint_path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(checkpoint_path)

    start = time.monotonic()
    elapsed = elapsed_before
    running = []
    _train_mode(model, config.freeze_norm)
    while True:
        elapsed = elapsed_before + time.monotonic() - start
        progress = max(step / config.steps, elapsed / (60 * config.max_minutes))
        if progress >= 1.0:
            break
        warm = min(1.0, (step + 1) / config.warmup_steps)
        lr = config.lr * warm * 0.5 * (1 + math.cos(math.pi * progress))
        for group in optimiser.param_groups:
            group["lr"] = lr
        loss = mask_loss(model, make_batch(stems, rng, config, extra))
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimiser.step()
        step += 1
        running.append(loss.item())
        if step % 20 == 0:
            log(f"step {step} loss {np.mean(running):.4f} lr {lr:.2e} elapsed {elapsed / 60:.1f} min")
            running = []
        if step % config.checkpoint_every == 0:
            save()
        if valid is not None and step % config.valid_every == 0:
            model.eval()
            sdr = np.nanmean(batch_sdr(model, valid), axis=0)
            _train_mode(model, config.freeze_norm)
            log(f"step {step} valid SDR dB: " + " ".join(f"{s:.2f}" for s in sdr))
    model.eval()
    if valid is not None:
        sdr = np.nanmean(batch_sdr(model, valid), axis=0)
        log(f"final step {step} valid SDR dB: " + " ".join(f"{s:.2f}" for s in sdr))
    save(final=True)
    log(f"done: {step} steps in {elapsed / 60:.1f} min -> {checkpoint_path}")
    return checkpoint_path
