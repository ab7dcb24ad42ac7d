"""Train the text-to-MIDI network from scratch and export it to models/text2midi/.

    .venv/bin/python scripts/train_text2midi.py                      # the committed model
    .venv/bin/python scripts/train_text2midi.py --smoke --out /tmp/t  # a few steps, for CI

Reproducible: a fixed seed, a corpus built deterministically from the music21 corpus and the
project's idiom library, and single-process CPU training (<= 60 minutes on 2 cores).
Checkpoints go to --checkpoint every --checkpoint-every steps; --resume continues from one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import _checkout  # noqa: F401  (training/ from this checkout)
import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from promptdaw.core.files import atomic_write_bytes
from promptdaw.core.paths import cache_dir
from promptdaw.runtime.text2midi.features import N_PITCHES, static_size
from training.text2midi.corpus import Piece, load_corpus
from training.text2midi.dataset import Sequences, build_sequences, learn_stats, training_corpus
from training.text2midi.export import export_model
from training.text2midi.model import RollGRU
from training.text2midi.validation import sampled_metrics

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "models" / "text2midi"
VERSION = "3.1"


def split(pieces: list[Piece], val_fraction: float) -> tuple[list[Piece], list[Piece]]:
    """Hold out whole source works (by source name hash) so validation is unseen music."""

    def held_out(piece: Piece) -> bool:
        work = piece.source.split("/var-")[0]
        return (hash_str(work) % 1000) / 1000 < val_fraction

    return [p for p in pieces if not held_out(p)], [p for p in pieces if held_out(p)]


def hash_str(text: str) -> int:
    value = 2166136261
    for ch in text.encode():
        value = ((value ^ ch) * 16777619) & 0xFFFFFFFF  # FNV-1a: stable across runs, unlike hash()
    return value


def sample_batch(seqs: Sequences, rng: np.random.Generator, batch: int, max_bars: int) -> tuple[torch.Tensor, ...]:
    """Random bar-aligned windows of up to ``max_bars`` bars; returns static, prev roll, targets, mask."""
    lengths = np.diff(seqs.offsets)
    picks = rng.choice(len(lengths), size=batch, p=lengths / lengths.sum())
    windows = []
    for i in picks:
        spb = int(seqs.steps_per_bar[i])
        bars = lengths[i] // spb
        start_bar = int(rng.integers(0, max(bars - max_bars, 0) + 1))
        start = seqs.offsets[i] + start_bar * spb
        stop = min(start + max_bars * spb, seqs.offsets[i + 1])
        windows.append((start, stop))
    steps = max(stop - start for start, stop in windows)
    s_dim = seqs.static.shape[1]
    static = np.zeros((batch, steps, s_dim), np.float32)
    roll = np.zeros((batch, steps + 1, 2 * N_PITCHES), np.float32)
    mask = np.zeros((batch, steps), np.float32)
    for b, (start, stop) in enumerate(windows):
        n = stop - start
        static[b, :n] = seqs.static[start:stop]
        onset, sounding = seqs.onset[start:stop], seqs.sounding[start:stop]
        roll[b, 1 : n + 1, :N_PITCHES] = onset
        roll[b, 1 : n + 1, N_PITCHES:] = sounding
        mask[b, :n] = 1
    prev = roll[:, :-1]
    onset_t = roll[:, 1:, :N_PITCHES]
    sustain_t = roll[:, 1:, N_PITCHES:] * (1 - onset_t)  # sounding but not restruck
    targets = np.concatenate([onset_t, sustain_t], axis=-1)
    return tuple(torch.from_numpy(a) for a in (static, prev, targets, mask))


def loss_fn(net: RollGRU, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    static, prev, targets, mask = batch
    logits, _ = net(static, prev)
    per = F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(-1)
    return (per * mask).sum() / mask.sum()


@torch.no_grad()
def evaluate(net: RollGRU, seqs: Sequences, seed: int, batches: int, batch: int, max_bars: int) -> float:
    net.eval()
    rng = np.random.default_rng(seed)
    losses = [float(loss_fn(net, sample_batch(seqs, rng, batch, max_bars))) for _ in range(batches)]
    net.train()
    return float(np.mean(losses))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="saved corpus (default: build it, cached)")
    parser.add_argument("--idioms", type=int, default=7000, help="idiom-library pieces")
    parser.add_argument("--music21-limit", type=int, default=None, help="music21 works (default: all used)")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--bars", type=int, default=4, help="bars per training window")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument(
        "--stop-after",
        type=int,
        default=None,
        help="stop and export after this many steps (the schedule still spans --steps)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny corpus, 3 steps: checks the pipeline")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.idioms, args.music21_limit, args.steps, args.batch, args.hidden = 40, 2, 3, 8, 32
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    started = time.time()

    pieces = load_corpus(args.corpus) if args.corpus else training_corpus(args.seed, args.idioms, args.music21_limit)
    from promptdaw.core.music.lexicon import GENRES

    train_pieces, val_pieces = split(pieces, 0.05)
    if not val_pieces:
        train_pieces, val_pieces = pieces[1:], pieces[:1]
    stats = learn_stats(train_pieces, extra_genres=list(GENRES))
    train, val = build_sequences(train_pieces, stats), build_sequences(val_pieces, stats)
    net = RollGRU(static_size(len(stats.genres)), hidden=args.hidden)
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
    )
    step, elapsed_before, history = 0, 0.0, []
    checkpoint = args.checkpoint or (cache_dir() / "text2midi-checkpoint.pt")
    if args.resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, rng = state["step"], state["rng"]
        elapsed_before, history = state.get("elapsed_s", 0.0), state.get("history", [])
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])

    last_step = min(args.steps, args.stop_after or args.steps)
    bar = tqdm(total=last_step, initial=step, desc="training", disable=args.json)
    while step < last_step:
        loss = loss_fn(net, sample_batch(train, rng, args.batch, args.bars))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        step += 1
        bar.update()
        bar.set_postfix(loss=f"{loss.item():.2f}")
        if step % args.checkpoint_every == 0 or step == last_step:
            val_loss = evaluate(net, val, 0, 4 if args.smoke else 20, args.batch, args.bars)
            sampled = sampled_metrics(net, stats.to_json(), seeds=(1,) if args.smoke else (1, 2))
            history.append({"step": step, "train_loss": float(loss), "val_loss": val_loss, "sampled": sampled})
            bar.write(f"step {step}: val loss {val_loss:.3f}, idiom checks passed {sampled['all']:.0%}")
            state = {"net": net.state_dict(), "optimizer": optimizer.state_dict(),
                     "schedule": schedule.state_dict(), "step": step, "rng": rng,
                     "torch_rng": torch.get_rng_state(), "history": history,
                     "elapsed_s": elapsed_before + time.time() - started}  # fmt: skip
            tmp = checkpoint.with_suffix(".part")
            torch.save(state, tmp)
            os.replace(tmp, checkpoint)
    bar.close()

    val_loss = evaluate(net, val, 0, 4 if args.smoke else 40, args.batch, args.bars)
    metrics = {
        "val_bce_per_step": round(val_loss, 4),
        "sampled_idiom_checks": sampled_metrics(net, stats.to_json(), seeds=(1,) if args.smoke else (1, 2, 3)),
        "train_steps": step,
        "schedule_steps": args.steps,
        "train_minutes": round((elapsed_before + time.time() - started) / 60, 1),
        "pieces": {"train": len(train_pieces), "val": len(val_pieces)},
        "train_bars": int(sum(p.bars for p in train_pieces)),
    }
    corpus = {"seed": args.seed, "idioms": args.idioms, "music21_limit": args.music21_limit}
    config = {"stats": stats.to_json(), "corpus": corpus, "args": {k: str(v) for k, v in vars(args).items()}}
    export_model(net, args.out, config, version=VERSION, metrics=metrics)
    atomic_write_bytes(checkpoint.with_suffix(".history.json"), json.dumps(history, indent=1).encode())
    summary = {"out": str(args.out), **metrics}
    print(json.dumps(summary, indent=2) if args.json else f"exported to {args.out}: {metrics}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
