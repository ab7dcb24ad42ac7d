"""The model registry, provider choice and model fetching, on real files and onnxruntime."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import BASIC_PITCH_DIR

from promptdaw.inference_server.errors import ModelNotFound, ModelUnavailable
from promptdaw.runtime.fetch import fetch_all
from promptdaw.runtime.onnx import select_providers
from promptdaw.runtime.registry import Manifest, ModelRegistry, sha256_file

CPU = ["CPUExecutionProvider"]
MANIFEST = json.loads((BASIC_PITCH_DIR / "manifest.json").read_text())
ONNX_SHA256 = MANIFEST["files"][0]["sha256"]
WHEEL = MANIFEST["fetch"]["wheel"]


def add_model(root: Path, name: str = "basic_pitch", *, onnx: bool = True, **overrides) -> Path:
    """Copy the real basic_pitch manifest (with ``overrides``) and, optionally, nmp.onnx into root/name."""
    directory = root / name
    directory.mkdir(parents=True)
    manifest = {**MANIFEST, "name": name, **overrides}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2))
    if onnx:
        shutil.copyfile(BASIC_PITCH_DIR / "nmp.onnx", directory / "nmp.onnx")
    return directory


def by_name(registry: ModelRegistry) -> dict[str, dict]:
    return {entry["name"]: entry for entry in registry.describe()}


@pytest.fixture
def root(tmp_path: Path, basic_pitch_onnx: Path) -> Path:
    root = tmp_path / "models"
    add_model(root)
    return root


# ---------------------------------------------------------------------- registry


def test_lists_an_installed_model_and_runs_it(root: Path) -> None:
    registry = ModelRegistry(root, providers=CPU)
    assert registry.names() == ["basic_pitch"]
    entry = by_name(registry)["basic_pitch"]
    assert entry["state"] == "available" and entry["error"] is None
    assert entry["kind"] == "audio-to-midi" and entry["sample_rate"] == 22050
    assert entry["bytes"] == (root / "basic_pitch" / "nmp.onnx").stat().st_size
    assert entry["license"] == "Apache-2.0" and "weights" in entry["provenance"]
    assert registry.loaded() == []

    model = registry.get("basic_pitch")
    assert registry.get("basic_pitch") is model  # loaded once
    assert model.providers == CPU
    outputs = model.run({"audio": np.zeros((1, 43844, 1), np.float32)})
    assert {k: v.shape for k, v in outputs.items()} == {
        "note": (1, 172, 88),
        "onset": (1, 172, 88),
        "contour": (1, 172, 264),
    }
    assert by_name(registry)["basic_pitch"]["state"] == "loaded"
    assert registry.loaded() == ["basic_pitch"]


def test_corrupt_file_is_reported_and_refused_then_restored(root: Path) -> None:
    path = root / "basic_pitch" / "nmp.onnx"
    original = path.read_bytes()
    flipped = bytearray(original)
    for i in (100, len(flipped) // 2, len(flipped) - 10):
        flipped[i] ^= 0xFF
    path.write_bytes(bytes(flipped))

    registry = ModelRegistry(root, providers=CPU)
    entry = by_name(registry)["basic_pitch"]
    assert entry["state"] == "corrupt"
    assert str(path) in entry["error"] and "fetch-models --force" in entry["error"]
    with pytest.raises(ModelUnavailable, match="corrupt") as caught:
        registry.get("basic_pitch")
    assert str(path) in caught.value.message
    assert registry.loaded() == []

    path.write_bytes(original)
    assert registry.get("basic_pitch").providers == CPU
    assert by_name(registry)["basic_pitch"]["state"] == "loaded"


def test_missing_file(root: Path) -> None:
    path = root / "basic_pitch" / "nmp.onnx"
    path.unlink()
    registry = ModelRegistry(root, providers=CPU)
    entry = by_name(registry)["basic_pitch"]
    assert entry["state"] == "missing" and str(path) in entry["error"]
    with pytest.raises(ModelUnavailable, match="missing"):
        registry.get("basic_pitch")


def test_unload(root: Path) -> None:
    registry = ModelRegistry(root, providers=CPU)
    registry.get("basic_pitch")
    assert registry.unload("basic_pitch") is True
    assert registry.loaded() == []
    assert registry.unload("basic_pitch") is False
    with pytest.raises(ModelNotFound, match="basic_pitch"):
        registry.unload("no_such_model")
    assert by_name(registry)["basic_pitch"]["state"] == "available"


def test_manifest_with_an_unknown_field_still_loads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "models"
    add_model(root, future_field={"from": "protocol 2"})
    with caplog.at_level(logging.WARNING, logger="promptdaw.runtime.registry"):
        registry = ModelRegistry(root, providers=CPU)
    assert "future_field" in caplog.text
    assert by_name(registry)["basic_pitch"]["state"] == "available"
    assert registry.get("basic_pitch").providers == CPU


def test_invalid_manifests_leave_other_models_serving(root: Path) -> None:
    (root / "garbled").mkdir()
    (root / "garbled" / "manifest.json").write_text("{ not json")
    manifest = {k: v for k, v in MANIFEST.items() if k != "files"}
    (root / "fileless").mkdir()
    (root / "fileless" / "manifest.json").write_text(json.dumps({**manifest, "name": "fileless"}))

    registry = ModelRegistry(root, providers=CPU)
    entries = by_name(registry)
    assert entries["garbled"]["state"] == "invalid" and "unreadable manifest" in entries["garbled"]["error"]
    assert entries["fileless"]["state"] == "invalid" and "files" in entries["fileless"]["error"]
    assert registry.names() == ["basic_pitch"]
    assert entries["basic_pitch"]["state"] == "available"
    assert registry.get("basic_pitch").providers == CPU
    with pytest.raises(ModelNotFound, match="known models: basic_pitch"):
        registry.get("garbled")


def test_default_for_kind(root: Path) -> None:
    registry = ModelRegistry(root, providers=CPU)
    assert registry.default_for("audio-to-midi") == "basic_pitch"
    with pytest.raises(ModelNotFound, match="text-to-midi"):
        registry.default_for("text-to-midi")
    add_model(root, "another_pitch")  # sorts first
    registry.discover()
    assert registry.default_for("audio-to-midi") == "another_pitch"


def test_manifest_tensor_names_must_exist_in_the_graph(tmp_path: Path) -> None:
    root = tmp_path / "models"
    inputs = {"audio": {**MANIFEST["inputs"]["audio"], "name": "no_such_input:0"}}
    add_model(root, inputs=inputs)
    registry = ModelRegistry(root, providers=CPU)
    assert by_name(registry)["basic_pitch"]["state"] == "available"  # files are fine
    with pytest.raises(ModelUnavailable, match="no_such_input:0"):
        registry.get("basic_pitch")
    assert registry.loaded() == []


def test_file_that_is_not_onnx_but_matches_its_checksum(tmp_path: Path) -> None:
    root = tmp_path / "models"
    junk = b"\x08\x07 definitely not a protobuf graph" * 50
    files = [{"path": "nmp.onnx", "sha256": hashlib.sha256(junk).hexdigest(), "bytes": len(junk), "role": "model"}]
    directory = add_model(root, onnx=False, files=files)
    (directory / "nmp.onnx").write_bytes(junk)
    registry = ModelRegistry(root, providers=CPU)
    with pytest.raises(ModelUnavailable, match="failed to load"):
        registry.get("basic_pitch")


# ---------------------------------------------------------------------- providers


def test_select_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMPTDAW_PROVIDERS", raising=False)
    cuda_cpu = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert select_providers(cuda_cpu) == cuda_cpu
    assert select_providers(list(reversed(cuda_cpu))) == cuda_cpu  # our preference, not onnxruntime's order
    assert select_providers(CPU) == CPU
    assert select_providers(["TensorrtExecutionProvider", *cuda_cpu]) == cuda_cpu  # TensorRT is opt-in

    all_three = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    requested = "TensorrtExecutionProvider,CUDAExecutionProvider"
    assert select_providers(all_three, requested) == all_three
    assert select_providers(CPU, requested) == CPU  # unavailable requests drop out, CPU stays
    assert select_providers(all_three, " CUDAExecutionProvider , ") == cuda_cpu

    monkeypatch.setenv("PROMPTDAW_PROVIDERS", "CPUExecutionProvider")
    assert select_providers(cuda_cpu) == CPU


# ---------------------------------------------------------------------- fetching


@pytest.fixture(scope="module")
def wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheel cache for the module, so the 760 kB wheel is downloaded once."""
    return tmp_path_factory.mktemp("wheel-cache")


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


