"""Text-to-sample speed: one-shots through the daemon, against MusicGen-small's architecture.

    .venv/bin/python scripts/bench_sample.py            # table for docs/benchmarks.md
    .venv/bin/python scripts/bench_sample.py --json     # machine-readable
    .venv/bin/python scripts/bench_sample.py --no-musicgen

Through a real daemon over real sockets: ``generate-sample`` of a 1 s one-shot (target p50 <=
50 ms on 2 CPU cores) over prompts of every kind, and of 4 s samples. In the same run, the
MusicGen-small architecture (transformers' ``MusicgenForConditionalGeneration`` built from
its published configuration with random weights: speed does not depend on weight values)
generates 4 s of audio (200 steps at 50 Hz, 4 codebooks, classifier-free guidance 3.0,
top-k 250 sampling, as its generation config does), so the ratio compares like with like.
Needs the ``bench`` extra (transformers) for the comparison.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from promptdaw.client import Client
from promptdaw.launcher import spawn_daemon, wait_until_serving

REPO = Path(__file__).resolve().parents[1]
PROMPTS = (
    "punchy 808 kick", "tight snare", "closed hi-hat", "crash cymbal", "deep 808 bass in F1", "soft piano note C4",
    "bright plucky synth A4", "warm analog pad on G3", "brass stab Bb3", "saw lead D5", "string section A3",
    "glassy bell E5", "layered clap", "low floor tom", "shaker", "noise riser",
)  # fmt: skip
MUSICGEN_SECONDS = 4.0
MUSICGEN_FRAME_RATE = 50


def free_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def bench_daemon(endpoint: str, reps: int, seconds: float) -> dict[str, Any]:
    """p50/p90 of generate-sample, every prompt ``reps`` times (seeds differ: no cache hit on the audio)."""
    times = []
    with Client(endpoint, timeout_s=120) as client:
        for prompt in PROMPTS:  # warm up: models loaded, prompt embeddings cached as in a session
            client.request("generate-sample", {"prompt": prompt, "duration_s": seconds})
        for rep in range(reps):
            for prompt in PROMPTS:
                start = time.perf_counter()
                client.request("generate-sample", {"prompt": prompt, "duration_s": seconds, "seed": rep + 1})
                times.append(time.perf_counter() - start)
        cold = []
        for i in range(5):  # a prompt the daemon has never seen: the sentence embedding runs too
            start = time.perf_counter()
            client.request("generate-sample", {"prompt": f"new sound number {i} for a bench", "duration_s": seconds})
            cold.append(time.perf_counter() - start)
    return {
        "seconds": seconds,
        "n": len(times),
        "p50_ms": 1e3 * float(np.percentile(times, 50)),
        "p90_ms": 1e3 * float(np.percentile(times, 90)),
        "new_prompt_p50_ms": 1e3 * statistics.median(cold),
    }


def musicgen_small():
    """MusicGen-small's architecture from its published configuration (random weights)."""
    import torch
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        T5Config,
    )

    text = T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12,
                    relative_attention_num_buckets=32, feed_forward_proj="relu")  # fmt: skip
    audio = EncodecConfig(sampling_rate=32000, audio_channels=1, codebook_size=2048, codebook_dim=128, hidden_size=128,
                          num_filters=64, upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[2.2], normalize=False,
                          use_causal_conv=False, compress=2, num_lstm_layers=2, residual_kernel_size=3,
                          use_conv_shortcut=False, norm_type="weight_norm", pad_mode="reflect")  # fmt: skip
    decoder = MusicgenDecoderConfig(vocab_size=2048, max_position_embeddings=2048, num_hidden_layers=24, ffn_dim=4096,
                                    num_attention_heads=16, hidden_size=1024, num_codebooks=4, audio_channels=1,
                                    activation_function="gelu", pad_token_id=2048, bos_token_id=2048)  # fmt: skip
    config = MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder)
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config).eval()
    model.generation_config.decoder_start_token_id = 2048
    model.generation_config.pad_token_id = 2048
    return model


def bench_musicgen(reps: int) -> dict[str, Any]:
    import torch

    started = time.perf_counter()
    model = musicgen_small()
    build_s = time.perf_counter() - started
    params = sum(p.numel() for p in model.parameters())
    input_ids = torch.randint(0, 32000, (1, 12))  # a tokenised prompt of a typical length
    steps = round(MUSICGEN_SECONDS * MUSICGEN_FRAME_RATE)
    times, samples = [], 0
    for _ in range(reps):
        start = time.perf_counter()
        with torch.no_grad():
            audio = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), do_sample=True,
                                   top_k=250, guidance_scale=3.0, max_new_tokens=steps)  # fmt: skip
        times.append(time.perf_counter() - start)
        samples = int(audio.shape[-1])
    return {"parameters": params, "build_s": build_s, "reps": reps, "seconds_generated": samples / 32000,
            "median_s": statistics.median(times), "times_s": times,
            "torch_threads": torch.get_num_threads()}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4, help="repetitions of every prompt")
    parser.add_argument("--musicgen-reps", type=int, default=2)
    parser.add_argument("--no-musicgen", action="store_true")
    parser.add_argument("--models-dir", type=Path, default=REPO / "models")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d")}
    endpoint = free_endpoint()
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "daemon.log"
        process = spawn_daemon(endpoint, log_path, ["--models-dir", str(args.models_dir)])
        try:
            wait_until_serving(endpoint, process, log_path)
            results["one_shot_1s"] = bench_daemon(endpoint, args.reps, 1.0)
            results["sample_4s"] = bench_daemon(endpoint, max(1, args.reps // 2), MUSICGEN_SECONDS)
            with Client(endpoint, timeout_s=30) as client:
                client.shutdown()
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    if not args.no_musicgen:
        results["musicgen_small_4s"] = bench_musicgen(args.musicgen_reps)
        results["ratio_4s"] = results["musicgen_small_4s"]["median_s"] / (results["sample_4s"]["p50_ms"] / 1e3)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    one, four = results["one_shot_1s"], results["sample_4s"]
    rows = [
        "| measure | result | target |",
        "|---|---|---|",
        f"| 1 s one-shot through the daemon, p50 ({one['n']} requests, 16 prompts) | {one['p50_ms']:.1f} ms "
        f"(p90 {one['p90_ms']:.1f} ms) | <= 50 ms |",
        f"| 1 s one-shot, prompt never seen before (embedding included), p50 | {one['new_prompt_p50_ms']:.1f} ms | |",
        f"| 4 s sample through the daemon, p50 | {four['p50_ms']:.1f} ms | |",
    ]
    if "musicgen_small_4s" in results:
        mg = results["musicgen_small_4s"]
        rows += [
            f"| MusicGen-small architecture ({mg['parameters'] / 1e6:.0f} M parameters, random weights), 4 s of "
            f"audio, median of {mg['reps']} | {mg['median_s']:.1f} s | |",
            f"| speed-up for 4 s of audio (MusicGen-small / ours) | {results['ratio_4s']:.0f}x | |",
        ]
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
