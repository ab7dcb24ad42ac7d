"""Starting the daemon in the background when a job command finds none running."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from promptdaw.inference_server.client import Client
from promptdaw.inference_server.errors import DaemonUnavailable

from .paths import state_dir

__all__ = ["daemon_log_path", "ensure_daemon", "is_running"]

#: A cold start loads onnxruntime and reads manifests; give it room on a slow machine.
START_TIMEOUT_S = 30.0


def daemon_log_path() -> Path:
    return state_dir() / "daemon.log"


def is_running(endpoint: str, timeout_s: float = 0.5) -> bool:
    """Whether a daemon answers ``ping`` at ``endpoint``."""
    with Client(endpoint, timeout_s=timeout_s) as client:
        try:
            client.ping()
            return True
        except DaemonUnavailable:
            return False


def ensure_daemon(endpoint: str) -> bool:
    """Make sure a daemon serves ``endpoint``; returns True when this call started it.

    Raises:
        DaemonUnavailable: the daemon could not be started (the log's last line says why).
    """
    if is_running(endpoint):
        return False
    log_path = daemon_log_path()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "promptdaw", "serve", "--endpoint", endpoint],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this command and its terminal
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DaemonUnavailable(
                f"the daemon exited at start-up: {_last_line(log_path)} (log: {log_path})"
            )
        if is_running(endpoint, timeout_s=0.25):
            return True
    raise DaemonUnavailable(f"the daemon did not answer within {START_TIMEOUT_S:g} s (log: {log_path})")


def _last_line(path: Path) -> str:
    lines = path.read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no output"