def test_fetch_all_downloads_verifies_and_is_idempotent(tmp_path: Path, wheel_cache: Path) -> None:
    root = tmp_path / "models"
    directory = add_model(root, onnx=False)
    target = directory / "nmp.onnx"

    assert fetch_all(root, wheel_cache) == {"basic_pitch": [target]}
    assert sha256_file(target) == ONNX_SHA256
    assert sha256_file(wheel_cache / WHEEL) == MANIFEST["fetch"]["wheel_sha256"]
    assert _leftovers(directory) == []
    registry = ModelRegistry(root, providers=CPU)
    assert registry.get("basic_pitch").providers == CPU

    assert fetch_all(root, wheel_cache) == {"basic_pitch": []}  # up to date
    inode = target.stat().st_ino
    assert fetch_all(root, wheel_cache, force=True) == {"basic_pitch": [target]}
    assert target.stat().st_ino != inode  # rewritten (atomically, as a new file)
    assert sha256_file(target) == ONNX_SHA256

    target.write_bytes(b"corrupted")
    assert fetch_all(root, wheel_cache) == {"basic_pitch": [target]}  # a bad checksum is refetched
    assert sha256_file(target) == ONNX_SHA256


def test_fetch_refuses_a_wheel_that_does_not_match_its_pin(tmp_path: Path, wheel_cache: Path) -> None:
    root = tmp_path / "models"
    directory = add_model(root, onnx=False, fetch={**MANIFEST["fetch"], "wheel_sha256": "0" * 64})
    cache = tmp_path / "cache"
    cache.mkdir()
    if (wheel_cache / WHEEL).exists():  # the wheel is present, but no pin can bless it
        shutil.copyfile(wheel_cache / WHEEL, cache / WHEEL)
    with pytest.raises(ModelUnavailable, match="does not match the pinned"):
        fetch_all(root, cache)
    assert not (directory / "nmp.onnx").exists()
    assert _leftovers(directory) == []
    assert not (cache / WHEEL).exists()  # the rejected download is not kept


def test_fetch_refuses_a_member_that_does_not_match_the_manifest(tmp_path: Path, wheel_cache: Path) -> None:
    root = tmp_path / "models"
    files = [{**MANIFEST["files"][0], "sha256": "f" * 64}]
    directory = add_model(root, onnx=False, files=files)
    with pytest.raises(ModelUnavailable, match=r"expected f{64}"):
        fetch_all(root, wheel_cache)
    assert not (directory / "nmp.onnx").exists()
    assert _leftovers(directory) == []


def test_fetch_models_command(tmp_path: Path, wheel_cache: Path) -> None:
    root = tmp_path / "models"
    directory = add_model(root, onnx=False)
    env = {**os.environ, "PROMPTDAW_CACHE_DIR": str(wheel_cache)}
    command = [sys.executable, "-m", "promptdaw", "fetch-models", "--models-dir", str(root), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done
    assert json.loads(done.stdout) == {"basic_pitch": [str(directory / "nmp.onnx")]}
    assert Manifest.read(directory / "manifest.json").model_path.exists()
    assert sha256_file(directory / "nmp.onnx") == ONNX_SHA256

    done = subprocess.run(command[:-1], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done
    assert done.stdout.strip() == "basic_pitch: up to date"
