"""The Python client: one DEALER socket, signed messages, typed errors, progress callbacks.

>>> with Client() as client:
...     client.ping()
...     result, midi = client.transcribe(samples, 44100, on_progress=print)

The signing key comes from the daemon's connection file (``security.find_connection``): the
one in this user's state folder for the endpoint, or ``$PROMPTDAW_CONNECTION_FILE``.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from promptdaw.inference_server.errors import BadSignature, DaemonUnavailable, PromptdawError
from promptdaw.inference_server.protocol import (
    DEFAULT_ENDPOINT,
    Audio,
    Midi,
    Payload,
    Reply,
    Request,
    decode_reply,
    encode_request,
    raise_for_error,
    sign,
    verify,
)
from promptdaw.inference_server.security import ConnectionInfo, configure_client_curve, find_connection

__all__ = ["DEAD_AFTER_S", "DEFAULT_TIMEOUT_S", "HEARTBEAT_S", "Client", "ProgressCallback", "resolve_endpoint"]

#: Longest silence tolerated about a request; progress events reset the clock.
DEFAULT_TIMEOUT_S = 30.0
#: While a request waits in silence, the client pings the daemon this often...
HEARTBEAT_S = 1.0
#: ...and calls it gone when nothing at all came back for this long (its loop answers pings at
#: once, even while jobs run, so silence means it exited, was killed or hangs).
DEAD_AFTER_S = 3.0

ProgressCallback = Callable[[float, str], None]


def resolve_endpoint(endpoint: str | None = None) -> str:
    """``endpoint``, else ``$PROMPTDAW_ENDPOINT``, else the default loopback endpoint."""
    return endpoint or os.environ.get("PROMPTDAW_ENDPOINT") or DEFAULT_ENDPOINT


class Client:
    """A connection to the daemon. Not thread-safe: use one client per thread.

    Args:
        endpoint: ZeroMQ endpoint (see :func:`resolve_endpoint`).
        timeout_s: how long to wait without hearing about a request before giving up.
        server_key: the daemon's public key file, for CurveZMQ (``$PROMPTDAW_SERVER_KEY``).
        client_key: this client's ``.key_secret`` file, for CurveZMQ (``$PROMPTDAW_CLIENT_KEY``).
        connection: the daemon's connection (key); by default read from its connection file.
            Without one, requests go unsigned and the daemon drops them.
        identity: a routing identity to reuse across connections, so a client that reconnects
            can still ``cancel`` its jobs and collect a kept ``result``; by default a fresh one.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        server_key: Path | None = None,
        client_key: Path | None = None,
        connection: ConnectionInfo | None = None,
        identity: bytes | None = None,
    ) -> None:
        self.endpoint = resolve_endpoint(endpoint)
        self.timeout_s = timeout_s
        self.connection = connection or find_connection(self.endpoint)
        self._key = self.connection.key_bytes if self.connection else None
        self._context = zmq.Context.instance()
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        # A DEALER with no live peer (e.g. a refused Curve handshake) blocks in send: bound it.
        self._socket.setsockopt(zmq.SNDTIMEO, max(1, int(timeout_s * 1000)))
        if identity is not None:
            self._socket.setsockopt(zmq.ROUTING_ID, identity)
        server_key = server_key or _env_path("PROMPTDAW_SERVER_KEY")
        client_key = client_key or _env_path("PROMPTDAW_CLIENT_KEY")
        if server_key and client_key:
            configure_client_curve(self._socket, server_key, client_key)
        self._socket.connect(self.endpoint)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._socket.close(linger=0)

    # ------------------------------------------------------------------ core

    def send(self, type: str, params: dict[str, Any] | None = None, payloads: Sequence[Payload] = ()) -> str:
        """Send a request without waiting; returns its id (see :meth:`wait`)."""
        request = Request(uuid.uuid4().hex, type, dict(params or {}), tuple(payloads))
        try:
            self._socket.send_multipart(sign(self._key, encode_request(request)), copy=False)
        except zmq.Again:
            raise DaemonUnavailable(
                f"the promptdaw daemon at {self.endpoint} takes no messages: no connection within {self.timeout_s:g} s"
            ) from None
        return request.id

    def _receive(self) -> Reply | None:
        """The next reply, or None for a message not signed with our key (dropped, as the daemon does)."""
        frames = self._socket.recv_multipart(copy=False)
        if self._key is None:
            return None
        try:
            return decode_reply(verify(self._key, [f.buffer for f in frames]))
        except BadSignature:
            return None

    def wait(
        self,
        request_id: str,
        *,
        on_progress: ProgressCallback | None = None,
        timeout_s: float | None = None,
    ) -> Reply:
        """Wait for the final reply to ``request_id``, passing progress events on.

        While nothing comes, pings the daemon every :data:`HEARTBEAT_S` seconds, so a daemon
        that has gone is noticed within :data:`DEAD_AFTER_S` seconds however long the job.

        Raises:
            DaemonUnavailable: nothing heard about the request for ``timeout_s`` seconds, or
                nothing at all from the daemon for :data:`DEAD_AFTER_S`.
            PromptdawError: the typed error the daemon replied with.
        """
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        start = time.monotonic()
        heard = alive = pinged = start  # about the request; anything; last ping sent
        while True:
            now = time.monotonic()
            if now - heard >= timeout_s:
                raise DaemonUnavailable(
                    f"no answer from the promptdaw daemon at {self.endpoint} within {timeout_s:g} s"
                )
            if now - alive >= DEAD_AFTER_S:
                raise DaemonUnavailable(
                    f"the promptdaw daemon at {self.endpoint} stopped answering (nothing for {DEAD_AFTER_S:g} s, "
                    "pings included): it has exited or hangs"
                )
            if now - max(alive, pinged) >= HEARTBEAT_S:
                reason = self._gone()
                if reason is not None and not self._socket.poll(0, zmq.POLLIN):  # an answer sent before it went
                    raise DaemonUnavailable(reason)
                self._ping_nowait()
                pinged = now
            wake = min(heard + timeout_s, alive + DEAD_AFTER_S, max(alive, pinged) + HEARTBEAT_S)
            if not self._socket.poll(max(0, int((wake - now) * 1000)), zmq.POLLIN):
                continue
            reply = self._receive()
            if reply is None:
                continue
            alive = time.monotonic()
            if reply.id != request_id:
                continue  # a ping's answer, or a late answer to an abandoned request
            heard = alive
            if reply.final:
                return raise_for_error(reply)
            if on_progress is not None:
                on_progress(float(reply.body.get("fraction", 0.0)), str(reply.body.get("stage", "")))

    def _gone(self) -> str | None:
        """Why the daemon is known to be gone, checked once per heartbeat; None: not known (wait for pings)."""
        return None

    def _ping_nowait(self) -> None:
        """A heartbeat: a ``ping`` whose answer only shows the daemon is there."""
        request = Request(uuid.uuid4().hex, "ping")
        with contextlib.suppress(zmq.Again):  # no connection to queue on: the silence will tell
            self._socket.send_multipart(sign(self._key, encode_request(request)), flags=zmq.NOBLOCK)

    def request(
        self,
        type: str,
        params: dict[str, Any] | None = None,
        payloads: Sequence[Payload] = (),
        *,
        on_progress: ProgressCallback | None = None,
        timeout_s: float | None = None,
    ) -> Reply:
        """Send a request and wait for its final reply; Ctrl-C cancels it on the daemon."""
        request_id = self.send(type, params, payloads)
        try:
            return self.wait(request_id, on_progress=on_progress, timeout_s=timeout_s)
        except KeyboardInterrupt:
            self.send("cancel", {"request_id": request_id})
            raise

    # ------------------------------------------------------------------ request types

    def ping(self, timeout_s: float | None = None) -> float:
        """Round-trip time in seconds."""
        start = time.perf_counter()
        self.request("ping", timeout_s=timeout_s)
        return time.perf_counter() - start

    def status(self) -> dict[str, Any]:
        return self.request("status").body

    def models(self) -> list[dict[str, Any]]:
        return self.request("models").body["models"]

    def load(self, model: str) -> dict[str, Any]:
        return self.request("load", {"model": model}).body

    def unload(self, model: str) -> dict[str, Any]:
        return self.request("unload", {"model": model}).body

    def cancel(self, request_id: str) -> dict[str, Any]:
        return self.request("cancel", {"request_id": request_id}).body

    def shutdown(self) -> dict[str, Any]:
        return self.request("shutdown").body

    def transcribe(
        self,
        samples: np.ndarray,
        sample_rate: int,
        *,
        on_progress: ProgressCallback | None = None,
        **params: Any,
    ) -> tuple[dict[str, Any], bytes]:
        """Audio ``[frames, channels]`` (or mono 1-D) to ``(result, Standard MIDI File bytes)``."""
        reply = self.request("transcribe", params, (Audio(samples, sample_rate),), on_progress=on_progress)
        return reply.body, _only_midi(reply)

    def midi_job(
        self,
        type: str,
        params: dict[str, Any],
        midi: bytes | None = None,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> tuple[dict[str, Any], bytes]:
        """``generate-midi`` (no input) or ``vary-midi``/``continue-midi``/``regenerate-midi``
        (with the clip's bytes): returns ``(result with the resolved spec, SMF bytes)``."""
        payloads = (Midi(midi),) if midi is not None else ()
        reply = self.request(type, params, payloads, on_progress=on_progress)
        return reply.body, _only_midi(reply)


def _only_midi(reply: Reply) -> bytes:
    midi = [p for p in reply.payloads if isinstance(p, Midi)]
    if len(midi) != 1:
        raise PromptdawError(f"{reply.type} reply carried {len(midi)} MIDI buffers, expected 1")
    return midi[0].data


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None
