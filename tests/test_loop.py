"""Loops: the generate-loop and render-midi tasks, their files, the CLI, and the daemon round trip.

The tasks run in-process here with the test instruments of loop_support.py injected where the
built-in neural instrument goes (and, for generate-loop, a stub clip generator): the whole
path from prompt to mastered WAV is exercised without models. The daemon round trip of
generate-loop runs when the text-to-MIDI and text-to-sample models are installed.
"""

from __future__ import annotations

import importlib
import io
from pathlib import Path

import mido
import numpy as np
import pytest
from conftest import REPO, start_daemon
from loop_support import StubGenerator, ToneInstrument, make_clip, seam_ok, test_voices

from promptdaw.cli import main as promptdaw
from promptdaw.core.clip import clip_to_midi
from promptdaw.inference_server.errors import InvalidInput, ModelError
from promptdaw.inference_server.protocol import Audio, Midi, Request
from promptdaw.inference_server.tasks.generate_loop import generate_loop
from promptdaw.inference_server.tasks.render_midi import render_midi
from promptdaw.inference_server.tasks.rendering import Builtin, render_loop
from promptdaw.loop_files import write_render_files
from promptdaw.plugin_host import DrumKit, integrated_loudness, loop_length_samples, read_wav, true_peak_dbtp
from promptdaw.runtime.registry import ModelRegistry

# The modules (the package exports functions of the same names).
loop_task = importlib.import_module("promptdaw.inference_server.tasks.generate_loop")
render_task = importlib.import_module("promptdaw.inference_server.tasks.render_midi")


class Context:
    """What a task sees of a job: the request, the registry, and progress reports."""

    def __init__(self, request: Request, registry: ModelRegistry) -> None:
        self.request = request
        self.registry = registry
        self.stages: list[tuple[float, str]] = []
        self.plugin_paths: tuple[Path, ...] = ()
        self.warnings: list[str] = []

    def check(self) -> None:
        """Never cancelled."""

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def progress(self, fraction: float, stage: str) -> None:
        assert not self.stages or fraction >= self.stages[-1][0], "progress never goes back"
        self.stages.append((fraction, stage))


@pytest.fixture(scope="module")
def registry() -> ModelRegistry:
    """The repository's models (MiniLM reads prompts); nothing else is loaded."""
    return ModelRegistry(REPO / "models", providers=["CPUExecutionProvider"])


@pytest.fixture
def test_builtin(monkeypatch: pytest.MonkeyPatch) -> Builtin:
    """The test instruments where the built-in neural instrument goes, and the stub generator."""
    builtin = Builtin(voice=test_voices, kit=lambda style: DrumKit(test_voices, style))
    monkeypatch.setattr(loop_task, "builtin_instruments", lambda registry, seed, warn=None: builtin)
    monkeypatch.setattr(loop_task, "midi_generator", lambda registry, name=None: StubGenerator())
    monkeypatch.setattr(render_task, "builtin_instruments", lambda registry, seed, warn=None: builtin)
    return builtin


def run_task(task, registry: ModelRegistry, params: dict, payloads: tuple = ()) -> tuple[dict, list]:
    request = Request("test", task.__name__.replace("_", "-"), params, payloads)
    result, buffers = task(Context(request, registry))
    return result, list(buffers)


def check_loop_audio(audio: np.ndarray, length: int, sample_rate: int, target_lufs: float = -14.0) -> None:
    """The loop invariants of shared/eval/README.md (and a true-peak ceiling)."""
    assert audio.shape == (length, 2)
    assert np.isfinite(audio).all()
    assert integrated_loudness(audio, sample_rate) == pytest.approx(target_lufs, abs=0.2)
    assert np.abs(audio).max() <= 10 ** (-1 / 20) + 1e-6  # never above 0 dBFS, in fact not above -1
    assert true_peak_dbtp(audio, wrap=True) <= -0.99
    assert np.abs(audio.mean(axis=0)).max() < 1e-4  # no DC
    ok, jump, limit = seam_ok(audio)
    assert ok, f"seam step {jump} above {limit}"


# ------------------------------------------------------------------------------ generate-loop


