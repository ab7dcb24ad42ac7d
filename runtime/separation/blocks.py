"""Client-side blocking: separate a long input as several ``separate`` requests, seamlessly.

A client (the CLI, a plugin) that sends a 10-minute file in one request makes the daemon hold
the input and four output buffers at once (about 1 GB at 44.1 kHz). Sending it in blocks of a
minute keeps the daemon's memory bounded; consecutive blocks overlap by ``overlap_frames``
and :class:`CrossFader` blends the overlaps linearly, so block edges (where each request's
own chunking starts and ends) never show, and the stems still sum to the mixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_BLOCK_OVERLAP_S", "DEFAULT_BLOCK_S", "Block", "CrossFader", "plan_blocks"]

#: Seconds of input per request (one minute: ~10 MB in, ~42 MB out at 44.1 kHz stereo).
DEFAULT_BLOCK_S = 60.0
#: Seconds shared by consecutive blocks, cross-faded.
DEFAULT_BLOCK_OVERLAP_S = 2.0


@dataclass(frozen=True)
class Block:
    index: int
    start: int  # first input frame
    stop: int  # one past the last input frame


def plan_blocks(n_frames: int, block_frames: int, overlap_frames: int) -> list[Block]:
    """Blocks of ``block_frames`` starting every ``block_frames - overlap_frames`` frames.

    Raises:
        ValueError: if the overlap is not smaller than half a block.
    """
    if not 0 <= overlap_frames * 2 < block_frames:
        raise ValueError(f"overlap_frames must be in 0..{(block_frames - 1) // 2}, got {overlap_frames}")
    if n_frames <= block_frames:
        return [Block(0, 0, n_frames)] if n_frames > 0 else []
    step = block_frames - overlap_frames
    blocks, start = [], 0
    while True:
        stop = min(start + block_frames, n_frames)
        blocks.append(Block(len(blocks), start, stop))
        if stop == n_frames:
            return blocks
        start += step


class CrossFader:
    """Turns overlapping block results ``[sources, frames, channels]`` into a seamless stream.

    Feed blocks in order with :meth:`add`; each call yields the frames that are final. The
    overlap with the next block is held back and blended with that block's head (linear
    fade-out/fade-in summing to one, so sums of stems are preserved).
    """

    def __init__(self, overlap_frames: int) -> None:
        self.overlap = overlap_frames
        self._tail: np.ndarray | None = None
        self._next_start = 0

    def add(self, block: Block, stems: np.ndarray, *, last: bool) -> Iterator[np.ndarray]:
        if stems.shape[1] != block.stop - block.start:
            raise ValueError(f"block {block.index} has {stems.shape[1]} frames, expected {block.stop - block.start}")
        if self._tail is not None:
            n = self._tail.shape[1]
            if block.start != self._next_start or stems.shape[1] < n:
                raise ValueError(f"block {block.index} does not continue the previous one")
            fade = ((np.arange(n, dtype=np.float32) + 0.5) / n)[None, :, None]
            head = self._tail * (1.0 - fade) + stems[:, :n] * fade
            stems = np.concatenate([head, stems[:, n:]], axis=1)
        keep = 0 if last else min(self.overlap, stems.shape[1])
        final = stems[:, : stems.shape[1] - keep]
        self._tail = stems[:, stems.shape[1] - keep :].copy() if keep else None
        self._next_start = block.stop - keep
        if final.shape[1]:
            yield final
