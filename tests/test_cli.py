"""The real ``promptdaw`` command, run as a subprocess against real daemon processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest
import zmq
from conftest import REPO, free_endpoint
from pedalboard.io import AudioFile
from utils import note_f1, synth_notes

from promptdaw.client import Client
from promptdaw.inference_server.errors import DaemonUnavailable
from promptdaw.inference_server.security import connection_file, read_connection_file
from promptdaw.launcher import WatchingClient, is_listening

NOTES = [(0.3, 0.8, 60), (1.0, 1.5, 64), (1.7, 2.2, 67), (2.4, 3.1, 72), (3.3, 3.8, 55)]
SAMPLE_RATE = 44100


@dataclass
class Cli:
    """Runs ``python -m promptdaw`` with a private endpoint, state folder and the repo's models."""

    endpoint: str
    env: dict[str, str]
    state_dir: Path

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "promptdaw", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def client(self, **kwargs: Any) -> Client:
        """A client of this CLI's daemon, signing with the key its connection file (in our state folder) holds."""
        path = connection_file(self.endpoint, self.state_dir / "connections")
        return Client(self.endpoint, connection=read_connection_file(path) if path.exists() else None, **kwargs)


def daemon_pids(endpoint: str) -> list[int]:
    """Pids of ``promptdaw serve`` processes started for exactly ``endpoint`` (a unique port)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv]
        if "promptdaw" in words and "serve" in words and endpoint in words:
            pids.append(int(proc.name))
    return pids


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs: ``os.kill(pid, 0)`` raising means gone; a zombie has exited too."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def stop_daemons_at(endpoint: str) -> None:
    """Teardown: stop any daemon at ``endpoint`` (SIGTERM: it shuts down as for ``promptdaw stop``),
    then kill what is left, by pid."""
    pids = daemon_pids(endpoint)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in pids:
        if not wait_gone(pid, 10):
            os.kill(pid, signal.SIGKILL)
            wait_gone(pid, 5)


def make_cli(tmp_path: Path) -> Cli:
    endpoint = free_endpoint()
    state = tmp_path / "state"
    env = {
        **os.environ,
        "PROMPTDAW_ENDPOINT": endpoint,
        "PROMPTDAW_STATE_DIR": str(state),
        "PROMPTDAW_MODELS_DIR": str(REPO / "models"),
        "PROMPTDAW_CACHE_DIR": str(tmp_path / "cache"),
    }
    for name in ("PROMPTDAW_SERVER_KEY", "PROMPTDAW_CLIENT_KEY", "PROMPTDAW_PROVIDERS"):
        env.pop(name, None)
    return Cli(endpoint, env, state)


@pytest.fixture
def cli(tmp_path: Path, basic_pitch_onnx: Path) -> Iterator[Cli]:
    runner = make_cli(tmp_path)
    try:
        yield runner
    finally:
        stop_daemons_at(runner.endpoint)


def write_wav(path: Path, notes=NOTES, duration_s: float = 4.0) -> Path:
    mono = synth_notes(notes, duration_s, sample_rate=SAMPLE_RATE, noise_level=1e-3)
    with AudioFile(str(path), "w", SAMPLE_RATE, 2) as f:
        f.write(np.stack([mono, mono]))
    return path


def midi_notes(path: Path) -> list[tuple[float, float, int]]:
    """(start_s, end_s, pitch) of every note in a Standard MIDI File, in seconds."""
    now, open_notes, notes = 0.0, {}, []
    for msg in mido.MidiFile(str(path)):
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            open_notes[msg.note] = now
        elif msg.type in ("note_off", "note_on") and msg.note in open_notes:
            notes.append((open_notes.pop(msg.note), now, msg.note))
    assert not open_notes, f"notes never released: {open_notes}"
    return sorted(notes)


def assert_not_running(cli: Cli) -> None:
    done = cli.run("status", "--timeout", "0.5")
    assert done.returncode == 3, done
    assert "not running" in done.stdout
    assert daemon_pids(cli.endpoint) == []


def assert_one_line_error(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("promptdaw: error: ")
    assert "Traceback" not in done.stderr + done.stdout


# ---------------------------------------------------------------------- no daemon


def test_status_without_a_daemon_reports_and_starts_nothing(cli: Cli) -> None:
    done = cli.run("status")
    assert done.returncode == 3, done
    assert done.stdout.strip().splitlines() == [f"the promptdaw daemon is not running at {cli.endpoint}"]
    assert done.stderr == ""

    done = cli.run("status", "--json", "--timeout", "0.5")
    assert done.returncode == 3, done
    assert json.loads(done.stdout) == {"running": False, "endpoint": cli.endpoint}

    stopped = cli.run("stop")
    assert stopped.returncode == 3 and "not running" in stopped.stdout, stopped
    listed = cli.run("models", "--json", "--timeout", "0.5")
    assert listed.returncode == 3 and json.loads(listed.stdout)["running"] is False, listed

    time.sleep(0.3)  # a daemon spawned in the background would show up by now
    assert daemon_pids(cli.endpoint) == []
    assert not (cli.state_dir / "daemon.log").exists()
    with Client(cli.endpoint, timeout_s=0.5) as c, pytest.raises(DaemonUnavailable):
        c.ping()


def test_models_without_a_daemon_answers_quickly(cli: Cli) -> None:
    start = time.monotonic()
    try:
        done = cli.run("models", timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("`promptdaw models` took over 5 s to find no daemon")
    assert done.returncode == 3 and time.monotonic() - start < 5


# ---------------------------------------------------------------------- bad input


def _garbage(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.wav"
    path.write_bytes(np.random.default_rng(3).bytes(4000))
    return path


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "no_such_file.wav"


def _wav_bytes(tmp_path: Path) -> bytes:
    return write_wav(tmp_path / "full.wav", NOTES[:2], 1.5).read_bytes()


def _truncated_in_header(tmp_path: Path) -> Path:
    data = _wav_bytes(tmp_path)
    path = tmp_path / "truncated_header.wav"
    path.write_bytes(data[: data.index(b"data") + 2])  # RIFF/fmt intact, data chunk header cut
    return path


def _truncated_in_data(tmp_path: Path) -> Path:
    data = _wav_bytes(tmp_path)
    path = tmp_path / "truncated_data.wav"
    path.write_bytes(data[: len(data) // 2])  # valid header, half the samples gone
    return path


@pytest.mark.parametrize(
    "make_input",
    [
        _garbage,
        _missing,
        _truncated_in_header,
        _truncated_in_data,
    ],
    ids=["garbage", "missing", "truncated-header", "truncated-data"],
)
def test_bad_input_fails_in_one_line_before_starting_a_daemon(cli: Cli, tmp_path: Path, make_input) -> None:
    source = make_input(tmp_path)
    output = tmp_path / "out" / "result.mid"
    done = cli.run("transcribe", str(source), "-o", str(output))
    assert_one_line_error(done)
    assert str(source) in done.stderr
    assert not output.exists()
    assert not output.parent.exists() or list(output.parent.iterdir()) == []
    assert_not_running(cli)


@pytest.mark.parametrize(
    "command",
    [("midi", "trap", "--extend"), ("midi", "trap", "--vary"), ("midi", "trap", "--regenerate"), ("render",)],
    ids=["extend", "vary", "regenerate", "render"],
)
def test_an_unreadable_midi_file_is_named_before_starting_a_daemon(cli: Cli, tmp_path: Path, command) -> None:
    source = tmp_path / "half.mid"
    source.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\x40\x00")
    output = tmp_path / "out.mid" if command[0] == "midi" else tmp_path / "out.wav"
    done = cli.run(*command, str(source), "-o", str(output))
    assert_one_line_error(done)
    assert f"{source}: not a readable Standard MIDI File: " in done.stderr
    assert not output.exists()
    assert_not_running(cli)


# ---------------------------------------------------------------------- the whole life cycle


def test_transcribe_autostarts_then_status_models_and_stop(cli: Cli, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "take.wav")
    output = tmp_path / "midi" / "take.mid"
    output.parent.mkdir()
    output.write_bytes(b"stale content from an earlier run")
    assert_not_running(cli)

    done = cli.run("transcribe", str(wav), "-o", str(output))
    assert done.returncode == 0, done
    assert "started the promptdaw daemon" in done.stderr and cli.endpoint in done.stderr
    assert "Traceback" not in done.stderr
    assert (cli.state_dir / "daemon.log").exists()
    summary = done.stdout.strip().splitlines()
    assert len(summary) == 1, done.stdout
    assert summary[0].startswith(f"wrote {output}: ") and "basic_pitch" in summary[0]

    # Atomic write: the stale file was replaced whole and no temporary file is left behind.
    assert sorted(p.name for p in output.parent.iterdir()) == ["take.mid"]
    assert output.read_bytes()[:4] == b"MThd"
    notes = midi_notes(output)
    assert f" {len(notes)} notes from 4.0 s of audio" in summary[0]
    scores = note_f1(NOTES, notes, onset_tolerance_s=0.05)
    assert scores.f1 >= 0.9, (scores, notes)

    json_output = tmp_path / "midi" / "take2.mid"
    done = cli.run("transcribe", str(wav), "-o", str(json_output), "--json")
    assert done.returncode == 0, done
    assert "started" not in done.stderr  # the daemon from the first run served it
    result = json.loads(done.stdout)
    assert result["note_count"] == len(notes) == len(result["notes"])
    assert result["output"] == str(json_output) and result["model"] == "basic_pitch"
    assert result["duration_s"] == pytest.approx(4.0, abs=0.01)
    assert midi_notes(json_output) == notes

    done = cli.run("status")
    assert done.returncode == 0, done
    assert "models loaded: basic_pitch" in done.stdout
    done = cli.run("status", "--json")
    assert done.returncode == 0, done
    status = json.loads(done.stdout)
    pid = status["pid"]
    assert status["endpoint"] == cli.endpoint and status["models_loaded"] == ["basic_pitch"]
    assert daemon_pids(cli.endpoint) == [pid]
    assert pid_alive(pid)

    done = cli.run("models", "--json")
    assert done.returncode == 0, done
    models = {m["name"]: m for m in json.loads(done.stdout)}
    assert models["basic_pitch"]["kind"] == "audio-to-midi"
    assert models["basic_pitch"]["state"] == "loaded"

    done = cli.run("stop")
    assert done.returncode == 0, done
    assert done.stdout.strip() == f"stopped the promptdaw daemon (pid {pid})"
    # The daemon runs in its own session, re-parented to init, which may take a moment to reap
    # it: a zombie counts as exited.
    assert wait_gone(pid, 10), f"daemon pid {pid} still alive 10 s after stop"
    assert_not_running(cli)


# ---------------------------------------------------------------------- --endpoint


def test_endpoint_flag_overrides_the_environment(cli: Cli, daemon, tmp_path: Path) -> None:
    """$PROMPTDAW_ENDPOINT names an empty port; --endpoint names the session daemon."""
    # The session daemon's connection file (its key) where this CLI's state folder keeps them.
    shared = connection_file(daemon.endpoint, cli.state_dir / "connections")
    shared.parent.mkdir(parents=True, exist_ok=True)
    shared.write_bytes(connection_file(daemon.endpoint).read_bytes())
    done = cli.run("status", "--json", "--endpoint", daemon.endpoint)
    assert done.returncode == 0, done
    status = json.loads(done.stdout)
    assert status["pid"] == daemon.process.pid and status["endpoint"] == daemon.endpoint

    wav = write_wav(tmp_path / "short.wav", NOTES[:2], 1.5)
    output = tmp_path / "short.mid"
    done = cli.run("transcribe", str(wav), "-o", str(output), "--endpoint", daemon.endpoint, "--json")
    assert done.returncode == 0, done
    assert json.loads(done.stdout)["note_count"] == len(midi_notes(output)) > 0

    assert_not_running(cli)  # nothing was started at the environment's endpoint
    assert daemon.process.poll() is None


# ---------------------------------------------------------------------- a daemon that dies mid-request


def test_watching_client_tells_a_silent_daemon_from_a_gone_one() -> None:
    """Silent but listening: the full time-out. Nothing listening any more: an error within about a second."""
    endpoint = free_endpoint()
    router = zmq.Context.instance().socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.bind(endpoint)
    with WatchingClient(endpoint, timeout_s=1.5) as client:
        assert is_listening(endpoint) is True
        start = time.monotonic()
        with pytest.raises(DaemonUnavailable, match=r"no answer from the promptdaw daemon at .* within 1\.5 s"):
            client.ping()
        assert time.monotonic() - start >= 1.5

        router.close()
        client.timeout_s = 30
        start = time.monotonic()
        with pytest.raises(DaemonUnavailable, match="is gone: nothing listens there any more"):
            client.ping()
        assert time.monotonic() - start < 5
        assert is_listening(endpoint) is False
    assert is_listening("tcp://192.0.2.1:7467") is None  # off this machine: not probed


def test_kill_9_mid_transcription_fails_fast(cli: Cli, tmp_path: Path) -> None:
    """The CLI starts a daemon, which is killed mid-job: one-line error well before the 30 s time-out."""
    wav = write_wav(tmp_path / "long.wav", [(t, t + 0.4, 60 + int(t) % 12) for t in range(0, 300, 2)], 300.0)
    command = [sys.executable, "-m", "promptdaw", "transcribe", str(wav), "-o", str(tmp_path / "long.mid")]
    process = subprocess.Popen(command, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        running: list = []
        while not running and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
            if daemon_pids(cli.endpoint):
                try:
                    with cli.client(timeout_s=0.5) as c:
                        status = c.status()
                    running = status["others"]["running"] + status["others"]["queued"]  # the CLI's job
                except DaemonUnavailable:
                    pass
        assert running, "the transcription never showed up in the daemon's status"
        os.kill(status["pid"], signal.SIGKILL)
        killed = time.monotonic()
        stdout, stderr = process.communicate(timeout=20)
        assert time.monotonic() - killed < 5
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("started the promptdaw daemon"), stderr
    gone = f"promptdaw: error: the promptdaw daemon at {cli.endpoint} is gone: nothing listens there any more"
    assert lines[1] == gone
