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
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zmq

from promptdaw.inference_server.errors import JobCancelled, JobTimeout, PromptdawError, ResourcesExhausted
from promptdaw.inference_server.memory import release_memory
from promptdaw.inference_server.protocol import Audio, Frame, Payload, Request, encode_result

if TYPE_CHECKING:
    from promptdaw.runtime.registry import ModelRegistry

__all__ = [
    "CancelReason",
    "Job",
    "JobContext",
    "JobState",
    "KeptResult",
    "KeptResults",
    "Outbox",
    "Outgoing",
    "Seal",
    "TaskResult",
]

#: What a task returns: the JSON result object and binary payloads.
TaskResult = tuple[dict[str, Any], Sequence[Payload]]
#: Puts the signature frame in front of a message's frames (``protocol.sign`` with the daemon's key).
Seal = Callable[[Sequence[Frame]], list[Frame]]


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
    #: A result's signed frames, made on the worker thread: hashing tens of MB of audio on the
    #: socket loop would hold up every quick request behind it.
    frames: Sequence[Frame] | None = None

    @property
    def final(self) -> bool:
        return self.event != "progress"


def payload_bytes(payloads: Sequence[Payload]) -> int:
    return sum(p.samples.nbytes if isinstance(p, Audio) else len(p.data) for p in payloads)


@dataclass
class KeptResult:
    expires: float
    request: Request
    body: dict[str, Any]
    payloads: Sequence[Payload]
    nbytes: int


class KeptResults:
    """Results finished just as their client left, kept for that client to collect with ``result``.

    Keyed by the client's routing identity and the request id, so only the connection that
    submitted a job can collect it. Bounded in count and in bytes: the oldest go first, and a
    result bigger than the whole budget is not kept at all. Main thread only.
    """

    def __init__(self, ttl_s: float, max_count: int, max_bytes: int) -> None:
        self.ttl_s, self.max_count, self.max_bytes = ttl_s, max_count, max_bytes
        self._kept: OrderedDict[tuple[bytes, str], KeptResult] = OrderedDict()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._kept)

    def keep(self, identity: bytes, request: Request, body: dict[str, Any], payloads: Sequence[Payload],
             now: float) -> int:  # fmt: skip
        """Keep a result; returns the bytes dropped to make room (or of this result, when it cannot fit)."""
        kept = KeptResult(now + self.ttl_s, request, body, payloads, payload_bytes(payloads))
        if kept.nbytes > self.max_bytes or self.max_count < 1:
            return kept.nbytes
        self._kept[(identity, request.id)] = kept
        self.nbytes += kept.nbytes
        dropped = 0
        while len(self._kept) > self.max_count or self.nbytes > self.max_bytes:
            dropped += self._drop_oldest()
        return dropped

    def take(self, identity: bytes, request_id: str) -> KeptResult | None:
        """The result of ``identity``'s request ``request_id``, removed; None if there is none."""
        kept = self._kept.pop((identity, request_id), None)
        if kept is not None:
            self.nbytes -= kept.nbytes
        return kept

    def expire(self, now: float) -> int:
        """Drop results past their time; returns the bytes dropped."""
        dropped = 0
        while self._kept and next(iter(self._kept.values())).expires < now:
            dropped += self._drop_oldest()
        return dropped

    def _drop_oldest(self) -> int:
        _, kept = self._kept.popitem(last=False)
        self.nbytes -= kept.nbytes
        return kept.nbytes


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

    def __init__(self, job: Job, registry: ModelRegistry, outbox: Outbox, seal: Seal, *,
                 plugin_paths: Sequence[Path] = ()) -> None:  # fmt: skip
        self.job = job
        self.registry = registry
        self._outbox = outbox
        self._seal = seal
        #: Folders the daemon's configuration adds to the plugin folders (``serve --plugin-path``).
        self.plugin_paths = tuple(plugin_paths)
        #: What degraded while serving the job (a broken optional model), sent as the result's ``warnings``.
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        """Say in the result how it is less than asked (each message once)."""
        if message not in self.warnings:
            self.warnings.append(message)

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
            if self.warnings:
                body = {**body, "warnings": [*body.get("warnings", ()), *self.warnings]}
            frames = self._seal(encode_result(job.request, body, payloads))
        except (JobCancelled, JobTimeout) as exc:
            job.state = JobState.CANCELLED
            self._outbox.put(Outgoing(job, "error", error=exc))
        except MemoryError as exc:
            job.state = JobState.FAILED
            # The traceback holds the frames that hold the buffers: drop it before releasing.
            message = f"{job.request.type} {job.request.id!r} ran out of memory ({exc or 'MemoryError'}); ask for less"
            exc.__traceback__ = None
            del exc
            release_memory()
            self._outbox.put(Outgoing(job, "error", error=ResourcesExhausted(message)))
        except Exception as exc:  # a crashed task is reported; the worker lives on
            job.state = JobState.FAILED
            self._outbox.put(Outgoing(job, "error", error=exc))
        else:
            job.state = JobState.DONE
            self._outbox.put(Outgoing(job, "result", body, payloads, frames=frames))
