"""Drum sub-stems: the drum stem split into kick, snare, hats, toms and cymbals.

The drum-stem model (``models/drum_stems``, kind ``drum-separation``) is a mask model like the
stems model: same STFT, chunking and overlap-add (``chunking.StreamSeparator``), five soft masks
that sum to one, so the sub-stems always add back up to the drum stem they came from.
:class:`DrumStream` is that separator with five sources; the daemon runs it on the drum stem
of a ``separate`` request with ``drums: true`` (``inference_server/tasks/separate.py``).

Which sub-stem a General MIDI drum key belongs to (:func:`drum_class`) is the training data's
labelling (``training/drum_stems``), from ``core.music.gm``'s categories: snares, claps and
rim shots are "snare"; closed, pedal and open hats, and the shaker-like tambourine, cabasa and
maracas, are "hats"; bongos, congas and timbales play with the toms; the remaining hand
percussion (cowbell, agogo, wood blocks, claves, guiro, cuica, whistles, triangles,
vibraslap) is in no class and is not rendered for training.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from promptdaw.core.errors import ModelUnavailable
from promptdaw.core.music.gm import drum_sound
from promptdaw.runtime.separation.chunking import (
    Geometry,
    Progress,
    RunModel,
    StreamSeparator,
    iter_separate,
    separate_array,
)

if TYPE_CHECKING:  # the CLI imports DRUM_SOURCES from here, and has no use for onnxruntime
    from promptdaw.runtime.onnx import OnnxModel

__all__ = ["DRUM_SOURCES", "DrumStream", "SplitDrums", "drum_class", "drum_splitter", "iter_split_drums", "split_drums"]

#: ``(drum stem [frames, channels], sample_rate, progress(done, total)) -> sub-stems [5, frames, 2]``
SplitDrums = Callable[[np.ndarray, int, Progress], np.ndarray]

#: Sub-stem order of the model's output, the wire reply and the CLI's files.
DRUM_SOURCES = ("kick", "snare", "hats", "toms", "cymbals")

_BY_CATEGORY = {"kick": "kick", "snare": "snare", "clap": "snare", "closed hat": "hats", "open hat": "hats",
                "tom": "toms", "cymbal": "cymbals"}  # fmt: skip
#: GM "percussion" keys that sound and play like one of the classes.
_PERCUSSION = {37: "snare", 54: "hats", 69: "hats", 70: "hats", 60: "toms", 61: "toms", 62: "toms", 63: "toms",
               64: "toms", 65: "toms", 66: "toms"}  # fmt: skip


def drum_class(key: int) -> str | None:
    """The sub-stem a General MIDI drum key plays into, or None (hand percussion in no class)."""
    return _PERCUSSION.get(int(key)) or _BY_CATEGORY.get(drum_sound(key).category)


class DrumStream(StreamSeparator):
    """:class:`StreamSeparator` with the drum-stem model's five sources."""

    sources = DRUM_SOURCES


def iter_split_drums(
    blocks: Iterable[np.ndarray],
    sample_rate: int,
    total_frames: int,
    run_model: RunModel,
    *,
    geometry: Geometry | None = None,
    progress: Progress = lambda done, total: None,
) -> Iterator[np.ndarray]:
    """Split a stream of drum-stem blocks; yield ``[5, n, 2]`` float32 blocks (``DRUM_SOURCES`` order).

    ``run_model`` maps ``magnitude [1, 2, bins, frames]`` to ``masks [1, 5, 2, bins, frames]``;
    everything else is as :func:`~promptdaw.runtime.separation.chunking.iter_separate`.
    """
    return iter_separate(blocks, sample_rate, total_frames, run_model, geometry=geometry, progress=progress,
                         stream=DrumStream)  # fmt: skip


def split_drums(
    drums: np.ndarray,
    sample_rate: int,
    run_model: RunModel,
    *,
    geometry: Geometry | None = None,
    progress: Progress = lambda done, total: None,
) -> np.ndarray:
    """Split an in-memory drum stem ``[frames, channels]``: float32 ``[5, frames, 2]``."""
    return separate_array(drums, sample_rate, run_model, geometry=geometry, progress=progress, stream=DrumStream)


def drum_splitter(model: OnnxModel) -> SplitDrums:
    """The split a drum-separation model serves, with its manifest's ``window`` geometry.

    Raises:
        ModelUnavailable: the manifest names other sources than ``DRUM_SOURCES``.
    """
    window = model.manifest.extra.get("window") or {}
    if tuple(window.get("sources", DRUM_SOURCES)) != DRUM_SOURCES:
        raise ModelUnavailable(f"model {model.manifest.name!r} splits into {window['sources']}, "
                               f"expected {list(DRUM_SOURCES)}")  # fmt: skip
    geometry = Geometry.from_manifest_window(window)

    def run_masks(magnitude: np.ndarray) -> np.ndarray:
        return model.run({"magnitude": magnitude}, ["masks"])["masks"]

    def split(drums: np.ndarray, sample_rate: int, progress: Progress) -> np.ndarray:
        return split_drums(drums, sample_rate, run_masks, geometry=geometry, progress=progress)

    return split
