"""Benchmark stem separation: real-time factor and peak memory for a long input, side by side.

One input (default 10 minutes of 44.1 kHz stereo, the held-out mixtures tiled, or a synthetic
mix when no data is rendered) is separated in the same run, each system in its own fresh
process so peak memory (``ru_maxrss``) is its own:

- ``promptdaw (streaming)``: the model read from and written to files block by block
  (``iter_separate`` + ``StemFiles``), the bounded-memory path;
- ``promptdaw (in memory)``: the daemon task's in-process code (``tasks.separate.separate_audio``)
  on the whole array, as one big request does (input plus four output buffers held);
- ``HTDemucs``: the ``demucs.htdemucs.HTDemucs`` architecture (4 sources, random weights:
  speed does not depend on weight values) through ``demucs.apply.apply_model`` with its
  defaults (shifts=1, split into 7.8 s segments, overlap 0.25), torch on the same threads.

    .venv/bin/python scripts/bench_stems.py [--seconds 600] [--json out.json]

needs the ``bench`` extra (demucs) for the HTDemucs row (skipped with a note otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 44100
READ_BLOCK_S = 10.0


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_input(path: Path, seconds: float, data: Path) -> str:
    """Write the benchmark input; returns a description of it."""
    from pedalboard.io import AudioFile

    n = int(seconds * SAMPLE_RATE)
    if (data / "stems.npy").exists():
        stems = np.load(data / "stems.npy", mmap_mode="r")
        source = f"held-out mixtures ({data}) tiled"
    else:
        rng = np.random.default_rng(0)
        t = np.arange(10 * SAMPLE_RATE) / SAMPLE_RATE
        kick = np.sin(2 * np.pi * 55 * t) * np.exp(-(t % 0.5) * 20)
        tones = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 330 * t)
        noise = 0.05 * rng.standard_normal(t.size) * np.exp(-(t % 0.25) * 40)
        mono = (0.5 * kick + tones + noise).astype(np.float32)
        stems = np.stack([mono, mono], axis=1)[None, None]  # one clip, one "stem"
        source = "a synthetic kick/tone/noise mix tiled"
    with AudioFile(str(path), "w", SAMPLE_RATE, 2, bit_depth=32) as f:
        written, clip = 0, 0
        while written < n:
            mix = np.asarray(stems[clip % stems.shape[0]], np.float32).sum(axis=0)
            take = min(mix.shape[0], n - written)
            f.write(np.ascontiguousarray(mix[:take].T))
            written += take
            clip += 1
    return source


# ---------------------------------------------------------------------- children


def child_ours(input_path: Path, out_dir: Path, threads: int, streaming: bool) -> dict:
    from pedalboard.io import AudioFile

    from promptdaw.inference_server.tasks.separate import separate_audio
    from promptdaw.runtime.catalog import STEM_SEPARATION, model_for
    from promptdaw.runtime.registry import ModelRegistry
    from promptdaw.runtime.separation import Geometry, iter_separate
    from promptdaw.runtime.separation.stem_files import StemFiles

    start = time.perf_counter()
    registry = ModelRegistry(
        Path(os.environ.get("PROMPTDAW_MODELS_DIR", REPO / "models")),
        providers=["CPUExecutionProvider"],
        intra_op_threads=threads,
    )
    model = model_for(registry, STEM_SEPARATION)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    with AudioFile(str(input_path)) as f:
        rate, frames = int(f.samplerate), f.frames
        if streaming:
            geometry = Geometry.from_manifest_window(model.manifest.extra.get("window"))

            def blocks():
                while f.tell() < frames:
                    yield f.read(int(READ_BLOCK_S * rate)).T

            def run_model(magnitude: np.ndarray) -> np.ndarray:
                return model.run({"magnitude": magnitude}, ["masks"])["masks"]

            with StemFiles(out_dir, rate) as files:
                for block in iter_separate(blocks(), rate, frames, run_model, geometry=geometry):
                    files.write(block)
        else:
            samples = np.ascontiguousarray(f.read(frames).T)
            separate_audio(model, samples, rate)
    return {"load_s": load_s, "separate_s": time.perf_counter() - start, "seconds": frames / rate,
            "peak_rss_bytes": _peak_rss_bytes()}  # fmt: skip


def child_htdemucs(input_path: Path, threads: int, limit_s: float | None = None) -> dict:
    from fractions import Fraction

    import torch
    from demucs.apply import apply_model
    from demucs.htdemucs import HTDemucs
    from pedalboard.io import AudioFile

    torch.set_num_threads(threads)
    start = time.perf_counter()
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"], segment=Fraction(39, 5)).eval()
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    with AudioFile(str(input_path)) as f:
        rate = int(f.samplerate)
        frames = f.frames if limit_s is None else min(f.frames, int(limit_s * rate))
        mix = torch.from_numpy(f.read(frames))[None]
    with torch.no_grad():
        apply_model(model, mix, shifts=1, split=True, overlap=0.25, progress=False)
    return {"load_s": load_s, "separate_s": time.perf_counter() - start, "seconds": frames / rate,
            "peak_rss_bytes": _peak_rss_bytes(), "parameters": sum(p.numel() for p in model.parameters())}  # fmt: skip


# ---------------------------------------------------------------------- parent


def run_child(
    kind: str, input_path: Path, out_dir: Path, threads: int, timeout_s: float, limit_s: float | None = None
) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--input", str(input_path), "--out", str(out_dir),
               "--threads", str(threads)]  # fmt: skip
    if limit_s is not None:
        command += ["--limit-seconds", str(limit_s)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:g} s"}
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": tail[0]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="input length (default 10 minutes)")
    parser.add_argument("--threads", type=int, default=2, help="threads for onnxruntime and torch (default 2)")
    parser.add_argument("--data", type=Path, default=REPO / "data/stems/heldout")
    parser.add_argument("--skip-htdemucs", action="store_true")
    parser.add_argument("--htdemucs-seconds", type=float,
                        help="run HTDemucs on only the first S seconds of the input (it is ~50x slower)")  # fmt: skip
    parser.add_argument("--limit-seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=1800.0, help="per system, seconds")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=["ours-stream", "ours-array", "htdemucs"], help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        if args.child == "htdemucs":
            report = child_htdemucs(args.input, args.threads, args.limit_seconds)
        else:
            report = child_ours(args.input, args.out, args.threads, streaming=args.child == "ours-stream")
        print(json.dumps(report))
        return 0

    systems = [("promptdaw (streaming)", "ours-stream"), ("promptdaw (in memory)", "ours-array")]
    if not args.skip_htdemucs:
        systems.append(("HTDemucs architecture", "htdemucs"))
    results = {}
    with tempfile.TemporaryDirectory(prefix="promptdaw-bench-stems-") as tmp:
        input_path = Path(tmp) / "input.wav"
        source = make_input(input_path, args.seconds, args.data)
        for label, kind in systems:
            limit = args.htdemucs_seconds if kind == "htdemucs" else None
            results[label] = run_child(kind, input_path, Path(tmp) / kind, args.threads, args.timeout, limit)
            print(f"{label}: {json.dumps(results[label])}", file=sys.stderr, flush=True)
    report = {
        "input": f"{args.seconds:g} s of 44.1 kHz stereo: {source}",
        "threads": args.threads,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "systems": results,
    }
    print(f"input: {report['input']}; {args.threads} threads\n")
    print("| system | audio separated | separation time | real-time factor | peak memory | model load |")
    print("|---|---|---|---|---|---|")
    for label, r in results.items():
        if "error" in r:
            print(f"| {label} | | failed: {r['error']} | | | |")
            continue
        print(f"| {label} | {r['seconds']:.0f} s | {r['separate_s']:.1f} s | {r['separate_s'] / r['seconds']:.4f} | "
              f"{r['peak_rss_bytes'] / 2**20:.0f} MiB | {r['load_s']:.2f} s |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
