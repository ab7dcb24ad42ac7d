"""Train the drum sub-stem model on data from ``scripts/render_drum_stems_data.py``.

The committed model (``models/drum_stems``) was trained with (one CPU thread, in the background)::

    nohup nice -n 10 .venv/bin/python scripts/train_drum_stems.py --out data/drum_stems/run \\
        --max-minutes 45 > data/logs/train_drum_stems.log 2>&1 &

and exported with ``python -m training.drum_stems.export``. ``--smoke`` is the few-step run CI
does (tiny batches, no validation; it still renders nothing: give it a small data set).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import _checkout  # noqa: F401  (training/ from this checkout)

from training.drum_stems.train import DrumTrainConfig, train

SMOKE = {"steps": 3, "batch": 2, "segment_frames": 16, "checkpoint_every": 2, "valid_every": 2, "valid_clips": 2}


def main(argv: list[str] | None = None) -> int:
    defaults = DrumTrainConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for field in dataclasses.fields(DrumTrainConfig):
        value = getattr(defaults, field.name)
        flag = "--" + field.name.replace("_", "-")
        if isinstance(value, tuple):
            kind = str if field.name == "data" else int
            parser.add_argument(flag, type=kind, nargs="+", default=list(value))
        else:
            parser.add_argument(flag, type=type(value) if value is not None else str, default=value)
    parser.add_argument("--resume", action="store_true", help="continue OUT/checkpoint.pt")
    parser.add_argument("--smoke", action="store_true", help=f"a few-step run: {SMOKE}")
    args = vars(parser.parse_args(argv))
    resume, smoke = args.pop("resume"), args.pop("smoke")
    config = DrumTrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.items()})
    if smoke:
        config = dataclasses.replace(config, **SMOKE)
    train(config, resume=resume)
    return 0


if __name__ == "__main__":
    sys.exit(main())
