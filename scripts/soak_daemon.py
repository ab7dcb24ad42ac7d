"""A bounded soak of the daemon: thousands of mixed, signed requests from several clients at once,
with the daemon's RSS sampled throughout (issue 20).

    nice -n 10 .venv/bin/python scripts/soak_daemon.py                 # table for docs/benchmarks.md
    nice -n 10 .venv/bin/python scripts/soak_daemon.py --requests 600  # a quick one
    .venv/bin/python scripts/soak_daemon.py --json

Each client thread sends a seeded random mix: quick requests (ping, status, models), short jobs
(generate-midi, generate-sample, a 2 s transcription, a one-bar loop), a job it cancels, a job it
abandons by closing its connection (the daemon must notice and cancel, or keep the result), and
messages without a valid signature (dropped). Every request must end in exactly one final reply
and none in ``internal``; RSS must come back near its level after warm-up once all is done.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_daemon import machine, percentile

from promptdaw.client import Client
from promptdaw.inference_server import protocol
from promptdaw.inference_server.errors import PromptdawError
from promptdaw.inference_server.protocol import Audio, Request
from promptdaw.launcher import temporary_daemon
from promptdaw.signals import synth_notes

AUDIO = synth_notes([(0.2, 0.8, 60), (1.0, 1.6, 64)], 2.0, noise_level=1e-3)
#: (kind, weight): what one request of a client is, drawn with these weights.
MIX = [
    ("ping", 30),
    ("status", 20),
    ("models", 5),
    ("generate-midi", 8),
    ("generate-sample", 6),
    ("transcribe", 6),
    ("generate-loop", 3),
    ("cancel", 3),
    ("abandon", 2),
    ("unsigned", 5),
]
JOBS = {
    "generate-midi": ({"prompt": "house groove in A minor", "bars": 2}, ()),
    "generate-sample": ({"prompt": "punchy kick", "duration_s": 0.5}, ()),
    "transcribe": ({}, (Audio(AUDIO, 22050),)),
    "generate-loop": ({"prompt": "lofi drum loop", "bars": 1}, ()),
}


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.latency: dict[str, list[float]] = {}

    def add(self, kind: str, outcome: str, seconds: float) -> None:
        with self.lock:
            self.outcomes[f"{kind}: {outcome}"] += 1
            self.latency.setdefault(kind, []).append(seconds)


def one_client(endpoint: str, seed: int, count: int, tally: Tally) -> None:
    rng = random.Random(seed)
    kinds, weights = zip(*MIX, strict=True)
    client = Client(endpoint, timeout_s=120)
    try:
        for _ in range(count):
            kind = rng.choices(kinds, weights)[0]
            start = time.perf_counter()
            outcome = run_one(client, endpoint, kind, rng, seed)
            tally.add(kind, outcome, time.perf_counter() - start)
    finally:
        client.close()


def run_one(client: Client, endpoint: str, kind: str, rng: random.Random, seed: int) -> str:
    try:
        if kind in ("ping", "status", "models"):
            client.request(kind)
        elif kind in JOBS:
            params, payloads = JOBS[kind]
            client.request(kind, {**params, "seed": rng.randrange(1000)}, payloads)
        elif kind == "cancel":
            request_id = client.send("generate-loop", {"prompt": "trap loop", "bars": 2, "seed": rng.randrange(1000)})
            cancel_id = client.send("cancel", {"request_id": request_id})
            try:  # the job's own final reply comes first: cancelled, or its result when it finished first
                client.wait(request_id)
            finally:
                client.wait(cancel_id)  # job_not_found when it had finished
        elif kind == "abandon":
            with Client(endpoint, timeout_s=120) as leaver:  # a connection that goes mid-job
                leaver.send("generate-loop", {"prompt": "house loop", "bars": 2, "seed": rng.randrange(1000)})
                time.sleep(rng.uniform(0.0, 0.5))
        elif kind == "unsigned":
            with zmq.Context.instance().socket(zmq.DEALER) as sock:
                sock.setsockopt(zmq.LINGER, 0)
                sock.connect(endpoint)
                body = protocol.encode_request(Request(f"u{seed}", "shutdown"))
                sock.send_multipart(protocol.sign(b"not the key", body))
                return "answered (wrong!)" if sock.poll(50) else "dropped"
        return "ok"
    except PromptdawError as exc:
        return protocol.error_to_wire(exc)["code"]


def sample_rss(endpoint: str, stop: threading.Event, samples: list[tuple[float, int]], period_s: float) -> None:
    with Client(endpoint, timeout_s=30) as monitor:
        start = time.monotonic()
        while not stop.wait(period_s):
            samples.append((time.monotonic() - start, monitor.status()["memory"]["rss_bytes"]))


def soak(requests: int, clients: int, seed: int) -> dict[str, Any]:
    with temporary_daemon(["--result-ttl", "5"]) as daemon:
        with Client(daemon.endpoint, timeout_s=120) as warm:
            for kind, (params, payloads) in JOBS.items():  # models loaded, pools at working size
                warm.request(kind, params, payloads)
            idle = warm.status()["memory"]["rss_bytes"]
        tally, samples, stop = Tally(), [], threading.Event()
        monitor = threading.Thread(target=sample_rss, args=(daemon.endpoint, stop, samples, 1.0))
        monitor.start()
        start = time.perf_counter()
        threads = [
            threading.Thread(target=one_client, args=(daemon.endpoint, seed + i, requests // clients, tally))
            for i in range(clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        stop.set()
        monitor.join()
        with Client(daemon.endpoint, timeout_s=30) as after:
            deadline = time.monotonic() + 60
            while (status := after.status())["kept_results"] or status["others"]["running"]:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            settled = status["memory"]["rss_bytes"]
            dropped = status["dropped_messages"]
    rss = [r for _, r in samples]
    quick = tally.latency.get("ping", []) + tally.latency.get("status", [])
    return {
        "machine": machine(),
        "requests": sum(tally.outcomes.values()),
        "clients": clients,
        "elapsed_s": round(elapsed, 1),
        "outcomes": dict(sorted(tally.outcomes.items())),
        "internal_errors": sum(n for k, n in tally.outcomes.items() if k.endswith(": internal")),
        "dropped_messages": dropped,
        "quick_p50_ms": round(1000 * percentile(quick, 50), 2),
        "quick_p99_ms": round(1000 * percentile(quick, 99), 2),
        "rss_mib": {
            "idle_after_warm_up": idle >> 20,
            "max_during": max(rss, default=0) >> 20,
            "median_during": int(np.median(rss)) >> 20 if rss else 0,
            "settled_after": settled >> 20,
        },
        "rss_settled_over_idle": round(settled / idle, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="in all (default %(default)s)")
    parser.add_argument("--clients", type=int, default=6, help="client threads (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = soak(args.requests, args.clients, args.seed)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        m, r = report["machine"], report["rss_mib"]
        print(f"{report['requests']} requests from {report['clients']} clients in {report['elapsed_s']} s "
              f"({m['cpu']}, {m['cores']} cores, Python {m['python']}, onnxruntime {m['onnxruntime']})")  # fmt: skip
        for outcome, n in report["outcomes"].items():
            print(f"  {outcome:<32} {n}")
        print(f"internal errors: {report['internal_errors']}; dropped unsigned: {report['dropped_messages']}")
        print(f"ping/status p50 {report['quick_p50_ms']} ms, p99 {report['quick_p99_ms']} ms")
        print(f"RSS MiB: idle {r['idle_after_warm_up']}, median {r['median_during']}, max {r['max_during']}, "
              f"settled {r['settled_after']} ({report['rss_settled_over_idle']:.2f}x idle)")  # fmt: skip
    return 1 if report["internal_errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
