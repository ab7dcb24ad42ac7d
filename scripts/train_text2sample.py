"""Train the text-to-sample network from scratch and export it to models/text2sample/.

    .venv/bin/python scripts/train_text2sample.py                      # the committed model
    .venv/bin/python scripts/train_text2sample.py --smoke --out /tmp/t  # a few steps, for CI

Reproducible: FluidR3_GM one-shots rendered by FluidSynth, the project's presets and texts
drawn from fixed seeds, single-threaded CPU training (``--max-minutes``, default 30). The data
set is cached (``--data``); checkpoints go to ``--checkpoint`` every ``--checkpoint-every``
steps and ``--resume`` continues from one.

Each step trains on two kinds of examples at once:

* rendered sounds: the network's patch is rendered by the differentiable synthesiser
  (``models/text2sample/synth_torch.py``) and compared with the FluidR3 one-shot by a
  multi-resolution spectrogram loss; the root note and hold time are regressed;
* presets: the network's patch is regressed onto the preset's controls.

Both also train the category output (cross-entropy).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from promptdaw.files import atomic_write_bytes
from promptdaw.inference_server.music.embedding import Embedder
from promptdaw.inference_server.registry import ModelRegistry
from promptdaw.inference_server.synthesis.constants import CATEGORIES, DRUM_CATEGORIES
from promptdaw.inference_server.synthesis.patch import PARAM_BY_NAME, PARAM_SIZE, SLICES
from promptdaw.models.text2sample.dataset import TRAIN_DURATION_S, TRAIN_RATE, TrainingSet, build_dataset
from promptdaw.models.text2sample.export import export_model
from promptdaw.models.text2sample.model import PatchNet
from promptdaw.models.text2sample.synth_torch import controls_from_unit, draw_noise, render_batch

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "models" / "text2sample"
DEFAULT_DATA = REPO / "data" / "text2sample" / "train.npz"
VERSION = "1.0"
STFT_SIZES = (2048, 512, 128)
#: Prompts of our own wording (not the evaluation's) to watch category accuracy while training.
PROBES = (
    ("booming kick drum", "kick"), ("snappy snare", "snare"), ("clap with reverb", "clap"),
    ("tight closed hihat", "closed hat"), ("sizzling open hi-hat", "open hat"), ("ride cymbal", "cymbal"),
    ("deep tom hit", "tom"), ("shaker one-shot", "percussion"), ("trap 808 with long decay", "808"),
    ("pure sine sub", "sub bass"), ("funky bass guitar", "bass"), ("grand piano note", "piano"),
    ("rhodes electric piano", "keys"), ("harp pluck", "pluck"), ("lush ambient pad", "pad"),
    ("screaming synth lead", "lead"), ("trumpet note", "brass"), ("cello sustain", "strings"),
    ("tubular bell", "bell"), ("marimba hit", "mallet"), ("uplifter fx", "riser"), ("downsweep fx", "downlifter"),
    ("cinematic boom", "impact"), ("filtered noise sweep", "noise sweep"),
)  # fmt: skip


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


def held_out(index: int) -> bool:
    return index % 20 == 7


class Sampler:
    """Draws training batches: conditioning vectors and targets."""

    def __init__(self, data: TrainingSet, rng: np.random.Generator, train: bool) -> None:
        self.data, self.rng = data, rng
        n_sounds, n_items = data.sounds, len(data.category)
        items = [i for i in range(n_items) if held_out(i) != train]
        self.sounds = np.array([i for i in items if i < n_sounds])
        self.presets = np.array([i for i in items if i >= n_sounds])
        # texts per item, for drawing one at random
        order = np.argsort(data.text_owner, kind="stable")
        owners = data.text_owner[order]
        starts = np.searchsorted(owners, np.arange(n_items))
        ends = np.searchsorted(owners, np.arange(n_items), side="right")
        self.text_ranges = [(order[s:e]) for s, e in zip(starts, ends, strict=True)]
        self.by_root = self.sounds[np.argsort(data.root[self.sounds])]

    def condition(self, items: np.ndarray, noise: float, drop_note: float) -> torch.Tensor:
        data = self.data
        texts = np.array([self.rng.choice(self.text_ranges[i]) for i in items])
        emb = data.embeddings[texts].astype(np.float32)
        if noise:
            emb = emb + self.rng.standard_normal(emb.shape).astype(np.float32) * noise
            emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        has_note = (self.rng.random(len(items)) >= drop_note).astype(np.float32)
        note = (data.root[items] - 60.0) / 24.0 * has_note
        velocity = data.velocity[items] / 127.0
        return torch.from_numpy(np.concatenate([emb, note[:, None], has_note[:, None], velocity[:, None]], axis=1))

    def sound_batch(self, size: int) -> np.ndarray:
        """Sounds of similar root notes, so the batch's harmonic count (and cost) stays low."""
        start = int(self.rng.integers(0, max(1, len(self.by_root) - 4 * size)))
        window = self.by_root[start : start + 4 * size]
        return self.rng.choice(window, size=min(size, len(window)), replace=False)

    def preset_batch(self, size: int) -> np.ndarray:
        return self.rng.choice(self.presets, size=min(size, len(self.presets)), replace=False)


