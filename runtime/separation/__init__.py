"""Stem separation with the project's mask-estimating model: numpy STFT, chunking, overlap-add.

Typical use::

    model = registry.get("stems")  # tensor names come from its manifest
    stems = separate_array(samples, rate, lambda mag: model.run({"magnitude": mag})["masks"])
    drums, bass, vocals, other = stems  # each [frames, 2] at `rate`
"""

from promptdaw.runtime.separation.chunking import (
    Geometry,
    RunModel,
    count_segments,
    iter_blocks,
    iter_separate,
    separate_array,
    to_stereo,
)
from promptdaw.runtime.separation.constants import CHANNELS, HOP, N_BINS, N_FFT, SAMPLE_RATE, SOURCES
from promptdaw.runtime.separation.stft import istft, stft

__all__ = [
    "CHANNELS",
    "HOP",
    "N_BINS",
    "N_FFT",
    "SAMPLE_RATE",
    "SOURCES",
    "Geometry",
    "RunModel",
    "count_segments",
    "istft",
    "iter_blocks",
    "iter_separate",
    "separate_array",
    "stft",
    "to_stereo",
]
