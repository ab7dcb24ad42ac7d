"""Drum sub-stems (issue 21): the key classes, the runtime split with the committed model,
``separate`` with ``drums: true`` through a real daemon, ``promptdaw stems --drums`` as a real
subprocess, and a few-step training run that is exported and served.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, DaemonProcess, start_daemon, wait_until_idle
from pedalboard.io import AudioFile

from promptdaw.client import Client
from promptdaw.inference_server.errors import InvalidInput, JobCancelled, ModelNotFound
from promptdaw.inference_server.protocol import Audio
from promptdaw.runtime.catalog import DRUM_SEPARATION, model_for
from promptdaw.runtime.registry import ModelRegistry
from promptdaw.runtime.separation import SOURCES
from promptdaw.runtime.separation.drums import DRUM_SOURCES, drum_class, drum_splitter

RATE = 44100
DRUM_MODEL = REPO / "models" / "drum_stems"


def level_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.square(x, dtype=np.float64).mean() + 1e-300))


def rendered_drums(duration_s: float = 8.0, seed: int = 5) -> np.ndarray:
    """True sub-stems ``[5, n, 2]`` of a groove rendered with TimGM6mb's standard kit (held out)."""
    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth is not installed (scripts/debian-packages.txt)")
    from training.drum_stems.data import Kit, make_clip, render_kit
    from training.stems.render import TIMGM6MB

    if not TIMGM6MB.exists():
        pytest.skip(f"{TIMGM6MB} is missing (Debian package timgm6mb-soundfont)")
    clip = make_clip("test", duration_s, random.Random(seed))
    return render_kit([clip], Kit("TimGM6mb:0", TIMGM6MB, 0), np.random.default_rng(seed), augment=False)[0]


@pytest.fixture(scope="module")
def drums() -> np.ndarray:
    return rendered_drums()


def test_general_midi_keys_fall_into_the_five_classes() -> None:
    assert DRUM_SOURCES == ("kick", "snare", "hats", "toms", "cymbals")
    expected = {35: "kick", 36: "kick", 37: "snare", 38: "snare", 39: "snare", 40: "snare", 42: "hats", 44: "hats",
                46: "hats", 54: "hats", 41: "toms", 50: "toms", 63: "toms", 49: "cymbals", 51: "cymbals",
                53: "cymbals", 57: "cymbals", 56: None, 75: None, 81: None}  # fmt: skip
    assert {key: drum_class(key) for key in expected} == expected


def test_the_committed_model_splits_a_held_out_kit_into_sub_stems_that_sum_to_it(drums: np.ndarray) -> None:
    registry = ModelRegistry(REPO / "models", providers=["CPUExecutionProvider"])
    split = drum_splitter(model_for(registry, DRUM_SEPARATION))  # verifies the sha256 of the committed file
    stem = drums.sum(axis=0)
    progress: list[tuple[int, int]] = []
    sub = split(stem, RATE, lambda done, total: progress.append((done, total)))
    assert sub.shape == (5, stem.shape[0], 2) and sub.dtype == np.float32
    assert level_db(stem - sub.sum(axis=0)) - level_db(stem) < -100  # masks sum to one
    assert progress == [(1, 1)]
    # Better than handing every class the whole drum stem, for the classes this groove plays.
    for k, name in enumerate(DRUM_SOURCES):
        if level_db(drums[k]) > level_db(stem) - 30:
            gain = level_db(drums[k]) - level_db(drums[k] - sub[k])
            baseline = level_db(drums[k]) - level_db(drums[k] - stem)
            assert gain > baseline + 3, (name, gain, baseline)