@pytest.mark.parametrize(
    ("prompt", "params"),
    [
        ("house loop with bass and chords in A minor, 124 bpm, 2 bars", {}),
        ("waltz piano loop in F major, 3/4, 96 bpm, 4 bars", {}),
        ("afrobeat groove with bass", {"meter": "6/8", "bpm": 101.5, "bars": 2}),
        ("lofi drum loop, dusty", {"meter": "7/8", "bpm": 87.3, "bars": 3, "sample_rate": 48000}),
    ],
)
def test_generate_loop_task(registry: ModelRegistry, test_builtin: Builtin, prompt: str, params: dict) -> None:
    result, buffers = run_task(generate_loop, registry, {"prompt": prompt, "seed": 1, **params})
    spec = result["spec"]
    numerator, denominator = (int(x) for x in spec["meter"].split("/"))
    sample_rate = params.get("sample_rate", 44100)
    expected = round(spec["bars"] * (numerator * 4 / denominator) * 60 / spec["bpm"] * sample_rate)
    assert result["length_samples"] == expected
    assert (result["sample_rate"], result["beats"], result["meter"]) == (sample_rate, spec["bars"] * numerator,
                                                                         spec["meter"])  # fmt: skip
    assert result["lufs"] == pytest.approx(-14.0, abs=0.2)
    assert result["true_peak_dbtp"] <= -1.0 and result["peak_dbfs"] <= -1.0
    # buffers: the mix, the MIDI clip, one stem per part in result.parts order
    assert isinstance(buffers[0], Audio) and isinstance(buffers[1], Midi)
    assert len(buffers) == 2 + len(result["parts"]) and result["parts"] == [p["role"] for p in spec["parts"]]
    mix = buffers[0].samples
    check_loop_audio(mix, expected, sample_rate)
    stems = [b.samples for b in buffers[2:]]
    assert all(s.shape == mix.shape for s in stems)
    np.testing.assert_allclose(sum(stems), mix, atol=1e-4)
    midi = mido.MidiFile(file=io.BytesIO(buffers[1].data))
    assert sum(m.time for m in midi.tracks[0]) == round(spec["bars"] * numerator * 4 / denominator * 480)


def test_a_loop_of_a_genre_gets_the_genres_parts(registry: ModelRegistry, test_builtin: Builtin) -> None:
    result, _ = run_task(generate_loop, registry, {"prompt": "trap loop in C# minor at 150 bpm, 2 bars"})
    assert result["parts"][0] == "drums" and len(result["parts"]) > 1
    assert (result["spec"]["key_tonic"], result["spec"]["key_mode"], result["bpm"]) == (1, "minor", 150)
    result, _ = run_task(generate_loop, registry, {"prompt": "lofi drum loop, dusty, 85 bpm, 2 bars"})
    assert result["parts"] == ["drums"]
    assert result["instruments"]["drums"] == "lofi"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"prompt": "techno loop, 0 bars"}, "bars"),
        ({"prompt": "techno loop", "bars": 0}, "bars"),
        ({"prompt": "techno loop", "bars": 10_000}, "bars"),
        ({"prompt": "ambient loop", "bars": 256, "bpm": 20}, "bars: 256 bars of 4/4 at 20 bpm last 3072 s"),
        ({"prompt": "techno loop", "sample_rate": 1000}, "sample_rate"),
        ({"prompt": "techno loop", "meter": "5/3"}, "meter"),
        ({}, "prompt"),
    ],
)
def test_impossible_loops_name_the_field(registry: ModelRegistry, test_builtin: Builtin, params: dict,
                                         field: str) -> None:  # fmt: skip
    with pytest.raises(InvalidInput, match=field):
        run_task(generate_loop, registry, params)


def test_render_loop_keeps_its_invariants_with_effects() -> None:
    from promptdaw.plugin_host import EffectChain

    clip = make_clip(bars=2, meter=(7, 8), bpm=133.7, swing=0.4)
    effects = {"chords": EffectChain("reverb(room_size=0.8)"), "drums": EffectChain("compressor(threshold_db=-20)")}
    rendered = render_loop(clip, {"drums": DrumKit(test_voices, "house"), "*": ToneInstrument()}, effects)
    check_loop_audio(rendered.mix, loop_length_samples(2, (7, 8), 133.7, 44100), 44100)


# ------------------------------------------------------------------------------ render-midi


