"""The sample critic: hears candidate patches and says which sounds most like the family asked for.

The text2sample network proposes several candidate patches for a prompt; which one a producer
hears as "a trumpet" is easier to judge by ear than by the network's own likelihoods. The
critic is a small audio classifier (``models/sample_critic``, trained on FluidR3_GM renders
only) over :func:`~.listening.listening_features`. :func:`listen_to_candidates` renders each
candidate for its first ``LISTEN_SECONDS`` at ``LISTEN_RATE`` (:func:`~.listening.hear`) and
returns, per candidate, the critic's probability that it belongs to the family.

Rendering the candidates is most of the work and holds the GIL, so it runs in a small pool of
worker processes (one per core, at most ``MAX_LISTENERS``), shared by every critic of the process.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from promptdaw.core.errors import ModelUnavailable
from promptdaw.core.processes import exit_with_parent
from promptdaw.runtime.onnx import OnnxModel
from promptdaw.runtime.synthesis.listening import FEATURE_SIZE, LISTEN_RATE, LISTEN_SECONDS, Heard, hear
from promptdaw.runtime.synthesis.patch import Patch

__all__ = ["MAX_LISTENERS", "SampleCritic", "hear_all", "listen_to_candidates"]

log = logging.getLogger(__name__)

#: Worker processes that render candidates for the critic (fewer on machines with fewer cores).
MAX_LISTENERS = 4

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


class SampleCritic:
    """The loaded critic network: listening features in, family probabilities out. Thread-safe."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        config = json.loads(model.manifest.path_of("config").read_text())
        heard = (config.get("listen_rate"), config.get("listen_seconds"), config.get("feature_size"))
        expected = (LISTEN_RATE, LISTEN_SECONDS, FEATURE_SIZE)
        if heard != expected:
            raise ModelUnavailable(
                f"model {model.manifest.name!r} was trained on other listening features (rate, seconds, size "
                f"{heard}; this daemon: {expected}); retrain it with scripts/train_sample_critic.py"
            )
        self.families: tuple[str, ...] = tuple(config["families"])

    def family_probabilities(self, features: np.ndarray) -> np.ndarray:
        """``[N, len(families)]`` probabilities for ``[N, FEATURE_SIZE]`` features."""
        out = self.model.run({"features": np.asarray(features, np.float32)}, ["probabilities"])
        return np.asarray(out["probabilities"], np.float64).reshape(len(features), len(self.families))


def _listeners() -> int:
    return max(1, min(MAX_LISTENERS, os.cpu_count() or 1))


def _shared_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # One BLAS thread per worker (inherited by the spawned processes; this process's BLAS is
            # already loaded): the workers already use every core, and busy BLAS threads would fight.
            for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ.setdefault(name, "1")
            # spawn, not fork: the daemon has threads (ZeroMQ, onnxruntime) a fork would copy mid-flight.
            _pool = ProcessPoolExecutor(_listeners(), mp_context=multiprocessing.get_context("spawn"),
                                        initializer=exit_with_parent, initargs=(os.getpid(),))  # fmt: skip
        return _pool


def _discard_pool(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def hear_all(plays: Sequence[tuple[Mapping[str, np.ndarray | float], int, float]]) -> list[Heard | None]:
    """:func:`~.listening.hear` for each ``(controls, note, gate_s)``, in parallel where there are cores.

    A worker that dies (killed, out of memory) costs no request: the pool is replaced and this
    request's candidates are heard in this process instead.
    """
    if _listeners() == 1 or len(plays) == 1:
        return [hear(*play) for play in plays]
    pool = _shared_pool()
    try:
        # One task per worker: each task is a round trip through the pool's queues.
        chunk = -(-len(plays) // _listeners())
        return list(pool.map(hear, *zip(*plays, strict=True), chunksize=chunk))
    except BrokenProcessPool:
        log.warning("a listening worker died; starting new ones")
        _discard_pool(pool)
        return [hear(*play) for play in plays]


def listen_to_candidates(
    critic: SampleCritic, plays: Sequence[tuple[Patch, int, float]], family: str
) -> tuple[np.ndarray, list[Heard | None]]:
    """The critic's likeness to ``family`` of each ``(patch, note, gate_s)`` play, and what it heard of
    each (None: silence, which scores 0; every score is 0 when the critic does not know ``family``)."""
    heard = hear_all([(patch.physical(), note, gate) for patch, note, gate in plays])
    scores = np.zeros(len(plays))
    audible = [i for i, h in enumerate(heard) if h is not None]
    if audible and family in critic.families:
        features = np.stack([heard[i].features for i in audible])  # type: ignore[union-attr]
        scores[audible] = critic.family_probabilities(features)[:, critic.families.index(family)]
    return scores, heard
