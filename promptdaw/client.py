"""The Python client: one DEALER socket, typed errors, progress callbacks.

>>> with Client() as client:
...     client.ping()
...     result, midi = client.transcribe(samples, 44100, on_progress=print)
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from promptdaw.inference_server.errors import DaemonUnavailable, PromptdawError
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
)
from promptdaw.inference_server.security import configure_client_curve

__all__ = ["DEFAULT_TIMEOUT_S", "Client", "ProgressCallback", "resolve_endpoint"]

#: Longest silence tolerated from the daemon; progress events reset the clock.
DEFAULT_TIMEOUT_S = 30.0

ProgressCallback = Callable[[float, str], None]


def resolve_endpoint(endpoint: str | None = None) -> str:
    """``endpoint``, else ``$PROMPTDAW_ENDPOINT``, else the default loopback endpoint."""
    return endpoint or os.environ.get("PROMPTDAW_ENDPOINT") or DEFAULT_ENDPOINT


class Client:
    """A connection to the daemon. Not thread-safe: use one client per thread.

    Args:
        endpoint: ZeroMQ endpoint (see :func:`resolve_endpoint`).
        timeout_s: how long to wait without hearing from the daemon before giving up.
        server_key: the daemon's public key file, for CurveZMQ (``$PROMPTDAW_SERVER_KEY``).
        client_key: this client's ``.key_secret`` file, for CurveZMQ (``$PROMPTDAW_CLIENT_KEY``).
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        server_key: Path | None = None,
        client_key: Path | None = None,
    ) -> None:
        self.endpoint = resolve_endpoint(endpoint)
        self.timeout_s = timeout_s
        self._context = zmq.Context.instance()
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
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
        self._socket.send_multipart(encode_request(request), copy=False)
        return request.id

    def wait(
        self,
        request_id: str,
        *,
        on_progress: ProgressCallback | None = None,
        timeout_s: float | None = None,
    ) -> Reply:
        """Wait for the final reply to ``request_id``, passing progress events on.

        Raises:
            DaemonUnavailable: nothing heard for ``timeout_s`` seconds.
            PromptdawError: the typed error the daemon replied with.
        """
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if not self._socket.poll(remaining_ms, zmq.POLLIN):
                raise DaemonUnavailable(
                    f"no answer from the promptdaw daemon at {self.endpoint} within {timeout_s:g} s"
                )
            reply = decode_reply(self._socket.recv_multipart(copy=False))
            if reply.id != request_id:
                continue  # a late answer to an abandoned request
            deadline = time.monotonic() + timeout_s
            if reply.final:
                return raise_for_error(reply)
            if on_progress is not None:
                on_progress(float(reply.body.get("fraction", 0.0)), str(reply.body.get("stage", "")))

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
