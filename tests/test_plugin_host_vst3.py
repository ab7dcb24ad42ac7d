"""A real VST3 instrument in plugin_host: the project's own plugin (bridge/), when it is built.

In sample mode the plugin plays a one-shot chromatically from each note-on (its root note
unchanged), which shows where plugin_host puts every note, to the sample.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import REPO
from loop_support import make_clip

from promptdaw.plugin_host import PluginLoadError, Score, VST3Instrument, load_instrument, parse_instrument_spec, render

VST3 = REPO / "build" / "bridge" / "bin" / "promptdaw.vst3"
SR = 44100

pytestmark = pytest.mark.skipif(
    not VST3.exists(), reason=f"no VST3 instrument on this machine: the bridge plugin is not built ({VST3}); "
    "run `make plugin`"
)  # fmt: skip


@pytest.fixture(scope="module")
def bridge_support():
    sys.path.insert(0, str(REPO / "bridge" / "tests"))
    try:
        import bridge_support
    except ImportError as exc:
        pytest.skip(f"bridge/tests/bridge_support.py cannot be imported: {exc}")
    return bridge_support


def test_vst3_instrument_loads_and_renders_a_part() -> None:
    instrument = load_instrument(parse_instrument_spec(f"bass={VST3}"), role="bass")
    assert isinstance(instrument, VST3Instrument) and instrument.channel == 0
    drums = load_instrument(parse_instrument_spec(f"drums={VST3}"), role="drums")
    assert drums.channel == 9  # General MIDI drums
    clip = make_clip(bars=1, roles=("drums", "bass"))
    stems = render(clip, {"bass": instrument, "drums": drums})
    assert [a.shape for a in stems.audio] == [(SR * 2, 2)] * 2
    assert all(np.isfinite(a).all() for a in stems.audio)


def test_vst3_notes_land_on_their_samples(bridge_support) -> None:
    instrument = VST3Instrument(VST3, initialization_timeout_s=0)
    t = np.arange(2000) / SR
    one_shot = (0.5 * np.sin(2 * np.pi * 220 * t) * np.exp(-t * 30)).astype(np.float32)
    stereo = np.stack([one_shot, one_shot], axis=1)
    bridge_support.set_states(instrument.plugin, {"endpoint": "tcp://127.0.0.1:9", "autostart": "0",
                                                  "clip": bridge_support.clip_state("sample", audio=stereo,
                                                                                    root_note=57)})  # fmt: skip
    clip = make_clip(bars=1, bpm=93.7, roles=("bass",))
    clip.tracks[0].notes[:] = [n.__class__(n.start, 1, 57, 127) for n in clip.tracks[0].notes]  # the root note
    score = Score.from_clip(clip)
    stems = render(score, {"bass": instrument}, wrap=False)
    audio = stems.audio[0]
    for note in score.parts[0].notes:
        start = round(note.start_beats * 60 / 93.7 * SR)
        assert not audio[start - 1].any(), "silent until the note"
        np.testing.assert_allclose(audio[start : start + 500], stereo[:500], atol=1e-6)


def test_vst3_load_errors(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        VST3Instrument(tmp_path / "Missing.vst3")
    fake = tmp_path / "Fake.vst3"
    fake.write_text("not a plugin")
    with pytest.raises(PluginLoadError, match="cannot be loaded as a VST3 plugin"):
        VST3Instrument(fake)
    with pytest.raises(PluginLoadError, match=r"has no parameter 'cutoff'; valid: .*gain_db"):
        VST3Instrument(VST3, parameters={"cutoff": 0.5}, initialization_timeout_s=0)
