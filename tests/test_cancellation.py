"""Cancellation inside long stages: resampling in bounded chunks, model windows in batches.

A job stops at its next progress check (``JobContext.progress`` raises once it is cancelled), so
what bounds the time to stop is the work between two checks. These tests count that work (soxr
chunks, model calls) instead of timing it, which no machine load can change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soxr

from promptdaw.core.audio import resample, to_model_input
from promptdaw.inference_server.errors import JobCancelled
from promptdaw.inference_server.jobs import CancelReason, Job, JobContext, JobState, Outgoing
from promptdaw.inference_server.protocol import Audio, Request
from promptdaw.inference_server.tasks.transcribe import transcribe
from promptdaw.runtime.registry import ModelRegistry

RATES = [(44100, 22050), (48000, 22050), (37800, 22050), (8000, 22050), (22051, 22050), (44100, 48000)]


@pytest.mark.parametrize(("in_rate", "out_rate"), RATES)
@pytest.mark.parametrize("shape", [(1,), (999,), (300_001,), (200_003, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_resample_is_soxr_bit_for_bit(in_rate: int, out_rate: int, shape: tuple, dtype: type) -> None:
    x = (0.1 * np.random.default_rng(shape[0]).standard_normal(shape)).astype(dtype)
    expected = soxr.resample(x, in_rate, out_rate, quality="HQ")
    for chunk_frames in (1_000, 65_536, 2**18):
        fractions: list[float] = []
        y = resample(x, in_rate, out_rate, chunk_frames=chunk_frames, progress=fractions.append)
        assert y.dtype == expected.dtype and y.shape == expected.shape
        np.testing.assert_array_equal(y, expected)
        assert len(fractions) == -(-shape[0] // chunk_frames) and fractions == sorted(fractions)
        assert fractions[-1] == 1.0


def test_to_model_input_resamples_as_before() -> None:
    """The one-shot ``soxr.resample`` of the mono mix, which ``to_model_input`` used to call."""
    stereo = (0.1 * np.random.default_rng(0).standard_normal((1_000_003, 2))).astype(np.float32)
    fractions: list[float] = []
    mono = to_model_input(stereo, 44100, 22050, progress=fractions.append)
    np.testing.assert_array_equal(mono, soxr.resample(stereo.mean(axis=1, dtype=np.float32), 44100, 22050))
    assert len(fractions) == 4 and fractions[-1] == 1.0
    to_model_input(stereo, 22050, 22050, progress=fractions.append)
    assert len(fractions) == 4  # nothing to resample at the model's rate


def test_an_exception_from_progress_stops_resampling_at_once() -> None:
    x = np.zeros(1_000_000, np.float32)
    calls: list[float] = []

    def stop(fraction: float) -> None:
        calls.append(fraction)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        resample(x, 48000, 22050, chunk_frames=10_000, progress=stop)
    assert calls == [0.01]


class _Outbox:
    """What a worker posts, kept in a list; cancels the job at the first event ``cancel_at`` accepts."""

    def __init__(self, job: Job, cancel_at) -> None:
        self.job, self.cancel_at = job, cancel_at
        self.events: list[tuple[float, str]] = []
        self.final: Outgoing | None = None

    def put(self, message: Outgoing) -> None:
        if message.final:
            self.final = message
            return
        body = message.body or {}
        self.events.append((body["fraction"], body["stage"]))
        if not self.job.cancelled and self.cancel_at(body["fraction"], body["stage"]):
            self.job.cancel(CancelReason.REQUESTED)  # as the daemon's loop does, on a cancel request


@pytest.fixture(scope="module")
def registry(basic_pitch_onnx: Path) -> ModelRegistry:
    return ModelRegistry(basic_pitch_onnx.parent.parent, providers=["CPUExecutionProvider"])


def run_transcribe_job(registry: ModelRegistry, samples: np.ndarray, rate: int, cancel_at) -> _Outbox:
    job = Job(b"client", Request("r1", "transcribe", {}, (Audio(samples, rate),)), timeout_s=600.0)
    outbox = _Outbox(job, cancel_at)
    JobContext(job, registry, outbox, lambda frames: list(frames)).execute(transcribe)  # the worker's body, here
    assert job.state is JobState.CANCELLED and isinstance(outbox.final.error, JobCancelled)
    return outbox


def test_a_cancel_during_resampling_stops_it_within_one_chunk(registry, monkeypatch) -> None:
    """10 minutes at an odd rate: 87 resampling chunks; cancelled after the first, it does one more."""
    chunks: list[int] = []

    class CountingStream(soxr.ResampleStream):
        def resample_chunk(self, x: np.ndarray, last: bool = False) -> np.ndarray:
            chunks.append(x.shape[0])
            return super().resample_chunk(x, last)

    monkeypatch.setattr(soxr, "ResampleStream", CountingStream)
    rate = 37800
    samples = (0.1 * np.sin(np.arange(600 * rate, dtype=np.float32) * 0.05))[:, None]
    outbox = run_transcribe_job(
        registry, samples, rate, lambda fraction, stage: stage == "resampling" and fraction > 0.02
    )
    assert len(chunks) == 2, f"{len(chunks)} of {-(-samples.shape[0] // 2**18)} chunks ran"
    assert [stage for _, stage in outbox.events] == ["started", "resampling", "resampling"]


def test_a_cancel_during_inference_stops_it_within_one_batch(registry, monkeypatch) -> None:
    """10 minutes at the model's rate: 366 windows, 8 a batch; cancelled after the first batch, it runs one more."""
    model = registry.get("basic_pitch")
    batches: list[int] = []
    run = model.run

    def counting_run(inputs, outputs=None):
        batches.append(inputs["audio"].shape[0])
        return run(inputs, outputs)

    monkeypatch.setattr(model, "run", counting_run)
    samples = (0.1 * np.sin(np.arange(600 * 22050, dtype=np.float32) * 0.05))[:, None]
    outbox = run_transcribe_job(
        registry, samples, 22050, lambda fraction, stage: stage == "transcribing" and fraction > 0.05
    )
    assert batches == [8, 8]
    assert [stage for _, stage in outbox.events] == ["started", "resampling", "transcribing", "transcribing"]
