"""Authenticated clients (issue 20): the connection file, signed messages, jobs that belong to their
client, and a client that notices a daemon that has gone. Real daemon processes, real sockets."""

from __future__ import annotations

import json
import os
import signal
import stat
import time
from pathlib import Path

import numpy as np
import pytest
import zmq
from conftest import DaemonProcess, start_daemon

from promptdaw.client import DEAD_AFTER_S, Client
from promptdaw.inference_server import protocol
from promptdaw.inference_server.errors import DaemonUnavailable, JobCancelled, JobNotFound
from promptdaw.inference_server.protocol import Audio, Request
from promptdaw.inference_server.security import connection_file, find_connection


def long_audio(seconds: float = 600, rate: int = 22050) -> np.ndarray:
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    return (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def wait_running(client: Client, request_id: str, timeout_s: float = 60) -> None:
    """Until ``client``'s own status lists ``request_id`` as running (a condition, not a timing)."""
    deadline = time.monotonic() + timeout_s
    while not any(j["id"] == request_id for j in client.status()["running"]):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)


@pytest.fixture
def own_daemon(models_dir: Path, tmp_path: Path):
    """A daemon of this test's own (it may be stopped, killed or frozen)."""
    process = start_daemon(models_dir, tmp_path)
    try:
        yield process
    finally:
        if process.process.poll() is None:
            os.kill(process.process.pid, signal.SIGCONT)
        process.stop()


# ---------------------------------------------------------------------- the connection file


def test_connection_file_is_private_and_goes_with_the_daemon(own_daemon: DaemonProcess) -> None:
    path = connection_file(own_daemon.endpoint)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    info = json.loads(path.read_text())
    assert info["endpoint"] == own_daemon.endpoint and info["pid"] == own_daemon.process.pid
    assert info["signature_scheme"] == "hmac-sha256" and len(bytes.fromhex(info["key"])) == 32
    assert info["curve_server_key"] is None
    assert not list(path.parent.glob(f".{path.name}.*"))  # written through a temporary, none left over
    own_daemon.stop()
    assert not path.exists()


def test_each_daemon_has_its_own_key(daemon: DaemonProcess, own_daemon: DaemonProcess) -> None:
    first, second = find_connection(daemon.endpoint), find_connection(own_daemon.endpoint)
    assert first is not None and second is not None and first.key != second.key
    with Client(own_daemon.endpoint, timeout_s=1.0, connection=first) as wrong_key, pytest.raises(DaemonUnavailable):
        wrong_key.ping()


# ---------------------------------------------------------------------- signatures


def test_unsigned_or_wrongly_signed_messages_are_dropped_unanswered_and_counted(daemon: DaemonProcess) -> None:
    with daemon.client(timeout_s=10) as client:
        before = client.status()["dropped_messages"]
        body = protocol.encode_request(Request("stop-it", "shutdown"))
        hostile = [
            body,  # version 1's framing: no signature frame
            [b"", *body],
            protocol.sign(b"a guessed key", body),
            [daemon.sign(body)[0], body[0].replace(b"shutdown", b"status__")],  # a signed message, altered
        ]
        with zmq.Context.instance().socket(zmq.DEALER) as sock:
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(daemon.endpoint)
            for frames in hostile:
                sock.send_multipart(frames)
            assert not sock.poll(1000), "the daemon answered a message without a valid signature"
        status = client.status()
        assert status["dropped_messages"] == before + len(hostile)
        assert status["pid"] == daemon.process.pid  # the unsigned shutdowns stopped nothing
        assert "dropped unsigned message" in daemon.log()


# ---------------------------------------------------------------------- whose jobs


def test_jobs_belong_to_the_client_that_submitted_them(daemon: DaemonProcess) -> None:
    with daemon.client(timeout_s=60) as owner, daemon.client(timeout_s=10) as other:
        job = owner.send("transcribe", payloads=(Audio(long_audio(), 22050),))
        wait_running(owner, job)

        seen = other.status()
        assert seen["running"] == [] and seen["queued"] == []
        assert seen["others"]["running"] >= 1  # counted, not shown
        assert job not in json.dumps(seen)

        # Another client's id answers exactly as an id nobody sent.
        for request_type in ("cancel", "result"):
            with pytest.raises(JobNotFound) as theirs:
                other.request(request_type, {"request_id": job})
            with pytest.raises(JobNotFound) as nobodys:
                other.request(request_type, {"request_id": "f" * len(job)})
            assert theirs.value.message.replace(job, "ID") == nobodys.value.message.replace("f" * len(job), "ID")

        assert [j["id"] for j in owner.status()["running"]] == [job]  # untouched
        cancel = owner.send("cancel", {"request_id": job})
        with pytest.raises(JobCancelled):
            owner.wait(job)
        assert owner.wait(cancel).body == {"request_id": job, "was": "running"}


# ---------------------------------------------------------------------- a daemon that has gone


@pytest.mark.parametrize("how", ["kill -9", "frozen (SIGSTOP)"])
def test_a_waiting_client_notices_a_gone_daemon_within_seconds(own_daemon: DaemonProcess, how: str) -> None:
    """The plain client (no port probing) pings while it waits: a daemon killed, or alive but frozen
    (its port still accepts connections), is reported in one line, long before the 60 s time-out."""
    with own_daemon.client(timeout_s=60) as client:
        job = client.send("transcribe", payloads=(Audio(long_audio(), 22050),))
        wait_running(client, job)
        os.kill(own_daemon.process.pid, signal.SIGKILL if how == "kill -9" else signal.SIGSTOP)
        start = time.monotonic()
        with pytest.raises(DaemonUnavailable, match=r"stopped answering \(nothing for 3 s, pings included\)") as info:
            client.wait(job)
        # DEAD_AFTER_S of silence plus the last progress interval; the bound only catches waiting out 60 s.
        assert time.monotonic() - start < 4 * DEAD_AFTER_S
    assert "\n" not in info.value.message and own_daemon.endpoint in info.value.message


def test_status_does_not_wait_for_a_model_being_loaded(own_daemon: DaemonProcess) -> None:
    """While ``load`` holds the registry's lock, ``status`` answers from a snapshot: the first status
    taken once the load job runs does not list the model yet. (Waiting on the lock, it would answer
    only once the load was done, listing the model.) A second connection watches, so that the
    loader's own reply is never read by a status call."""
    with own_daemon.client(timeout_s=60) as client, own_daemon.client(timeout_s=60) as watcher:
        during: list[dict] = []
        for _ in range(5):  # until some status lands while the job runs
            job = client.send("load", {"model": "minilm"})
            deadline = time.monotonic() + 30
            while not during and time.monotonic() < deadline:
                status = watcher.status()
                if status["others"]["running"]:
                    during.append(status)
                elif "minilm" in status["models_loaded"]:
                    break  # the load ended before a status saw it run: try again
            assert client.wait(job).body["model"] == "minilm"
            assert client.unload("minilm")["was_loaded"]
            if during:
                break
        assert during, "no status landed while the model loaded"
        assert "minilm" not in during[0]["models_loaded"], during[0]["models_loaded"]
