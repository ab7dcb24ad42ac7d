"""Starting the daemon as a background process, waiting until it serves, and noticing when it is gone."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from promptdaw.client import Client
from promptdaw.core.paths import state_dir
from promptdaw.inference_server.errors import DaemonUnavailable
from promptdaw.inference_server.security import find_connection, is_loopback

__all__ = [
    "TemporaryDaemon",
    "WatchingClient",
    "daemon_log_path",
    "ensure_daemon",
    "free_endpoint",
    "is_listening",
    "is_running",
    "spawn_daemon",
    "temporary_daemon",
    "unanswered_reason",
    "wait_until_serving",
]

#: A cold start loads onnxruntime and reads manifests; give it room on a slow machine.
START_TIMEOUT_S = 30.0


def daemon_log_path() -> Path:
    return state_dir() / "daemon.log"


def is_running(
    endpoint: str, timeout_s: float = 0.5, *, server_key: Path | None = None, client_key: Path | None = None
) -> bool:
    """Whether a daemon answers ``ping`` at ``endpoint`` (with CurveZMQ keys when given)."""
    with Client(endpoint, timeout_s=timeout_s, server_key=server_key, client_key=client_key) as client:
        try:
            client.ping()
            return True
        except DaemonUnavailable:
            return False


def is_listening(endpoint: str, timeout_s: float = 0.25) -> bool | None:
    """Whether anything accepts connections at a loopback ``endpoint`` (tcp or ipc).

    False when the connection is refused: no daemon is there (it exited, crashed or was killed);
    a daemon that is busy, hung or stopped still listens. None when it cannot be told: an endpoint
    off this machine (refusals there may be a firewall's), inproc, or no answer within ``timeout_s``.
    """
    scheme, _, address = endpoint.partition("://")
    if not is_loopback(endpoint):
        return None
    try:
        if scheme == "tcp":
            parts = urlsplit(f"//{address}")
            if parts.port is None:
                return None
            with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s):
                return True
        if scheme == "ipc" and hasattr(socket, "AF_UNIX"):
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(timeout_s)
                sock.connect("\0" + address[1:] if address.startswith("@") else address)  # @: abstract namespace
                return True
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except (OSError, ValueError):  # a time-out, an unresolvable host or port
        return None
    return None


class WatchingClient(Client):
    """A :class:`~promptdaw.client.Client` that also checks, at each heartbeat, that something still
    listens at a loopback endpoint: a daemon killed mid-request (``kill -9``, a crash, the OOM killer)
    is then reported within about a second, as "gone", rather than after the pings go unanswered.
    """

    def _gone(self) -> str | None:
        if is_listening(self.endpoint) is False:
            return f"the promptdaw daemon at {self.endpoint} is gone: nothing listens there any more"
        return None


def unanswered_reason(endpoint: str, *, keyless: bool = True) -> str | None:
    """Why a daemon that listens at a loopback ``endpoint`` does not answer this client; None when
    nothing listens there (so one may be started).

    A daemon behind CurveZMQ drops a keyless client's handshake, and one of another user (or
    another state folder) drops messages not signed with its key: starting a second daemon would
    only fail with "Address already in use".
    """
    if not is_loopback(endpoint) or is_listening(endpoint) is not True:
        return None
    info = find_connection(endpoint)
    if keyless and info is not None and info.curve_server_key:
        return (
            f"the promptdaw daemon at {endpoint} uses CurveZMQ: set its server key (--server-key or "
            "$PROMPTDAW_SERVER_KEY: server.key in its --curve-keys folder) and an authorised --client-key "
            "(or $PROMPTDAW_CLIENT_KEY)"
        )
    return (
        f"something listens at {endpoint} but does not answer: a promptdaw daemon with CurveZMQ needs "
        "--server-key and --client-key; one started by another user or with another state folder needs "
        "its connection file ($PROMPTDAW_CONNECTION_FILE)"
    )


def spawn_daemon(endpoint: str, log_path: Path, extra_args: Sequence[str] = ()) -> subprocess.Popen:
    """Start ``promptdaw serve`` in its own session (it outlives the caller's terminal)."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "promptdaw", "serve", "--endpoint", endpoint, *extra_args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_serving(
    endpoint: str, process: subprocess.Popen, log_path: Path, timeout_s: float = START_TIMEOUT_S
) -> None:
    """Block until the daemon answers a ping.

    Raises:
        DaemonUnavailable: it exited (the log's last line says why) or stayed silent.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DaemonUnavailable(f"the daemon exited at start-up: {_last_line(log_path)} (log: {log_path})")
        if is_running(endpoint, timeout_s=0.25):
            return
    raise DaemonUnavailable(f"the daemon did not answer within {timeout_s:g} s (log: {log_path})")


def ensure_daemon(endpoint: str, *, server_key: Path | None = None, client_key: Path | None = None) -> bool:
    """Make sure a daemon serves ``endpoint``; returns True when this call started it.

    Only a local, unauthenticated daemon is started automatically: one behind CurveZMQ keys
    or on another address is somebody's deliberate set-up, so its absence is an error.
    """
    if is_running(endpoint, server_key=server_key, client_key=client_key):
        return False
    if server_key or client_key or not is_loopback(endpoint):
        raise DaemonUnavailable(f"no promptdaw daemon answers at {endpoint} (it is not started automatically)")
    if (reason := unanswered_reason(endpoint)) is not None:
        raise DaemonUnavailable(reason)
    log_path = daemon_log_path()
    wait_until_serving(endpoint, spawn_daemon(endpoint, log_path), log_path)
    return True


def _last_line(path: Path) -> str:
    lines = path.read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no output"


def free_endpoint() -> str:
    """A loopback endpoint on a port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


@dataclass
class TemporaryDaemon:
    endpoint: str
    process: subprocess.Popen
    log_path: Path


@contextmanager
def temporary_daemon(extra_args: Sequence[str] = (), log_dir: Path | None = None) -> Iterator[TemporaryDaemon]:
    """A daemon of its own on a free loopback port, for benchmarks and tests; always stopped."""
    with tempfile.TemporaryDirectory() as tmp:
        endpoint = free_endpoint()
        log_path = Path(log_dir or tmp) / f"daemon-{endpoint.rsplit(':', 1)[-1]}.log"
        process = spawn_daemon(endpoint, log_path, extra_args)
        try:
            wait_until_serving(endpoint, process, log_path, timeout_s=60)
            yield TemporaryDaemon(endpoint, process, log_path)
            with Client(endpoint, timeout_s=10) as client:
                client.shutdown()
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
