"""Client side of ``separate``: long inputs in blocks, stems streamed into files atomically.

Used by ``promptdaw stems``: the input goes to the daemon a block at a time (see
``blocks.py``), the cross-faded stems are appended to hidden temporary files as they
arrive, and only when all four are complete are they renamed to ``DIR/<name>.wav``, so a
failed or interrupted run never leaves a partial stem behind (``core/files.py``: the temporaries
are ``DIR/.<name>.wav.<random>.part``; a killed run's are swept by the next write there after a day).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from promptdaw.core.audio import level_dbfs
from promptdaw.core.errors import PromptdawError
from promptdaw.core.files import OutputSet, naming
from promptdaw.core.wav import WavWriter
from promptdaw.runtime.separation.blocks import DEFAULT_BLOCK_OVERLAP_S, DEFAULT_BLOCK_S, CrossFader, plan_blocks
from promptdaw.runtime.separation.chunking import to_stereo
from promptdaw.runtime.separation.constants import CHANNELS, SOURCES

__all__ = ["SeparateBlock", "StemFiles", "separate_to_files", "stack_stems"]

#: ``(samples [frames, channels], on_progress(fraction, stage)) -> (result, stems [4, frames, 2])``
SeparateBlock = Callable[[np.ndarray, Callable[[float, str], None]], tuple[dict[str, Any], np.ndarray]]


class StemFiles:
    """Four float32 WAV files written block by block and renamed into place together.

    The files are one :class:`~promptdaw.core.files.OutputSet`: until every stem is complete,
    they live in hidden temporaries beside their final names, and a failure (a full disk, an
    error from the daemon, Ctrl-C) removes them and leaves the folder's old stems untouched.
    """

    def __init__(self, directory: Path, sample_rate: int, names: tuple[str, ...] = SOURCES) -> None:
        self.directory = Path(directory)
        self.sample_rate = sample_rate
        self.paths = {name: self.directory / f"{name}.wav" for name in names}
        self._set = OutputSet()
        self._stack = ExitStack()
        self._writers: dict[str, WavWriter] = {}

    def __enter__(self) -> StemFiles:
        try:
            for name, path in self.paths.items():
                file = self._stack.enter_context(self._set.open(path))
                self._writers[name] = WavWriter(file, self.sample_rate, CHANNELS, bit_depth=32)
        except BaseException:
            self._stack.close()
            self._set.discard()
            raise
        return self

    def write(self, stems: np.ndarray) -> None:
        """Append ``[4, frames, 2]`` float32 stems."""
        for k, (name, writer) in enumerate(self._writers.items()):
            with naming(self.paths[name]):
                writer.write(stems[k])

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if kind is None:
                for name, writer in self._writers.items():
                    with naming(self.paths[name]):
                        writer.close()
            # Closing each file flushes and fsyncs it; an error there (a full disk) fails the set too.
            self._stack.__exit__(kind, exc, tb)
        except BaseException:
            self._set.discard()
            raise
        if kind is None:
            self._set.commit()
        else:
            self._set.discard()


def stack_stems(payloads: Sequence[Any], count: int = len(SOURCES)) -> np.ndarray:
    """The ``count`` stem buffers of a ``separate`` reply (four, nine with ``drums``) as one
    ``[count, frames, 2]`` float32 array.

    Raises:
        PromptdawError: the reply does not carry ``count`` stereo audio buffers of equal length.
    """
    audio = [p.samples for p in payloads if hasattr(p, "samples")]
    if len(audio) != count or len({a.shape for a in audio}) != 1 or audio[0].shape[1] != CHANNELS:
        shapes = [tuple(a.shape) for a in audio]
        raise PromptdawError(f"separate reply carried audio buffers {shapes}, expected {count} x [frames, 2]")
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
    names: tuple[str, ...] = SOURCES,
) -> dict[str, Any]:
    """Separate ``samples`` block by block into ``directory/{drums,bass,vocals,other}.wav``, and
    one file per further name (``drums: true``: the drum sub-stems, which the residual leaves out).

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
    energy = {"mix": 0.0, "residual": 0.0, **dict.fromkeys(names, 0.0)}
    written = 0
    result: dict[str, Any] = {}
    with StemFiles(directory, sample_rate, names) as files:
        for block in blocks:

            def progress(fraction: float, stage: str, index: int = block.index) -> None:
                on_progress((index + fraction) / len(blocks), stage if len(blocks) == 1 else
                            f"block {index + 1}/{len(blocks)}: {stage}")  # fmt: skip

            result, stems = separate_block(samples[block.start : block.stop], progress)
            for final in fader.add(block, stems, last=block.index == len(blocks) - 1):
                count = final.shape[1]
                mix = to_stereo(samples[written : written + count])
                energy["mix"] += float(np.square(mix, dtype=np.float64).sum())
                energy["residual"] += float(np.square(mix - final[: len(SOURCES)].sum(axis=0), dtype=np.float64).sum())
                for k, name in enumerate(names):
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
        "stem_dbfs": {name: level_dbfs(energy[name], values) for name in names},
        **({"drum_sources": list(names[len(SOURCES) :])} if len(names) > len(SOURCES) else {}),
        "residual_dbfs": residual_dbfs,
        "residual_db": None if energy["mix"] <= 0 else round(residual_dbfs - mix_dbfs, 2),
        "files": {name: str(path) for name, path in files.paths.items()},
    }
