"""``separate`` through a real daemon process and ``promptdaw stems`` as a real subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soxr
from conftest import REPO, DaemonProcess, start_daemon, wait_until_idle
from pedalboard.io import AudioFile
from test_stems_model import rendered_example

from promptdaw.client import Client
from promptdaw.inference_server.errors import InvalidAudio, JobCancelled
from promptdaw.inference_server.protocol import Audio
from promptdaw.runtime.separation import SOURCES, to_stereo

RATE = 44100


@pytest.fixture(scope="module")
def stems_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    models = tmp_path_factory.mktemp("stems-models")
    shutil.copytree(REPO / "models" / "stems", models / "stems", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    process = start_daemon(models, tmp_path_factory.mktemp("stems-logs"))
    yield process
    process.stop()


@pytest.fixture
def client(stems_daemon: DaemonProcess) -> Iterator[Client]:
    with stems_daemon.client(timeout_s=120) as c:
        yield c


@pytest.fixture(scope="module")
def example() -> np.ndarray:
    return rendered_example()


def separate(client: Client, samples: np.ndarray, rate: int, **kwargs) -> tuple[dict, np.ndarray]:
    reply = client.request("separate", {}, (Audio(samples, rate),), **kwargs)
    assert [type(p).__name__ for p in reply.payloads] == ["Audio"] * 4
    assert all(p.sample_rate == rate for p in reply.payloads)
    return reply.body, np.stack([p.samples for p in reply.payloads])


def level_dbfs(x: np.ndarray) -> float:
    return float(10 * np.log10(np.square(x, dtype=np.float64).mean() + 1e-300))


def test_round_trip_over_the_wire(client: Client, example: np.ndarray) -> None:
    mix = example.sum(axis=0)
    events: list[tuple[float, str]] = []
    result, stems = separate(client, mix, RATE, on_progress=lambda f, s: events.append((f, s)))
    assert stems.shape == (4, mix.shape[0], 2)
    assert result["sources"] == list(SOURCES) == ["drums", "bass", "vocals", "other"]
    assert result["model"] == "stems" and result["sample_rate"] == RATE and result["channels"] == 2
    # The stems sum to the mixture within the reported residual.
    assert level_dbfs(mix - stems.sum(axis=0)) == pytest.approx(result["residual_dbfs"], abs=0.5)
    assert result["residual_db"] < -100
    for k, name in enumerate(SOURCES):
        assert result["stem_dbfs"][name] == pytest.approx(level_dbfs(stems[k]), abs=0.05)
    stages = [s for _, s in events]
    assert stages[0] == "queued" and "started" in stages and stages[-1] == "separating segment 1/1"


def test_silence(client: Client) -> None:
    result, stems = separate(client, np.zeros((2 * RATE, 2), np.float32), RATE)
    assert not stems.any()
    assert result["residual_db"] is None and result["residual_dbfs"] == -300.0


def test_bad_audio_is_refused_and_the_daemon_keeps_serving(client: Client) -> None:
    with pytest.raises(InvalidAudio, match="NaN"):
        separate(client, np.full((1000, 2), np.nan, np.float32), RATE)
    with pytest.raises(InvalidAudio, match="empty"):
        separate(client, np.zeros((0, 2), np.float32), RATE)
    assert client.ping() < 1.0


def test_progress_per_segment_and_cancel_between_segments(stems_daemon: DaemonProcess, client: Client) -> None:
    long = (0.05 * np.random.default_rng(0).standard_normal((75 * RATE, 2))).astype(np.float32)
    with stems_daemon.client(timeout_s=60) as job_client:
        request_id = job_client.send("separate", {}, (Audio(long, RATE),))
        seen: list[str] = []

        def on_progress(fraction: float, stage: str) -> None:
            seen.append(stage)
            if stage.startswith("separating segment 1/"):
                job_client.send("cancel", {"request_id": request_id})  # only its own client may cancel it

        with pytest.raises(JobCancelled):
            job_client.wait(request_id, on_progress=on_progress)
    total = int(next(s for s in seen if s.startswith("separating segment")).rsplit("/", 1)[1])
    assert total >= 7 and not any(s.startswith(f"separating segment {total}/") for s in seen)
    # The worker stops at its next segment boundary, well before the input's end.
    status = wait_until_idle(client)
    assert not status["running"] and not status["queued"], status
    assert client.ping() < 1.0


# ---------------------------------------------------------------------- the CLI


def run_cli(stems_daemon: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "promptdaw", "stems", *args, "--endpoint", stems_daemon.endpoint],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def write(path: Path, samples: np.ndarray, rate: int, bit_depth: int) -> Path:
    with AudioFile(str(path), "w", rate, samples.shape[1], bit_depth=bit_depth) as f:
        f.write(np.ascontiguousarray(samples.T))
    return path


def read(path: Path) -> tuple[np.ndarray, int]:
    with AudioFile(str(path)) as f:
        return f.read(f.frames).T, int(f.samplerate)


@pytest.mark.parametrize(
    ("name", "rate", "mono", "bit_depth"),
    [("16-bit", 44100, False, 16), ("24-bit", 44100, False, 24), ("float", 44100, False, 32),
     ("mono-16-bit", 44100, True, 16), ("48k-24-bit", 48000, False, 24)],
)  # fmt: skip
def test_cli_input_formats(stems_daemon, example, tmp_path: Path, name: str, rate: int, mono: bool, bit_depth: int):
    mix = 0.9 * example.sum(axis=0) / np.abs(example.sum(axis=0)).max()
    if rate != RATE:
        mix = soxr.resample(mix, RATE, rate)
    if mono:
        mix = mix.mean(axis=1, keepdims=True)
    source = write(tmp_path / f"{name}.wav", mix.astype(np.float32), rate, bit_depth)
    out = tmp_path / "stems"
    done = run_cli(stems_daemon, str(source), "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert sorted(p.name for p in out.iterdir()) == ["bass.wav", "drums.wav", "other.wav", "vocals.wav"]
    original, _ = read(source)  # what the CLI read: quantised to the file's bit depth
    stems = []
    for stem in SOURCES:
        audio, stem_rate = read(out / f"{stem}.wav")
        assert stem_rate == rate and audio.shape == (original.shape[0], 2), (stem, audio.shape)
        stems.append(audio)
    residual = to_stereo(original) - np.sum(stems, axis=0)
    assert level_dbfs(residual) == pytest.approx(result["residual_dbfs"], abs=0.5)
    assert result["residual_db"] < (-50 if rate != RATE else -100)
    assert result["sample_rate"] == rate and result["duration_s"] == pytest.approx(original.shape[0] / rate)


def test_cli_blocks_long_input_seamlessly(stems_daemon, example, tmp_path: Path) -> None:
    source = write(tmp_path / "mix.wav", example.sum(axis=0), RATE, 32)
    done = run_cli(stems_daemon, str(source), "-o", str(tmp_path / "blocked"), "--block-s", "2", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["blocks"] >= 3 and result["residual_db"] < -100
    whole = run_cli(stems_daemon, str(source), "-o", str(tmp_path / "whole"), "--json")
    assert json.loads(whole.stdout)["blocks"] == 1
    drums_blocked, _ = read(tmp_path / "blocked" / "drums.wav")
    drums_whole, _ = read(tmp_path / "whole" / "drums.wav")
    difference = level_dbfs(drums_blocked - drums_whole) - level_dbfs(drums_whole)
    # Two-second blocks give the model far less context than its 11.9 s segments, so the stems
    # differ somewhat from one long request; what must hold is the sum (above) and no gross seams.
    assert difference < -8


def test_cli_text_summary(stems_daemon, example, tmp_path: Path) -> None:
    source = write(tmp_path / "mix.wav", example.sum(axis=0), RATE, 24)
    done = run_cli(stems_daemon, str(source), "-o", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"wrote {tmp_path / 'out' / 'drums.wav'}, ")
    assert "residual (mix minus stems)" in lines[0] and "dB below the mix" in lines[0]


def _garbage(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.wav"
    path.write_bytes(np.random.default_rng(3).bytes(4000))
    return path


def _truncated_header(tmp_path: Path) -> Path:
    data = write(tmp_path / "full.wav", np.zeros((RATE, 2), np.float32), RATE, 16).read_bytes()
    path = tmp_path / "truncated.wav"
    path.write_bytes(data[: data.index(b"data") + 2])
    return path


@pytest.mark.parametrize("make_input", [_garbage, _truncated_header], ids=["garbage", "truncated-header"])
def test_cli_corrupt_input_is_one_line_and_the_daemon_keeps_serving(stems_daemon, client, tmp_path, make_input):
    source = make_input(tmp_path)
    out = tmp_path / "out"
    done = run_cli(stems_daemon, str(source), "-o", str(out))
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("promptdaw: error: ") and str(source) in lines[0], done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not out.exists() or list(out.iterdir()) == []
    start = time.perf_counter()
    assert client.ping() < 1.0 and time.perf_counter() - start < 2
