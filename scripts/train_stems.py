"""Train the stem-separation model on data from ``scripts/render_stems_data.py``.

The committed model was trained with (one CPU thread, in the background, logging to a file)::

    nohup .venv/bin/python scripts/train_stems.py --data data/stems/train --valid data/stems/heldout \\
        --out data/stems/run --max-minutes 40 --steps 100000 > data/logs/train.log 2>&1 &

and then continued with the same command plus ``--max-minutes 70 --resume``; it was exported with
``python -m training.stems.export`` (see ``models/stems/MODEL_CARD.md``).
``--init-onnx models/stems/stems.onnx --freeze-norm`` continues an exported model instead (its
checkpoint need not exist; the committed 2026-12-07 weights were made so: ``models/stems/MODEL_CARD.md``).
``--steps 3 --batch 1 --segment-frames 32`` is the smoke run CI does.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import _checkout  # noqa: F401  (training/ from this checkout)

from training.stems.train import TrainConfig, train


def main(argv: list[str] | None = None) -> int:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for field in dataclasses.fields(TrainConfig):
        value = getattr(defaults, field.name)
        flag = "--" + field.name.replace("_", "-")
        if field.name == "extra_data":
            parser.add_argument(flag, nargs="*", default=value, help="more data sets (scripts/make_stem_loops.py)")
        elif isinstance(value, bool):
            parser.add_argument(flag, action="store_true")
        elif isinstance(value, tuple):
            parser.add_argument(flag, type=int, nargs="+", default=value)
        elif field.name == "valid":
            parser.add_argument(flag, default=value, help="held-out set for periodic SDR ('' for none)")
        else:
            parser.add_argument(flag, type=type(value), default=value)
    parser.add_argument("--resume", action="store_true", help="continue OUT/checkpoint.pt")
    args = vars(parser.parse_args(argv))
    resume = args.pop("resume")
    args["valid"] = args["valid"] or None
    args["widths"], args["blocks"] = tuple(args["widths"]), tuple(args["blocks"])
    args["extra_data"] = tuple(args["extra_data"])
    train(TrainConfig(**args), resume=resume, log=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
