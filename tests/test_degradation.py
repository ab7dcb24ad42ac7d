"""Without an optional model the daemon serves on, less well, and says so in the result's ``warnings``.

Real daemons over a models folder where one model is broken: its weights replaced by garbage
(the checksum catches it) or, for the critic, a sound file it cannot use (the registry then
remembers why, and ``models`` says it).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MODELS, DaemonProcess, start_daemon
from loop_support import make_clip

from promptdaw.core.clip import clip_to_midi
from promptdaw.inference_server.errors import ModelUnavailable
from promptdaw.inference_server.protocol import Midi
from promptdaw.runtime.registry import ModelRegistry

PROMPT = "dark trap in F minor, 140 bpm, 2 bars"


def _installed(*names: str) -> bool:
    states = {m["name"]: m["state"] for m in ModelRegistry(MODELS, providers=["CPUExecutionProvider"]).describe()}
    return all(states.get(name) == "available" for name in names)


pytestmark = pytest.mark.skipif(not _installed("minilm", "text2midi", "text2sample", "sample-critic"),
                                reason="the prompt, MIDI and sample models are not installed in models/")  # fmt: skip


def models_with(root: Path, broken: str, edit) -> Path:
    """The repository's models, each linked, except folder ``broken``: a copy that ``edit`` spoils."""
    for manifest in sorted(MODELS.glob("*/manifest.json")):
        name = manifest.parent.name
        if name == broken:
            shutil.copytree(manifest.parent, root / name)
            edit(root / name)
        else:
            (root / name).symlink_to(manifest.parent)
    return root


def corrupt_weights(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    model = next(f for f in manifest["files"] if f["role"] == "model")
    (folder / model["path"]).write_bytes(b"\x00not an onnx graph" * 64)


def retrained_for_other_features(folder: Path) -> None:
    """A critic whose files match its manifest, but whose config asks for other listening features."""
    config = json.loads((folder / "config.json").read_text())
    config["listen_rate"] = 12345
    (folder / "config.json").write_text(json.dumps(config))
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["path"] == "config.json":
            entry["sha256"] = hashlib.sha256((folder / "config.json").read_bytes()).hexdigest()
            entry["bytes"] = (folder / "config.json").stat().st_size
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    process = start_daemon(MODELS, tmp_path_factory.mktemp("logs"))
    yield process
    process.stop()


def _daemon(tmp_path: Path, broken: str, edit) -> DaemonProcess:
    (tmp_path / "models").mkdir()
    return start_daemon(models_with(tmp_path / "models", broken, edit), tmp_path)


def _models(daemon: DaemonProcess) -> dict[str, dict]:
    with daemon.client(timeout_s=60) as client:
        return {m["name"]: m for m in client.models()}


def test_without_minilm_prompts_are_read_with_the_lexicon_alone(healthy: DaemonProcess, tmp_path: Path) -> None:
    daemon = _daemon(tmp_path, "minilm", corrupt_weights)
    try:
        with daemon.client(timeout_s=120) as client, healthy.client(timeout_s=120) as reference:
            degraded = client.request("generate-midi", {"prompt": PROMPT, "seed": 3})
            normal = reference.request("generate-midi", {"prompt": PROMPT, "seed": 3})
            assert "warnings" not in normal.body
            (warning,) = degraded.body["warnings"]
            assert "model 'minilm'" in warning and "is corrupt" in warning and "lexicon alone" in warning
            # A prompt of keywords reads the same without the embeddings, to the note.
            assert degraded.body["spec"] == normal.body["spec"]
            assert degraded.payloads[0].data == normal.payloads[0].data
            # The sample network hears prompts only through the embedding: one line naming the model.
            with pytest.raises(ModelUnavailable, match=r"through the text-embedding model: model 'minilm': file .* "
                                                       r"is corrupt") as caught:  # fmt: skip
                client.request("generate-sample", {"prompt": "808 kick"})
            assert "\n" not in caught.value.message
            assert client.ping() < 5.0
        minilm = _models(daemon)["minilm"]
        assert minilm["state"] == "corrupt" and "fetch-models --force" in minilm["error"]
    finally:
        daemon.stop()


@pytest.mark.parametrize(("edit", "state", "error"), [(corrupt_weights, "corrupt", "is corrupt"),
                                                      (retrained_for_other_features, "broken",
                                                       "trained on other listening features")])  # fmt: skip
def test_a_broken_critic_is_reported_in_the_result_and_in_models(healthy: DaemonProcess, tmp_path: Path, edit,
                                                                 state: str, error: str) -> None:  # fmt: skip
    daemon = _daemon(tmp_path, "sample_critic", edit)
    try:
        with daemon.client(timeout_s=120) as client, healthy.client(timeout_s=120) as reference:
            normal = reference.request("generate-sample", {"prompt": "warm analog pad", "seed": 1})
            assert "warnings" not in normal.body
            degraded = client.request("generate-sample", {"prompt": "warm analog pad", "seed": 1})
            (warning,) = degraded.body["warnings"]
            assert "model 'sample-critic'" in warning and error in warning and "likeliest candidate" in warning
            assert degraded.payloads[0].samples.shape[1] == 2  # a sample all the same
            again = client.request("generate-sample", {"prompt": "warm analog pad", "seed": 1})
            assert again.body["warnings"] == [warning]  # every result says so, not only the first
            rendered = client.request("render-midi", {}, (Midi(clip_to_midi(make_clip(bars=1, roles=("bass",)))),))
            assert rendered.body["warnings"] == [warning]  # the built-in instrument's critic too
        critic = _models(daemon)["sample-critic"]
        assert critic["state"] == state and error in critic["error"]
    finally:
        daemon.stop()
