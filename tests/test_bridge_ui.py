"""The plugin UI (DGL + NanoVG) rendered under Xvfb through the CLAP host's X11 embedding.

The screenshot of the connected state is what docs/plugin-screenshot.png shows; set
PROMPTDAW_UPDATE_SCREENSHOT=1 to refresh that file from this test (it is also written when
missing). Every run keeps its screenshots in the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bridge" / "tests"))
from bridge_support import (
    XDND_TARGET,
    build_bridge,
    clip_state,
    dpf_state_decode,
    make_smf,
    read_ppm,
    run_clap_host,
    write_png,
)

SR = 44100
DOCS_SCREENSHOT = REPO / "docs" / "plugin-screenshot.png"
ACCENT = np.array([255, 138, 61])
BAD = np.array([235, 87, 87])
GOOD = np.array([92, 199, 122])
# part colours of the piano roll (Widgets.cpp): the pitched parts in turn, drums apart
BLUE = np.array([90, 160, 250])
GREEN = GOOD
WARN = np.array([232, 190, 80])


@pytest.fixture(scope="session")
def bridge_built() -> None:
    build_bridge()


@pytest.fixture(scope="module")
def xvfb() -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (Debian package xvfb, listed in scripts/debian-packages.txt)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        display = f.readline().strip()
    if not display:
        proc.kill()
        pytest.fail("Xvfb did not start")
    yield f":{display}"
    proc.terminate()
    proc.wait(10)


def count_color(image: np.ndarray, color: np.ndarray, tolerance: int = 12) -> int:
    return int((np.abs(image.astype(int) - color).max(axis=2) <= tolerance).sum())


def screenshot(tmp_path: Path, display: str, states: dict[str, str], name: str) -> np.ndarray:
    ppm = tmp_path / f"{name}.ppm"
    script = {"sample_rate": SR, "block": 256, "steps": [
        {"state": states},
        # some audio first: the transport reaches the plugin and the playhead moves
        {"render": {"frames": SR // 2, "transport": {"playing": True, "bpm": 96, "meter": [4, 4]}}},
        {"sleep": 2.5},  # the worker's first heartbeats
        {"screenshot": {"path": str(ppm), "idle_ms": 1500}},
    ]}  # fmt: skip
    run_clap_host(script, tmp_path / name, env={"DISPLAY": display})
    image = read_ppm(ppm)
    write_png(tmp_path / f"{name}.png", image)
    return image


def demo_loop() -> np.ndarray:
    bars, bpm = 2, 96.0
    n = int(bars * 4 * 60 / bpm * SR)
    t = np.arange(n) / SR
    beat = 60 / bpm
    kick = np.exp(-(t % beat) * 18) * np.sin(2 * np.pi * 55 * t)
    hat = np.random.default_rng(7).uniform(-1, 1, n) * np.exp(-((t + beat / 2) % beat) * 60) * 0.25
    left = 0.6 * kick + hat
    return np.stack([left, 0.6 * kick + 0.8 * hat], 1).astype(np.float32)


def test_ui_screenshot_connected(bridge_built, xvfb, daemon, tmp_path: Path) -> None:
    prompt = "dusty lo-fi hip hop drums with vinyl crackle"
    states = {
        "endpoint": daemon.endpoint, "prompt": prompt, "mode": "loop", "bars": "2", "seed": "4217",
        "clip": clip_state("loop", audio=demo_loop(), sample_rate=SR, bpm=96, bars=2, prompt=prompt, seed=4217),
    }  # fmt: skip
    image = screenshot(tmp_path, xvfb, states, "connected")
    assert image.shape == (508, 760, 3)
    assert count_color(image[170:345, 20:740], ACCENT) > 2000, "the waveform preview is drawn"
    assert count_color(image[10:35, 200:760], GOOD, 20) > 20, "the connection lamp is green"
    assert count_color(image[400:440], BAD) == 0, "no error line"
    assert (image[50:80, 30:400] > 180).all(axis=2).sum() > 200, "the prompt text is drawn"
    if os.environ.get("PROMPTDAW_UPDATE_SCREENSHOT") == "1" or not DOCS_SCREENSHOT.exists():
        shutil.copyfile(tmp_path / "connected.png", DOCS_SCREENSHOT)


def test_ui_shows_no_daemon_and_a_piano_roll(bridge_built, xvfb, tmp_path: Path) -> None:
    notes = [(i * 0.5, 0.4, 57 + (0, 3, 7, 10, 12, 10, 7, 3)[i % 8], 100, 0) for i in range(16)]
    notes += [(i * 1.0, 0.25, 36, 120, 9) for i in range(8)]
    clip = clip_state("midi", midi=make_smf(notes, bpm=110, bars=2), bpm=110, bars=2, prompt="an A minor arpeggio")
    states = {"endpoint": "tcp://127.0.0.1:9", "autostart": "0", "prompt": "an A minor arpeggio", "mode": "midi",
              "clip": clip}  # fmt: skip
    image = screenshot(tmp_path, xvfb, states, "no-daemon")
    assert count_color(image[170:345, 20:740], ACCENT) > 500, "the piano roll is drawn"
    assert count_color(image[400:440], BAD, 40) > 30, "the error line says there is no daemon"
    assert count_color(image[10:35, 200:760], BAD, 20) > 20, "the connection lamp is red"


def test_ui_clicks_reach_the_plugin(bridge_built, xvfb, tmp_path: Path) -> None:
    """Clicks on MIDI, Bars "+" twice, Key "+" twice and Generate go through the UI to the plugin as states."""
    saved = tmp_path / "state.bin"
    settings = {"endpoint": "tcp://127.0.0.1:9", "autostart": "0", "prompt": "clicked", "mode": "loop", "bars": "4"}
    script = {"sample_rate": SR, "steps": [
        {"state": settings},
        {"render": {"frames": 512}},  # a first block: until then a MIDI request waits for the host's tempo
        {"screenshot": {"path": str(tmp_path / "clicked.ppm"), "idle_ms": 800,
                        "clicks": [[195, 109], [392, 109], [392, 109], [160, 453], [160, 453], [686, 64]]}},
        {"sleep": 1.5},
        {"status": True},
        {"save_state": str(saved)},
    ]}  # fmt: skip
    run = run_clap_host(script, tmp_path / "run", env={"DISPLAY": xvfb})
    states, _ = dpf_state_decode(saved.read_bytes())
    assert (states["mode"], states["bars"], states["prompt"], states["key"]) == ("midi", "6", "clicked", "C minor")
    status = run.steps("status")[0]["status"]
    assert status["generations"] == 1 and status["job"] == "failed"
    assert status["error"]["code"] == "unreachable" and status["request_type"] == "generate-midi"


def test_ui_drags_the_exported_file_onto_a_track(bridge_built, xvfb, tmp_path: Path) -> None:
    """Export, then drag the path line onto a drop target (a DAW's track area) with real pointer events."""
    target = subprocess.Popen([str(XDND_TARGET), "800", "100", "200", "200", "90"], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "DISPLAY": xvfb})  # fmt: skip
    try:
        assert json.loads(target.stdout.readline())["event"] == "ready"
        library = tmp_path / "library"
        clip = clip_state("loop", audio=demo_loop(), sample_rate=SR, bpm=96, bars=2, prompt="drag me", seed=5)
        states = {"endpoint": "tcp://127.0.0.1:9", "autostart": "0", "library": str(library), "mode": "loop",
                  "clip": clip, "export": "1"}  # fmt: skip
        script = {"sample_rate": SR, "steps": [
            {"state": states},
            {"sleep": 1.0},  # the worker writes the files
            {"screenshot": {"path": str(tmp_path / "drag.ppm"), "idle_ms": 800, "drag": [[200, 397], [900, 200]]}},
            {"status": True},
        ]}  # fmt: skip
        run = run_clap_host(script, tmp_path / "run", env={"DISPLAY": xvfb})
        status = run.steps("status")[0]["status"]
        wav = Path(status["exported"][0])
        assert wav.parent == library and wav.suffix == ".wav" and wav.exists()
        events = [json.loads(line) for line in target.communicate(timeout=30)[0].splitlines()]
    finally:
        if target.poll() is None:
            target.kill()
    assert [e["event"] for e in events] == ["enter", "drop"], events
    assert events[0]["type"] == "text/uri-list" and events[0]["version"] == 5
    uris = events[1]["data"].split("\r\n")
    assert uris[-1] == "" and uris[0] == wav.as_uri(), uris
    assert [Path(u.removeprefix("file://")) for u in uris[:-1]] == [Path(p) for p in status["exported"]]
    image = read_ppm(tmp_path / "drag.ppm")
    assert (image[388:406, 30:400] > 180).all(axis=2).sum() > 100, "the path line is drawn"