def test_streaming_in_small_blocks_gives_the_same_sub_stems_at_another_rate(drums: np.ndarray) -> None:
    from promptdaw.runtime.separation.drums import iter_split_drums

    registry = ModelRegistry(REPO / "models", providers=["CPUExecutionProvider"])
    model = model_for(registry, DRUM_SEPARATION)

    def run(magnitude: np.ndarray) -> np.ndarray:
        return model.run({"magnitude": magnitude}, ["masks"])["masks"]

    stem = drums.sum(axis=0)[: 5 * RATE]
    whole = np.concatenate(list(iter_split_drums([stem], RATE, stem.shape[0], run)), axis=1)
    blocks = [stem[i : i + 3001] for i in range(0, stem.shape[0], 3001)]
    streamed = np.concatenate(list(iter_split_drums(blocks, RATE, stem.shape[0], run)), axis=1)
    np.testing.assert_allclose(streamed, whole, atol=1e-5)
    import soxr

    at_48k = soxr.resample(stem, RATE, 48000).astype(np.float32)
    out = np.concatenate(list(iter_split_drums([at_48k], 48000, at_48k.shape[0], run)), axis=1)
    assert out.shape == (5, at_48k.shape[0], 2)
    assert level_db(at_48k - out.sum(axis=0)) - level_db(at_48k) < -40  # up to the resampler's band limit


