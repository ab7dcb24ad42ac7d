"""Starting the daemon as a background process, and waiting until it serves."""

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

from promptdaw.client import Client
from promptdaw.core.paths import state_dir
from promptdaw.inference_server.errors import DaemonUnavailable
from promptdaw.inference_server.security import is_loopback

__all__ = [
    "TemporaryDaemon",
    "daemon_log_path",
    "ensure_daemon",
    "free_endpoint",
    "is_running",
    "spawn_daemon",
    "temporary_daemon",
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
