"""Render the stem-separation training and held-out sets with FluidSynth.

Training clips come from music21 corpus pieces (Bach chorales, Palestrina, Monteverdi) not in
the held-out split, rendered with FluidR3_GM; held-out clips come from the held-out pieces
(a stable hash of the piece name, 1 in 8) rendered with a different soundfont (TimGM6mb).
``--midi-dir`` adds multi-track MIDI files (e.g. the text-to-MIDI idiom library) to both
splits, by the same piece hash.

    .venv/bin/python scripts/render_stems_data.py --out data/stems

writes ``data/stems/train`` and ``data/stems/heldout`` (see ``training/stems/render.py``).
``--cross-out DIR --cross-drums D1 [D2 ...] --cross-bands B1 [B2 ...]`` instead writes a set whose
drum stems are drum-only renders (``scripts/render_drum_stems_data.py``: more grooves and kits)
and whose other stems are excerpts of band clips (``training/stems/cross.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import _checkout  # noqa: F401  (training/ from this checkout)
import numpy as np

from training.stems.arrange import (
    Clip,
    clips_from_midi,
    clips_from_voices,
    corpus_pieces,
    is_held_out,
    voices_from_music21,
)
from training.stems.render import FLUIDR3_GM, TIMGM6MB, write_dataset

DEFAULT_TRAIN_CLIPS = 320
DEFAULT_HELDOUT_CLIPS = 40
DEFAULT_DURATION_S = 10.0


def collect_clips(
    pieces: list[Path], midi_files: list[Path], count: int, duration_s: float, clips_per_piece: int,
    rng: np.random.Generator,
) -> list[Clip]:  # fmt: skip
    """``count`` clips, drawn piece by piece in a random order (pieces that fail to parse skipped)."""
    # Balance the composers (Palestrina alone has 3x more pieces than Bach): interleave the
    # shuffled pieces of each source so every one contributes in turn.
    groups: dict[str, list[tuple[str, Path]]] = {}
    for path in pieces:
        groups.setdefault(path.parent.name, []).append(("corpus", path))
    if midi_files:
        groups["midi"] = [("midi", p) for p in midi_files]
    shuffled = [[g[i] for i in rng.permutation(len(g))] for _, g in sorted(groups.items())]
    sources = [g[i] for i in range(max(map(len, shuffled), default=0)) for g in shuffled if i < len(g)]
    order = range(len(sources))
    clips: list[Clip] = []
    for round_index in range(4):  # go round again if there are fewer pieces than wanted clips
        for i in order:
            kind, path = sources[i]
            name = f"{path.parent.name}/{path.name}"
            per_piece = int(rng.integers(1, clips_per_piece + 1))
            try:
                if kind == "midi":
                    new = list(clips_from_midi(path, rng, n_clips=per_piece, duration_s=duration_s))
                else:
                    voices, beats = voices_from_music21(path)
                    new = list(clips_from_voices(name, voices, rng, n_clips=per_piece, duration_s=duration_s,
                                                 beats_per_bar=beats))  # fmt: skip
            except Exception as exc:  # a piece music21 cannot read is skipped, not fatal
                print(f"skipping {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            for clip in new:
                clip.name = f"{clip.name}@{round_index}"
            clips += [c for c in new if any(p.notes for p in c.parts)]
            if len(clips) >= count:
                return clips[:count]
    return clips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/stems"))
    parser.add_argument("--train-clips", type=int, default=DEFAULT_TRAIN_CLIPS)
    parser.add_argument("--heldout-clips", type=int, default=DEFAULT_HELDOUT_CLIPS)
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S, help="seconds per clip")
    parser.add_argument("--train-soundfont", type=Path, default=FLUIDR3_GM)
    parser.add_argument("--heldout-soundfont", type=Path, default=TIMGM6MB)
    parser.add_argument("--midi-dir", type=Path, action="append", default=[],
                        help="extra multi-track MIDI files (*.mid) to arrange; may repeat")  # fmt: skip
    parser.add_argument("--composers", default="bach,palestrina,monteverdi")
    parser.add_argument("--clips-per-piece", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cross-out", type=Path, help="write a crossed set here (drums from --cross-drums)")
    parser.add_argument("--cross-drums", type=Path, nargs="+", default=[], help="drum sub-stem data sets")
    parser.add_argument("--cross-bands", type=Path, nargs="+", default=[], help="band data sets (bass/vocals/other)")
    parser.add_argument("--cross-count", type=int, default=512, help="clips in the crossed set")
    args = parser.parse_args(argv)
    if args.cross_out:
        if not args.cross_drums or not args.cross_bands:
            parser.error("--cross-out needs --cross-drums and --cross-bands")
        from training.stems.cross import write_cross_dataset

        try:
            out = write_cross_dataset(args.cross_drums, args.cross_bands, args.cross_out, count=args.cross_count,
                                      seed=args.seed)  # fmt: skip
        except ValueError as exc:
            parser.error(str(exc))
        print(f"crossed set -> {out}")
        return 0

    pieces = corpus_pieces(tuple(args.composers.split(",")))
    midi_files = sorted(p for d in args.midi_dir for p in Path(d).rglob("*.mid"))

    def held(path: Path) -> bool:
        return is_held_out(f"{path.parent.name}/{path.name}")

    splits = [
        ("train", args.train_clips, args.train_soundfont, False, args.seed),
        ("heldout", args.heldout_clips, args.heldout_soundfont, True, args.seed + 1),
    ]
    for split, count, soundfont, held_out, seed in splits:
        if count <= 0:
            continue
        rng = np.random.default_rng(seed)
        start = time.perf_counter()
        clips = collect_clips(
            [p for p in pieces if held(p) == held_out],
            [p for p in midi_files if held(p) == held_out],
            count,
            args.duration,
            1 if held_out else args.clips_per_piece,
            rng,
        )
        out = write_dataset(clips, soundfont, args.out / split, seed=seed + 100)
        print(f"{split}: {len(clips)} clips of {args.duration:g} s from "
              f"{len({c.piece for c in clips})} pieces with {soundfont.name} -> {out} "
              f"({time.perf_counter() - start:.0f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
