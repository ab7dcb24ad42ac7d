"""Export a trained drum sub-stem checkpoint to ONNX and write ``models/drum_stems/manifest.json``.

    .venv/bin/python -m training.drum_stems.export --checkpoint data/drum_stems/run/checkpoint.pt \\
        --out models/drum_stems [--metrics data/drum_stems/eval.json]

The graph takes ``magnitude [batch, 2, 1025, frames]`` (|STFT| of a stereo drum stem) and
returns ``masks [batch, 5, 2, 1025, frames]`` in ``DRUM_SOURCES`` order. As for the stems model,
onnxruntime is checked against torch on a fixed input before the manifest is written.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

from promptdaw.runtime.catalog import DRUM_SEPARATION
from promptdaw.runtime.registry import sha256_file
from promptdaw.runtime.separation.drums import DRUM_SOURCES
from training.stems.export import export_mask_onnx, load_checkpoint, mask_model_io

__all__ = ["MODEL_NAME", "ONNX_NAME", "export"]

MODEL_NAME = "drum_stems"
ONNX_NAME = "drum_stems.onnx"


def export(checkpoint: Path, out_dir: Path, *, metrics: dict[str, Any] | None = None,
           version: str | None = None) -> Path:  # fmt: skip
    """Write ``out_dir/drum_stems.onnx`` and ``out_dir/manifest.json``; returns the manifest path.

    Raises:
        RuntimeError: onnxruntime's output differs from torch's by more than ``TOLERANCE``.
    """
    model, state = load_checkpoint(checkpoint)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / ONNX_NAME
    error = export_mask_onnx(model, onnx_path)
    manifest = {
        "name": MODEL_NAME,
        "kind": DRUM_SEPARATION,
        "version": version or f"bandunet5-{datetime.date.today().isoformat()}",
        "description": "Band-split U-Net mask estimator: a drum stem into kick, snare, hats, toms, cymbals "
        "(trained by promptdaw)",
        "license": "MIT (weights trained on renders of CC-BY-SA-3.0 avldrums kits: see MODEL_CARD.md)",
        "provenance": {
            "weights": "trained by promptdaw from random initialisation (scripts/train_drum_stems.py)",
            "training_data": "the idiom library's drum grooves (training/text2midi/idioms.py, MIT) rendered per "
            "sub-stem through FluidR3_GM's GM drum kits (MIT), the avldrums.lv2 Black Pearl and Red Zeppelin "
            "kits (Debian avldrums.lv2-soundfont; kits by Glen MacArthur / AVL Drumkits, CC-BY-SA-3.0) and the "
            "project's synthesised kits (text2sample, MIT)",
            "heldout_kits": "TimGM6mb and MuseScore_General GM drum kits (evaluation only)",
            "steps": state.get("step"),
            "train_minutes": round(state.get("elapsed_s", 0.0) / 60, 1),
            "train_config": state.get("train_config", {}),
            "validation_history": state.get("history", []),
            "onnx_check_max_abs_error": error,
        },
        "files": [
            {"path": ONNX_NAME, "sha256": sha256_file(onnx_path), "bytes": onnx_path.stat().st_size, "role": "model"}
        ],
        **mask_model_io(DRUM_SOURCES),
        "card": "MODEL_CARD.md",
    }
    if metrics:
        manifest["metrics"] = metrics
    path = out_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("models/drum_stems"))
    parser.add_argument("--metrics", type=Path, help="JSON from scripts/eval_drum_stems.py --json")
    parser.add_argument("--version")
    args = parser.parse_args(argv)
    metrics = json.loads(args.metrics.read_text()) if args.metrics else None
    path = export(args.checkpoint, args.out, metrics=metrics, version=args.version)
    print(f"wrote {path} and {path.parent / ONNX_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
