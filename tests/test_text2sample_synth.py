"""The sample synthesiser, patches and prompt reading, without a daemon or a trained model."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from promptdaw.inference_server.errors import InvalidInput
from promptdaw.runtime.synthesis import synth
from promptdaw.runtime.synthesis.constants import CATEGORIES, CATEGORY_FAMILY
from promptdaw.runtime.synthesis.generator import finish_one_shot, gate_for_length, render_one_shot
from promptdaw.runtime.synthesis.patch import PARAM_SIZE, PARAMS, Patch
from promptdaw.runtime.synthesis.prompt import parse_note_param, read_sample_prompt


def random_patch(seed: int, **values) -> Patch:
    """A random patch with every layer audible (so a comparison exercises all of them)."""
    patch = Patch(np.random.default_rng(seed).random(PARAM_SIZE), "pad")
    defaults = {"harm_level_db": -3.0, "bell_level_db": -10.0, "noise_level_db": -12.0, "click_db": -20.0,
                "unison_level": 0.5, "release_s": 0.3}  # fmt: skip
    return patch.replace(**{**defaults, **values})


def _render_both(patch: Patch, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The same patch, note and noise through the numpy runtime and the torch training synth."""
    torch = pytest.importorskip("torch")
    from training.text2sample import synth_torch

    rate, n = 22050, 17640
    note, gate = 36.0 + 12 * seed, 0.4
    noise = synth.draw_noise(np.random.default_rng(seed), n, rate)
    expected = synth.render(patch.physical(), note, gate, n, rate, noise)
    controls = synth_torch.controls_from_unit(torch.tensor(patch.unit[None], dtype=torch.float32))
    spectra, click = torch.from_numpy(noise.spectra[None]), torch.from_numpy(noise.click[None])
    got = synth_torch.render_batch(controls, torch.tensor([note]), torch.tensor([gate]), n, rate, spectra, click)
    got = got[0].numpy().T
    assert got.shape == expected.shape == (n, 2)
    return got, expected


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_numpy_and_torch_synthesisers_agree(seed: int) -> None:
    got, expected = _render_both(random_patch(seed, noise_sweep_oct=0.0), seed)
    # float32 rounding differs between the two (phases, Horner's rule); a hard drive amplifies it
    # near zero crossings. Measured: at most 4e-3 (-48 dB) with drive, 5e-4 without; 2.4e-4 on average.
    assert np.abs(got - expected).max() < 1e-2
    assert np.abs(got - expected).mean() < 1e-3


@pytest.mark.parametrize(("seed", "sweep_oct"), [(0, -5.0), (2, 3.0), (3, 1.5)])
def test_synthesisers_agree_on_a_noise_sweep(seed: int, sweep_oct: float) -> None:
    got, expected = _render_both(random_patch(seed, noise_sweep_oct=sweep_oct), seed)
    # The runtime rounds a sweep's shift to 1/64 band (0.1 semitone) so frames share spectra; with
    # random band levels 60 dB apart that is up to 0.5 dB of level. Measured: at most 0.8 % RMS.
    error = np.sqrt(np.mean((got - expected) ** 2) / np.mean(expected**2))
    assert error < 0.02


def test_render_is_finite_bounded_and_deterministic() -> None:
    patch = random_patch(5)
    a = synth.render(patch.physical(), 48, 0.5, 22050, 44100, np.random.default_rng(1))
    b = synth.render(patch.physical(), 48, 0.5, 22050, 44100, np.random.default_rng(1))
    assert a.dtype == np.float32 and a.shape == (22050, 2)
    assert np.isfinite(a).all() and np.abs(a).max() <= 1.0 + 1e-6
    assert np.array_equal(a, b)


def test_noise_draws_are_standard_normal_and_repeatable() -> None:
    """The looked-up normal samples behave as numpy's sampler would: same seed, same draw; zero mean,
    unit variance, Gaussian kurtosis, real and imaginary parts uncorrelated."""
    a = synth.draw_noise(np.random.default_rng(7), 44100, 44100)
    b = synth.draw_noise(np.random.default_rng(7), 44100, 44100)
    assert np.array_equal(a.spectra, b.spectra) and np.array_equal(a.click, b.click)
    assert not np.array_equal(a.spectra, synth.draw_noise(np.random.default_rng(8), 44100, 44100).spectra)
    assert a.spectra.dtype == np.complex64 and a.click.dtype == np.float32
    parts = np.stack([a.spectra.real.ravel(), a.spectra.imag.ravel()]) / np.sqrt(0.5)
    values = parts.ravel()
    assert abs(values.mean()) < 0.01 and abs(values.var() - 1.0) < 0.01
    assert abs(np.mean(values**4) / values.var() ** 2 - 3.0) < 0.05  # 4.3-sigma tails: 2.998
    assert abs(np.corrcoef(parts)[0, 1]) < 0.01
    assert abs(a.click.var() - 1.0) < 0.05


