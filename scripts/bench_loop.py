"""Benchmark generate-loop through the daemon: a 4-bar 120 bpm stereo loop with 4 parts.

    .venv/bin/python scripts/bench_loop.py [--runs 30] [--json]

Target (issue 4, 2 CPU cores): p50 <= 500 ms. Each run uses a new seed, so every run
composes a new clip and predicts new patches; the loaded models are all that is kept. The
time is the client's: request sent to the last buffer received (mix, MIDI and four stems).
A breakdown of the same work in the benchmark's process (compose, render, master) shows
where the time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from pathlib import Path

import numpy as np
from bench_daemon import machine  # scripts/ is on sys.path when run as a script
from tqdm import tqdm

from promptdaw.client import Client
from promptdaw.core.paths import models_dir
from promptdaw.launcher import temporary_daemon

PROMPT = "house loop with drums, bass, chords and a lead melody in A minor, 120 bpm, 4 bars"
TARGET_P50_MS = 500.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far (Linux) of a process and its live children (the sample critic's
    listening workers): the work, whatever else the cores run."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            with contextlib.suppress(OSError):  # it ended meanwhile
                total += cpu_seconds(int(child))
    return total


def in_process_breakdown(seed: int, models: Path) -> dict[str, float]:
    """Compose, render and master once in this process, timing each stage (models preloaded)."""
    from promptdaw.inference_server.protocol import Request
    from promptdaw.inference_server.tasks.generate_loop import _loop_spec
    from promptdaw.inference_server.tasks.rendering import builtin_instruments, loop_instruments, render_loop
    from promptdaw.runtime.catalog import midi_generator
    from promptdaw.runtime.onnx import select_providers
    from promptdaw.runtime.registry import ModelRegistry

    class Context:
        def __init__(self, request: Request, registry: ModelRegistry) -> None:
            self.request, self.registry = request, registry

        def progress(self, fraction: float, stage: str) -> None:
            pass

        def warn(self, message: str) -> None:
            pass

    registry = ModelRegistry(models, providers=select_providers())
    request = Request("bench", "generate-loop", {"prompt": PROMPT, "seed": seed})
    ctx = Context(request, registry)
    times: dict[str, list[float]] = {"spec_ms": [], "compose_ms": [], "instruments_ms": [], "render_master_ms": []}
    for run in range(6):  # the first run loads the models and is dropped
        request = Request("bench", "generate-loop", {"prompt": PROMPT, "seed": seed + run})
        ctx.request = request
        t0 = time.perf_counter()
        spec = _loop_spec(ctx, request)  # type: ignore[arg-type]
        t1 = time.perf_counter()
        clip = midi_generator(registry).generate(spec)
        t2 = time.perf_counter()
        instruments = loop_instruments(clip.spec, builtin_instruments(registry, spec.seed))
        t3 = time.perf_counter()
        render_loop(clip, instruments)
        t4 = time.perf_counter()
        if run:
            for key, value in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                times[key].append(value * 1e3)
    return {key: float(np.median(values)) for key, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--models-dir", type=Path, default=models_dir())
    args = parser.parse_args(argv)
    daemon_args = ["--models-dir", str(args.models_dir)]
    with temporary_daemon(daemon_args) as daemon, Client(daemon.endpoint, timeout_s=120) as client:
        pid = daemon.process.pid
        reply = client.request("generate-loop", {"prompt": PROMPT, "seed": 0})  # loads the models
        first = reply.body
        times, cpu, lufs, exact = [], [], [], []
        for seed in tqdm(range(1, args.runs + 1), desc="generate-loop", disable=args.json):
            start, start_cpu = time.perf_counter(), cpu_seconds(pid)
            reply = client.request("generate-loop", {"prompt": PROMPT, "seed": seed})
            times.append(time.perf_counter() - start)
            cpu.append(cpu_seconds(pid) - start_cpu)
            lufs.append(reply.body["lufs"])
            exact.append(reply.payloads[0].samples.shape[0] == reply.body["length_samples"])
    report = {
        "machine": machine(),
        "prompt": PROMPT,
        "parts": first["parts"],
        "bars": first["bars"],
        "bpm": first["bpm"],
        "length_samples": first["length_samples"],
        "runs": args.runs,
        "p50_ms": float(np.percentile(times, 50) * 1e3),
        "p90_ms": float(np.percentile(times, 90) * 1e3),
        "daemon_cpu_p50_ms": float(np.percentile(cpu, 50) * 1e3),
        "load_average": os.getloadavg(),
        "lufs_min": float(min(lufs)),
        "lufs_max": float(max(lufs)),
        "length_exact": all(exact),
        "in_process_ms": in_process_breakdown(1000, args.models_dir),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        parts = ", ".join(report["parts"])
        print(f"generate-loop, {report['bars']} bars at {report['bpm']:g} bpm, {len(report['parts'])} parts "
              f"({parts}), {args.runs} runs:")  # fmt: skip
        print(f"| p50 | {report['p50_ms']:.0f} ms | <= {TARGET_P50_MS:.0f} ms |")
        print(f"| p90 | {report['p90_ms']:.0f} ms |  |")
        print(f"| daemon CPU time per loop, p50 | {report['daemon_cpu_p50_ms']:.0f} ms |  |")
        print(f"| load average during the run | {', '.join(f'{x:.1f}' for x in report['load_average'])} |  |")
        print(f"| loudness | {report['lufs_min']:.2f} .. {report['lufs_max']:.2f} LUFS | -14 +- 1 |")
        print(f"| exact length | {report['length_exact']} ({report['length_samples']} samples) |  |")
        print("in-process medians: " + ", ".join(f"{k} {v:.0f}" for k, v in report["in_process_ms"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
