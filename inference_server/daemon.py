"""The daemon: one ROUTER socket loop that answers at once and hands long work to workers.

The loop never runs inference. Quick requests (ping, status, models, unload, cancel,
result, shutdown) are answered inline; jobs (``requests.REQUESTS``) go to a thread pool and
report back through the :class:`~.jobs.Outbox`. The loop also enforces time-outs,
notices clients that left (a send to them fails) and keeps undeliverable results for a
while so a reconnecting client can still collect them with ``result``.

Every message is signed with the key of the daemon's connection file (see ``security``);
unsigned or wrongly signed ones are dropped unanswered and counted. A job belongs to the
client connection (routing identity) that submitted it: only that client sees it in
``status``, cancels it or collects its kept result.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from promptdaw import __version__
from promptdaw.core.limits import KEPT_RESULT_TTL_S, KEPT_RESULTS_BYTES
from promptdaw.inference_server.errors import (
    BadSignature,
    InvalidInput,
    JobNotFound,
    PromptdawError,
    ProtocolError,
    ServerBusy,
)
from promptdaw.inference_server.jobs import CancelReason, Job, JobContext, JobState, KeptResults, Outbox, Outgoing
from promptdaw.inference_server.memory import configure_allocator, process_memory, release_memory
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
    new_key,
    sign,
    verify,
)
from promptdaw.inference_server.requests import REQUESTS, request_type
from promptdaw.inference_server.security import (
    ConnectionInfo,
    connection_file,
    load_server_keys,
    remove_connection_file,
    secure_server_socket,
    write_connection_file,
)
from promptdaw.runtime.onnx import available_providers, select_providers
from promptdaw.runtime.registry import ModelRegistry

__all__ = ["Daemon", "DaemonConfig"]

log = logging.getLogger(__name__)

Handler = Callable[[bytes, Request], tuple[dict[str, Any], Sequence[Payload]]]

#: Dropped (unsigned) messages logged one by one before the log only counts them.
_LOGGED_DROPS = 10


@dataclass
class DaemonConfig:
    models_dir: Path
    endpoint: str = DEFAULT_ENDPOINT
    workers: int = 1
    max_queue: int = 64
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    #: How long a finished result whose client left is kept for ``result``.
    result_ttl_s: float = KEPT_RESULT_TTL_S
    max_kept_results: int = 32
    #: Kept results together hold at most this many bytes of buffers (the oldest go first).
    max_kept_bytes: int = KEPT_RESULTS_BYTES
    curve_keys_dir: Path | None = None
    #: onnxruntime threads per session; 0 lets onnxruntime use every core.
    intra_op_threads: int = 0
    #: The signing key; None makes a fresh random one (the usual: it lives in the connection file).
    key: str | None = None
    #: Folder of the connection file; None: ``<state dir>/connections``.
    connection_dir: Path | None = None
    #: Plugin folders besides the VST3 standard ones and $PROMPTDAW_PLUGIN_PATH (``plugin_host.sandbox``).
    plugin_paths: tuple[Path, ...] = ()


#: ``uptime_s`` counts on a clock that keeps running while the machine is suspended, as the process's
#: age does (``ps -o etimes``): CLOCK_BOOTTIME on Linux; elsewhere ``time.monotonic()``, which may not.
UPTIME_CLOCK = getattr(time, "CLOCK_BOOTTIME", None)


def _uptime_clock() -> float:
    return time.monotonic() if UPTIME_CLOCK is None else time.clock_gettime(UPTIME_CLOCK)


class Daemon:
    """Serve until :meth:`stop` (or a ``shutdown`` request, SIGINT, SIGTERM)."""

    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        configure_allocator()  # before any large buffer: freed audio goes back to the OS
        self._key = (config.key or new_key()).encode("ascii")
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
        # Written only once bound: a second daemon that cannot bind never replaces the first's file.
        curve_key = load_server_keys(config.curve_keys_dir).public.decode() if config.curve_keys_dir else None
        self.connection_file = write_connection_file(
            connection_file(self.endpoint, config.connection_dir),
            ConnectionInfo(self.endpoint, self._key.decode("ascii"), os.getpid(), curve_server_key=curve_key),
        )
        self._outbox = Outbox(self._context, f"inproc://promptdaw-outbox-{id(self)}")
        self._executor = ThreadPoolExecutor(config.workers, thread_name_prefix="promptdaw-worker")
        self._jobs: dict[tuple[bytes, str], Job] = {}
        self._kept = KeptResults(config.result_ttl_s, config.max_kept_results, config.max_kept_bytes)
        self._dropped = 0  # unsigned or wrongly signed messages
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
            identity, signed = frames[0].bytes, [f.buffer for f in frames[1:]]
            try:
                body = verify(self._key, signed)
            except BadSignature as exc:
                self._drop(exc)
                continue
            self._on_message(identity, body)

    def _drop(self, exc: BadSignature) -> None:
        """Count (and at first log) a message that is not signed with our key; it gets no answer."""
        self._dropped += 1
        if self._dropped <= _LOGGED_DROPS or self._dropped % 1000 == 0:
            log.warning("dropped %s (%d so far): the sender lacks this daemon's key", exc.message, self._dropped)

    def _seal(self, frames: Sequence[Frame]) -> list[Frame]:
        return sign(self._key, frames)

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

    def _send(self, identity: bytes, frames: Sequence[Frame], *, signed: bool = False) -> bool:
        """Sign and send to one client; False when it has gone (or cannot take more)."""
        if not signed:
            frames = self._seal(frames)
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
        context = JobContext(job, self.registry, self._outbox, self._seal, plugin_paths=self.config.plugin_paths)
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
            if message.frames is not None:
                sent = self._send(job.identity, message.frames, signed=True)
            elif message.event == "result":
                sent = self._send(job.identity, encode_result(request, message.body or {}, message.payloads))
            else:
                error = message.error or PromptdawError()
                sent = self._send(job.identity, encode_error(request.id, request.type, error))
            if not sent and message.event == "result":
                dropped = self._kept.keep(job.identity, request, message.body or {}, message.payloads, time.monotonic())
                if dropped:
                    self._release(dropped)
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

    def _expire(self, now: float) -> None:
        for job in list(self._jobs.values()):
            if not job.replied and now > job.deadline:
                self._end_job(job, CancelReason.TIMEOUT, reply=True)
        if dropped := self._kept.expire(now):
            self._release(dropped)

    def _release(self, nbytes: int) -> None:
        """Results of ``nbytes`` were dropped: hand their memory back to the OS."""
        log.info("released %.1f MiB of kept results", nbytes / 2**20)
        release_memory()

    # ------------------------------------------------------------------ quick requests

    def _ping(self, identity: bytes, request: Request) -> tuple[dict[str, Any], Sequence[Payload]]:
        return {"protocol": PROTOCOL_VERSION, "version": __version__}, request.payloads

    def _status(self, identity: bytes, request: Request) -> tuple[dict[str, Any], Sequence[Payload]]:
        """The daemon's state; the asking client's own jobs only (others' are only counted).

        Never waits: ``registry.loaded()`` is a snapshot that does not take the lock a loading
        model holds.
        """
        now = time.monotonic()
        jobs = [job.describe(now) for job in self._jobs.values() if job.identity == identity]
        others = [job.state for job in self._jobs.values() if job.identity != identity]
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
            "queue_depth": sum(job.state is JobState.QUEUED for job in self._jobs.values()),
            "running": [j for j in jobs if j["state"] == JobState.RUNNING],
            "queued": [j for j in jobs if j["state"] == JobState.QUEUED],
            "others": {
                "running": sum(state is JobState.RUNNING for state in others),
                "queued": sum(state is JobState.QUEUED for state in others),
            },
            "kept_results": len(self._kept),
            "kept_bytes": self._kept.nbytes,
            "dropped_messages": self._dropped,
            "memory": process_memory(),
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
        job = self._jobs.get((identity, target))  # another client's job answers as an unknown id
        if job is None or job.replied:
            raise JobNotFound(f"no running or queued request with id {target!r}")
        state = job.state.value
        self._end_job(job, CancelReason.REQUESTED, reply=True)
        return {"request_id": target, "was": state}, ()

    def _result(self, identity: bytes, request: Request) -> tuple[dict[str, Any], Sequence[Payload]]:
        target = string_param(request, "request_id")
        if not target:
            raise InvalidInput("result needs params.request_id")
        kept = self._kept.take(identity, target)  # only the client that submitted it
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
        remove_connection_file(self.connection_file, os.getpid())
        log.info("promptdaw daemon stopped")
