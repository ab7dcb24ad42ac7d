"""The training side of stem separation: arrangements, rendering, a few-step training run, export.

CI never trains a real model; it renders two tiny clips with FluidSynth, runs the training
script for a few steps on CPU, exports the result and serves it with the runtime code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
from conftest import REPO

from training.stems.arrange import (
    ROLES,
    Clip,
    Note,
    Part,
    Voice,
    clips_from_midi,
    clips_from_voices,
    drum_part,
    example_clip,
    is_held_out,
    role_for_program,
)

pytest.importorskip("torch")  # the train extra


def needs_fluidsynth() -> Path:
    from training.stems.render import TIMGM6MB

    if shutil.which("fluidsynth") is None or not TIMGM6MB.exists():
        pytest.skip("fluidsynth and timgm6mb-soundfont are needed (scripts/debian-packages.txt)")
    return TIMGM6MB


def test_roles_follow_the_general_midi_programs() -> None:
    assert role_for_program(0, True) == "drums"
    assert [role_for_program(p, False) for p in (32, 39)] == ["bass", "bass"]
    assert [role_for_program(p, False) for p in (52, 53, 54, 85, 91)] == ["vocals"] * 5
    assert [role_for_program(p, False) for p in (0, 31, 40, 43, 55, 90)] == ["other"] * 6
    with pytest.raises(ValueError, match="role"):
        Part("guitar", 24, [])


def test_multitrack_midi_files_become_clips_by_channel_and_program(tmp_path: Path) -> None:
    midi = mido.MidiFile(ticks_per_beat=480)
    for channel, program, pitch in ((9, 0, 36), (1, 33, 40), (2, 52, 72), (3, 0, 60)):
        track = mido.MidiTrack()
        track.append(mido.Message("program_change", channel=channel, program=program))
        for _ in range(16):
            track.append(mido.Message("note_on", channel=channel, note=pitch, velocity=90))
            track.append(mido.Message("note_off", channel=channel, note=pitch, velocity=0, time=480))
        midi.tracks.append(track)
    path = tmp_path / "loop.mid"
    midi.save(str(path))
    clips = list(clips_from_midi(path, np.random.default_rng(0), n_clips=2, duration_s=3.0))
    assert len(clips) == 2
    for clip in clips:
        assert sorted(p.role for p in clip.parts) == sorted(ROLES)
        assert all(0 <= n.start_s < n.end_s <= 3.0 for p in clip.parts for n in p.notes)


def test_corpus_voices_are_arranged_as_a_band() -> None:
    voices = [
        Voice(name, tuple((float(i), 1.0, base + (i % 5)) for i in range(32)))
        for name, base in (("S", 67), ("A", 62), ("T", 55), ("B", 43))
    ]
    clips = list(clips_from_voices("test/piece", voices, np.random.default_rng(1), n_clips=8, duration_s=5.0))
    assert len(clips) == 8
    for clip in clips:
        roles = {p.role for p in clip.parts}
        assert {"vocals", "bass"} <= roles
        assert all(p.program in range(32, 40) for p in clip.parts if p.role == "bass")
        assert all(n.start_s >= 0 and n.end_s <= 5.0 + 0.05 for p in clip.parts for n in p.notes)
    assert any("drums" in {p.role for p in c.parts} for c in clips)
    drums = drum_part(4.0, 120, 4, np.random.default_rng(0))
    assert drums.is_drum and drums.notes and all(n.start_s < 4.0 for n in drums.notes)
    assert is_held_out("bach/bwv1.6.mxl") in (True, False)  # deterministic, either way
    assert is_held_out("x") == is_held_out("x")


def test_render_parts_alone_and_mix_is_the_sum(tmp_path: Path) -> None:
    from training.stems.render import render_clips, render_parts, soundfont_presets

    soundfont = needs_fluidsynth()
    assert {(128, 0), (0, 52), (0, 33)} <= {(b, p) for b, p, _ in soundfont_presets(soundfont)}
    silent = Part("other", 0, [])
    tone = Part("other", 0, [Note(0.1, 0.6, 60, 100)])
    audio = render_parts([silent, tone, silent], soundfont, 1.0)
    assert audio.shape == (3, 44100, 2)
    assert not audio[0].any() and not audio[2].any() and np.abs(audio[1]).max() > 0.01
    stems = render_clips([example_clip(3.0)], soundfont, np.random.default_rng(0))
    assert stems.shape == (1, 4, 3 * 44100, 2) and all(np.abs(stems[0, k]).max() > 0 for k in range(4))
    assert np.abs(stems[0].sum(axis=0)).max() <= 10 ** (-1 / 20) + 1e-6


def test_batches_draw_from_the_extra_data_sets_by_share() -> None:
    from training.stems.train import TrainConfig, make_batch

    main = np.zeros((3, 4, 40000, 2), np.float16)
    extra = np.full((2, 4, 40000, 2), 0.25, np.float16)
    config = TrainConfig(batch=16, segment_frames=16, dropout=0.0, extra_share=1.0)
    only_extra = make_batch(main, np.random.default_rng(0), config, [extra]).numpy()
    assert (np.abs(only_extra).reshape(16, -1).max(axis=1) > 0).all()
    config.extra_share = 0.0
    assert not make_batch(main, np.random.default_rng(0), config, [extra]).numpy().any()
    config.extra_share = 0.5
    mixed = np.abs(make_batch(main, np.random.default_rng(0), config, [extra]).numpy()).reshape(16, -1).max(axis=1)
    assert 0 < (mixed > 0).sum() < 16


def test_smoke_train_export_and_serve(tmp_path: Path) -> None:
    from promptdaw.runtime.registry import ModelRegistry
    from promptdaw.runtime.separation import separate_array
    from training.stems.render import load_dataset, write_dataset

    soundfont = needs_fluidsynth()
    clips = [example_clip(2.0, seed=0), Clip("b", "b", 2.0, example_clip(2.0, bpm=130, seed=1).parts)]
    data = write_dataset(clips, soundfont, tmp_path / "data", seed=0, log=lambda line: None)
    stems, records = load_dataset(data)
    assert stems.shape == (2, 4, 88200, 2) and stems.dtype == np.float16 and len(records) == 2

    run = tmp_path / "run"
    command = [sys.executable, str(REPO / "scripts" / "train_stems.py"), "--data", str(data), "--valid", "",
               "--out", str(run), "--steps", "3", "--batch", "1", "--segment-frames", "32",
               "--widths", "8", "16", "16", "24", "--blocks", "1", "1", "1", "1",
               "--extra-data", str(data), "--extra-share", "0.5"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "done: 3 steps" in done.stdout and (run / "checkpoint.pt").exists()

    model_dir = tmp_path / "models" / "stems"
    export = [sys.executable, "-m", "training.stems.export", "--checkpoint", str(run / "checkpoint.pt"),
              "--out", str(model_dir)]  # fmt: skip
    done = subprocess.run(export, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["provenance"]["steps"] == 3 and manifest["provenance"]["onnx_check_max_abs_error"] < 1e-4

    registry = ModelRegistry(model_dir.parent, providers=["CPUExecutionProvider"])
    model = registry.get("stems")
    mix = np.asarray(stems[0], np.float32).sum(axis=0)
    out = separate_array(mix, 44100, lambda m: model.run({"magnitude": m})["masks"])
    np.testing.assert_allclose(out.sum(axis=0), mix, atol=1e-5)


def test_training_continues_from_an_exported_model_with_frozen_norm(tmp_path: Path) -> None:
    """``--init-onnx`` starts from the committed model's weights (its checkpoint is not kept) and
    ``--freeze-norm`` keeps the folded BatchNorm an identity while the weights move."""
    import torch

    from training.stems.render import write_dataset

    soundfont = needs_fluidsynth()
    data = write_dataset([example_clip(2.0, seed=2)], soundfont, tmp_path / "data", seed=0, log=lambda line: None)
    manifest = json.loads((REPO / "models" / "stems" / "manifest.json").read_text())
    config = manifest["provenance"]["train_config"]
    run = tmp_path / "run"
    command = [sys.executable, str(REPO / "scripts" / "train_stems.py"), "--data", str(data), "--valid", "",
               "--out", str(run), "--steps", "2", "--batch", "1", "--segment-frames", "32",
               "--widths", *map(str, config["widths"]), "--blocks", *map(str, config["blocks"]),
               "--init-onnx", str(REPO / "models" / "stems" / "stems.onnx"), "--freeze-norm"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "initialised from" in done.stdout and "done: 2 steps" in done.stdout
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["train_config"]["freeze_norm"] is True
    norms = {k: v for k, v in state["model"].items() if ".norm.running_" in k}
    assert norms and all(
        torch.equal(v, torch.zeros_like(v)) if k.endswith("mean") else torch.allclose(v, torch.full_like(v, 1 - 1e-5))
        for k, v in norms.items()
    )


def test_crossed_set_takes_drums_from_drum_renders_and_the_rest_from_band_clips(tmp_path: Path) -> None:
    """``render_stems_data.py --cross-out``: each clip's drum stem is one drum clip's sub-stems
    summed, its other stems one band clip's excerpt of the same length, sample for sample."""

    def dataset(path: Path, stems: np.ndarray) -> Path:
        path.mkdir()
        np.save(path / "stems.npy", stems.astype(np.float16))
        (path / "clips.jsonl").write_text("".join(json.dumps({"name": f"c{i}"}) + "\n" for i in range(len(stems))))
        return path

    rng = np.random.default_rng(0)
    drums = dataset(tmp_path / "drums", rng.uniform(-0.1, 0.1, (3, 5, 500, 2)))
    band = dataset(tmp_path / "band", rng.uniform(-0.5, 0.5, (2, 4, 1200, 2)))
    command = [sys.executable, str(REPO / "scripts" / "render_stems_data.py"), "--cross-out", str(tmp_path / "x"),
               "--cross-drums", str(drums), "--cross-bands", str(band), "--cross-count", "3"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    crossed = np.load(tmp_path / "x" / "stems.npy")
    records = [json.loads(line) for line in (tmp_path / "x" / "clips.jsonl").read_text().splitlines()]
    drum_stems, band_stems = np.load(drums / "stems.npy"), np.load(band / "stems.npy")
    assert crossed.shape == (3, 4, 500, 2) and sorted(r["drums"]["clip"] for r in records) == [0, 1, 2]
    for clip, record in zip(crossed, records, strict=True):
        expected = drum_stems[record["drums"]["clip"]].astype(np.float32).sum(axis=0)
        np.testing.assert_allclose(clip[0].astype(np.float32), expected, atol=2e-3)
        start = record["band"]["offset"]
        np.testing.assert_array_equal(clip[1:], band_stems[record["band"]["clip"], 1:, start : start + 500])

    short = dataset(tmp_path / "short", np.zeros((1, 4, 400, 2)))
    command[command.index(str(band))] = str(short)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "shorter than the 500-sample drum clips" in done.stderr
