"""Generate loops with their true stems for ``scripts/eval_stems.py --loops``.

    .venv/bin/python scripts/make_stem_loops.py --out data/stems/loops [--seeds 2]

Each prompt and seed goes through a real daemon's ``generate-loop`` (the path ``promptdaw
loop`` takes); the rendered parts become one folder per loop: ``drums.wav`` (the drum part),
``bass.wav`` (the bass part) and ``other.wav`` (every other part summed). The loops have no
vocals. Prompts are our own wording, unrelated to the evaluation sets.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from promptdaw.audio_files import write_audio
from promptdaw.inference_server.client import Client
from promptdaw.inference_server.protocol import Audio
from promptdaw.launcher import temporary_daemon

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


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "data" / "stems" / "loops")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per prompt (default %(default)s)")
    parser.add_argument("--bars", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print the folders written as JSON")
    args = parser.parse_args(argv)
    written = []
    jobs = [(prompt, seed) for prompt in PROMPTS for seed in range(1, args.seeds + 1)]
    with temporary_daemon() as daemon, Client(daemon.endpoint, timeout_s=300) as client:
        for prompt, seed in tqdm(jobs, desc="loops", disable=args.json):
            reply = client.request("generate-loop", {"prompt": prompt, "seed": seed, "bars": args.bars})
            stems_audio = [p for p in reply.payloads if isinstance(p, Audio)][1:]  # the mix comes first
            rate = stems_audio[0].sample_rate
            stems: dict[str, np.ndarray] = {}
            for role, part in zip(reply.body["parts"], stems_audio, strict=True):
                name = STEM_OF_ROLE.get(role, "other")
                stems[name] = stems.get(name, 0) + part.samples
            folder = args.out / f"{slug(prompt)}-{seed}"
            for name, samples in stems.items():
                write_audio(folder / f"{name}.wav", samples.astype(np.float32), rate, bit_depth=32)
            written.append(str(folder))
    print(json.dumps(written) if args.json else f"{len(written)} loops with true stems in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