def _unit_tensor(name: str, values: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.clip(PARAM_BY_NAME[name].to_unit(values), 0, 1).astype(np.float32))


#: Pitch movements rendered acoustic sounds do not make: (control, value in physical units, categories
#: exempt). The spectrogram loss would otherwise smear a steady tone with a glide or sweep (a moving
#: tone covers more bins and lowers the average error), so these controls are taken out of the
#: rendered patch and regressed onto their values instead; presets still teach them.
_HELD = (
    ("glide_st", 0.0, frozenset({"riser", "downlifter", "noise sweep", "impact"})),
    ("noise_sweep_oct", 0.0, frozenset({"riser", "downlifter", "noise sweep", "impact"})),
    ("pitch_env_st", 0.0, DRUM_CATEGORIES),  # drums and effects keep their pitch drop
)


#: Preset controls whose errors are heard most (pitch movements, the root) count five times.
PRESET_WEIGHTS = torch.ones(PARAM_SIZE)
for _name in ("glide_st", "noise_sweep_oct", "pitch_env_st", "root_note"):
    PRESET_WEIGHTS[SLICES[_name]] = 5.0
PRESET_WEIGHTS /= PRESET_WEIGHTS.mean()


def losses(net: PatchNet, sampler: Sampler, sounds: np.ndarray, presets: np.ndarray, *, noise: float,
           drop_note: float, generator: torch.Generator) -> dict[str, torch.Tensor]:  # fmt: skip
    data = sampler.data
    out: dict[str, torch.Tensor] = {}
    items = np.concatenate([sounds, presets])
    unit, logits = net(sampler.condition(items, noise, drop_note))
    out["category"] = F.cross_entropy(logits, torch.from_numpy(data.category[items]))
    n_s = len(sounds)
    if len(presets):
        target = torch.from_numpy(data.preset_unit[presets - data.sounds])
        out["preset"] = 10.0 * ((unit[n_s:] - target).pow(2) * PRESET_WEIGHTS).mean()
    if n_s:
        u = unit[:n_s]
        root_t = _unit_tensor("root_note", data.root[sounds])
        hold_t = _unit_tensor("hold_s", data.hold_s[sounds])
        out["root_hold"] = 10.0 * ((u[:, SLICES["root_note"]][:, 0] - root_t).pow(2).mean()
                                   + (u[:, SLICES["hold_s"]][:, 0] - hold_t).pow(2).mean())  # fmt: skip
        held = u.clone()
        still = torch.zeros(())
        names = [CATEGORIES[c] for c in data.category[sounds]]
        for name, value, exempt in _HELD:
            mask = torch.tensor([n not in exempt for n in names])
            target = float(PARAM_BY_NAME[name].to_unit(np.array([value]))[0])
            column = SLICES[name].start
            held[:, column] = torch.where(mask, torch.full_like(u[:, column], target), u[:, column])
            still = still + 10.0 * ((u[:, column] - target).pow(2) * mask.float()).mean()
        out["still"] = still
        n = round(TRAIN_DURATION_S * TRAIN_RATE)
        spectra, click = draw_noise(n_s, n, TRAIN_RATE, generator)
        audio = render_batch(controls_from_unit(held), torch.from_numpy(data.root[sounds].astype(np.float32)),
                             torch.from_numpy(data.gate_s[sounds]), n, TRAIN_RATE, spectra, click)  # fmt: skip
        out["spectral"] = spectral_loss(audio.mean(dim=1), torch.from_numpy(data.audio[sounds])).mean()
    return out


