"""Export a trained ``BandUNet`` checkpoint to ONNX and write its manifest.

    .venv/bin/python -m training.stems.export --checkpoint data/stems/run/checkpoint.pt \\
        --out models/stems [--metrics data/stems/eval.json]

The exported graph takes ``magnitude [batch, 2, 1025, frames]`` and returns
``masks [batch, 4, 2, 1025, frames]`` (frames a multiple of 8). Before the manifest is written
the ONNX file is run with onnxruntime and compared with torch on a fixed input; a mismatch
above ``TOLERANCE`` aborts the export.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from promptdaw.runtime.registry import sha256_file
from promptdaw.runtime.separation.constants import (
    CHUNK_FRAMES,
    FRAME_MULTIPLE,
    HOP,
    N_BINS,
    N_FFT,
    OVERLAP_FRAMES,
    SAMPLE_RATE,
    SOURCES,
)
from training.stems.model import BandUNet

__all__ = ["TOLERANCE", "export", "export_mask_onnx", "mask_model_io", "model_from_onnx"]

MODEL_NAME = "stems"
ONNX_NAME = "stems.onnx"
TOLERANCE = 1e-4
OPSET = 17


def mask_model_io(sources: Sequence[str]) -> dict[str, Any]:
    """The manifest fields of a mask model over the separation STFT (``runtime.separation``
    reads them): sample rate, input and output tensors, and the window geometry."""
    return {
        "sample_rate": SAMPLE_RATE,
        "channels": 2,
        "inputs": {"magnitude": {"name": "magnitude", "shape": ["batch", 2, N_BINS, "frames"], "dtype": "float32"}},
        "outputs": {
            "masks": {"name": "masks", "shape": ["batch", len(sources), 2, N_BINS, "frames"], "dtype": "float32"}
        },
        "window": {
            "sample_rate": SAMPLE_RATE,
            "n_fft": N_FFT,
            "hop": HOP,
            "chunk_frames": CHUNK_FRAMES,
            "overlap_frames": OVERLAP_FRAMES,
            "frame_multiple": FRAME_MULTIPLE,
            "sources": list(sources),
        },
    }


def load_checkpoint(path: Path) -> tuple[BandUNet, dict[str, Any]]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    config = {k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
              for k, v in state["config"].items()}  # fmt: skip
    model = BandUNet(**config)
    model.load_state_dict(state["model"])
    return model.eval(), state


def model_from_onnx(path: Path, config: dict[str, Any] | None = None) -> BandUNet:
    """A ``BandUNet`` holding the weights of an exported ``stems.onnx`` (the inverse of ``export``).

    The committed model's training checkpoint is not kept, so continuing it starts from its ONNX
    file. The exporter folded each block's BatchNorm into the depthwise convolution before it
    (the unnamed ``onnx::Conv_*`` initialisers, in execution order); they come back as that
    convolution's weights, with the BatchNorm set to the identity. Train such a model with
    ``freeze_norm`` (BatchNorm as the fixed affine map it is at inference): batch statistics
    would undo the folding.

    Raises:
        ValueError: the file's initialisers do not fit a ``BandUNet`` of ``config``.
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    weights = {init.name: torch.from_numpy(numpy_helper.to_array(init).copy()) for init in graph.initializer}
    model = BandUNet(**(config or {}))
    state = model.state_dict()
    blocks = _blocks_in_execution_order(model)
    folded = [weights.pop(name) for name in [n for n in weights if n.startswith("onnx::Conv_")]]
    if len(folded) != 2 * len(blocks):
        raise ValueError(f"{path}: {len(folded) // 2} folded convolutions for {len(blocks)} blocks")
    for (prefix, block), weight, bias in zip(blocks, folded[::2], folded[1::2], strict=True):
        weights[f"{prefix}.depthwise.weight"], weights[f"{prefix}.depthwise.bias"] = weight, bias
        norm = block.norm
        weights[f"{prefix}.norm.weight"] = torch.ones_like(norm.weight)
        weights[f"{prefix}.norm.bias"] = torch.zeros_like(norm.bias)
        weights[f"{prefix}.norm.running_mean"] = torch.zeros_like(norm.running_mean)
        weights[f"{prefix}.norm.running_var"] = torch.full_like(norm.running_var, 1.0 - norm.eps)
        weights[f"{prefix}.norm.num_batches_tracked"] = norm.num_batches_tracked.clone()
    missing = sorted(set(state) - set(weights))
    if missing:
        raise ValueError(f"{path}: no weights for {', '.join(missing[:5])}")
    shapes = [k for k in state if tuple(weights[k].shape) != tuple(state[k].shape)]
    if shapes:
        raise ValueError(f"{path}: shapes differ for {', '.join(shapes[:5])}")
    model.load_state_dict({k: weights[k].reshape(state[k].shape) for k in state})
    return model.eval()


def _blocks_in_execution_order(model: BandUNet) -> list[tuple[str, torch.nn.Module]]:
    """``(state-dict prefix, block)`` of every residual block in the order ``forward`` runs them."""
    order = [(f"down_blocks.{i}.{j}", b) for i, stage in enumerate(model.down_blocks) for j, b in enumerate(stage)]
    order += [(f"bottom.{j}", b) for j, b in enumerate(model.bottom)]
    order += [(f"up_blocks.{i}.{j}", b) for i in reversed(range(len(model.up_blocks)))
              for j, b in enumerate(model.up_blocks[i])]  # fmt: skip
    return order


