"""Export a trained RollGRU to ONNX with its manifest and runtime config (torch; training only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from promptdaw.core.files import atomic_write_bytes
from promptdaw.runtime.registry import sha256_file
from promptdaw.runtime.text2midi.features import N_PITCHES
from training.text2midi.model import RollGRU, StepModel

__all__ = ["export_model"]

MODEL_FILE = "model.onnx"
CONFIG_FILE = "config.json"


def _file_entry(directory: Path, name: str, role: str) -> dict[str, Any]:
    path = directory / name
    return {"path": name, "sha256": sha256_file(path), "bytes": path.stat().st_size, "role": role}


def _reference(net: RollGRU, layers: int, hidden: int) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """A fixed random input and the training-time network's (nn.GRU) outputs for it.

    Computed before exporting: the TorchScript export leaves nn.GRU's forward numerically
    changed (~0.04) for later calls, which would make the check compare against the wrong thing.
    """
    rng = np.random.default_rng(0)
    feed = {
        "static": rng.random((3, net.config["static_size"]), dtype=np.float32),
        "prev_roll": (rng.random((3, 2 * N_PITCHES)) > 0.9).astype(np.float32),
        "state": rng.standard_normal((layers, 3, hidden), dtype=np.float32) * 0.1,
    }
    with torch.no_grad():
        static, roll, state = (torch.from_numpy(feed[k]) for k in ("static", "prev_roll", "state"))
        logits, next_state = net(static[:, None], roll[:, None], state)
        probs = torch.sigmoid(logits[:, 0]).numpy()
    return feed, [probs[:, :N_PITCHES], probs[:, N_PITCHES:], next_state.numpy()]


def export_model(net: RollGRU, out_dir: Path, config: dict[str, Any], *, version: str, metrics: dict) -> Path:
    """Write ``model.onnx``, ``config.json`` and ``manifest.json`` into ``out_dir``; returns the ONNX path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    net = net.eval()
    step = StepModel(net)
    hp = net.config
    static = torch.zeros(1, hp["static_size"])
    roll = torch.zeros(1, 2 * N_PITCHES)
    state = torch.zeros(hp["layers"], 1, hp["hidden"])
    feed, expected = _reference(net, hp["layers"], hp["hidden"])
    tmp = out_dir / f".{MODEL_FILE}.part"
    torch.onnx.export(
        step,
        (static, roll, state),
        str(tmp),
        input_names=["static", "prev_roll", "state"],
        output_names=["onset", "sustain", "next_state"],
        dynamic_axes={
            **{name: {0: "batch"} for name in ("static", "prev_roll", "onset", "sustain")},
            **{name: {1: "batch"} for name in ("state", "next_state")},
        },
        opset_version=17,
        dynamo=False,
    )
    got = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"]).run(None, feed)
    error = max(float(np.abs(a - b).max()) for a, b in zip(expected, got, strict=True))
    if error > 1e-4:
        raise RuntimeError(f"ONNX export differs from torch by {error:g}")
    model_path = out_dir / MODEL_FILE
    tmp.replace(model_path)
    config = {**config, "model": hp, "onnx_max_abs_error": error}
    atomic_write_bytes(out_dir / CONFIG_FILE, json.dumps(config, indent=1, sort_keys=True).encode())
    manifest = {
        "name": "text2midi",
        "kind": "text-to-midi",
        "version": version,
        "license": "MIT",
        "provenance": {
            "weights": "trained by promptdaw with scripts/train_text2midi.py (see MODEL_CARD.md)",
            "training_data": "music21 corpus (public-domain works) and promptdaw's own idiom library (MIT)",
        },
        "files": [_file_entry(out_dir, MODEL_FILE, "model"), _file_entry(out_dir, CONFIG_FILE, "config")],
        "inputs": {
            "static": {"name": "static", "shape": ["batch", hp["static_size"]], "dtype": "float32"},
            "prev_roll": {"name": "prev_roll", "shape": ["batch", 2 * N_PITCHES], "dtype": "float32"},
            "state": {"name": "state", "shape": [hp["layers"], "batch", hp["hidden"]], "dtype": "float32"},
        },
        "outputs": {
            "onset": {"name": "onset", "shape": ["batch", N_PITCHES], "dtype": "float32"},
            "sustain": {"name": "sustain", "shape": ["batch", N_PITCHES], "dtype": "float32"},
            "state": {"name": "next_state", "shape": [hp["layers"], "batch", hp["hidden"]], "dtype": "float32"},
        },
        "metrics": metrics,
        # One small matrix product per step: extra threads only add hand-off latency.
        "runtime": {"intra_op_threads": 1},
    }
    atomic_write_bytes(out_dir / "manifest.json", json.dumps(manifest, indent=2).encode())
    return model_path
