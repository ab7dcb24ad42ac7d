"""A training set whose drum stems come from drum-only renders, the rest from band clips.

The band clips' drums are ``arrange.drum_part`` patterns on the soundfont's own GM kits: few
grooves and, per soundfont, the same kits. The drum sub-stem data (``training.drum_stems``,
``scripts/render_drum_stems_data.py``) plays the idiom library's grooves through more kits
(FluidR3_GM's, the avldrums.lv2 acoustic kits, the project's synthesised kits). Pairing each of
those drum clips (its sub-stems summed) with a random excerpt of the bass, vocal and other stems
of a band clip gives the separator many more drum sounds at no rendering cost. The pairing is
random anyway: training remixes stems across clips half of the time (``train.make_batch``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from training.stems.render import dataset_files, load_dataset

__all__ = ["write_cross_dataset"]


def write_cross_dataset(
    drum_dirs: Sequence[Path],
    band_dirs: Sequence[Path],
    out_dir: Path,
    *,
    count: int,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> Path:
    """``count`` clips as long as the drum clips: drums from ``drum_dirs`` (``[clips, K, n, 2]``
    sub-stems, summed), bass/vocals/other from a random same-length excerpt of ``band_dirs``
    clips (``[clips, 4, m, 2]``, m >= n). Written as ``stems.npy`` + ``clips.jsonl`` like
    ``render.write_dataset``.

    Raises:
        ValueError: the drum clips differ in length, or a band clip is shorter than them.
    """
    rng = np.random.default_rng(seed)
    drums = [(Path(d), *load_dataset(Path(d))) for d in drum_dirs]
    bands = [(Path(d), *load_dataset(Path(d))) for d in band_dirs]
    lengths = {stems.shape[2] for _, stems, _ in drums}
    if len(lengths) != 1:
        raise ValueError(f"drum clips differ in length: {sorted(lengths)} samples")
    n = lengths.pop()
    short = [str(d) for d, stems, _ in bands if stems.shape[2] < n]
    if short:
        raise ValueError(f"band clips in {', '.join(short)} are shorter than the {n}-sample drum clips")
    pool = [(k, i) for k, (_, stems, _) in enumerate(drums) for i in range(stems.shape[0])]
    picks = [pool[i] for i in rng.permutation(len(pool))[:count]]
    with dataset_files(out_dir, (len(picks), 4, n, 2)) as (out, meta):
        for index, (k, i) in enumerate(picks):
            drum_dir, drum_stems, drum_records = drums[k]
            b = int(rng.integers(len(bands)))
            band_dir, band_stems, band_records = bands[b]
            j = int(rng.integers(band_stems.shape[0]))
            offset = int(rng.integers(0, band_stems.shape[2] - n + 1))
            out[index, 0] = np.asarray(drum_stems[i], np.float32).sum(axis=0).astype(np.float16)
            out[index, 1:] = band_stems[j, 1:, offset : offset + n]
            record = {"name": f"{drum_records[i].get('name', i)}+{band_records[j]['name']}",
                      "piece": band_records[j].get("piece", ""), "duration_s": n / 44100,
                      "drums": {"data": str(drum_dir), "clip": i, "kit": drum_records[i].get("kit")},
                      "band": {"data": str(band_dir), "clip": j, "offset": offset,
                               "soundfont": band_records[j].get("soundfont")}}  # fmt: skip
            meta.write(json.dumps(record) + "\n")
            if (index + 1) % 100 == 0:
                log(f"crossed {index + 1}/{len(picks)} clips")
    return Path(out_dir)
