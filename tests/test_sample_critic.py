"""The sample critic: real listening features, the committed ONNX critic, FluidSynth renders, worker processes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from promptdaw.inference_server.tasks.generate_sample import SampleOptions, generate_sample_core
from promptdaw.runtime.catalog import sample_model
from promptdaw.runtime.registry import ModelRegistry, sha256_file
from promptdaw.runtime.synthesis import critic as critic_module
from promptdaw.runtime.synthesis.constants import FAMILIES
from promptdaw.runtime.synthesis.critic import SampleCritic, hear_all, listen_to_candidates
from promptdaw.runtime.synthesis.listening import (
    FEATURE_SIZE,
    LISTEN_RATE,
    N_FFT,
    hear,
    listening_features,
    mel_filterbank,
)

PROVIDERS = ["CPUExecutionProvider"]


@pytest.fixture(scope="module")
def critic() -> SampleCritic:
    registry = ModelRegistry(REPO / "models", providers=PROVIDERS)
    return registry.get("sample-critic").attachment("critic", SampleCritic)


def _decaying_tone(hz: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(round(seconds * LISTEN_RATE)) / LISTEN_RATE
    return (np.sin(2 * np.pi * hz * t) * np.exp(-3 * t)).astype(np.float32)


def test_mel_filterbank_covers_the_spectrum_in_order() -> None:
    bank = mel_filterbank()
    assert bank.shape[1] == N_FFT // 2 + 1
    assert np.allclose(bank.sum(axis=1), 1.0, atol=1e-5)
    centres = (bank * np.arange(bank.shape[1])).sum(axis=1)
    assert np.all(np.diff(centres) > 0)


def test_features_start_at_the_onset_and_refuse_silence() -> None:
    tone = _decaying_tone(440.0)
    features = listening_features(tone)
    assert features.shape == (FEATURE_SIZE,) and np.isfinite(features).all()
    late = np.concatenate([np.zeros(3000, np.float32), 0.1 * tone])  # quieter and later: the same sound
    assert np.abs(listening_features(late) - features).max() < 0.1  # dB-scale values: float32 rounding only
    brighter = listening_features(_decaying_tone(3520.0))
    assert np.abs(brighter - features).max() > 1.0
    with pytest.raises(ValueError, match="silence"):
        listening_features(np.zeros(1000, np.float32))
    with pytest.raises(ValueError, match=str(LISTEN_RATE)):
        listening_features(tone, 44100)


def test_committed_critic_knows_every_family(critic: SampleCritic) -> None:
    assert set(critic.families) == set(FAMILIES)
    probabilities = critic.family_probabilities(np.stack([listening_features(_decaying_tone(f)) for f in (110, 880)]))
    assert probabilities.shape == (2, len(FAMILIES))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)


def test_critic_names_soundfont_instruments(critic: SampleCritic) -> None:
    """GM sounds it never heard in training (other notes and lengths than its examples) get their family."""
    from training.stems.render import FLUIDR3_GM
    from training.text2sample.sounds import OneShot, render_one_shots

    shots = [
        (OneShot("kick", ("kick",), 0, 36, 110, 0.15, True), "kick"),
        (OneShot("snare", ("snare",), 0, 38, 90, 0.15, True), "snare"),
        (OneShot("cymbal", ("crash",), 0, 49, 100, 0.15, True), "cymbal"),
        (OneShot("strings", ("violin",), 40, 71, 90, 1.1), "strings"),
        (OneShot("brass", ("trumpet",), 56, 63, 90, 0.9), "brass"),
        (OneShot("bass", ("fingered bass",), 33, 35, 90, 0.7), "bass"),
        (OneShot("keys", ("church organ",), 19, 57, 90, 1.2), "keys"),
        (OneShot("bell", ("glockenspiel",), 9, 85, 90, 0.5), "bell"),
    ]
    audio = render_one_shots([s for s, _ in shots], FLUIDR3_GM, duration_s=1.5, sample_rate=LISTEN_RATE)
    probabilities = critic.family_probabilities(np.stack([listening_features(a) for a in audio]))
    named = [critic.families[i] for i in probabilities.argmax(axis=1)]
    right = sum(n == family for n, (_, family) in zip(named, shots, strict=True))
    assert right >= 7, list(zip(named, [f for _, f in shots], strict=True))


def test_prompts_play_what_the_critic_hears_as_their_family(critic: SampleCritic) -> None:
    """With the critic, the played patch sounds at least as much like the family as the network's own pick,
    and more so for some prompts."""
    registry = ModelRegistry(REPO / "models", providers=PROVIDERS)
    listening = sample_model(registry)
    assert listening.critic is not None
    from promptdaw.runtime.synthesis.generator import SampleModel

    unaided = SampleModel(listening.model, listening.embedder, critic=None)
    gains = []
    prompts = (("trumpet", "brass", 65), ("saw lead", "lead", 74), ("shaker", "percussion", 70),
               ("cello", "strings", 48), ("punchy kick", "kick", 36), ("rhodes", "keys", 62))  # fmt: skip
    for prompt, family, note in prompts:
        heard = []
        for model in (listening, unaided):
            patch, _ = model.predict(prompt, note=note, seed=3)
            scores, _ = listen_to_candidates(critic, [(patch, note, float(patch["hold_s"]))], family)
            heard.append(float(scores[0]))
        assert heard[0] >= heard[1] - 1e-6, (prompt, heard)
        gains.append(heard[0] - heard[1])
    assert max(gains) > 0.1


def test_a_dead_listening_worker_costs_no_request() -> None:
    from promptdaw.runtime.synthesis.patch import Patch

    if critic_module._listeners() < 2:
        pytest.skip("one core: candidates are heard in-process")
    plays = [(Patch.from_dict({"params": {}}).physical(), note, 0.5) for note in (48, 60, 72)]
    expected = [hear(*play) for play in plays]

    def same(heard: list) -> bool:
        return all(np.allclose(a.features, b.features) and a.audible_s == b.audible_s
                   for a, b in zip(heard, expected, strict=True))  # fmt: skip

    pool = critic_module._shared_pool()
    assert same(hear_all(plays))
    victim = next(iter(pool._processes.values()))
    victim.kill()
    victim.join(10)
    assert same(hear_all(plays))  # in-process this time
    assert critic_module._shared_pool() is not pool  # and new workers next time
    assert same(hear_all(plays))


@pytest.mark.parametrize("critic_state", ["missing", "trained for other features"])
def test_generation_without_a_usable_critic(tmp_path: Path, critic_state: str) -> None:
    """No critic, or one this daemon cannot use: samples still come, from the network's own pick."""
    names = ["text2sample", "minilm"] + (["sample_critic"] if critic_state != "missing" else [])
    for name in names:
        shutil.copytree(REPO / "models" / name, tmp_path / name, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    if critic_state != "missing":
        config_path = tmp_path / "sample_critic" / "config.json"
        config_path.write_text(json.dumps({**json.loads(config_path.read_text()), "listen_seconds": 9.0}))
        manifest_path = tmp_path / "sample_critic" / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest["files"]:
            path = tmp_path / "sample_critic" / entry["path"]
            entry.update(sha256=sha256_file(path), bytes=path.stat().st_size)
        manifest_path.write_text(json.dumps(manifest))
    model = sample_model(ModelRegistry(tmp_path, providers=PROVIDERS))
    assert model.critic is None
    result, payloads = generate_sample_core(model, SampleOptions(prompt="glassy bell E5", seed=2))
    assert result["category"] == "bell" and np.isfinite(payloads[0].samples).all()


def test_training_script_smoke_run(tmp_path: Path) -> None:
    """The real training script on three programs and one kit: exported, checked and loadable."""
    out = tmp_path / "sample_critic"
    command = [sys.executable, str(REPO / "scripts" / "train_sample_critic.py"), "--smoke", "--out", str(out), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads(done.stdout)
    assert metrics["training_accuracy"] > 0.5 and metrics["families"] >= 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "sample-critic" and manifest["metrics"] == metrics
    loaded = ModelRegistry(tmp_path, providers=PROVIDERS).get("sample-critic").attachment("critic", SampleCritic)
    probabilities = loaded.family_probabilities(listening_features(_decaying_tone(220.0))[None])
    assert probabilities.shape == (1, len(loaded.families)) and abs(probabilities.sum() - 1.0) < 1e-4


def test_what_the_critic_hears_of_a_length() -> None:
    """The audible length it reports is the one-shot trim's (-60 dB); a sound still ringing when
    listening stops is marked cut."""
    from promptdaw.runtime.synthesis.generator import lengthened
    from promptdaw.runtime.synthesis.patch import Patch

    short = Patch.from_dict({"params": {"amp_attack_s": 0.002, "amp_decay_s": 0.1, "amp_sustain": 0.0,
                                        "release_s": 0.05, "noise_level_db": -60.0, "click_db": -60.0,
                                        "bell_level_db": -60.0}})  # fmt: skip
    heard = hear(short.physical(), 60, 0.05)
    assert heard is not None and not heard.cut and 0.1 < heard.audible_s < 1.0
    assert lengthened(short, heard.audible_s, 0.9 * heard.audible_s) is short  # long enough already
    longer = lengthened(short, heard.audible_s, 3.0)
    assert longer["amp_decay_s"] > short["amp_decay_s"]
    assert lengthened(short, 1.0, 3.0, exact=False) is short  # a lower bound: no guess
    held = Patch.from_dict({"params": {"amp_sustain": 1.0, "release_s": 2.0}})
    ringing = hear(held.physical(), 60, 2.0)
    assert ringing is not None and ringing.cut and ringing.audible_s > 1.0


def _children(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").glob("*/children") for child in task.read_text().split()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping is left


def test_listening_workers_leave_with_a_killed_daemon(tmp_path: Path) -> None:
    """A daemon killed outright (no goodbye) leaves no listening workers behind."""
    import time

    from promptdaw.client import Client
    from promptdaw.launcher import free_endpoint, spawn_daemon, wait_until_serving

    if critic_module._listeners() < 2:
        pytest.skip("one core: no listening workers")
    endpoint, log = free_endpoint(), tmp_path / "daemon.log"
    process = spawn_daemon(endpoint, log, ["--models-dir", str(REPO / "models")])
    try:
        wait_until_serving(endpoint, process, log)
        with Client(endpoint, timeout_s=60) as client:
            client.request("generate-sample", {"prompt": "trumpet F4", "seed": 2})
        workers = _children(process.pid)
        assert len(workers) >= 2
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.2)
    assert not [pid for pid in workers if _running(pid)]


def test_listen_modes() -> None:
    """ "off" plays the network's own pick; "quick" hears only the four likeliest; anything else is refused."""
    from promptdaw.runtime.synthesis.generator import SampleModel

    listening = sample_model(ModelRegistry(REPO / "models", providers=PROVIDERS))
    unaided = SampleModel(listening.model, listening.embedder, critic=None)
    for prompt in ("trumpet", "closed hi-hat"):
        off, _ = listening.predict(prompt, note=60, seed=5, listen="off")
        plain, _ = unaided.predict(prompt, note=60, seed=5)
        assert np.array_equal(off.unit, plain.unit)
        quick, _ = listening.predict(prompt, note=60, seed=5, listen="quick")
        assert quick.category == off.category
    with pytest.raises(ValueError, match="listen"):
        listening.predict("trumpet", note=60, listen="loud")