def test_render_midi_task(registry: ModelRegistry, test_builtin: Builtin) -> None:
    clip = make_clip(bars=2, bpm=100)
    params = {
        "instruments": ['bass=builtin:"deep sub bass"', "Drums=builtin:tight kit"],
        "fx": ["chords=reverb(room_size=0.4),lowpass(cutoff_frequency_hz=5000)", "*=compressor(threshold_db=-12)"],
        "bpm": 90,
        "key": "C minor",
    }
    result, buffers = run_task(render_midi, registry, params, (Midi(clip_to_midi(clip)),))
    length = loop_length_samples(2, (4, 4), 90, 44100)
    assert result["length_samples"] == length and result["bpm"] == 90
    assert result["instruments"] == {
        "drums": 'builtin:"tight kit" (drum kit)',
        "bass": 'builtin:"deep sub bass"',
        "chords": 'builtin:"Piano"',
        "melody": 'builtin:"Lead"',
    }
    assert set(result["effects"]) == {"chords", "*"}
    assert result["root_note"] == 60  # A minor moved to C minor
    check_loop_audio(buffers[0].samples, length, 44100)
    assert len(buffers) == 1 + 4


def test_render_midi_with_tails_kept(registry: ModelRegistry, test_builtin: Builtin) -> None:
    clip = make_clip(bars=1, roles=("chords",))
    result, buffers = run_task(render_midi, registry, {"wrap": False}, (Midi(clip_to_midi(clip)),))
    assert result["length_samples"] > loop_length_samples(1, (4, 4), 120, 44100)
    assert np.abs(buffers[0].samples[-100:]).max() < 1e-3  # the tail rings out to silence


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"instruments": ["bass=/nowhere/Synth.vst3"]},
            r"bass=/nowhere/Synth.vst3': /nowhere/Synth.vst3 is not in a "
            "plugin folder",
        ),
        ({"instruments": ["bass"]}, "must look like PART="),
        ({"instruments": ["vocals=builtin:choir"]}, r"no part 'vocals'; its parts: drums \(Drums\), bass"),
        ({"fx": ["chords=reverb(size=1)"]}, "has no parameter 'size'; valid: room_size"),
        ({"fx": ["chords=reverb(room_size=3)"]}, "must be between 0.0 and 1.0"),
        ({"fx": ["chords=/nowhere/Echo.vst3"]}, "fx 'chords=/nowhere/Echo.vst3': /nowhere/Echo.vst3 is not in a "),
        ({"key": "H minor"}, "key"),
        ({"bpm": 1000}, "bpm"),
        ({"wrap": "yes"}, "wrap must be true or false"),
    ],
)
def test_render_midi_bad_input(registry: ModelRegistry, test_builtin: Builtin, params: dict, message: str) -> None:
    clip = make_clip(bars=1)
    with pytest.raises(InvalidInput, match=message):
        run_task(render_midi, registry, params, (Midi(clip_to_midi(clip)),))


def test_render_midi_refuses_a_file_that_is_no_plugin(registry: ModelRegistry, test_builtin: Builtin,
                                                      tmp_path: Path) -> None:  # fmt: skip
    fake = tmp_path / "Broken.vst3"
    fake.write_bytes(b"\x7fELF not really")
    midi = (Midi(clip_to_midi(make_clip(bars=1))),)
    with pytest.raises(InvalidInput, match="is not in a plugin folder"):  # tests/test_plugin_sandbox.py: the rest
        run_task(render_midi, registry, {"instruments": [f"bass={fake}"]}, midi)
    context = Context(Request("test", "render-midi", {"instruments": [f"bass={fake}"]}, midi), registry)
    context.plugin_paths = (tmp_path,)
    with pytest.raises(InvalidInput, match="cannot be loaded as a VST3 plugin"):
        render_midi(context)
    with pytest.raises(InvalidInput, match="exactly one midi buffer"):
        run_task(render_midi, registry, {})


def test_builtin_instrument_missing_is_reported(registry: ModelRegistry) -> None:
    """Without the text-to-sample model, a loop fails with a model error naming it, never a crash."""
    if "text-to-sample" in {m.get("kind") for m in registry.describe() if m.get("state") == "available"}:
        pytest.skip("the text-to-sample model is installed: nothing is missing")
    clip = make_clip(bars=1, roles=("bass",))
    with pytest.raises(ModelError):
        run_task(render_midi, registry, {}, (Midi(clip_to_midi(clip)),))


# ------------------------------------------------------------------------------ files and CLI