def test_phase_wrap_is_np_mod() -> None:
    theta = np.linspace(-50.0, 2e5, 100_001)
    wrapped = synth._wrapped32(theta)
    assert wrapped.dtype == np.float32 and wrapped.min() >= 0.0 and wrapped.max() <= np.float32(2 * np.pi)
    reference = np.mod(theta, 2 * np.pi).astype(np.float32)
    assert np.abs(np.exp(1j * wrapped) - np.exp(1j * reference)).max() < 1e-5


def test_render_rate_independent_pitch() -> None:
    """A pure sine patch sounds the note at any sample rate."""
    sine = Patch(np.full(PARAM_SIZE, 0.5)).replace(
        harm_level_db=0.0, harm_db=[0.0] + [-60.0] * 15, harm_tail_db_per_oct=-36.0, bell_level_db=-60.0,
        noise_level_db=-60.0, click_db=-60.0, pitch_env_st=0.0, glide_st=0.0, vibrato_cents=0.0, unison_level=0.0,
        amp_attack_s=0.005, amp_sustain=1.0, drive=0.0,
    )  # fmt: skip
    for rate in (22050, 44100, 48000):
        audio = synth.render(sine.physical(), 57, 0.5, rate // 2, rate, np.random.default_rng(0))[:, 0]
        spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
        peak_hz = np.argmax(spectrum) * rate / len(audio)
        assert abs(peak_hz - 220.0) < 4.0


def _centroid_hz(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float((spectrum * np.fft.rfftfreq(len(audio), 1 / rate)).sum() / spectrum.sum())


@pytest.mark.parametrize(("start_db", "onset_is"), [(-40.0, "darker"), (6.0, "brighter")])
def test_brightness_envelope_moves_the_spectrum_after_the_onset(start_db: float, onset_is: str) -> None:
    """A held saw with and without the envelope: 10..50 ms differ, 0.5 s later they agree."""
    rate = 44100
    centroids = []
    for value in (0.0, start_db):
        saw = Patch(np.full(PARAM_SIZE, 0.5)).replace(
            harm_level_db=0.0, harm_db=[-20 * np.log10(k) for k in range(1, 17)], harm_tail_db_per_oct=-6.0,
            bell_level_db=-60.0, noise_level_db=-60.0, click_db=-60.0, pitch_env_st=0.0, glide_st=0.0,
            vibrato_cents=0.0, unison_level=0.0, amp_attack_s=0.001, amp_sustain=1.0, drive=0.0,
            bright_start_db=value, bright_time_s=0.05,
        )  # fmt: skip
        audio = synth.render(saw.physical(), 48, 1.0, rate, rate, np.random.default_rng(0))[:, 0]
        centroids.append([_centroid_hz(audio[s : s + round(0.04 * rate)], rate) for s in (441, rate // 2)])
    (plain_onset, plain_settled), (onset, settled) = centroids
    ratio = onset / plain_onset
    assert ratio < 0.7 if onset_is == "darker" else ratio > 1.2, f"onset centroid ratio {ratio:.2f}"
    assert settled == pytest.approx(plain_settled, rel=0.02)


def test_finish_one_shot_trims_normalises_and_removes_dc() -> None:
    rate = 44100
    audio = np.zeros((rate, 2), np.float32)
    audio[4410:13230] = 0.3 * np.sin(np.arange(8820) / 7.0)[:, None] + 0.05  # DC offset, silent margins
    out = finish_one_shot(audio, rate)
    assert abs(20 * np.log10(np.abs(out).max()) + 1.0) < 0.01
    assert np.abs(out.mean(axis=0)).max() < 1e-3
    assert len(out) < 0.3 * rate  # both silent margins trimmed
    assert np.isfinite(out).all()


def test_patch_dict_round_trip_and_edit() -> None:
    patch = random_patch(7)
    data = json.loads(json.dumps(patch.to_dict()))
    again = Patch.from_dict(data)
    assert np.abs(again.unit - patch.unit).max() < 1e-4
    assert again.category == "pad"
    data["params"]["amp_attack_s"] = 0.25
    edited = Patch.from_dict(data)
    assert edited["amp_attack_s"] == pytest.approx(0.25, rel=1e-6)
    partial = Patch.from_dict({"params": {"drive": 0.9}}, base=patch)
    assert partial["drive"] == pytest.approx(0.9) and partial["harm_db"] == pytest.approx(patch["harm_db"])
    # a patch saved before the brightness envelope existed keeps its sound: the new controls read neutral
    saved = patch.to_dict()
    del saved["params"]["bright_start_db"], saved["params"]["bright_time_s"]
    assert Patch.from_dict(saved)["bright_start_db"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"amp_attack_s": 99.0}, "amp_attack_s must be in"),
        ({"harm_db": [0.0, 1.0]}, "harm_db takes 16"),
        ({"no_such_knob": 1.0}, "unknown controls no_such_knob"),
        ({"drive": "loud"}, "drive must be numbers"),
    ],
)
def test_bad_patch_values_name_the_control(params: dict, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        Patch.from_dict({"format": "promptdaw-patch", "version": 1, "params": params})


def test_vary_strength_controls_distance() -> None:
    patch = random_patch(3)
    assert np.array_equal(patch.varied(0.0, 5).unit, patch.unit)
    near = np.abs(patch.varied(0.2, 5).unit - patch.unit).mean()
    far = np.abs(patch.varied(1.0, 5).unit - patch.unit).mean()
    assert 0 < near < far
    assert np.array_equal(patch.varied(0.5, 9).unit, patch.varied(0.5, 9).unit)
    assert patch.varied(1.0, 5)["root_note"] == patch["root_note"]  # variations keep the pitch


@pytest.mark.parametrize(
    ("prompt", "text", "note", "duration"),
    [
        ("deep 808 bass in F1, long tail", "deep 808 bass, long tail", 29, None),
        ("glassy bell E5", "glassy bell", 76, None),
        ("warm analog pad on G3, slow attack", "warm analog pad, slow attack", 55, None),
        ("brass stab Bb3", "brass stab", 58, None),
        ("white noise riser, 4 seconds", "white noise riser", None, 4.0),
        ("a 250 ms snare", "a snare", None, 0.25),
        ("punchy 808 kick", "punchy 808 kick", None, None),
        # decades are styles, not lengths; a length beside one still counts
        ("80s synth brass stab", "80s synth brass stab", None, None),
        ("1970s funk bass C2", "1970s funk bass", 36, None),
        ("'90s house organ, 2 s", "'90s house organ", None, 2.0),
        ("4s riser", "riser", None, 4.0),
        # numbers in words use the prompt reader's grammar: "twenty-four" is 24, not "four"
        ("a twenty-four second drone", "a drone", None, 24.0),
        ("a hundred ms blip", "blip", None, 0.1),
    ],
)
def test_sample_prompt_reading(prompt: str, text: str, note: int | None, duration: float | None) -> None:
    read = read_sample_prompt(prompt)
    assert (read.text, read.note, read.duration_s) == (text, note, duration)


@pytest.mark.parametrize("bad", ["H9", "C12", 128, -1, "", True, 60.5])
def test_bad_notes_are_refused(bad) -> None:
    with pytest.raises(InvalidInput, match="note must be"):
        parse_note_param(bad)


def test_prompt_errors_name_the_field() -> None:
    with pytest.raises(InvalidInput, match="prompt is empty"):
        read_sample_prompt("   ")
    with pytest.raises(InvalidInput, match="duration_s"):
        read_sample_prompt("a 90 second kick")


def test_requested_length_is_the_audible_length() -> None:
    riser = Patch(np.full(PARAM_SIZE, 0.5), "riser").replace(
        harm_level_db=-60.0, bell_level_db=-60.0, click_db=-60.0, noise_level_db=0.0, noise_attack_s=2.0,
        noise_sustain=1.0, noise_sweep_oct=3.0, release_s=0.05, clap_bursts=0.0,
    )  # fmt: skip
    shot = render_one_shot(riser, note=60, duration_s=4.0, seed=1)
    loud = np.flatnonzero(np.abs(shot.audio).max(axis=1) >= 1e-3)
    assert abs((loud[-1] + 1) / shot.sample_rate - 4.0) < 0.4
    assert gate_for_length(riser, 4.0) < 4.0


def test_layout_tables_are_consistent() -> None:
    assert set(CATEGORY_FAMILY) == set(CATEGORIES)
    assert sum(p.size for p in PARAMS) == PARAM_SIZE
    assert len({p.name for p in PARAMS}) == len(PARAMS)


def test_runtime_never_imports_torch() -> None:
    code = ("import sys; import promptdaw.inference_server.tasks.generate_sample, "
            "promptdaw.runtime.synthesis.instrument; print('torch' in sys.modules)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
