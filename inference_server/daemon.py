"""The daemon: one ROUTER socket loop that answers at once and hands long work to workers.

The loop never runs inference. Quick requests (ping, status, models, unload, cancel,
result, shutdown) are answered inline; jobs (``requests.REQUESTS``) go to a thread pool and
report back through the :class:`~.jobs.Outbox`. The loop also enforces time-outs,
notices clients that left (a send to them fails) and keeps undeliverable results for a
while so a reconnecting client can still collect them with ``result``.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from promptdaw import __version__
from promptdaw.inference_server.errors import (
    InvalidInput,
    JobNotFound,
    PromptdawError,
    ProtocolError,
    ServerBusy,
)
from promptdaw.inference_server.jobs import CancelReason, Job, JobContext, JobState, Outbox, Outgoing
from promptdaw.inference_server.params import number_param, string_param
from promptdaw.inference_server.protocol import (
    DEFAULT_ENDPOINT,
    DEFAULT_MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    Frame,
    Payload,
    Request,
    decode_request,
    encode_error,
    encode_progress,
    encode_result,
)
from promptdaw.inference_server.requests import REQUESTS, request_type
from promptdaw.inference_server.security import secure_server_socket
from promptdaw.runtime.onnx import available_providers, select_providers
from promptdaw.runtime.registry import ModelRegistry

__all__ = ["Daemon", "DaemonConfig"]

log = logging.getLogger(__name__)

Handler = Callable[[bytes, Request], tuple[dict[str, Any], Sequence[Payload]]]


@dataclass
class DaemonConfig:
    models_dir: Path
    endpoint: str = DEFAULT_ENDPOINT
    workers: int = 1
    max_queue: int = 64
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    #: How long a finished result whose client left is kept for ``result``.
    result_ttl_s: float = 600.0
    max_kept_results: int = 32
    curve_keys_dir: Path | None = None
    #: onnxruntime threads per session; 0 lets onnxruntime use every core.
    intra_op_threads: int = 0


@dataclass
class _KeptResult:
    expires: float
    request: Request
    body: dict[str, Any]
    payloads: Sequence[Payload]


#: ``uptime_s`` counts on a clock that keeps running while the machine is suspended, as the process's
#: age does (``ps -o etimes``): CLOCK_BOOTTIME on Linux; elsewhere ``time.monotonic()``, which may not.
UPTIME_CLOCK = getattr(time, "CLOCK_BOOTTIME", None)


def _uptime_clock() -> float:
    return time.monotonic() if UPTIME_CLOCK is None else time.clock_gettime(UPTIME_CLOCK)


def _memory() -> dict[str, int]:
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    try:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: report the peak as the best estimate
        rss = peak_kib * 1024
    return {"rss_bytes": rss, "peak_rss_bytes": peak_kib * 1024}


class Daemon:
    """Serve until :meth:`stop` (or a ``shutdown`` request, SIGINT, SIGTERM)."""

    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        self.registry = ModelRegistry(
            config.models_dir,
            providers=select_providers(),
            intra_op_threads=config.intra_op_threads,
        )
        self._context = zmq.Context()
        self._router = self._context.socket(zmq.ROUTER)
        self._router.setsockopt(zmq.ROUTER_MANDATORY, 1)  # sends to departed clients fail loudly
        self._router.setsockopt(zmq.ROUTER_HANDOVER, 1)  # a reconnecting identity takes over
        self._router.setsockopt(zmq.HEARTBEAT_IVL, 1000)  # notice dead TCP peers...
        self._router.setsockopt(zmq.HEARTBEAT_TIMEOUT, 5000)  # ...within a few seconds
        # Transport-level guard against memory exhaustion; anything between the protocol
        # limit and this still gets a structured payload_too_large error.
        self._router.setsockopt(zmq.MAXMSGSIZE, 2 * config.max_message_bytes)
        self._auth = secure_server_socket(self._router, self._context, config.endpoint, config.curve_keys_dir)
        self._router.bind(config.endpoint)
        self.endpoint = self._router.getsockopt(zmq.LAST_ENDPOINT).decode()
        self._outbox = Outbox(self._context, f"inproc://promptdaw-outbox-{id(self)}")
        self._executor = ThreadPoolExecutor(config.workers, thread_name_prefix="promptdaw-worker")
        self._jobs: dict[tuple[bytes, str], Job] = {}
        self._kept: OrderedDict[str, _KeptResult] = OrderedDict()
        self._stopping = threading.Event()
        self._started = _uptime_clock()
        self._handlers: dict[str, Handler] = {
            name: getattr(self, r.handler_name) for name, r in REQUESTS.items() if r.quick
        }

    # ------------------------------------------------------------------ loop

    def serve(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: self.stop())
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._outbox.wakeup, zmq.POLLIN)
        log.info(
            "promptdaw %s serving on %s (providers: %s)",
            __version__,
            self.endpoint,
            ", ".join(self.registry.providers),
        )
        try:
            while not self._stopping.is_set():
                ready = dict(poller.poll(100))
                if self._router in ready:
                    self._receive_all()
                if self._outbox.wakeup in ready:
                    for message in self._outbox.drain():
                        self._deliver(message)
                self._expire(time.monotonic())
        finally:
            self._close()

    def stop(self) -> None:
        self._stopping.set()

    def _receive_all(self) -> None:
        """Take every waiting request, so a burst of pings is not paced by the poll."""
        while True:
            try:
                frames = self._router.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            identity, body = frames[0].bytes, [f.buffer for f in frames[1:]]
            self._on_message(identity, body)

    def _on_message(self, identity: bytes, frames: Sequence[Frame]) -> None:
        try:
            request = decode_request(frames, max_bytes=self.config.max_message_bytes)
        except ProtocolError as exc:
            log.warning("rejected message: %s", exc.message)
            self._send(identity, encode_error(exc.request_id, exc.request_type, exc))
            return
        try:
            if not request_type(request.type).quick:
                self._submit(identity, request)
                return
            handler = self._handlers[request.type]
            body, payloads = handler(identity, request)
            self._send(identity, encode_result(request, body, payloads))
        except Exception as exc:  # one clear error reply; the loop keeps serving
            if not isinstance(exc, PromptdawError):
                log.exception("handler for %s failed", request.type)
            self._send(identity, encode_error(request.id, request.type, exc))

    def _send(self, identity: bytes, frames: Sequence[Frame]) -> bool:
        """Send to one client; False when it has gone (or cannot take more)."""
        try:
            self._router.send_multipart([identity, *frames], flags=zmq.NOBLOCK, copy=False)
            return True
        except zmq.ZMQError as exc:
            if exc.errno in (zmq.EHOSTUNREACH, zmq.EAGAIN):
                return False
            raise

    # ------------------------------------------------------------------ jobs

    def _submit(self, identity: bytes, request: Request) -> None:
        if (identity, request.id) in self._jobs:
            raise InvalidInput(f"request id {request.id!r} is already running; ids must be unique")
        queued = sum(job.state is JobState.QUEUED for job in self._jobs.values())
        if queued >= self.config.max_queue:
            raise ServerBusy(f"{queued} jobs are queued (limit {self.config.max_queue}); retry later")
        declared = REQUESTS[request.type]
        timeout_s = number_param(request, "timeout_s", declared.timeout_s, lo=0.01, hi=86_400.0)
        job = Job(identity, request, timeout_s)
        context = JobContext(job, self.registry, self._outbox)
        self._jobs[job.key] = job
        job.future = self._executor.submit(context.execute, declared.task)
        self._send(identity, encode_progress(request, 0.0, "queued"))

    def _deliver(self, message: Outgoing) -> None:
        job = message.job
        if message.final:
            self._jobs.pop(job.key, None)
            if job.replied:
                return  # already answered (timeout, cancel) or its client left
            job.replied = True
            request = job.request
            if message.event == "result":
                frames = encode_result(request, message.body or {}, message.payloads)
            else:
                frames = encode_error(request.id, request.type, message.error or PromptdawError())
            if not self._send(job.identity, frames) and message.event == "result":
                self._keep(request, message)
            return
        if job.replied or job.cancelled:
            return
        body = message.body or {}
        frames = encode_progress(job.request, body.get("fraction", 0.0), body.get("stage", ""))
        if not self._send(job.identity, frames):
            log.info("client of %s %r left; cancelling", job.request.type, job.request.id)
            self._end_job(job, CancelReason.CLIENT_GONE, reply=False)

    def _end_job(self, job: Job, reason: CancelReason, *, reply: bool) -> None:
        """Cancel ``job``; optionally answer its request with the cancellation error now."""
        job.cancel(reason)
        if not job.replied:
            job.replied = True
            if reply:
                request = job.request
                self._send(job.identity, encode_error(request.id, request.type, job.cancellation_error()))
        if job.future is not None and job.future.cancelled():
            self._jobs.pop(job.key, None)  # never started: no worker will report back

    def _keep(self, request: Request, message: Outgoing) -> None:
        self._kept[request.id] = _KeptResult(
            time.monotonic() + self.config.result_ttl_s, request, message.body or {}, message.payloads
        )
        while len(self._kept) > self.config.max_kept_results:
            self._kept.popitem(last=False)

    def _expire(self, now: float) -> None:
        for job in list(self._jobs.values()):
            if not job.replied and now > job.deadline:
                self._end_job(job, CancelReason.TIMEOUT, reply=True)
        while self._kept and next(iter(self._kept.values())).expires < now:
            self._kept.popitem(last=False)

    # ------------------------------------------------------------------ quick requests

    def _ping(self, identity: bytes, request: Request) -> tuple[dict[str, Any], Sequence[Payload]]:
        return {"protocol": PROTOCOL_VERSION, "version": __version__}, request.payloads

    def _status(self, identity: bytes, request: Request) -> tuple[dict[str, Any], Sequence[Payload]]:
        now = time.monotonic()
        jobs = [job.describe(now) for job in self._jobs.values()]
        return {
            "version": __version__,
            "protocol": PROTOCOL_VERSION,
            "pid": os.getpid(),
            "endpoint": self.endpoint,
            "uptime_s": round(_uptime_clock() - self._started, 3),
            "providers": self.registry.providers,
            "available_providers": available_providers(),
            "models_loaded": self.registry.loaded(),
            "workers": self.config.workers,
            "queue_depth": sum(j["state"] == JobState.QUEUED for j in jobs),
            "running": [j for j in jobs if j["state"] == JobState.RUNNING],
            "queued": [j for j in jobs if j["state"] == JobState.QUEUED],
            "kept_results": len(self._kept),
            "memory": _memory(),
        }, ()

    def _models(self, identity: bytes, request: Request) -> tuple[dict[str, Any], Sequence[Payload]]:
        self.registry.discover()
        return {"models": self.registry.describe()}, ()

    def _unload(self, identity: bytes, request: Request) -> tuple[dict[str, Any], Sequence[Payload]]:
        name = string_param(request, "model")
        if not name:
            raise InvalidInput("unload needs params.model, the name of a model")
        return {"model": name, "was_loaded": self.registry.unload(name)}, ()

    def _cancel(self, identity: bytes, request: Request) -> tuple[dict[str, Any], Sequence[Payload]]:
        target = string_param(request, "request_id")
        if not target:
            raise InvalidInput("cancel needs params.request_id, the id of the request to cancel")
        job = self._jobs.get((identity, target)) or next(
            (j for j in self._jobs.values() if j.request.id == target), None
        )
        if job is None or job.replied:
            raise JobNotFound(f"no running or queued request with id {target!r}")
        state = job.state.value
        self._end_job(job, CancelReason.REQUESTED, reply=True)
        return {"request_id": target, "was": state}, ()

    def _result(self, identity: bytes, request: Request) -> tuple[dict[str, Any], Sequence[Payload]]:
        target = string_param(request, "request_id")
        if not target:
            raise InvalidInput("result needs params.request_id")
        kept = self._kept.pop(target, None)
        if kept is None:
            raise JobNotFound(f"no kept result for request id {target!r}")
        return {"request_id": target, "type": kept.request.type, "result": kept.body}, kept.payloads

    def _shutdown(self, identity: bytes, request: Request) -> tuple[dict[str, Any], Sequence[Payload]]:
        self.stop()
        return {"stopping": True, "pid": os.getpid()}, ()

    # ------------------------------------------------------------------ teardown

    def _close(self) -> None:
        for job in list(self._jobs.values()):
            self._end_job(job, CancelReason.SHUTDOWN, reply=True)
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._auth is not None:
            self._auth.stop()
        self._outbox.close()
        self._router.close(linger=1000)  # let the last replies leave
        self._context.term()
        log.info("promptdaw daemon stopped")