# ---------------------------------------------------------------------- the daemon and the CLI


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    models = tmp_path_factory.mktemp("drum-models")
    for name in ("stems", "drum_stems"):
        shutil.copytree(REPO / "models" / name, models / name, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    process = start_daemon(models, tmp_path_factory.mktemp("drum-logs"))
    yield process
    process.stop()


@pytest.fixture
def client(daemon: DaemonProcess) -> Iterator[Client]:
    with daemon.client(timeout_s=180) as c:
        yield c


def test_separate_with_drums_replies_nine_buffers(client: Client, drums: np.ndarray) -> None:
    bed = 0.05 * np.sin(2 * np.pi * 220 * np.arange(drums.shape[1]) / RATE).astype(np.float32)
    mix = drums.sum(axis=0) + bed[:, None]
    events: list[str] = []
    reply = client.request("separate", {"drums": True}, (Audio(mix, RATE),), on_progress=lambda f, s: events.append(s))
    stems = np.stack([p.samples for p in reply.payloads])
    assert stems.shape == (9, mix.shape[0], 2)
    result = reply.body
    assert result["sources"] == list(SOURCES) and result["drum_sources"] == list(DRUM_SOURCES)
    assert result["residual_db"] < -100  # the four stems still sum to the mix
    drum_stem, sub = stems[0], stems[4:]
    assert level_db(drum_stem - sub.sum(axis=0)) - level_db(drum_stem) < -100
    for k, name in enumerate(DRUM_SOURCES):
        assert result["drum_stem_dbfs"][name] == pytest.approx(level_db(sub[k]), abs=0.05)
    assert "separating segment 1/1" in events and events[-1] == "splitting drums segment 1/1"


def test_bad_drums_param_is_one_line_and_the_daemon_keeps_serving(client: Client) -> None:
    with pytest.raises(InvalidInput, match="drums must be true or false, got 'yes'"):
        client.request("separate", {"drums": "yes"}, (Audio(np.zeros((RATE, 2), np.float32), RATE),))
    assert client.ping() < 1.0


def test_drums_without_the_model_is_refused_before_any_work(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(REPO / "models" / "stems", models / "stems", ignore=shutil.ignore_patterns("*.py"))
    process = start_daemon(models, tmp_path)
    try:
        with process.client(timeout_s=60) as c:
            events: list[str] = []
            with pytest.raises(ModelNotFound, match="drum-separation"):
                c.request("separate", {"drums": True}, (Audio(np.zeros((RATE, 2), np.float32), RATE),),
                          on_progress=lambda f, s: events.append(s))  # fmt: skip
            assert not any(s.startswith("separating segment") for s in events)
            assert c.ping() < 1.0
    finally:
        process.stop()


def test_cancel_lands_between_drum_segments(daemon: DaemonProcess, client: Client) -> None:
    long = (0.05 * np.random.default_rng(0).standard_normal((30 * RATE, 2))).astype(np.float32)
    with daemon.client(timeout_s=120) as job_client:
        request_id = job_client.send("separate", {"drums": True}, (Audio(long, RATE),))
        seen: list[str] = []

        def on_progress(fraction: float, stage: str) -> None:
            seen.append(stage)
            if stage.startswith("splitting drums segment 1/"):
                job_client.send("cancel", {"request_id": request_id})

        with pytest.raises(JobCancelled):
            job_client.wait(request_id, on_progress=on_progress)
    total = int(next(s for s in seen if s.startswith("splitting drums segment")).rsplit("/", 1)[1])
    assert total >= 3 and not any(s.startswith(f"splitting drums segment {total}/") for s in seen)
    status = wait_until_idle(client)
    assert not status["running"] and not status["queued"], status


def run_cli(daemon: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "promptdaw", "stems", *args, "--endpoint", daemon.endpoint],
                          capture_output=True, text=True, timeout=240)  # fmt: skip


def read(path: Path) -> np.ndarray:
    with AudioFile(str(path)) as f:
        return f.read(f.frames).T


def test_cli_writes_the_five_drum_files_beside_the_stems(daemon: DaemonProcess, drums: np.ndarray, tmp_path: Path):
    source = tmp_path / "song.wav"
    with AudioFile(str(source), "w", RATE, 2, bit_depth=32) as f:
        f.write(np.ascontiguousarray(drums.sum(axis=0).T))
    out = tmp_path / "stems"
    done = run_cli(daemon, str(source), "-o", str(out), "--drums", "--block-s", "3", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    names = [*SOURCES, *DRUM_SOURCES]
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.wav" for n in names)  # no temporaries left
    assert result["blocks"] >= 3 and result["drum_sources"] == list(DRUM_SOURCES)
    assert set(result["files"]) == set(names) and result["residual_db"] < -100
    drum_stem = read(out / "drums.wav")
    sub = np.stack([read(out / f"{n}.wav") for n in DRUM_SOURCES])
    assert sub.shape == (5, *drum_stem.shape)
    # Block cross-fades are linear and the masks sum to one: the sub-stems sum to the drum stem.
    assert level_db(drum_stem - sub.sum(axis=0)) - level_db(drum_stem) < -80


def test_cli_failure_leaves_no_partial_files(daemon: DaemonProcess, tmp_path: Path) -> None:
    """A daemon without the drum model: one line naming what is missing, and nothing written."""
    source = tmp_path / "song.wav"
    with AudioFile(str(source), "w", RATE, 2, bit_depth=16) as f:
        f.write(np.zeros((2, RATE), np.float32))
    models = tmp_path / "models"
    shutil.copytree(REPO / "models" / "stems", models / "stems", ignore=shutil.ignore_patterns("*.py"))
    other = start_daemon(models, tmp_path)
    try:
        out = tmp_path / "out"
        done = run_cli(other, str(source), "-o", str(out), "--drums")
    finally:
        other.stop()
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and "drum-separation" in done.stderr
    assert not out.exists() or not any(out.iterdir())


# ---------------------------------------------------------------------- training


def test_smoke_train_export_and_serve(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    rendered_drums(1.0)  # skips without fluidsynth / TimGM6mb
    from training.drum_stems.data import Kit, write_drum_dataset
    from training.stems.render import TIMGM6MB

    data = write_drum_dataset([Kit("TimGM6mb:0", TIMGM6MB, 0)], 2, 1.5, tmp_path / "data", seed=0, log=lambda _: None)
    run = tmp_path / "run"
    command = [sys.executable, str(REPO / "scripts" / "train_drum_stems.py"), "--smoke", "--data", str(data),
               "--valid", str(data), "--out", str(run)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "done at step 3" in done.stdout and "valid step 2:" in done.stdout
    from training.drum_stems.export import export

    models = tmp_path / "models"
    manifest = json.loads(export(run / "checkpoint.pt", models / "drum_stems").read_text())
    assert manifest["kind"] == DRUM_SEPARATION and manifest["window"]["sources"] == list(DRUM_SOURCES)
    split = drum_splitter(model_for(ModelRegistry(models, providers=["CPUExecutionProvider"]), DRUM_SEPARATION))
    noise = (0.1 * np.random.default_rng(1).standard_normal((RATE, 2))).astype(np.float32)
    sub = split(noise, RATE, lambda done, total: None)
    assert level_db(noise - sub.sum(axis=0)) - level_db(noise) < -100
