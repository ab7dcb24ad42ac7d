"""Render the drum sub-stem data sets (``training/drum_stems/data.py``): train and held-out kits.

    nice -n 10 .venv/bin/python scripts/render_drum_stems_data.py --out data/drum_stems

writes ``OUT/train`` (FluidR3_GM's GM kits, the avldrums.lv2 acoustic kits when the Debian
package ``avldrums.lv2-soundfont`` is installed, and the project's synthesised kits) and
``OUT/heldout`` (TimGM6mb's and MuseScore_General's GM kits, for evaluation only), each
``stems.npy`` + ``clips.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import _checkout  # noqa: F401  (training/ from this checkout)

from training.drum_stems.data import heldout_kits, train_kits, write_drum_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/drum_stems"))
    parser.add_argument("--duration-s", type=float, default=6.0, help="seconds per clip (default %(default)g)")
    parser.add_argument("--train-clips", type=int, default=32, help="clips per soundfont kit (default %(default)d)")
    parser.add_argument("--synth-clips", type=int, default=8, help="clips per synthesised kit (default %(default)d)")
    parser.add_argument("--synth-seeds", type=int, default=2, help="seeds per synthesised kit style")
    parser.add_argument("--heldout-clips", type=int, default=5, help="clips per held-out kit (default %(default)d)")
    parser.add_argument("--heldout-duration-s", type=float, default=10.0)
    parser.add_argument("--only", choices=["train", "heldout"], help="render one of the two sets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models-dir", type=Path, help="for the synthesised kits (default: the installed models)")
    args = parser.parse_args(argv)

    from promptdaw.core.paths import models_dir
    from promptdaw.runtime.registry import ModelRegistry

    start = time.monotonic()

    def log(line: str) -> None:
        print(f"[{time.monotonic() - start:7.1f} s] {line}", flush=True)

    if args.only != "heldout":
        registry = ModelRegistry(args.models_dir or models_dir(), providers=["CPUExecutionProvider"])
        kits = train_kits(args.synth_seeds)
        sf_kits, synth_kits = [k for k in kits if not k.style], [k for k in kits if k.style]
        write_drum_dataset(sf_kits, args.train_clips, args.duration_s, args.out / "train", seed=args.seed, log=log)
        write_drum_dataset(synth_kits, args.synth_clips, args.duration_s, args.out / "train_synth",
                           seed=args.seed + 1, registry=registry, log=log)  # fmt: skip
    if args.only != "train":
        write_drum_dataset(heldout_kits(), args.heldout_clips, args.heldout_duration_s, args.out / "heldout",
                           seed=args.seed + 1000, log=log)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