@torch.no_grad()
def evaluate(net: PatchNet, data: TrainingSet, embedder: Embedder, seed: int, smoke: bool) -> dict[str, float]:
    net.eval()
    sampler = Sampler(data, np.random.default_rng(seed), train=False)
    generator = torch.Generator().manual_seed(seed)
    spectral, preset, correct, total = [], [], 0, 0
    sounds, presets = sampler.sounds, sampler.presets
    step = 4 if smoke else 16
    for start in range(0, max(len(sounds), len(presets)), step):
        s, p = sounds[start : start + step], presets[start : start + step]
        parts = losses(net, sampler, s, p, noise=0.0, drop_note=0.0, generator=generator)
        if "spectral" in parts:
            spectral.append(float(parts["spectral"]) * len(s))
        if "preset" in parts:
            preset.append(float(parts["preset"]) / 10.0 * len(p))
    # category accuracy over every held-out text
    texts = np.flatnonzero(np.isin(data.text_owner, np.concatenate([sounds, presets])))
    for chunk in np.array_split(texts, max(1, len(texts) // 512)):
        emb = torch.from_numpy(data.embeddings[chunk].astype(np.float32))
        cond = torch.cat([emb, torch.zeros(len(chunk), 2), torch.full((len(chunk), 1), 0.8)], dim=1)
        _, logits = net(cond)
        correct += int((logits.argmax(1).numpy() == data.category[data.text_owner[chunk]]).sum())
        total += len(chunk)
    probe_emb = torch.from_numpy(embedder.embed([p for p, _ in PROBES]))
    cond = torch.cat([probe_emb, torch.zeros(len(PROBES), 2), torch.full((len(PROBES), 1), 0.8)], dim=1)
    probe_hits = (net(cond)[1].argmax(1).numpy() == np.array([CATEGORIES.index(c) for _, c in PROBES])).mean()
    net.train()
    return {
        "val_spectral_loss": round(sum(spectral) / max(1, len(sounds)), 4),
        "val_preset_mse": round(sum(preset) / max(1, len(presets)), 5),
        "val_text_category_accuracy": round(correct / max(1, total), 4),
        "probe_category_accuracy": round(float(probe_hits), 4),
    }


#: Machine-specific arguments left out of the exported config.
_PATH_ARGS = {"data", "out", "checkpoint", "models_dir", "json"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="cached data set (built when missing)")
    parser.add_argument("--rebuild", action="store_true", help="render and embed the data set again")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--max-minutes", type=float, default=30.0, help="stop (and export) after this long")
    parser.add_argument("--sounds", type=int, default=12, help="rendered sounds per step")
    parser.add_argument("--presets", type=int, default=32, help="presets per step")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--models-dir", type=Path, default=REPO / "models", help="where the minilm model is")
    parser.add_argument("--smoke", action="store_true", help="tiny data set, 3 steps: checks the pipeline")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    build = {}
    if args.smoke:
        args.steps, args.sounds, args.presets, args.hidden = 3, 2, 8, 32
        build = {"limit": 24, "presets_per_family": 2, "texts_per_sound": 3, "notes_per_program": 1}
        if args.data == DEFAULT_DATA:
            args.data = args.out.parent / "text2sample-smoke-data.npz"
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.time()
    log = (lambda line: None) if args.json else (lambda line: print(line, flush=True))

    registry = ModelRegistry(args.models_dir, providers=["CPUExecutionProvider"], intra_op_threads=args.threads)
    embedder = Embedder(registry.get("minilm"))
    if args.data.exists() and not args.rebuild:
        data = TrainingSet.load(args.data)
    else:
        data = build_dataset(embedder, seed=args.seed, log=log, **build)
        data.save(args.data)
    log(f"data: {data.sounds} rendered sounds, {len(data.preset_unit)} presets, {len(data.texts)} texts "
        f"({time.time() - started:.0f} s)")  # fmt: skip

    net = PatchNet(hidden=args.hidden)
    with torch.no_grad():  # start from the average preset: every layer audible, nothing extreme
        mean = torch.from_numpy(data.preset_unit.mean(axis=0)).clamp(0.05, 0.95)
        net.params.bias.copy_(torch.log(mean / (1 - mean)))
        net.params.weight.mul_(0.1)
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)

    def learning_rate(step: int) -> float:  # warm-up, then cosine decay
        return min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(step, args.steps) / max(1, args.steps)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate)
    rng = np.random.default_rng(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    step = 0
    checkpoint = args.checkpoint or (args.data.parent / "text2sample-checkpoint.pt")
    if args.resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, rng = state["step"], state["rng"]
        generator.set_state(state["generator"])
        started -= state.get("elapsed_s", 0.0)
    sampler = Sampler(data, rng, train=True)

    history = []
    running: dict[str, float] = {}
    skipped = 0
    while step < args.steps and (time.time() - started) / 60 < args.max_minutes:
        parts = losses(net, sampler, sampler.sound_batch(args.sounds), sampler.preset_batch(args.presets),
                       noise=0.03, drop_note=0.3, generator=generator)  # fmt: skip
        loss = sum(parts.values())
        optimizer.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        if not (torch.isfinite(loss) and torch.isfinite(norm)):
            skipped += 1  # a degenerate batch: drop it rather than poison the weights
            log(f"step {step}: non-finite loss or gradient, batch skipped ({skipped} so far)")
            optimizer.zero_grad()
            step += 1
            continue
        optimizer.step()
        schedule.step()
        step += 1
        for k, v in parts.items():
            running[k] = 0.95 * running.get(k, v.item()) + 0.05 * v.item()
        if step % 20 == 0 or step == 1:
            log(f"step {step} {time.time() - started:.0f}s " + " ".join(f"{k}={v:.3f}" for k, v in running.items()))
        if step % args.checkpoint_every == 0:
            history.append({"step": step, **{k: round(v, 4) for k, v in running.items()}})
            state = {"net": net.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                     "step": step, "rng": rng, "generator": generator.get_state(),
                     "elapsed_s": time.time() - started}  # fmt: skip
            tmp = checkpoint.with_suffix(".part")
            torch.save(state, tmp)
            os.replace(tmp, checkpoint)

    metrics = evaluate(net, data, embedder, args.seed, args.smoke)
    minutes = round((time.time() - started) / 60, 1)
    metrics.update({"skipped_steps": skipped, "train_steps": step, "train_minutes": minutes, "sounds": int(data.sounds),
                    "presets": len(data.preset_unit), "texts": len(data.texts)})  # fmt: skip
    config = {"training": {"seed": args.seed, "rate": TRAIN_RATE, "duration_s": TRAIN_DURATION_S,
                           "args": {k: str(v) for k, v in vars(args).items() if k not in _PATH_ARGS}}}  # fmt: skip
    export_model(net, args.out, config, version=VERSION, metrics=metrics)
    atomic_write_bytes(args.out / "training_history.json", json.dumps(history, indent=1).encode())
    summary = {"out": str(args.out), **metrics}
    print(json.dumps(summary, indent=2) if args.json else f"exported to {args.out}: {metrics}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
