"""The plugin's C++ protocol module and DEALER client against the Python daemon.

`build/bridge/tests/protocol_client` is built from the same Protocol.cpp/Client.cpp as the
plugin; it prints one JSON line per progress event and one for the outcome.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, free_endpoint

sys.path.insert(0, str(REPO / "bridge" / "tests"))
from bridge_support import PROTOCOL_CLIENT, FakeDaemon, build_bridge


@pytest.fixture(scope="session")
def bridge_built() -> None:
    build_bridge()


def run_client(endpoint: str, *args: str, timeout_s: float = 120) -> tuple[int, list[dict]]:
    proc = subprocess.run([str(PROTOCOL_CLIENT), endpoint, *args], capture_output=True, text=True, timeout=timeout_s)
    assert proc.returncode != 3, proc.stderr
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()]


def test_ping_echoes_audio_and_midi_buffers(bridge_built, daemon) -> None:
    rc, lines = run_client(daemon.endpoint, "ping", "--audio", "4410", "2", "44100")
    assert rc == 0
    (final,) = lines
    assert final["event"] == "result" and final["type"] == "ping" and final["id"] == final["request_id"]
    assert final["result"]["protocol"] == 2
    assert final["echo_ok"], "the daemon's echo differs from what the C++ client sent"
    assert final["buffers"][0] == {"kind": "audio", "frames": 4410, "channels": 2, "sample_rate": 44100, "bytes": 35280}


def test_status(bridge_built, daemon) -> None:
    rc, (final,) = run_client(daemon.endpoint, "status")
    assert rc == 0 and final["result"]["pid"] == daemon.process.pid
    assert final["result"]["endpoint"] == daemon.endpoint


def test_unknown_type_is_an_error_reply(bridge_built, daemon) -> None:
    rc, (final,) = run_client(daemon.endpoint, "request", "generate-nonsense", "--params", '{"prompt": "x"}')
    assert rc == 1
    assert final["event"] == "error" and final["code"] == "unknown_type" and final["type"] == "generate-nonsense"
    assert final["id"] == final["request_id"]
    assert "known:" in final["message"]


@pytest.mark.parametrize(
    ("frames", "code", "has_id"),
    [
        (["not json"], "malformed", False),
        (['{"protocol": 3, "id": "v3", "type": "ping"}'], "unsupported_version", True),
        (
            ['{"protocol": 2, "id": "short", "type": "ping", "buffers": '
             '[{"kind": "audio", "encoding": "f32le", "shape": [2, 1], "sample_rate": 8000}]}', "4"],
            "malformed",
            True,
        ),
        (['{"protocol": 2, "id": "p", "type": "transcribe", "params": {"onset_threshold": "high"}, "buffers": '
          '[{"kind": "audio", "encoding": "f32le", "shape": [1, 1], "sample_rate": 8000}]}', "4"],
         "invalid_params", True),
    ],
)  # fmt: skip
def test_malformed_requests_get_typed_errors(bridge_built, daemon, frames, code, has_id) -> None:
    rc, lines = run_client(daemon.endpoint, "raw", *frames)
    final = lines[-1]  # jobs (transcribe) first report progress
    assert rc == 1 and final["event"] == "error" and final["code"] == code, final
    assert (final["id"] is not None) == has_id


def test_progress_then_result(bridge_built, daemon) -> None:
    rc, lines = run_client(daemon.endpoint, "request", "transcribe", "--tone", "6", "22050")
    assert rc == 0
    *progress, final = lines
    fractions = [p["fraction"] for p in progress]
    assert progress and progress[0]["stage"] == "queued" and fractions == sorted(fractions)
    assert final["event"] == "result" and final["result"]["note_count"] >= 2
    assert [b["kind"] for b in final["buffers"]] == ["midi"]


def test_cancel(bridge_built, daemon) -> None:
    rc, lines = run_client(daemon.endpoint, "request", "transcribe", "--tone", "600", "22050", "--cancel-after", "0.5")
    final = lines[-1]
    assert rc == 1 and final["code"] == "cancelled" and "cancelled by request" in final["message"]
    assert final["elapsed_s"] < 30


def test_daemon_side_timeout(bridge_built, daemon) -> None:
    rc, lines = run_client(
        daemon.endpoint, "request", "transcribe", "--tone", "600", "22050", "--params", '{"timeout_s": 0.3}'
    )
    assert rc == 1 and lines[-1]["code"] == "timeout"


def test_no_daemon_is_a_local_error_within_the_connect_time(bridge_built) -> None:
    rc, (final,) = run_client(free_endpoint(), "request", "ping", "--connect-ms", "300")
    assert rc == 2 and final["event"] == "local_error" and final["code"] == "unreachable"
    assert 0.25 < final["elapsed_s"] < 5


def test_a_silent_daemon_times_out(bridge_built) -> None:
    fake = FakeDaemon(free_endpoint(), silent_types={"generate-loop"})
    try:
        rc, lines = run_client(fake.endpoint, "request", "generate-loop", "--params", '{"prompt": "x"}',
                               "--silence-ms", "500")  # fmt: skip
    finally:
        fake.stop()
    assert lines[0] == {"event": "progress", "fraction": 0.0, "stage": "queued"}
    final = lines[-1]
    assert rc == 2 and final["code"] == "no_reply" and 0.4 < final["elapsed_s"] < 5


@pytest.mark.parametrize("key", ["k", "0123456789abcdef" * 4, "a much longer key than the sixty-four byte block " * 3])
def test_cpp_signatures_match_python(bridge_built, key: str) -> None:
    """The plugin's own SHA-256/HMAC against Python's hmac: frame lengths around the 64-byte block
    and its 56-byte padding edge, empty frames, and keys shorter, as long as and longer than a block."""
    from promptdaw.inference_server import protocol

    frames = ["", "x" * 55, "y" * 56, "z" * 63, "w" * 64, "v" * 65, "u" * 1000]
    proc = subprocess.run([str(PROTOCOL_CLIENT), "-", "sign", key, *frames], capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout)
    assert out["signature"] == protocol.signature(key.encode(), [f.encode() for f in frames]).decode()
    assert out["sha256"] == hashlib.sha256(b"").hexdigest()


def test_without_a_connection_file_nothing_is_sent(bridge_built, tmp_path) -> None:
    """A daemon listens but its connection file is not where the client looks (another user's):
    the client says which file it lacks instead of sending what would be dropped."""
    fake = FakeDaemon(free_endpoint())
    try:
        env = {**os.environ, "PROMPTDAW_STATE_DIR": str(tmp_path)}
        proc = subprocess.run([str(PROTOCOL_CLIENT), fake.endpoint, "request", "ping", "--connect-ms", "2000"],
                              capture_output=True, text=True, timeout=60, env=env)  # fmt: skip
    finally:
        fake.stop()
    final = json.loads(proc.stdout.splitlines()[-1])
    assert proc.returncode == 2 and final["code"] == "unreachable", final
    assert f"no connection file {tmp_path}/connections/daemon-tcp-" in final["message"]
    assert fake.requests == []
