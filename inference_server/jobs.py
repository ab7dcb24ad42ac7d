"""Jobs: the life of one long request, from queued to its final reply.

The socket loop owns the job table; worker threads run tasks and report through the
:class:`Outbox`. A task sees only a :class:`JobContext`: it reports progress, and every
report is also the point where cancellation and time-outs take effect (between chunks,
never inside an onnxruntime call).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import zmq

from promptdaw.inference_server.errors import JobCancelled, JobTimeout, PromptdawError
from promptdaw.inference_server.protocol import Payload, Request

if TYPE_CHECKING:
    from promptdaw.runtime.registry import ModelRegistry

__all__ = ["CancelReason", "Job", "JobContext", "JobState", "Outbox", "Outgoing", "TaskResult"]

#: What a task returns: the JSON result object and binary payloads.
TaskResult = tuple[dict[str, Any], Sequence[Payload]]


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class CancelReason(StrEnum):
    REQUESTED = "cancelled by request"
    TIMEOUT = "timed out"
    CLIENT_GONE = "client disconnected"
    SHUTDOWN = "daemon shutting down"


@dataclass
class Job:
    identity: bytes
    request: Request
    timeout_s: float
    submitted: float = field(default_factory=time.monotonic)
    state: JobState = JobState.QUEUED
    started: float | None = None
    fraction: float = 0.0
    stage: str = "queued"
    #: Main-thread only: the final reply (or the decision that none is owed) has been made.
    replied: bool = False
    future: Future | None = None
    cancel_reason: CancelReason | None = None
    _cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def key(self) -> tuple[bytes, str]:
        return (self.identity, self.request.id)

    @property
    def deadline(self) -> float:
        return self.submitted + self.timeout_s

    def cancel(self, reason: CancelReason) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self._cancelled.set()
        if self.future is not None:
            self.future.cancel()  # succeeds only while still queued

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancellation_error(self) -> PromptdawError:
        if self.cancel_reason is CancelReason.TIMEOUT:
            return JobTimeout(f"{self.request.type} {self.request.id!r} exceeded its timeout of {self.timeout_s:g} s")
        reason = self.cancel_reason or CancelReason.REQUESTED
        return JobCancelled(f"{self.request.type} {self.request.id!r} {reason.value}")

    def describe(self, now: float) -> dict[str, Any]:
        return {
            "id": self.request.id,
            "type": self.request.type,
            "state": self.state.value,
            "stage": self.stage,
            "fraction": round(self.fraction, 4),
            "elapsed_s": round(now - self.submitted, 3),
        }


@dataclass
class Outgoing:
    """A message a worker hands to the socket loop."""

    job: Job
    event: str  # "progress", "result" or "error"
    body: dict[str, Any] | None = None
    payloads: Sequence[Payload] = ()
    error: BaseException | None = None

    @property
    def final(self) -> bool:
        return self.event != "progress"


class Outbox:
    """Worker -> socket-loop hand-off: a queue plus an inproc wake-up the loop polls.

    ZeroMQ sockets are not thread-safe, so workers never touch the ROUTER socket; they
    enqueue here and poke one shared PUSH socket under a lock.
    """

    def __init__(self, context: zmq.Context, address: str) -> None:
        self._queue: queue.SimpleQueue[Outgoing] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.wakeup = context.socket(zmq.PULL)
        self.wakeup.bind(address)
        self._poke = context.socket(zmq.PUSH)
        self._poke.connect(address)

    def put(self, message: Outgoing) -> None:
        self._queue.put(message)
        with self._lock:
            self._poke.send(b"", zmq.NOBLOCK)

    def drain(self) -> list[Outgoing]:
        """Main thread: take every waiting message (and the wake-ups that announced them)."""
        while True:
            try:
                self.wakeup.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
        messages = []
        while True:
            try:
                messages.append(self._queue.get_nowait())
            except queue.Empty:
                return messages

    def close(self) -> None:
        self._poke.close(linger=0)
        self.wakeup.close(linger=0)


class JobContext:
    """What a running task can see and do."""

    def __init__(self, job: Job, registry: ModelRegistry, outbox: Outbox) -> None:
        self.job = job
        self.registry = registry
        self._outbox = outbox

    @property
    def request(self) -> Request:
        return self.job.request

    def check(self) -> None:
        """Raise if the job was cancelled, timed out, or its client left."""
        if self.job.cancelled:
            raise self.job.cancellation_error()
        if time.monotonic() > self.job.deadline:
            self.job.cancel(CancelReason.TIMEOUT)
            raise self.job.cancellation_error()

    def progress(self, fraction: float, stage: str) -> None:
        """Report progress to the client; raises if the job must stop."""
        self.check()
        self.job.fraction, self.job.stage = fraction, stage
        self._outbox.put(Outgoing(self.job, "progress", {"fraction": fraction, "stage": stage}))

    def execute(self, task: Callable[[JobContext], TaskResult]) -> None:
        """Worker-thread body: run ``task`` and post exactly one final message."""
        job = self.job
        job.state, job.started = JobState.RUNNING, time.monotonic()
        try:
            self.progress(0.0, "started")  # also tells the loop early if the client left
            body, payloads = task(self)
        except (JobCancelled, JobTimeout) as exc:
            job.state = JobState.CANCELLED
            self._outbox.put(Outgoing(job, "error", error=exc))
        except Exception as exc:  # a crashed task is reported; the worker lives on
            job.state = JobState.FAILED
            self._outbox.put(Outgoing(job, "error", error=exc))
        else:
            job.state = JobState.DONE
            self._outbox.put(Outgoing(job, "result", body, payloads))