def test_loop_files_carry_loop_metadata(registry: ModelRegistry, test_builtin: Builtin, tmp_path: Path) -> None:
    result, buffers = run_task(generate_loop, registry, {"prompt": "house loop in A minor, 124 bpm, 2 bars"})
    out = tmp_path / "loop.wav"
    written = write_render_files(out, result, buffers)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["loop.wav", "loop.mid", *(f"loop.{part}.wav" for part in result["parts"])])
    assert [p.name for p in written][:2] == ["loop.wav", "loop.mid"]
    mix = read_wav(out)
    assert mix.samples.shape == (result["length_samples"], 2) and mix.bit_depth == 24
    assert (mix.acid.bpm, mix.acid.beats, mix.acid.meter, mix.acid.root_note) == (124.0, 8, (4, 4), 69)
    assert mix.smpl.loops == ((0, result["length_samples"] - 1),)
    check_loop_audio(mix.samples, result["length_samples"], 44100)
    stem = read_wav(tmp_path / f"loop.{result['parts'][0]}.wav")
    assert stem.acid.beats == 8 and stem.samples.shape == mix.samples.shape


def test_cli_render_checks_plugins_before_asking_the_daemon(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    midi = tmp_path / "in.mid"
    midi.write_bytes(clip_to_midi(make_clip(bars=1)))
    dead = "tcp://127.0.0.1:9"  # nothing listens: any daemon contact would fail differently
    for argv, message in [
        (["--instrument", "bass=/nowhere/Synth.vst3"], "no such VST3 plugin: /nowhere/Synth.vst3"),
        (["--instrument", "bass"], "--instrument: instrument spec 'bass' must look like PART="),
        (["--fx", "drums=reverbb"], "unknown effect 'reverbb'; valid: bitcrush"),
        (["--fx", "drums=/nowhere/Echo.vst3(mix=0.5)"], "no such VST3 plugin: /nowhere/Echo.vst3"),
        (["--fx", "drums=reverb(room_size=2)"], "room_size=2.0 is invalid: Room Size value must be between"),
    ]:
        status = promptdaw(["render", str(midi), "-o", str(tmp_path / "out.wav"), "--endpoint", dead, *argv])
        assert status == 1
        assert message in capsys.readouterr().err
    not_midi = tmp_path / "in.txt"
    not_midi.write_text("hello")
    assert promptdaw(["render", str(not_midi), "-o", str(tmp_path / "out.wav"), "--endpoint", dead]) == 1
    assert "neither a Standard MIDI File (no MThd header) nor a WAV file" in capsys.readouterr().err
    assert not (tmp_path / "out.wav").exists()


def test_cli_fits_a_loop_wav_to_a_tempo_and_key(registry: ModelRegistry, test_builtin: Builtin,
                                               tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    result, buffers = run_task(generate_loop, registry, {"prompt": "house loop in A minor, 124 bpm, 1 bars"})
    source = tmp_path / "loop.wav"
    write_render_files(source, result, buffers, stems=False)
    out = tmp_path / "fitted.wav"
    status = promptdaw(["render", str(source), "--bpm", "100", "--key", "C minor", "-o", str(out), "--json"])
    assert status == 0, capsys.readouterr().err
    fitted = read_wav(out)
    assert fitted.samples.shape == (loop_length_samples(1, (4, 4), 100, 44100), 2)
    assert (fitted.acid.bpm, fitted.acid.beats, fitted.acid.root_note) == (100.0, 4, 72)  # A (69) up 3
    assert seam_ok(fitted.samples)[0] and true_peak_dbtp(fitted.samples, wrap=True) <= -0.99
    assert promptdaw(["render", str(source), "-o", str(out)]) == 1
    assert "needs --bpm or --key" in capsys.readouterr().err


# ------------------------------------------------------------------------------ through the daemon


def _has_models(*kinds: str) -> bool:
    available = {m.get("kind") for m in ModelRegistry(REPO / "models", providers=["CPUExecutionProvider"]).describe()
                 if m.get("state") == "available"}  # fmt: skip
    return all(kind in available for kind in kinds)


@pytest.mark.skipif(not _has_models("text-to-midi", "text-to-sample", "text-embedding"),
                    reason="the text-to-MIDI and text-to-sample models are not installed in models/")  # fmt: skip
def test_generate_loop_through_the_daemon(tmp_path: Path) -> None:
    daemon = start_daemon(REPO / "models", tmp_path)
    try:
        with daemon.client(timeout_s=120) as client:
            reply = client.request("generate-loop", {"prompt": "lofi drum loop, dusty, 85 bpm, 2 bars", "seed": 1})
            result = reply.body
            length = loop_length_samples(2, (4, 4), 85, 44100)
            assert result["length_samples"] == length and result["parts"] == ["drums"]
            check_loop_audio(reply.payloads[0].samples, length, 44100)
            with pytest.raises(InvalidInput, match="bars"):
                client.request("generate-loop", {"prompt": "techno loop", "bars": 10_000})
            assert client.ping() < 1.0
    finally:
        daemon.stop()
