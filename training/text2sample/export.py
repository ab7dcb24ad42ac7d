"""Export a trained PatchNet to ONNX with its manifest and runtime config (torch; training only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from promptdaw.core.files import atomic_write_bytes
from promptdaw.runtime.registry import sha256_file
from promptdaw.runtime.synthesis.constants import CATEGORIES, DEFAULT_SAMPLE_RATE
from promptdaw.runtime.synthesis.patch import PARAMS
from training.text2sample.model import CONDITION_SIZE, PatchNet

__all__ = ["export_model", "layout"]

MODEL_FILE = "model.onnx"
CONFIG_FILE = "config.json"


def layout() -> list[dict[str, Any]]:
    """The patch layout the network was trained for; the runtime refuses a model whose layout differs."""
    return [{"name": p.name, "size": p.size, "lo": p.lo, "hi": p.hi, "scale": p.scale} for p in PARAMS]


def _file_entry(directory: Path, name: str, role: str) -> dict[str, Any]:
    path = directory / name
    return {"path": name, "sha256": sha256_file(path), "bytes": path.stat().st_size, "role": role}


def export_model(net: PatchNet, out_dir: Path, config: dict[str, Any], *, version: str, metrics: dict) -> Path:
    """Write ``model.onnx``, ``config.json`` and ``manifest.json`` into ``out_dir``; returns the ONNX path.

    Raises:
        RuntimeError: the exported graph differs from torch on a fixed random input.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    net = net.eval()
    feed = np.random.default_rng(0).standard_normal((5, CONDITION_SIZE)).astype(np.float32)
    with torch.no_grad():
        expected = [t.numpy() for t in net(torch.from_numpy(feed))]
    tmp = out_dir / f".{MODEL_FILE}.part"
    torch.onnx.export(
        net,
        (torch.zeros(1, CONDITION_SIZE),),
        str(tmp),
        input_names=["condition"],
        output_names=["patches", "candidate_logits", "category_logits"],
        dynamic_axes={name: {0: "batch"} for name in ("condition", "patches", "candidate_logits", "category_logits")},
        opset_version=17,
        dynamo=False,
    )
    got = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"]).run(None, {"condition": feed})
    error = max(float(np.abs(a - b).max()) for a, b in zip(expected, got, strict=True))
    if error > 1e-4:
        raise RuntimeError(f"ONNX export differs from torch by {error:g}")
    model_path = out_dir / MODEL_FILE
    tmp.replace(model_path)
    config = {**config, "model": net.config, "patch_layout": layout(), "categories": list(CATEGORIES),
              "embedding_model": "minilm", "note_centre": 60, "note_scale": 24, "velocity_scale": 127,
              "onnx_max_abs_error": error}  # fmt: skip
    atomic_write_bytes(out_dir / CONFIG_FILE, json.dumps(config, indent=1, sort_keys=True).encode())
    hp = net.config
    manifest = {
        "name": "text2sample",
        "kind": "text-to-sample",
        "version": version,
        "license": "MIT",
        "description": "prompt (MiniLM embedding) + note + velocity -> candidate synth patches, their "
        "likelihoods and the category; rendered by the daemon's numpy synthesiser",
        "provenance": {
            "weights": "trained by promptdaw with scripts/train_text2sample.py (see MODEL_CARD.md)",
            "training_data": "FluidR3_GM one-shots rendered with FluidSynth (MIT) and promptdaw's own synth "
            "presets (MIT); texts written by the project's templates",
        },
        "files": [_file_entry(out_dir, MODEL_FILE, "model"), _file_entry(out_dir, CONFIG_FILE, "config")],
        "inputs": {"condition": {"name": "condition", "shape": ["batch", hp["condition_size"]], "dtype": "float32"}},
        "outputs": {
            "patches": {"name": "patches", "shape": ["batch", hp["heads"], hp["param_size"]], "dtype": "float32"},
            "candidates": {"name": "candidate_logits", "shape": ["batch", hp["heads"]], "dtype": "float32"},
            "category": {"name": "category_logits", "shape": ["batch", hp["categories"]], "dtype": "float32"},
        },
        "sample_rate": DEFAULT_SAMPLE_RATE,
        "channels": 2,
        "metrics": metrics,
        "card": "MODEL_CARD.md",
    }
    atomic_write_bytes(out_dir / "manifest.json", json.dumps(manifest, indent=2).encode())
    return model_path