def export_mask_onnx(model: BandUNet, onnx_path: Path) -> float:
    """Write a mask model (``magnitude [batch, 2, bins, frames]`` -> ``masks``) to ``onnx_path``,
    once onnxruntime's masks match torch's on a check input; returns the largest difference.

    Raises:
        RuntimeError: they differ by more than ``TOLERANCE`` (nothing is written).
    """
    import onnxruntime as ort

    example = torch.rand(1, 2, N_BINS, 64, generator=torch.Generator().manual_seed(0)) * 3
    tmp = onnx_path.with_suffix(".onnx.part")
    torch.onnx.export(
        model, (example,), str(tmp), input_names=["magnitude"], output_names=["masks"],
        dynamic_axes={"magnitude": {0: "batch", 3: "frames"}, "masks": {0: "batch", 4: "frames"}},
        opset_version=OPSET, dynamo=False,
    )  # fmt: skip
    check = torch.rand(2, 2, N_BINS, 96, generator=torch.Generator().manual_seed(1)) * 5
    with torch.no_grad():
        expected = model(check).numpy()
    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    actual = session.run(["masks"], {"magnitude": check.numpy()})[0]
    error = float(np.abs(actual - expected).max())
    if error > TOLERANCE:
        tmp.unlink()
        raise RuntimeError(f"onnxruntime and torch differ by {error:.2e} (> {TOLERANCE:g}); not exported")
    tmp.replace(onnx_path)
    return error


def export(
    checkpoint: Path,
    out_dir: Path,
    *,
    metrics: dict[str, Any] | None = None,
    version: str | None = None,
    provenance: dict[str, Any] | None = None,
    license: str = "MIT",
) -> Path:
    """Write ``out_dir/stems.onnx`` and ``out_dir/manifest.json``; returns the manifest path.

    Raises:
        RuntimeError: onnxruntime's output differs from torch's by more than ``TOLERANCE``.
    """
    model, state = load_checkpoint(checkpoint)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / ONNX_NAME
    error = export_mask_onnx(model, onnx_path)
    train_config = state.get("train_config", {})
    manifest = {
        "name": MODEL_NAME,
        "kind": "stem-separation",
        "version": version or f"bandunet-{datetime.date.today().isoformat()}",
        "description": "Band-split U-Net mask estimator: drums, bass, vocals, other (trained by promptdaw)",
        "license": license,
        "provenance": {
            "weights": "trained by promptdaw from random initialisation (scripts/train_stems.py)",
            "training_data": "music21 corpus pieces (Bach chorales, Palestrina, Monteverdi; public domain) "
            "arranged and rendered per part with FluidSynth and Debian's FluidR3_GM soundfont (MIT)"
            + (
                "; plus the project's own generated loops with their true stems (scripts/make_stem_loops.py)"
                if train_config.get("extra_data")
                else ""
            ),
            "steps": state.get("step"),
            "train_minutes": round(state.get("elapsed_s", 0.0) / 60, 1),
            "train_config": train_config,
            "onnx_check_max_abs_error": error,
            **(provenance or {}),
        },
        "files": [
            {"path": ONNX_NAME, "sha256": sha256_file(onnx_path), "bytes": onnx_path.stat().st_size, "role": "model"}
        ],
        **mask_model_io(SOURCES),
        "card": "MODEL_CARD.md",
    }
    if metrics:
        manifest["metrics"] = metrics
    manifest_path = out_dir / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest_path


def metrics_from_eval(report: dict) -> dict:
    """The mean SDR tables of a ``scripts/eval_stems.py --json`` report, as the manifest keeps them."""
    described = {"heldout": ("heldout", "held-out set"), "loops": ("generated_loops", "generated loops")}
    metrics = {}
    for key, (name, what) in described.items():
        if key in report:
            section = report[key]
            metrics[name] = {
                "data": f"{section.get('clips')} clips, {section.get('seconds')} s ({what}, scripts/eval_stems.py)",
                "sdr_db_mean": {
                    system: {stem: row["mean_sdr_db"] for stem, row in stems.items()}
                    for system, stems in section["sdr"].items()
                },
            }
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--metrics", type=Path, help="JSON from scripts/eval_stems.py --json")
    parser.add_argument("--version")
    parser.add_argument("--extra-metrics", action="append", default=[], metavar="NAME=FILE",
                        help="another eval JSON whose held-out table goes under metrics.NAME; may repeat")  # fmt: skip
    parser.add_argument("--license", default="MIT", help="the manifest's licence line")
    parser.add_argument("--provenance", action="append", default=[], metavar="KEY=TEXT",
                        help="set a provenance field (e.g. weights=..., training_data=...); may repeat")  # fmt: skip
    args = parser.parse_args(argv)
    metrics = metrics_from_eval(json.loads(args.metrics.read_text())) if args.metrics else None
    for item in args.extra_metrics:
        name, _, path = item.partition("=")
        if not path:
            parser.error("--extra-metrics takes NAME=FILE")
        extra = metrics_from_eval(json.loads(Path(path).read_text()))
        if "heldout" in extra:
            metrics = {**(metrics or {}), name: extra["heldout"]}
    fields = dict(item.split("=", 1) for item in args.provenance if "=" in item)
    if len(fields) != len(args.provenance):
        parser.error("--provenance takes KEY=TEXT")
    path = export(args.checkpoint, args.out, metrics=metrics, version=args.version, provenance=fields,
                  license=args.license)  # fmt: skip
    print(f"wrote {path} and {path.parent / ONNX_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
