"""Train the sample critic (``models/sample_critic``) on FluidR3_GM one-shots.

The committed critic was made with::

    .venv/bin/python scripts/train_sample_critic.py

(renders 1,476 one-shots with FluidSynth, listens, cross-validates and fits: a few minutes on two
cores). ``--smoke --out DIR`` is the small run CI does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

import _checkout  # noqa: F401  (training/ from this checkout)

from training.sample_critic.train import CriticConfig, train_critic


def main(argv: list[str] | None = None) -> int:
    defaults = CriticConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for field in dataclasses.fields(CriticConfig):
        value = getattr(defaults, field.name)
        flag = "--" + field.name.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(flag, action="store_true", help="three programs and one kit (CI)")
        else:
            parser.add_argument(flag, type=type(value), default=value)
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = vars(parser.parse_args(argv))
    as_json = args.pop("json")
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if as_json else print
    metrics = train_critic(CriticConfig(**args), log=log)
    if as_json:
        print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