def test_ui_colours_each_part_of_a_midi_clip(bridge_built, xvfb, tmp_path: Path) -> None:
    """The piano roll draws each part (drums, bass, chords, lead: one channel each, as the daemon
    writes them) in a colour of its own, and names them in a legend of the same colours."""
    notes = [(i * 0.5, 0.4, 40 + i % 4, 100, 0) for i in range(16)]  # bass, channel 1
    notes += [(i * 1.0, 0.9, 60 + (0, 4, 7)[i % 3], 90, 1) for i in range(8)]  # chords, channel 2
    notes += [(i * 0.25, 0.2, 76 + i % 5, 90, 2) for i in range(32)]  # lead, channel 3
    notes += [(i * 0.5, 0.25, 36 + (i % 2) * 6, 120, 9) for i in range(16)]  # drums, channel 10
    clip = json.loads(clip_state("midi", midi=make_smf(notes, bpm=110, bars=2), bpm=110, bars=2, prompt="four parts"))
    clip["result"] = {"tracks": [{"role": r, "name": r.title()} for r in ("drums", "bass", "chords", "lead")]}
    states = {"endpoint": "tcp://127.0.0.1:9", "autostart": "0", "mode": "midi", "clip": json.dumps(clip)}
    image = screenshot(tmp_path, xvfb, states, "parts")
    roll = image[170:345, 20:740]
    for name, color in (("bass", ACCENT), ("chords", BLUE), ("lead", GREEN), ("drums", WARN)):
        assert count_color(roll, color, 8) > 150, f"{name} is drawn in its colour"
    legend = image[168:190, 400:740]
    assert all(count_color(legend, c, 8) > 20 for c in (ACCENT, BLUE, GREEN, WARN)), "the legend shows the four colours"


