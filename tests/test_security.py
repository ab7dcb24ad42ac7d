"""Loopback-only by default; CurveZMQ for wider endpoints, with real daemons and sockets."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import zmq
import zmq.auth
from conftest import REPO, free_endpoint

from promptdaw.client import Client
from promptdaw.inference_server.errors import DaemonUnavailable, InsecureEndpoint
from promptdaw.inference_server.security import generate_keys, is_loopback

sys.path.insert(0, str(REPO / "bridge" / "tests"))
from bridge_support import PROTOCOL_CLIENT, build_bridge

KEY_FILES = ["client.key", "client.key_secret", "server.key", "server.key_secret"]


def promptdaw(*args: str, timeout: float = 30, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promptdaw", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else _clean_env(),
    )


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PROMPTDAW_ENDPOINT", "PROMPTDAW_SERVER_KEY", "PROMPTDAW_CLIENT_KEY"):
        env.pop(name, None)
    return env


def free_port() -> int:
    return int(free_endpoint().rsplit(":", 1)[1])


# ---------------------------------------------------------------------- is_loopback


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("tcp://127.0.0.1:7467", True),
        ("tcp://127.0.0.5:7467", True),
        ("tcp://[::1]:7467", True),
        ("tcp://localhost:7467", True),
        ("ipc://x", True),
        ("ipc:///tmp/promptdaw.sock", True),
        ("inproc://promptdaw", True),
        ("tcp://0.0.0.0:7467", False),
        ("tcp://*:7467", False),
        ("tcp://192.168.1.2:7467", False),
        ("tcp://[::]:7467", False),
        ("tcp://studio.example.com:7467", False),
        ("tcp://eth0:7467", False),
        ("tcp://localhost.example.com:7467", False),
        ("udp://127.0.0.1:7467", False),
    ],
)
def test_is_loopback(endpoint: str, expected: bool) -> None:
    assert is_loopback(endpoint) is expected


# ---------------------------------------------------------------------- refusing wide endpoints


def _assert_one_line_refusal(done: subprocess.CompletedProcess[str], needle: str) -> None:
    assert done.returncode != 0, done
    output = (done.stdout + done.stderr).strip().splitlines()
    assert len(output) == 1, output
    assert output[0].startswith("promptdaw: error: ") and needle in output[0]
    assert "Traceback" not in done.stdout + done.stderr


def test_serve_on_a_wide_endpoint_without_keys_refuses(tmp_path: Path) -> None:
    endpoint = f"tcp://0.0.0.0:{free_port()}"
    start = time.monotonic()
    done = promptdaw("serve", "--endpoint", endpoint, "--models-dir", str(tmp_path), timeout=20)
    assert time.monotonic() - start < 20
    _assert_one_line_refusal(done, "CurveZMQ")
    assert endpoint in done.stderr


def test_serve_with_an_empty_keys_folder_refuses(tmp_path: Path) -> None:
    empty = tmp_path / "nokeys"
    empty.mkdir()
    done = promptdaw(
        "serve", "--endpoint", f"tcp://0.0.0.0:{free_port()}", "--models-dir", str(tmp_path),
        "--curve-keys", str(empty), timeout=20,
    )  # fmt: skip
    _assert_one_line_refusal(done, "server.key_secret")


# ---------------------------------------------------------------------- keys


def test_keys_command_creates_key_files(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    done = promptdaw("keys", str(keys), "--json")
    assert done.returncode == 0, done
    paths = json.loads(done.stdout)
    assert sorted(Path(p).name for p in paths.values()) == KEY_FILES
    assert sorted(p.name for p in keys.iterdir() if p.is_file()) == KEY_FILES
    assert [p.name for p in (keys / "authorized").iterdir()] == ["client.key"]
    assert (keys / "authorized" / "client.key").read_bytes() == (keys / "client.key").read_bytes()
    for name in ("server.key_secret", "client.key_secret"):
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600, name
    server_public, server_secret = zmq.auth.load_certificate(keys / "server.key_secret")
    client_public, client_secret = zmq.auth.load_certificate(keys / "client.key_secret")
    assert len(server_secret) == len(client_secret) == 40 and server_public != client_public
    assert zmq.auth.load_certificate(keys / "server.key") == (server_public, None)

    # Running it again keeps the existing keys (clients already hold them).
    before = {name: (keys / name).read_bytes() for name in KEY_FILES}
    assert promptdaw("keys", str(keys)).returncode == 0
    assert {name: (keys / name).read_bytes() for name in KEY_FILES} == before


# ---------------------------------------------------------------------- a Curve daemon


@dataclass
class CurveDaemon:
    process: subprocess.Popen
    keys: Path
    connect: str  # where clients connect (loopback address of the wide bind)
    log_path: Path

    def client(self, timeout_s: float = 5, **keys: Path) -> Client:
        keys = keys or {"server_key": self.keys / "server.key", "client_key": self.keys / "client.key_secret"}
        return Client(self.connect, timeout_s=timeout_s, **keys)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def curve_daemon(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CurveDaemon]:
    root = tmp_path_factory.mktemp("curve")
    keys = root / "keys"
    generate_keys(keys)
    port = free_port()
    log_path = root / "daemon.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "promptdaw", "serve", "--endpoint", f"tcp://0.0.0.0:{port}",
             "--models-dir", str(models_dir), "--curve-keys", str(keys)],
            stdout=log, stderr=subprocess.STDOUT, env=_clean_env(),
        )  # fmt: skip
    daemon = CurveDaemon(process, keys, f"tcp://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the Curve daemon exited at start-up:\n{daemon.log()}")
            try:
                with daemon.client(timeout_s=0.5) as c:
                    c.ping()
                break
            except DaemonUnavailable:
                if time.monotonic() > deadline:
                    pytest.fail(f"the Curve daemon did not answer within 60 s:\n{daemon.log()}")
        yield daemon
    finally:
        if process.poll() is None:
            try:
                with daemon.client(timeout_s=5) as c:
                    c.shutdown()
                process.wait(timeout=15)
            except (DaemonUnavailable, subprocess.TimeoutExpired):
                process.kill()
                process.wait()


def test_authorised_client_is_served(curve_daemon: CurveDaemon) -> None:
    with curve_daemon.client() as c:
        assert c.ping() < 1.0
        status = c.status()
    assert status["pid"] == curve_daemon.process.pid
    assert status["endpoint"].startswith("tcp://0.0.0.0:")


def test_client_without_curve_gets_no_answer(curve_daemon: CurveDaemon) -> None:
    with Client(curve_daemon.connect, timeout_s=1.0) as c, pytest.raises(DaemonUnavailable):
        c.ping()
    with curve_daemon.client() as c:
        assert c.ping() < 1.0  # and the daemon keeps serving


def test_unauthorised_key_pair_gets_no_answer(curve_daemon: CurveDaemon, tmp_path: Path) -> None:
    public, secret = zmq.auth.create_certificates(str(tmp_path), "stranger")
    # A valid Curve handshake with the right server key, but a client key not in authorized/.
    server_key = curve_daemon.keys / "server.key"
    stranger = Client(curve_daemon.connect, timeout_s=1.0, server_key=server_key, client_key=Path(secret))
    with stranger, pytest.raises(DaemonUnavailable):
        stranger.ping()
    # Nor with the stranger's own key standing in for the server's.
    impostor = Client(curve_daemon.connect, timeout_s=1.0, server_key=Path(public), client_key=Path(secret))
    with impostor, pytest.raises(DaemonUnavailable):
        impostor.ping()
    with curve_daemon.client() as c:
        assert c.ping() < 1.0


def test_client_key_must_be_the_secret_file(curve_daemon: CurveDaemon) -> None:
    with pytest.raises(InsecureEndpoint, match="no secret key"):
        Client(curve_daemon.connect, server_key=curve_daemon.keys / "server.key",
               client_key=curve_daemon.keys / "client.key")  # fmt: skip


def test_cli_talks_curve_with_key_flags_and_env(curve_daemon: CurveDaemon) -> None:
    keys = curve_daemon.keys
    flags = ["--server-key", str(keys / "server.key"), "--client-key", str(keys / "client.key_secret")]
    done = promptdaw("status", "--json", "--endpoint", curve_daemon.connect, *flags)
    assert done.returncode == 0, done
    assert json.loads(done.stdout)["pid"] == curve_daemon.process.pid

    env = {
        **_clean_env(),
        "PROMPTDAW_ENDPOINT": curve_daemon.connect,
        "PROMPTDAW_SERVER_KEY": str(keys / "server.key"),
        "PROMPTDAW_CLIENT_KEY": str(keys / "client.key_secret"),
    }
    done = promptdaw("models", "--json", env=env)
    assert done.returncode == 0, done
    assert "basic_pitch" in {m["name"] for m in json.loads(done.stdout)}


def test_a_keyless_client_is_told_to_set_the_server_key(curve_daemon: CurveDaemon) -> None:
    """No keys against a Curve daemon on this machine: one line saying what to set (its connection
    file says it uses CurveZMQ), never "not running" or a second daemon failing on the address."""
    for command in (["status"], ["midi", "house beat", "-o", "never.mid"]):
        done = promptdaw(*command, "--endpoint", curve_daemon.connect, "--timeout", "0.5")
        assert done.returncode == 1, done
        assert done.stderr.count("\n") == 1 and "uses CurveZMQ: set its server key (--server-key" in done.stderr, done
        assert "Address already in use" not in done.stderr and "started" not in done.stderr
    with curve_daemon.client() as c:
        assert c.status()["pid"] == curve_daemon.process.pid


def test_cli_stop_reaches_a_curve_daemon(models_dir: Path, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    generate_keys(keys)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "promptdaw", "serve", "--endpoint", f"tcp://0.0.0.0:{port}",
         "--models-dir", str(models_dir), "--curve-keys", str(keys)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_clean_env(),
    )  # fmt: skip
    daemon = CurveDaemon(process, keys, f"tcp://127.0.0.1:{port}", tmp_path / "unused.log")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with daemon.client(timeout_s=0.5) as c:
                    c.ping()
                break
            except DaemonUnavailable:
                assert process.poll() is None
        flags = ["--server-key", str(keys / "server.key"), "--client-key", str(keys / "client.key_secret")]
        done = promptdaw("stop", "--endpoint", daemon.connect, *flags)
        assert done.returncode == 0, done
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------- the plugin's C++ client


@pytest.fixture(scope="module")
def bridge_built() -> None:
    build_bridge()


def cpp_client(endpoint: str, *args: str, keys: dict[str, Path] | None = None) -> tuple[int, dict]:
    """The plugin's protocol client (bridge/tests/protocol_client) with keys in its environment."""
    env = _clean_env()
    env.update({f"PROMPTDAW_{name.upper()}": str(path) for name, path in (keys or {}).items()})
    done = subprocess.run([str(PROTOCOL_CLIENT), endpoint, *args], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode != 3, done.stderr
    return done.returncode, json.loads(done.stdout.splitlines()[-1])


def test_plugin_client_talks_curve(bridge_built, curve_daemon: CurveDaemon, tmp_path: Path) -> None:
    keys = {"server_key": curve_daemon.keys / "server.key", "client_key": curve_daemon.keys / "client.key_secret"}
    rc, final = cpp_client(curve_daemon.connect, "status", keys=keys)
    assert rc == 0, final
    assert final["result"]["pid"] == curve_daemon.process.pid

    # No keys, or keys the daemon has not authorised: the handshake never completes.
    rc, final = cpp_client(curve_daemon.connect, "request", "status", "--connect-ms", "1000")
    assert rc == 2 and final["code"] == "unreachable", final
    _, stranger = zmq.auth.create_certificates(str(tmp_path), "stranger")
    rc, final = cpp_client(curve_daemon.connect, "request", "status", "--connect-ms", "1000",
                           keys={**keys, "client_key": Path(stranger)})  # fmt: skip
    assert rc == 2 and final["code"] == "unreachable", final
    with curve_daemon.client() as c:
        assert c.ping() < 1.0  # and the daemon keeps serving


def test_plugin_client_refuses_a_wide_endpoint_without_keys(bridge_built, curve_daemon: CurveDaemon) -> None:
    rc, final = cpp_client("tcp://192.0.2.1:7467", "status")
    assert rc == 2 and final["code"] == "socket"
    assert "not a loopback address" in final["message"] and "PROMPTDAW_SERVER_KEY" in final["message"]
    rc, final = cpp_client(curve_daemon.connect, "status", keys={"server_key": curve_daemon.keys / "server.key"})
    assert rc == 2 and "needs both" in final["message"]
    rc, final = cpp_client(
        curve_daemon.connect,
        "status",
        keys={"server_key": curve_daemon.keys / "server.key", "client_key": curve_daemon.keys / "client.key"},
    )
    assert rc == 2 and "no secret key" in final["message"]
