"""Drum sub-stem SDR on held-out kits: the installed ``drum_stems`` model through the runtime.

    .venv/bin/python scripts/eval_drum_stems.py --models-dir models --json data/drum_stems/eval.json

Each held-out clip (``scripts/render_drum_stems_data.py --only heldout``: TimGM6mb's and
MuseScore_General's GM kits, which training never hears) is summed to its drum stem, split by
the model exactly as ``promptdaw stems --drums`` does (``runtime.separation.drums``, onnxruntime),
and scored per sub-stem: MDX-style SDR over the whole clip and both channels, a sub-stem that is
silent in a clip (60 dB under the drum stem) left out for that sub-stem. Beside the model: the
drum stem itself as every estimate (the input SDR: what splitting gains over doing nothing) and
the ideal ratio mask on the same STFT (the ceiling of a mask model).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import _checkout  # noqa: F401  (training/ from this checkout)
import numpy as np
from eval_stems import irm, sdr  # scripts/ is on sys.path when run as a script

from promptdaw.core.paths import models_dir
from promptdaw.runtime.catalog import DRUM_SEPARATION, model_for
from promptdaw.runtime.registry import ModelRegistry
from promptdaw.runtime.separation.constants import SAMPLE_RATE
from promptdaw.runtime.separation.drums import DRUM_SOURCES, drum_splitter
from training.stems.render import load_dataset


def evaluate(data: Path, models: Path) -> dict:
    stems_all, records = load_dataset(data)
    split = drum_splitter(model_for(ModelRegistry(models, providers=["CPUExecutionProvider"]), DRUM_SEPARATION))
    scores: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    split_s = 0.0
    for index, record in enumerate(records):
        stems = np.asarray(stems_all[index], np.float32)  # [5, n, 2]
        drums = stems.sum(axis=0)
        start = time.perf_counter()
        split_drums = split(drums, SAMPLE_RATE, lambda done, total: None)
        split_s += time.perf_counter() - start
        estimates = {
            "model": split_drums,
            "IRM (oracle)": irm(stems),
            "drum stem (input)": np.broadcast_to(drums, stems.shape),
        }
        floor = 1e-6 * float(np.square(drums, dtype=np.float64).sum())
        soundfont = record["kit"].split(":")[0]
        for k, name in enumerate(DRUM_SOURCES):
            if float(np.square(stems[k], dtype=np.float64).sum()) <= floor:
                continue
            for system, estimate in estimates.items():
                value = sdr(stems[k], estimate[k])
                scores[system][name]["all"].append(value)
                scores[system][name][soundfont].append(value)
        print(f"{index + 1}/{len(records)} {record['name']}", file=sys.stderr, flush=True)
    return {
        "data": f"{len(records)} clips, {len(records) * stems_all.shape[2] / SAMPLE_RATE:.0f} s (held-out kits: "
        f"{', '.join(sorted({r['kit'].split(':')[0] for r in records}))}; scripts/eval_drum_stems.py)",
        "sdr_db_mean": {
            system: {name: round(float(np.mean(v["all"])), 2) for name, v in by_name.items()}
            for system, by_name in scores.items()
        },
        # wall time of the split over the audio's duration, on this (shared) machine
        "real_time_factor": round(split_s / (len(records) * stems_all.shape[2] / SAMPLE_RATE), 4),
        "clips_per_sub_stem": {name: len(v["all"]) for name, v in scores["model"].items()},
        "model_sdr_db_mean_by_soundfont": {
            name: {sf: round(float(np.mean(x)), 2) for sf, x in v.items() if sf != "all"}
            for name, v in scores["model"].items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/drum_stems/heldout"))
    parser.add_argument("--models-dir", type=Path, default=None, help="default: the installed models")
    parser.add_argument("--json", type=Path, help="write the report here (export.py --metrics reads it)")
    args = parser.parse_args(argv)
    report = {"heldout_kits": evaluate(args.data, args.models_dir or models_dir())}
    for system, row in report["heldout_kits"]["sdr_db_mean"].items():
        print(f"{system:<20} " + "  ".join(f"{name} {row.get(name, float('nan')):6.2f}" for name in DRUM_SOURCES))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