@pytest.mark.parametrize("handle", ["audio", "midi"])
def test_ui_drags_audio_and_midi_apart(bridge_built, xvfb, tmp_path: Path, handle: str) -> None:
    """A loop exports its mix and its MIDI: two handles, the audio one drops only audio, the MIDI one
    only the .mid (a DAW takes each onto its own kind of track)."""
    target = subprocess.Popen([str(XDND_TARGET), "800", "100", "200", "200", "90"], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "DISPLAY": xvfb})  # fmt: skip
    try:
        assert json.loads(target.stdout.readline())["event"] == "ready"
        library = tmp_path / "library"
        midi = make_smf([(0, 1, 36, 120, 9), (1, 1, 38, 120, 9)], bpm=96, bars=2)
        clip = clip_state("loop", audio=demo_loop(), sample_rate=SR, midi=midi, bpm=96, bars=2, prompt="both", seed=6)
        states = {"endpoint": "tcp://127.0.0.1:9", "autostart": "0", "library": str(library), "mode": "loop",
                  "clip": clip, "export": "1"}  # fmt: skip
        start = [200, 397] if handle == "audio" else [660, 397]
        script = {"sample_rate": SR, "steps": [
            {"state": states},
            {"sleep": 1.0},  # the worker writes the files
            {"screenshot": {"path": str(tmp_path / "drag.ppm"), "idle_ms": 800, "drag": [start, [900, 200]]}},
            {"status": True},
        ]}  # fmt: skip
        run = run_clap_host(script, tmp_path / "run", env={"DISPLAY": xvfb})
        exported = [Path(p) for p in run.steps("status")[0]["status"]["exported"]]
        events = [json.loads(line) for line in target.communicate(timeout=30)[0].splitlines()]
    finally:
        if target.poll() is None:
            target.kill()
    assert sorted(p.suffix for p in exported) == [".mid", ".wav"], exported
    assert [e["event"] for e in events] == ["enter", "drop"], events
    dropped = [Path(u.removeprefix("file://")) for u in events[1]["data"].split("\r\n") if u]
    wanted = ".wav" if handle == "audio" else ".mid"
    assert dropped == [p for p in exported if p.suffix == wanted], (dropped, exported)


def test_ui_take_keep_part_and_regenerate_clicks(bridge_built, xvfb, tmp_path: Path) -> None:
    """The bottom rows: "<" plays the previous take, Keep marks it, Part "+" picks the clip's first part,
    and Regenerate sends regenerate-midi for it (here to no daemon: the request is made, then fails)."""
    takes = []
    for seed in (1, 2):
        notes = [(i * 0.5, 0.4, 40 + (i + seed) % 5, 100, 0) for i in range(16)]
        notes += [(i, 0.2, 36, 120, 9) for i in range(8)]
        clip = json.loads(clip_state("midi", midi=make_smf(notes, bpm=100, bars=2), bpm=100, bars=2, seed=seed))
        clip["result"] = {"tracks": [{"role": "drums", "name": "Drums"}, {"role": "bass", "name": "Bass"}],
                          "spec": {"bpm": 100.0, "meter": "4/4", "bars": 2}}  # fmt: skip
        takes.append(clip)
    history = {"format": "promptdaw-history", "version": 1, "index": 1,
               "entries": [{"favourite": False, "clip": c} for c in takes]}  # fmt: skip
    saved = tmp_path / "state.bin"
    states = {"endpoint": "tcp://127.0.0.1:9", "autostart": "0", "mode": "midi", "prompt": "takes",
              "history": json.dumps(history), "clip": json.dumps(takes[1])}  # fmt: skip
    script = {"sample_rate": SR, "steps": [
        {"state": states},
        {"render": {"frames": 512}},
        {"screenshot": {"path": str(tmp_path / "takes.ppm"), "idle_ms": 800,
                        "clicks": [[248, 453], [384, 453], [160, 487], [588, 487]]}},
        {"sleep": 1.5},
        {"status": True},
        {"save_state": str(saved)},
    ]}  # fmt: skip
    run = run_clap_host(script, tmp_path / "run", env={"DISPLAY": xvfb})
    status = run.steps("status")[0]["status"]
    assert status["history"] == {"size": 2, "index": 0, "favourite": True, "favourites": 1}
    assert status["clip"]["seed"] == 1, "the previous take plays"
    assert status["request_type"] == "regenerate-midi" and status["request_params"]["part"] == "drums"
    assert status["request_params"]["spec"] == takes[0]["result"]["spec"]
    assert status["error"]["code"] == "unreachable"
    saved_states, _ = dpf_state_decode(saved.read_bytes())
    assert saved_states["regen_part"] == "drums" and json.loads(saved_states["clip"])["seed"] == 1
    assert json.loads(saved_states["history"])["entries"][0]["favourite"] is True
