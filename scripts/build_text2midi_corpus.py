"""Build the text-to-MIDI training corpus: the idiom library plus the music21 corpus.

    python scripts/build_text2midi_corpus.py --idioms 3000 --seed 0 -o out/text2midi_corpus.npz
    python scripts/build_text2midi_corpus.py --idioms 200 --music21-limit 20 --json

Prints statistics (pieces, bars, notes per role, genres, meters, modes) and, with
``--json``, one JSON object with the statistics and build times instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _checkout  # noqa: F401  (training/ from this checkout)
from tqdm import tqdm

from training.text2midi.corpus import corpus_stats, save_corpus
from training.text2midi.idioms import build_idiom_corpus
from training.text2midi.music21_corpus import COLLECTIONS, build_music21_corpus

DEFAULT_IDIOMS = 3000
DEFAULT_SEED = 0
DEFAULT_OUTPUT = Path("out") / "text2midi_corpus.npz"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--idioms",
        type=int,
        default=DEFAULT_IDIOMS,
        metavar="N",
        help=f"idiom-library pieces to generate (default {DEFAULT_IDIOMS}; 0 for none)",
    )
    parser.add_argument(
        "--music21-limit",
        type=int,
        default=None,
        metavar="M",
        help="music21 works to read, taken in turn from each collection (default: every "
        "collection's selection; 0 for none)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"idiom seed (default {DEFAULT_SEED})")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"corpus file, .npz or .json.gz (default {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--collections",
        nargs="+",
        metavar="NAME",
        choices=[c.name for c in COLLECTIONS],
        help="music21 collections (default: all but the non-commercial ones)",
    )
    parser.add_argument(
        "--allow-noncommercial",
        action="store_true",
        help="also read collections licensed for non-commercial use only (Essen folksongs)",
    )
    parser.add_argument("--processes", type=int, default=None, help="music21 worker processes (default up to 2)")
    parser.add_argument("--no-cache", action="store_true", help="rebuild the music21 part instead of loading its cache")
    parser.add_argument("--json", action="store_true", help="print one JSON summary instead of text")
    return parser


def _bar(desc: str, quiet: bool) -> tuple[tqdm, Callable[[int, int], None]]:
    bar = tqdm(desc=desc, unit="piece" if desc == "idioms" else "work", disable=quiet, file=sys.stderr)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)  # tqdm throttles the redraws

    return bar, update


def _print_stats(stats: dict[str, Any], times: dict[str, float], output: Path) -> None:
    print(
        f"wrote {output}: {stats['pieces']} pieces, {stats['bars']} bars, {stats['notes']} notes "
        f"({stats['bars_with_chords']} bars with chords)"
    )
    print("times: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    for key in ("origin_bars", "notes_per_role", "tracks_per_role", "genres", "meters", "modes", "licences"):
        print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in stats[key].items()))


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    if args.idioms < 0 or (args.music21_limit is not None and args.music21_limit < 0):
        print("error: --idioms and --music21-limit must be >= 0", file=sys.stderr)
        return 2
    if not (args.output.name.endswith(".npz") or args.output.name.endswith(".json.gz")):
        print(f"error: --output {str(args.output)!r} must end in .npz or .json.gz", file=sys.stderr)
        return 2
    times: dict[str, float] = {}
    pieces = []
    try:
        if args.idioms:
            start = time.perf_counter()
            bar, update = _bar("idioms", args.json)
            with bar:
                pieces += build_idiom_corpus(args.seed, args.idioms, progress=update)
            times["idioms"] = time.perf_counter() - start
        if args.music21_limit != 0:
            start = time.perf_counter()
            errors: list[str] = []
            bar, update = _bar("music21", args.json)
            with bar:
                pieces += build_music21_corpus(
                    args.music21_limit,
                    update,
                    collections=args.collections,
                    allow_noncommercial=args.allow_noncommercial,
                    processes=args.processes,
                    use_cache=not args.no_cache,
                    errors=errors,
                )
            times["music21"] = time.perf_counter() - start
            if errors and not args.json:
                print(f"music21: {len(errors)} works unreadable, e.g. {errors[0]}", file=sys.stderr)
        start = time.perf_counter()
        save_corpus(pieces, args.output)
        times["save"] = time.perf_counter() - start
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    stats = corpus_stats(pieces)
    if args.json:
        print(json.dumps({"output": str(args.output), "times_s": times, "stats": stats}, indent=2))
    else:
        _print_stats(stats, times, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
