"""Client side of ``separate``: long inputs in blocks, stems streamed into files atomically.

Used by ``promptdaw stems``: the input goes to the daemon a block at a time (see
``blocks.py``), the cross-faded stems are appended to ``DIR/.<name>.part.wav`` files as they
arrive, and only when all four are complete are they renamed to ``DIR/<name>.wav``, so a
failed or interrupted run never leaves a partial stem behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from pedalboard.io import AudioFile

from promptdaw.core.audio import level_dbfs
from promptdaw.core.errors import PromptdawError
from promptdaw.runtime.separation.blocks import DEFAULT_BLOCK_OVERLAP_S, DEFAULT_BLOCK_S, CrossFader, plan_blocks
from promptdaw.runtime.separation.chunking import to_stereo
from promptdaw.runtime.separation.constants import CHANNELS, SOURCES

__all__ = ["SeparateBlock", "StemFiles", "separate_to_files", "stack_stems"]

#: ``(samples [frames, channels], on_progress(fraction, stage)) -> (result, stems [4, frames, 2])``
SeparateBlock = Callable[[np.ndarray, Callable[[float, str], None]], tuple[dict[str, Any], np.ndarray]]


class StemFiles:
    """Four float32 WAV files written block by block and renamed into place together."""

    def __init__(self, directory: Path, sample_rate: int, names: tuple[str, ...] = SOURCES) -> None:
        self.directory = Path(directory)
        self.sample_rate = sample_rate
        self.paths = {name: self.directory / f"{name}.wav" for name in names}
        self._parts = {name: self.directory / f".{name}.part.wav" for name in names}
        self._files: dict[str, Any] = {}

    def __enter__(self) -> StemFiles:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            for name, part in self._parts.items():
                self._files[name] = AudioFile(str(part), "w", self.sample_rate, CHANNELS, bit_depth=32)
        except BaseException:
            self._discard()
            raise
        return self

    def write(self, stems: np.ndarray) -> None:
        """Append ``[4, frames, 2]`` float32 stems."""
        for k, name in enumerate(self._parts):
            self._files[name].write(np.ascontiguousarray(stems[k].T, dtype=np.float32))

    def _close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()

    def _discard(self) -> None:
        self._close()
        for part in self._parts.values():
            part.unlink(missing_ok=True)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is not None:
            self._discard()
            return
        self._close()
        for name, part in self._parts.items():
            os.replace(part, self.paths[name])


def stack_stems(payloads: Sequence[Any]) -> np.ndarray:
    """The four stem buffers of a ``separate`` reply as one ``[4, frames, 2]`` float32 array.

    Raises:
        PromptdawError: the reply does not carry four stereo audio buffers of equal length.
    """
    audio = [p.samples for p in payloads if hasattr(p, "samples")]
    if len(audio) != len(SOURCES) or len({a.shape for a in audio}) != 1 or audio[0].shape[1] != CHANNELS:
        shapes = [tuple(a.shape) for a in audio]
        raise PromptdawError(f"separate reply carried audio buffers {shapes}, expected {len(SOURCES)} x [frames, 2]")
    return np.stack(audio)


def separate_to_files(
    separate_block: SeparateBlock,
    samples: np.ndarray,
    sample_rate: int,
    directory: Path,
    *,
    block_s: float = DEFAULT_BLOCK_S,
    overlap_s: float = DEFAULT_BLOCK_OVERLAP_S,
    on_progress: Callable[[float, str], None] = lambda fraction, stage: None,
) -> dict[str, Any]:
    """Separate ``samples`` block by block into ``directory/{drums,bass,vocals,other}.wav``.

    Returns:
        The last block's result (model, version) with whole-file ``duration_s``,
        ``stem_dbfs``, ``mixture_dbfs``, ``residual_dbfs``, ``residual_db`` (relative to the
        mixture; None when the input is silent), ``blocks`` and ``files``.
    """
    n = samples.shape[0]
    block_frames = max(int(block_s * sample_rate), 1)
    overlap_frames = min(int(overlap_s * sample_rate), (block_frames - 1) // 2)
    blocks = plan_blocks(n, block_frames, overlap_frames)
    fader = CrossFader(overlap_frames)
    energy = {"mix": 0.0, "residual": 0.0, **dict.fromkeys(SOURCES, 0.0)}
    written = 0
    result: dict[str, Any] = {}
    with StemFiles(directory, sample_rate) as files:
        for block in blocks:

            def progress(fraction: float, stage: str, index: int = block.index) -> None:
                on_progress((index + fraction) / len(blocks), stage if len(blocks) == 1 else
                            f"block {index + 1}/{len(blocks)}: {stage}")  # fmt: skip

            result, stems = separate_block(samples[block.start : block.stop], progress)
            for final in fader.add(block, stems, last=block.index == len(blocks) - 1):
                count = final.shape[1]
                mix = to_stereo(samples[written : written + count])
                energy["mix"] += float(np.square(mix, dtype=np.float64).sum())
                energy["residual"] += float(np.square(mix - final.sum(axis=0), dtype=np.float64).sum())
                for k, name in enumerate(SOURCES):
                    energy[name] += float(np.square(final[k], dtype=np.float64).sum())
                files.write(final)
                written += count
    if written != n:
        raise RuntimeError(f"wrote {written} frames of stems for {n} input frames")
    values = CHANNELS * n
    mix_dbfs, residual_dbfs = level_dbfs(energy["mix"], values), level_dbfs(energy["residual"], values)
    return {
        **{k: result[k] for k in ("model", "model_version") if k in result},
        "sources": list(SOURCES),
        "sample_rate": sample_rate,
        "channels": CHANNELS,
        "duration_s": round(n / sample_rate, 4),
        "blocks": len(blocks),
        "mixture_dbfs": mix_dbfs,
        "stem_dbfs": {name: level_dbfs(energy[name], values) for name in SOURCES},
        "residual_dbfs": residual_dbfs,
        "residual_db": None if energy["mix"] <= 0 else round(residual_dbfs - mix_dbfs, 2),
        "files": {name: str(path) for name, path in files.paths.items()},
    }
