"""Fixtures: a real daemon process on an ephemeral port, over a models folder of our making."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from promptdaw.client import Client
from promptdaw.inference_server import protocol
from promptdaw.inference_server.errors import DaemonUnavailable
from promptdaw.inference_server.security import find_connection
from promptdaw.launcher import free_endpoint, spawn_daemon, wait_until_serving

# Daemons started by the tests (and the plugin loaded in this process) keep their connection files
# and logs in a folder of the test run, never in the user's own state folder.
os.environ["PROMPTDAW_STATE_DIR"] = tempfile.mkdtemp(prefix="promptdaw-test-state-")
os.environ.pop("PROMPTDAW_CONNECTION_FILE", None)

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
BASIC_PITCH_DIR = MODELS / "basic_pitch"


@dataclass
class DaemonProcess:
    endpoint: str
    process: subprocess.Popen
    log_path: Path

    def client(self, **kwargs) -> Client:
        return Client(self.endpoint, **kwargs)

    @property
    def key(self) -> bytes:
        """The daemon's signing key, from its connection file (for tests that build raw frames)."""
        info = find_connection(self.endpoint)
        assert info is not None, f"no connection file for {self.endpoint}"
        return info.key_bytes

    def sign(self, frames: list) -> list:
        return protocol.sign(self.key, frames)

    def reply(self, frames: list) -> protocol.Reply:
        """A reply received on a raw socket, its signature checked."""
        return protocol.decode_reply(protocol.verify(self.key, frames))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                with self.client(timeout_s=5) as c:
                    c.shutdown()
                self.process.wait(timeout=15)
            except (DaemonUnavailable, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def wait_until_idle(client: Client, timeout_s: float = 120.0) -> dict[str, Any]:
    """The daemon's status once no job runs or waits, or the last one seen after ``timeout_s``.

    ``status`` lists the asking client's own jobs and counts every other client's; all four come
    from one reply: two replies could straddle a job's start (queued in the first, running in the
    second) and show an idle daemon that is not. The bound is generous on purpose: a wait on a
    condition, not a measure of speed, whatever the machine's load.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        status = client.status()
        others = status["others"]["running"] + status["others"]["queued"]
        if (not status["running"] and not status["queued"] and not others) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def start_daemon(models_dir: Path, log_dir: Path, *args: str, endpoint: str | None = None) -> DaemonProcess:
    """Start ``promptdaw serve`` as its own process and wait until it answers a ping."""
    endpoint = endpoint or free_endpoint()
    log_path = log_dir / f"daemon-{endpoint.rsplit(':', 1)[-1]}.log"
    process = spawn_daemon(endpoint, log_path, ["--models-dir", str(models_dir), *args])
    try:
        wait_until_serving(endpoint, process, log_path, timeout_s=60)
    except DaemonUnavailable:
        process.kill()
        raise
    return DaemonProcess(endpoint, process, log_path)


def _write_model(directory: Path, manifest: dict, onnx_bytes: bytes | None) -> None:
    directory.mkdir(parents=True)
    (directory / "manifest.json").write_text(json.dumps(manifest))
    if onnx_bytes is not None:
        (directory / manifest["files"][0]["path"]).write_bytes(onnx_bytes)


@pytest.fixture(scope="session")
def basic_pitch_onnx() -> Path:
    path = BASIC_PITCH_DIR / "nmp.onnx"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make setup` (or `promptdaw fetch-models`) first")
    return path


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory, basic_pitch_onnx: Path) -> Path:
    """Every committed model, plus three broken ones: corrupt file, missing file, unreadable manifest."""
    root = tmp_path_factory.mktemp("models")
    shutil.copytree(BASIC_PITCH_DIR, root / "basic_pitch", ignore=shutil.ignore_patterns("__pycache__"))
    for manifest_path in sorted(MODELS.glob("*/manifest.json")):
        if manifest_path.parent != BASIC_PITCH_DIR:
            (root / manifest_path.parent.name).symlink_to(manifest_path.parent)  # read-only use: no copy
    manifest = json.loads((BASIC_PITCH_DIR / "manifest.json").read_text())
    broken = {**manifest, "name": "corrupt_model", "kind": "test-broken", "fetch": None}
    _write_model(root / "corrupt_model", broken, b"\x00not an onnx graph" * 100)
    _write_model(root / "absent_model", {**broken, "name": "absent_model"}, None)
    (root / "garbled").mkdir()
    (root / "garbled" / "manifest.json").write_text("{ this is not json")
    return root


@pytest.fixture(scope="session")
def daemon(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """One daemon for the session, with a 64 MiB request limit so size tests stay cheap."""
    process = start_daemon(models_dir, tmp_path_factory.mktemp("logs"), "--max-message-mb", "64")
    yield process
    process.stop()


@pytest.fixture
def client(daemon: DaemonProcess) -> Iterator[Client]:
    with daemon.client(timeout_s=60) as c:
        yield c
