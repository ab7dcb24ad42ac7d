"""The committed stem-separation model (``models/stems``) in-process: manifest, masks, a rendered mix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from promptdaw.inference_server.tasks.separate import SILENCE_DBFS, separate_audio
from promptdaw.runtime.onnx import OnnxModel
from promptdaw.runtime.registry import ModelRegistry
from promptdaw.runtime.separation import CHANNELS, N_BINS, SOURCES, Geometry
from promptdaw.runtime.separation.constants import CHUNK_FRAMES, HOP, N_FFT, SAMPLE_RATE

STEMS_DIR = REPO / "models" / "stems"
#: Floors for the rendered test mix (TimGM6mb, a soundfont the model never heard). The committed
#: model scores drums 2.4 dB and bass 3.8 dB on it (docs/stems.md: a weak model, far below the
#: issue's targets); an untrained network scores below 0 dB on both. Raise these with the model.
MIN_SDR_DB = {"drums": 1.0, "bass": 2.0}


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    num = np.square(reference, dtype=np.float64).sum()
    den = np.square(reference - estimate, dtype=np.float64).sum()
    return float(10 * np.log10((num + 1e-8) / (den + 1e-8)))


def rendered_example(duration_s: float = 6.0) -> np.ndarray:
    """True stems ``[4, n, 2]`` of ``arrange.example_clip`` rendered with TimGM6mb (no effects)."""
    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth is not installed (scripts/debian-packages.txt)")
    from training.stems.arrange import example_clip
    from training.stems.render import TIMGM6MB, render_clips

    if not TIMGM6MB.exists():
        pytest.skip(f"{TIMGM6MB} is missing (Debian package timgm6mb-soundfont)")
    return render_clips([example_clip(duration_s)], TIMGM6MB, np.random.default_rng(0), augment=False)[0]


@pytest.fixture(scope="module")
def model() -> OnnxModel:
    registry = ModelRegistry(REPO / "models", providers=["CPUExecutionProvider"])
    return registry.get("stems")  # verifies the sha256 of the committed file


@pytest.fixture(scope="module")
def example() -> np.ndarray:
    return rendered_example()


def test_manifest_matches_the_runtime_geometry() -> None:
    manifest = json.loads((STEMS_DIR / "manifest.json").read_text())
    assert manifest["kind"] == "stem-separation" and manifest["sample_rate"] == SAMPLE_RATE
    window = manifest["window"]
    assert (window["n_fft"], window["hop"], window["sources"]) == (N_FFT, HOP, list(SOURCES))
    assert Geometry.from_manifest_window(window).chunk_frames == window["chunk_frames"] == CHUNK_FRAMES
    assert manifest["files"][0]["bytes"] <= 30 * 2**20  # the weights budget
    assert (STEMS_DIR / manifest["card"]).exists()


def test_masks_are_probabilities_over_the_sources(model: OnnxModel) -> None:
    magnitude = np.random.default_rng(0).gamma(0.5, 0.2, (2, CHANNELS, N_BINS, 64)).astype(np.float32)
    masks = model.run({"magnitude": magnitude})["masks"]
    assert masks.shape == (2, len(SOURCES), CHANNELS, N_BINS, 64)
    assert masks.min() >= 0 and masks.max() <= 1
    np.testing.assert_allclose(masks.sum(axis=1), 1.0, atol=1e-5)


def test_rendered_mix_round_trip(model: OnnxModel, example: np.ndarray) -> None:
    mix = example.sum(axis=0)
    events: list[tuple[float, str]] = []
    result, buffers = separate_audio(model, mix, SAMPLE_RATE, lambda f, s: events.append((f, s)))
    estimates = np.stack([b.samples for b in buffers])
    assert estimates.shape == example.shape and all(b.sample_rate == SAMPLE_RATE for b in buffers)
    assert result["sources"] == list(SOURCES) and result["duration_s"] == pytest.approx(6.0)
    scores = {name: sdr(example[k], estimates[k]) for k, name in enumerate(SOURCES)}
    for name, floor in MIN_SDR_DB.items():
        assert scores[name] >= floor, scores
    # Stems sum to the mixture, and the reported residual is what is left.
    residual = mix - estimates.sum(axis=0)
    measured = 10 * np.log10(np.square(residual, dtype=np.float64).mean() + 1e-300)
    assert result["residual_dbfs"] == pytest.approx(max(measured, SILENCE_DBFS), abs=0.5)
    assert result["residual_db"] < -100
    assert [f for f, _ in events] == sorted(f for f, _ in events) and events[-1][1].startswith("separating segment")


def test_silence_gives_silent_stems(model: OnnxModel) -> None:
    result, buffers = separate_audio(model, np.zeros((44100, 1), np.float32), 48000)
    assert all(not b.samples.any() and b.samples.shape == (44100, 2) for b in buffers)
    assert result["residual_dbfs"] == SILENCE_DBFS and result["residual_db"] is None
    assert result["mixture_dbfs"] == SILENCE_DBFS and set(result["stem_dbfs"].values()) == {SILENCE_DBFS}


def test_weights_file_is_what_the_manifest_says() -> None:
    from promptdaw.runtime.registry import sha256_file

    manifest = json.loads((STEMS_DIR / "manifest.json").read_text())
    entry = manifest["files"][0]
    path = Path(STEMS_DIR / entry["path"])
    assert sha256_file(path) == entry["sha256"] and path.stat().st_size == entry["bytes"]


def test_the_committed_weights_come_back_from_onnx_for_further_training(model: OnnxModel) -> None:
    """``export.model_from_onnx`` (how a later run continues the committed model) gives torch the
    same masks as onnxruntime, BatchNorm folded back into the depthwise convolutions."""
    torch = pytest.importorskip("torch")  # the train extra
    from training.stems.export import model_from_onnx

    manifest = json.loads((STEMS_DIR / "manifest.json").read_text())
    config = manifest["provenance"]["train_config"]
    shape = {"widths": tuple(config["widths"]), "blocks": tuple(config["blocks"])}
    net = model_from_onnx(STEMS_DIR / "stems.onnx", shape)
    magnitude = np.random.default_rng(3).uniform(0, 3, (1, CHANNELS, N_BINS, 64)).astype(np.float32)
    with torch.no_grad():
        ours = net(torch.from_numpy(magnitude)).numpy()
    np.testing.assert_allclose(ours, model.run({"magnitude": magnitude})["masks"], atol=1e-4)
