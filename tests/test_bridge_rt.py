"""Real-time safety of the plugin's audio callback, checked rather than assumed.

build/bridge/tests/librtcheck.so is preloaded into a host process. The plugin's run() calls
promptdaw_rtcheck_enter()/leave() (weak symbols, absent in normal hosts), and while inside
run() on that thread the library counts every malloc/calloc/realloc/free, operator
new/delete, pthread mutex/rwlock lock, condition wait, semaphore wait and sleep. Each test
renders every playback path (Sample voices, Loop on the transport and gated by notes, MIDI
sequencing with MIDI out and the audition synth, transport stops and jumps, clips swapped in
between blocks) and asserts that all counts are zero.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bridge" / "tests"))
from bridge_support import RTCHECK, VST3, build_bridge, clip_state, make_smf, run_clap_host

SR = 48000
DEAD = "tcp://127.0.0.1:9"


@pytest.fixture(scope="session")
def bridge_built() -> None:
    build_bridge()


def clips() -> dict[str, str]:
    rng = np.random.default_rng(4)
    loop = rng.uniform(-0.3, 0.3, size=(2 * SR, 2)).astype(np.float32)
    one_shot = rng.uniform(-0.3, 0.3, size=(SR // 2,)).astype(np.float32)
    notes = [(i * 0.25, 0.2, 48 + (i * 5) % 24, 100, i % 2) for i in range(32)]
    notes += [(i * 0.5, 0.1, 36 + (i % 3) * 2, 120, 9) for i in range(16)]
    smf = make_smf(notes, bpm=120, bars=2)
    return {
        "loop": clip_state("loop", audio=loop, sample_rate=SR, bpm=120, bars=1),
        "sample": clip_state("sample", audio=one_shot, sample_rate=SR, root_note=60),
        "midi": clip_state("midi", midi=smf, bpm=120, bars=2),
        "resampled_loop": clip_state("loop", audio=loop, sample_rate=44100, bpm=120, bars=1),
    }


def zero_counts(counts: dict[str, int]) -> dict[str, int]:
    return {name: n for name, n in counts.items() if name != "runs" and n != 0}


def test_no_allocation_or_lock_in_run_clap_host(bridge_built, tmp_path: Path) -> None:
    c = clips()
    chords = [[f, 0x90, 48 + (f // 700) % 30, 100] for f in range(0, SR, 700)]
    chords += [[f + 500, 0x80, 48 + (f // 700) % 30, 0] for f in range(0, SR, 1400)]
    playing = {"playing": True, "bpm": 120, "meter": [4, 4], "start_beats": 0}
    steps = [
        {"state": {"endpoint": DEAD, "clip": c["sample"]}},
        {"render": {"frames": SR, "midi": chords}, "out": "sample"},  # more notes than voices: stealing
        {"state": {"clip": c["loop"]}},  # swapped in between blocks
        {"render": {"frames": 3 * SR, "transport": playing}, "out": "loop"},
        {"render": {"frames": SR, "transport": {**playing, "start_beats": 6.25}}},  # a jump
        {"render": {"frames": SR, "transport": {**playing, "playing": False},
                    "midi": [[100, 0x90, 60, 90], [30000, 0x80, 60, 0]]}},
        {"state": {"clip": c["resampled_loop"]}},
        {"render": {"frames": SR, "transport": playing}},
        {"state": {"clip": c["midi"]}},
        {"render": {"frames": 5 * SR, "transport": playing}, "out": "midi"},
        {"render": {"frames": SR, "transport": {**playing, "start_beats": 3.0}}},
        {"render": {"frames": SR, "transport": {**playing, "playing": False}}},
        {"render": {"frames": 2 * SR, "midi": [[0, 0x90, 60, 100], [SR, 0x80, 60, 0], [SR + 10, 0x90, 61, 100]]}},
        {"state": {"clip": ""}},  # no clip at all
        {"render": {"frames": SR, "transport": playing, "midi": [[0, 0x90, 60, 100]]}},
    ]  # fmt: skip
    run = run_clap_host({"sample_rate": SR, "block": 128, "steps": steps}, tmp_path, preload_rtcheck=True)
    counts = run.rtcheck
    assert counts is not None, "librtcheck.so was not loaded"
    assert counts["runs"] >= 15 * SR // 128, counts
    assert zero_counts(counts) == {}, counts
    # the render really exercised the paths
    assert np.abs(run.audio("sample")).max() > 0.1 and np.abs(run.audio("loop")).max() > 0.1
    assert len(run.midi("midi")) > 100


PEDALBOARD_SCRIPT = r"""
import ctypes, json, sys
import mido, numpy as np
sys.path.insert(0, sys.argv[1])
from bridge_support import load_vst3, set_states
clips = json.loads(open(sys.argv[2]).read())
rt = ctypes.CDLL(sys.argv[3])
rt.promptdaw_rtcheck_name.restype = ctypes.c_char_p
plugin = load_vst3()
set_states(plugin, {"endpoint": "tcp://127.0.0.1:9", "autostart": "0"})
notes = [mido.Message("note_on", note=48 + i % 24, velocity=100, time=i * 0.05) for i in range(40)]
for name in ("sample", "loop", "midi", "resampled_loop"):
    set_states(plugin, {"clip": clips[name]})
    for reset in (True, False):
        out = plugin(notes, duration=2.5, sample_rate=48000, buffer_size=256, reset=reset)
        assert np.abs(out).max() > 0.01, name
print(json.dumps({rt.promptdaw_rtcheck_name(i).decode(): rt.promptdaw_rtcheck_count(i)
                  for i in range(rt.promptdaw_rtcheck_count_names())}))
"""


def test_no_allocation_or_lock_in_run_pedalboard(bridge_built, tmp_path: Path) -> None:
    pytest.importorskip("pedalboard")
    clips_file = tmp_path / "clips.json"
    clips_file.write_text(json.dumps(clips()))
    proc = subprocess.run(
        [sys.executable, "-c", PEDALBOARD_SCRIPT, str(REPO / "bridge" / "tests"), str(clips_file), str(RTCHECK)],
        capture_output=True, text=True, timeout=300, env=dict(os.environ, LD_PRELOAD=str(RTCHECK)),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert counts["runs"] > 1000, counts
    assert zero_counts(counts) == {}, counts
    assert VST3.exists()
