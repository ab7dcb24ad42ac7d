"""Generate loops with their true stems: an evaluation set, or training data for the stems model.

    .venv/bin/python scripts/make_stem_loops.py --out data/stems/loops [--seeds 2]
    .venv/bin/python scripts/make_stem_loops.py --dataset data/stems/train_loops --count 240

Each prompt and seed goes through a real daemon's ``generate-loop`` (the path ``promptdaw
loop`` takes). With ``--out``, the rendered parts become one folder per loop for
``scripts/eval_stems.py --loops``: ``drums.wav`` (the drum part), ``bass.wav`` (the bass part)
and ``other.wav`` (every other part summed); the loops have no vocals. With ``--dataset``,
``--count`` loops of prompts composed from genre, part, key and tempo words (seeds from 1000,
so never the evaluation's) are tiled to ``--seconds`` (loops wrap without a seam) and written
in the stems training format (``stems.npy`` float16 ``[clips, 4, samples, 2]`` +
``clips.jsonl``), for ``scripts/train_stems.py --extra-data``.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import _checkout  # noqa: F401  (training/ from this checkout)
import numpy as np
from tqdm import tqdm

from promptdaw.client import Client
from promptdaw.core.audio_files import write_audio
from promptdaw.inference_server.protocol import Audio
from promptdaw.launcher import temporary_daemon
from training.stems.render import SAMPLE_RATE

REPO = Path(__file__).resolve().parents[1]
PROMPTS = (
    "house loop with drums, bass and chords in A minor, 124 bpm",
    "funk groove with slap bass and electric piano in E minor, 104 bpm",
    "trap beat with 808 bass and a bell melody in F minor, 140 bpm",
    "lofi hip hop loop with drums, bass and jazzy keys, 84 bpm",
    "techno loop with kick, rolling bass and an arp in D minor, 130 bpm",
    "pop loop with drums, bass, piano chords and a lead in C major, 100 bpm",
)  # fmt: skip
#: Loop part roles -> the stem they belong to (anything else is "other").
STEM_OF_ROLE = {"drums": "drums", "bass": "bass"}
SOURCES = ("drums", "bass", "vocals", "other")
#: Words the training prompts are composed from.
GENRES = ("house", "deep house", "techno", "trap", "lofi hip hop", "boom bap", "funk", "disco", "pop", "rock",
          "drum and bass", "reggaeton", "synthwave", "garage", "afrobeat", "r&b", "jazz", "dubstep")  # fmt: skip
PARTS = ("drums, bass and chords", "drums, bass and a lead melody", "drums and bass", "drums, bass, a pad and an arp",
         "bass and chords", "drums, bass, piano chords and a melody", "drums only")  # fmt: skip
KEYS = ("C major", "A minor", "F minor", "D minor", "G major", "E minor", "Bb major", "C# minor")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def training_prompts(count: int, seed: int) -> list[tuple[str, int]]:
    """``count`` (prompt, seed) pairs composed from the word lists, reproducibly."""
    rng = np.random.default_rng(seed)
    jobs = []
    for i in range(count):
        genre, parts, key = rng.choice(GENRES), rng.choice(PARTS), rng.choice(KEYS)
        bpm = int(rng.integers(70, 175))
        jobs.append((f"{genre} loop with {parts} in {key}, {bpm} bpm", 1000 + i))
    return jobs


def loop_stems(client: Client, prompt: str, seed: int, bars: int) -> tuple[dict[str, np.ndarray], int]:
    """The loop's parts summed per stem (float32 ``[frames, 2]``) and the sample rate."""
    reply = client.request("generate-loop", {"prompt": prompt, "seed": seed, "bars": bars})
    parts = [p for p in reply.payloads if isinstance(p, Audio)][1:]  # the mix comes first
    stems: dict[str, np.ndarray] = {}
    for role, part in zip(reply.body["parts"], parts, strict=True):
        name = STEM_OF_ROLE.get(role, "other")
        stems[name] = stems.get(name, 0) + part.samples
    return stems, parts[0].sample_rate


def write_training_set(client: Client, jobs: list[tuple[str, int]], out: Path, bars: int, seconds: float,
                       quiet: bool) -> Path:  # fmt: skip
    """Tile every loop to ``seconds`` and store the set as the stems trainer reads it."""
    out.mkdir(parents=True, exist_ok=True)
    n = round(seconds * SAMPLE_RATE)
    partial = out / "stems.npy.part"
    data = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float16, shape=(len(jobs), 4, n, 2))
    records = []
    for index, (prompt, seed) in enumerate(tqdm(jobs, desc="loops", disable=quiet)):
        stems, rate = loop_stems(client, prompt, seed, bars)
        if rate != SAMPLE_RATE:
            raise SystemExit(f"the daemon rendered at {rate} Hz; the stems model trains at {SAMPLE_RATE} Hz")
        for k, name in enumerate(SOURCES):
            if name in stems:
                audio = stems[name]
                data[index, k] = np.tile(audio, (-(-n // audio.shape[0]), 1))[:n].astype(np.float16)
        records.append({"name": f"{slug(prompt)}-{seed}", "piece": f"loop:{slug(prompt)}", "prompt": prompt,
                        "seed": seed, "duration_s": seconds, "source": "promptdaw generate-loop"})  # fmt: skip
    data.flush()
    del data
    (out / "clips.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    partial.replace(out / "stems.npy")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "data" / "stems" / "loops")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per prompt (default %(default)s)")
    parser.add_argument("--bars", type=int, default=4)
    parser.add_argument("--dataset", type=Path, help="write a training set here instead of evaluation folders")
    parser.add_argument("--count", type=int, default=240, help="loops in the training set (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="training clip length (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")
    args = parser.parse_args(argv)
    with temporary_daemon() as daemon, Client(daemon.endpoint, timeout_s=300) as client:
        if args.dataset:
            out = write_training_set(client, training_prompts(args.count, 0), args.dataset, args.bars, args.seconds,
                                     args.json)  # fmt: skip
            print(json.dumps([str(out)]) if args.json else f"{args.count} loops as a training set in {out}")
            return 0
        written = []
        jobs = [(prompt, seed) for prompt in PROMPTS for seed in range(1, args.seeds + 1)]
        for prompt, seed in tqdm(jobs, desc="loops", disable=args.json):
            stems, rate = loop_stems(client, prompt, seed, args.bars)
            folder = args.out / f"{slug(prompt)}-{seed}"
            for name, samples in stems.items():
                write_audio(folder / f"{name}.wav", samples.astype(np.float32), rate, bit_depth=32)
            written.append(str(folder))
    print(json.dumps(written) if args.json else f"{len(written)} loops with true stems in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
