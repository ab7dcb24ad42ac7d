"""Benchmark generate-midi through the daemon: 8 bars x 4 parts, p50 and p99.

    .venv/bin/python scripts/bench_text2midi.py [--runs 100] [--json]

Target (issue 3, 2 CPU cores): p50 <= 150 ms, p99 <= 400 ms. Each run uses a new seed, so
nothing is cached between runs except the loaded models; the prompt is parsed every time.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from bench_daemon import machine  # scripts/ is on sys.path when run as a script
from tqdm import tqdm

from promptdaw.client import Client
from promptdaw.launcher import temporary_daemon

PROMPT = "dark trap in F minor, 140 bpm, 8 bars, drums, 808 bass, piano chords and a bell melody"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with temporary_daemon() as daemon, Client(daemon.endpoint, timeout_s=60) as client:
        result, _ = client.midi_job("generate-midi", {"prompt": PROMPT, "seed": 0})  # loads the models
        parts = [p["role"] for p in result["spec"]["parts"]]
        times = []
        for seed in tqdm(range(1, args.runs + 1), desc="generate-midi", disable=args.json):
            start = time.perf_counter()
            client.midi_job("generate-midi", {"prompt": PROMPT, "seed": seed})
            times.append(time.perf_counter() - start)
    report = {
        "machine": machine(),
        "prompt": PROMPT,
        "parts": parts,
        "bars": result["spec"]["bars"],
        "runs": args.runs,
        "p50_ms": float(np.percentile(times, 50) * 1e3),
        "p99_ms": float(np.percentile(times, 99) * 1e3),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"generate-midi, {report['bars']} bars x {len(parts)} parts ({', '.join(parts)}), {args.runs} runs:")
        print(f"| p50 | {report['p50_ms']:.0f} ms | <= 150 ms |\n| p99 | {report['p99_ms']:.0f} ms | <= 400 ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
