"""Daemon benchmarks: ping latency, a 50 MB audio round trip, transcription speed, and the
daemon's overhead against the same transcription run in-process, side by side in one run.

    .venv/bin/python scripts/bench_daemon.py            # table for docs/benchmarks.md
    .venv/bin/python scripts/bench_daemon.py --json     # machine-readable

Targets (issue 2, 2-core CPU): ping p50 <= 0.3 ms, daemon overhead <= 5 %, transcription
faster than 50x real time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import onnxruntime
from tqdm import tqdm

from promptdaw.client import Client
from promptdaw.core.paths import models_dir
from promptdaw.inference_server.protocol import Audio
from promptdaw.inference_server.tasks.transcribe import TranscribeOptions, transcribe_to_midi
from promptdaw.launcher import temporary_daemon
from promptdaw.runtime.onnx import select_providers
from promptdaw.runtime.registry import ModelRegistry
from promptdaw.signals import synth_notes

MODEL = "basic_pitch"
SAMPLE_RATE = 44100


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "platform": platform.platform(),
    }


def song(duration_s: float) -> np.ndarray:
    """Stereo 44.1 kHz audio of random notes, two at a time: something real to transcribe."""
    rng = np.random.default_rng(0)
    notes = [(t, t + 0.4, int(rng.integers(40, 90))) for t in np.arange(0.1, duration_s - 1, 0.25)]
    mono = synth_notes(notes, duration_s, sample_rate=SAMPLE_RATE, noise_level=1e-3)
    return np.stack([mono, mono], axis=1)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_ping(client: Client, n: int) -> dict[str, float]:
    for _ in range(200):  # warm up sockets and caches
        client.ping()
    times = [client.ping() for _ in tqdm(range(n), desc="ping", leave=False)]
    return {"n": n, "p50_ms": percentile(times, 50) * 1e3, "p99_ms": percentile(times, 99) * 1e3}


def bench_big_round_trip(client: Client, megabytes: float, reps: int) -> dict[str, float]:
    samples = np.random.default_rng(1).standard_normal((int(megabytes * 1e6 / 8), 2)).astype(np.float32)
    payload = (Audio(samples, SAMPLE_RATE),)
    times = []
    for _ in tqdm(range(reps), desc=f"{megabytes:g} MB round trip", leave=False):
        start = time.perf_counter()
        reply = client.request("ping", payloads=payload, timeout_s=120)
        times.append(time.perf_counter() - start)
        assert reply.payloads[0].samples.shape == samples.shape
    p50 = percentile(times, 50)
    return {"megabytes": samples.nbytes / 1e6, "p50_ms": p50 * 1e3, "throughput_mb_s": 2 * samples.nbytes / 1e6 / p50}


def bench_transcription(client: Client, audio_s: float, reps: int) -> dict[str, float]:
    """The same transcription in the daemon and in this process, interleaved rep by rep."""
    samples = song(audio_s)
    registry = ModelRegistry(models_dir(), providers=select_providers())
    model = registry.get(MODEL)
    options = TranscribeOptions()
    in_process, daemon = [], []
    transcribe_to_midi(model, samples, SAMPLE_RATE, options)  # warm-up, both sides
    client.transcribe(samples, SAMPLE_RATE, timeout_s=300)
    for _ in tqdm(range(reps), desc="transcription", leave=False):
        in_process.append(timed(lambda: transcribe_to_midi(model, samples, SAMPLE_RATE, options)))
        daemon.append(timed(lambda: client.transcribe(samples, SAMPLE_RATE)))
    p50_in, p50_daemon = statistics.median(in_process), statistics.median(daemon)
    return {
        "audio_s": audio_s,
        "reps": reps,
        "in_process_p50_s": p50_in,
        "daemon_p50_s": p50_daemon,
        "realtime_factor_daemon": audio_s / p50_daemon,
        "realtime_factor_in_process": audio_s / p50_in,
        "daemon_overhead_pct": 100 * (p50_daemon / p50_in - 1),
    }


def table(results: dict[str, Any]) -> str:
    p, r, t = results["ping"], results["round_trip"], results["transcription"]
    rows = [
        ("ping round trip p50", f"{p['p50_ms']:.3f} ms", "<= 0.3 ms"),
        ("ping round trip p99", f"{p['p99_ms']:.3f} ms", ""),
        (
            f"{r['megabytes']:.0f} MB audio round trip (ping echo) p50",
            f"{r['p50_ms']:.0f} ms ({r['throughput_mb_s']:.0f} MB/s both ways)",
            "",
        ),
        (
            f"transcription of {t['audio_s']:.0f} s 44.1 kHz stereo, daemon p50",
            f"{t['daemon_p50_s']:.3f} s = {t['realtime_factor_daemon']:.0f}x real time",
            "> 50x",
        ),
        (
            "same transcription in-process p50",
            f"{t['in_process_p50_s']:.3f} s = {t['realtime_factor_in_process']:.0f}x real time",
            "",
        ),
        ("daemon overhead vs in-process", f"{t['daemon_overhead_pct']:+.1f} %", "<= 5 %"),
    ]
    lines = ["| measure | result | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=5000)
    parser.add_argument("--megabytes", type=float, default=50.0)
    parser.add_argument("--round-trips", type=int, default=10)
    parser.add_argument("--audio-s", type=float, default=60.0)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with temporary_daemon() as daemon, Client(daemon.endpoint, timeout_s=120) as client:
        client.load(MODEL)
        results = {
            "machine": machine(),
            "ping": bench_ping(client, args.pings),
            "round_trip": bench_big_round_trip(client, args.megabytes, args.round_trips),
            "transcription": bench_transcription(client, args.audio_s, args.reps),
        }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        m = results["machine"]
        print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, onnxruntime {m['onnxruntime']}")
        print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
