"""plugin_host: placement, swing, folding, effects, stretching, loudness, WAV metadata.

Real pedalboard processing throughout; the instruments are the test-only ones in
loop_support.py (the built-in neural instrument is tested with the loop task).
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import mido
import numpy as np
import pytest
from loop_support import ToneInstrument, make_clip, seam_ok, test_voices

from promptdaw.core.clip import clip_to_midi
from promptdaw.plugin_host import (
    DrumKit,
    EffectChain,
    LoopInfo,
    PluginLoadError,
    Score,
    integrated_loudness,
    key_shift_semitones,
    loop_length_samples,
    master,
    parse_chain,
    parse_fx,
    parse_instrument_spec,
    pitch_shift,
    read_wav,
    render,
    stretch_loop,
    stretch_to_tempo,
    true_peak_dbtp,
    write_wav,
)
from promptdaw.plugin_host.mastering import k_weighting_coefficients
from promptdaw.plugin_host.render import DECLICK_S, fold
from promptdaw.plugin_host.score import swing_position

SR = 44100


class Gate:
    """Constant level while held, nothing after: shows exactly where a note starts and stops."""

    def render_note(self, pitch: int, velocity: int, duration_s: float, sample_rate: int) -> np.ndarray:
        return np.full((round(duration_s * sample_rate), 2), 0.25, np.float32)


def onsets(audio: np.ndarray) -> list[int]:
    """First sample of every run of sound."""
    on = np.abs(audio[:, 0]) > 0
    return [int(i) for i in np.flatnonzero(on & ~np.concatenate([[False], on[:-1]]))]


# ------------------------------------------------------------------------------ lengths and timing


@pytest.mark.parametrize(
    ("bars", "meter", "bpm", "sample_rate"),
    [
        (4, (4, 4), 120.0, 44100),
        (4, (3, 4), 96.0, 44100),
        (2, (6, 8), 100.0, 48000),
        (3, (7, 8), 137.0, 44100),
        (5, (5, 4), 93.7, 48000),
        (8, (4, 4), 128.5, 44100),
        (1, (12, 8), 71.3, 22050),
        (7, (7, 8), 174.0, 48000),
    ],
)
def test_render_is_exactly_the_loop_length(bars: int, meter: tuple[int, int], bpm: float, sample_rate: int) -> None:
    expected = round(bars * (meter[0] * 4 / meter[1]) * 60 / bpm * sample_rate)  # the eval README's formula
    assert loop_length_samples(bars, meter, bpm, sample_rate) == expected
    clip = make_clip(bars=bars, meter=meter, bpm=bpm, roles=("bass", "melody"))
    stems = render(clip, {"*": ToneInstrument()}, sample_rate=sample_rate)
    assert stems.length_samples == expected
    assert all(a.shape == (expected, 2) for a in stems.audio)
    assert stems.mix().shape == (expected, 2)


def test_notes_start_on_their_sample() -> None:
    clip = make_clip(bars=1, bpm=93.7, roles=("bass",))
    score = Score.from_clip(clip)
    stems = render(score, {"bass": Gate()}, sample_rate=SR)
    expected = [round(n.start_beats * 60 / 93.7 * SR) for n in score.parts[0].notes]
    # Each note fades in from zero (the declick ramp), so its first sample is silent and the
    # second is not: the run of sound starts one sample after the note.
    assert onsets(stems.audio[0]) == [s + 1 for s in expected]
    ramp = round(DECLICK_S * SR)
    first = expected[0]
    assert stems.audio[0][first + ramp + 1, 0] == pytest.approx(0.25)


def test_swing_moves_off_beats_by_a_third_at_full_swing() -> None:
    assert swing_position(1, 1.0, 1, 16) == pytest.approx(1 + 1 / 3)
    assert swing_position(3, 0.5, 1, 16) == pytest.approx(3 + 0.5 / 3)
    assert swing_position(2, 1.0, 1, 16) == 2  # on-beat 8ths stay
    assert swing_position(16, 1.0, 1, 16) == 16  # bar lines stay
    assert swing_position(2, 0.6, 2, 16) == pytest.approx(2 + 2 * 0.6 / 3)  # swung 8ths
    assert swing_position(6, 1.0, 1, 7) == 6  # 7/16: the odd last step stays straight
    assert [swing_position(s, 0.0, 1, 16) for s in range(17)] == list(range(17))
    clip = make_clip(bars=1, roles=("melody",), swing=0.6)  # the melody plays odd 16ths
    score = Score.from_clip(clip)
    first = score.parts[0].notes[0]  # step 1
    assert first.start_beats == pytest.approx((1 + 0.6 / 3) / 4)
    stems = render(score, {"melody": Gate()}, sample_rate=SR)
    assert onsets(stems.audio[0])[0] == round((1 + 0.6 / 3) / 4 * 60 / 120 * SR) + 1


def test_tails_fold_round_and_the_loop_wraps_without_a_click() -> None:
    clip = make_clip(bars=1, roles=("drums", "bass", "chords", "melody"))
    unwrapped = render(clip, {"drums": DrumKit(test_voices, "house"), "*": ToneInstrument()}, wrap=False)
    wrapped = render(clip, {"drums": DrumKit(test_voices, "house"), "*": ToneInstrument()})
    length = wrapped.length_samples
    assert unwrapped.mix().shape[0] > length  # the tails ring past the end ...
    np.testing.assert_allclose(wrapped.mix(), fold(unwrapped.mix(), length), atol=1e-4)  # ... and fold round
    ok, jump, limit = seam_ok(master(wrapped.mix(), SR).audio)
    assert ok, (jump, limit)


def test_each_distinct_note_is_rendered_once() -> None:
    tone = ToneInstrument()
    clip = make_clip(bars=2, roles=("chords",))  # the same three-note chord in both bars
    render(clip, {"chords": tone})
    assert tone.calls == 3


def test_drum_kit_asks_a_voice_per_sound() -> None:
    asked: list[str] = []

    def voices(prompt: str):
        asked.append(prompt)
        return test_voices(prompt)

    kit = DrumKit(voices, "dusty lofi")
    for note in (36, 35, 42, 38, 42, 46, 99):
        assert np.isfinite(kit.render_note(note, 100, 0.1, SR)).all()
    # One General MIDI map (core.music.gm) names the sounds for every instrument.
    assert asked == ["dusty lofi kick drum", "dusty lofi closed hi-hat", "dusty lofi snare drum",
                     "dusty lofi open hi-hat", "dusty lofi percussion hit"]  # fmt: skip


def test_render_errors_name_the_part() -> None:
    clip = make_clip(bars=1, roles=("drums", "bass"))
    with pytest.raises(ValueError, match=r"no instrument for part 'Synth Bass'.*given for: drums"):
        render(clip, {"drums": ToneInstrument()})

    class Broken:
        def render_note(self, pitch, velocity, duration_s, sample_rate):
            return np.full((10, 2), np.nan, np.float32)

    with pytest.raises(ValueError, match="NaN"):
        render(clip, {"*": Broken()})
    with pytest.raises(ValueError, match="sample_rate"):
        render(clip, {"*": ToneInstrument()}, sample_rate=1000)


# ------------------------------------------------------------------------------ scores from MIDI


def test_midi_files_become_scores() -> None:
    clip = make_clip(bars=3, meter=(6, 8), bpm=97.5, roles=("drums", "bass", "melody"))
    score = Score.from_midi(clip_to_midi(clip))
    assert (score.bars, score.meter, score.bpm) == (3, (6, 8), 97.5)
    assert [p.role for p in score.parts] == ["drums", "bass", "melody"]
    assert score.key == (9, "minor")
    direct = Score.from_clip(clip)
    for a, b in zip(score.parts, direct.parts, strict=True):
        assert sorted((n.start_beats, n.pitch) for n in a.notes) == sorted((n.start_beats, n.pitch) for n in b.notes)
    up = score.transposed(3).with_tempo(120)
    assert up.bpm == 120 and up.key == (0, "minor")
    assert up.parts[0].notes == score.parts[0].notes  # drums keep their notes
    assert [n.pitch - 3 for n in up.parts[1].notes] == [n.pitch for n in score.parts[1].notes]


def test_foreign_midi_file_without_meta_events() -> None:
    midi = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack([mido.Message("note_on", note=40, velocity=90, time=0),
                            mido.Message("note_off", note=40, time=150)])  # fmt: skip
    midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    score = Score.from_midi(buffer.getvalue())
    assert (score.bpm, score.meter, score.bars, score.key) == (120.0, (4, 4), 1, None)
    assert score.parts[0].role == "bass" and score.parts[0].notes[0].duration_beats == pytest.approx(150 / 96)
    with pytest.raises(ValueError, match="not a readable Standard MIDI File"):
        Score.from_midi(b"MThd garbage")


# ------------------------------------------------------------------------------ specs


def test_instrument_specs() -> None:
    spec = parse_instrument_spec('drums=builtin:"dusty lofi kit"')
    assert (spec.part, spec.kind, spec.prompt) == ("drums", "builtin", "dusty lofi kit")
    assert parse_instrument_spec("bass=builtin:808 sub").prompt == "808 sub"
    spec = parse_instrument_spec("Lead Synth=/opt/plugins/Synth.vst3")
    assert (spec.part, spec.kind, spec.path) == ("Lead Synth", "vst3", Path("/opt/plugins/Synth.vst3"))
    for bad, message in [
        ("drums", "must look like PART="),
        ("=builtin:kit", "must look like PART="),
        ('drums=builtin:""', "needs a prompt"),
        ("lead=/opt/synth.so", "neither builtin"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_instrument_spec(bad)


def test_fx_specs_parse_and_build() -> None:
    part, chain = parse_fx("drums=reverb(room_size=0.3, freeze_mode=0), compressor(threshold_db=-18,ratio=4),lowpass")
    assert part == "drums"
    assert [(e.name, dict(e.parameters)) for e in chain] == [
        ("reverb", {"room_size": 0.3, "freeze_mode": 0.0}),
        ("compressor", {"threshold_db": -18.0, "ratio": 4.0}),
        ("lowpass", {}),
    ]
    board = EffectChain(chain)
    assert "reverb(room_size=0.3" in str(board)
    ladder = EffectChain("ladder(mode=hpf24, cutoff_hz=300), HighPass_Filter(cutoff_frequency_hz=40)")
    assert [s.name for s in ladder.specs] == ["ladder", "highpass"]
    assert parse_chain("/x/Echo.vst3(mix=0.4)")[0].path == Path("/x/Echo.vst3")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reverbb(room_size=0.3)", r"unknown effect 'reverbb'; valid: bitcrush, chorus, .*reverb, or a path"),
        ("reverb(roomsize=0.3)", r"effect 'reverb' has no parameter 'roomsize'; valid: room_size, damping"),
        ("reverb(room_size)", r"'room_size' must look like parameter=value"),
        ("reverb(room_size=0.3", r"unclosed '\('"),
        ("reverb(room_size=0.3))", r"unbalanced '\)'"),
        ("reverb(room_size=0.3, room_size=0.4)", "given twice"),
        ("compressor(ratio=nan)", "not a finite number"),
        ("", "non-empty"),
    ],
)
def test_fx_spec_errors_name_the_value_and_the_choices(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_chain(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reverb(room_size=2)", r"room_size=2.0 is invalid: Room Size value must be between 0.0 and 1.0"),
        ("compressor(ratio=0.5)", r"ratio=0.5 is invalid: .*>= 1"),
        ("ladder(mode=LPF48)", r"mode='LPF48' is invalid; valid: LPF12, HPF12, BPF12, LPF24, HPF24, BPF24"),
        ("gain(gain_db=loud)", r"gain_db='loud' is invalid; it takes a number"),
    ],
)
def test_fx_values_out_of_range_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EffectChain(text)


def test_fx_spec_needs_a_part_and_vst3_paths_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must look like PART=effect"):
        parse_fx("reverb(room_size=0.3)")
    with pytest.raises(FileNotFoundError):
        EffectChain(f"{tmp_path}/Missing.vst3")
    fake = tmp_path / "Fake.vst3"
    fake.write_text("not a plugin")
    with pytest.raises(PluginLoadError, match="cannot be loaded as a VST3 plugin"):
        EffectChain(str(fake))


def test_effect_tails_wrap_round_a_loop() -> None:
    clip = make_clip(bars=1, roles=("melody",))
    dry = render(clip, {"*": ToneInstrument()})
    wet = render(clip, {"*": ToneInstrument()}, {"melody": EffectChain("reverb(room_size=0.9, wet_level=0.6)")})
    assert wet.audio[0].shape == dry.audio[0].shape
    head = slice(0, 2000)  # before the first note (step 1): only what wrapped round
    assert np.abs(wet.audio[0][head]).max() > 2 * np.abs(dry.audio[0][head]).max()
    ok, jump, limit = seam_ok(master(wet.audio[0], SR).audio)
    assert ok, (jump, limit)


# ------------------------------------------------------------------------------ loudness and peaks


def test_k_weighting_matches_the_standard_at_48k() -> None:
    (b1, a1), (b2, a2) = k_weighting_coefficients(48000)
    np.testing.assert_allclose(b1, [1.53512485958697, -2.69169618940638, 1.19839281085285], rtol=1e-10)
    np.testing.assert_allclose(a1, [1.0, -1.69065929318241, 0.73248077421585], rtol=1e-10)
    np.testing.assert_allclose(b2, [1.0, -2.0, 1.0])
    np.testing.assert_allclose(a2, [1.0, -1.99004745483398, 0.99007225036621], rtol=1e-10)


def test_loudness_of_a_1khz_tone_and_against_pyloudnorm() -> None:
    t = np.arange(10 * 48000) / 48000
    tone = 10 ** (-20 / 20) * np.sin(2 * np.pi * 997 * t)  # -20 dBFS sine, both channels
    stereo = np.stack([tone, tone], 1)
    # BS.1770: a 0 dBFS 1 kHz sine in one channel reads -3.01 LUFS, so -20 dBFS in two reads -20.
    assert integrated_loudness(stereo, 48000) == pytest.approx(-20.0, abs=0.05)
    assert integrated_loudness(np.zeros((48000, 2)), 48000) is None
    pyloudnorm = pytest.importorskip("pyloudnorm", reason="pyloudnorm (the eval's meter) is not installed")
    rng = np.random.default_rng(3)
    for sample_rate in (44100, 48000):
        x = rng.standard_normal((sample_rate * 6, 2)) * np.linspace(0.01, 0.3, sample_rate * 6)[:, None]
        ours = integrated_loudness(x, sample_rate)
        theirs = pyloudnorm.Meter(sample_rate).integrated_loudness(x)
        assert ours == pytest.approx(theirs, abs=0.15)


def test_true_peak_sees_between_samples() -> None:
    n = np.arange(4096)
    x = np.sin(2 * np.pi * n / 4 + np.pi / 4)  # fs/4: every sample at +-0.707, the wave peaks at 1
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbtp(x, wrap=True) == pytest.approx(0.0, abs=0.15)


@pytest.mark.parametrize("kind", ["noise", "drums", "quiet_tone", "dc_offset"])
def test_master_hits_the_target_and_never_clips(kind: str) -> None:
    rng = np.random.default_rng(7)
    frames = 4 * SR
    if kind == "noise":
        x = rng.standard_normal((frames, 2)) * 0.05
    elif kind == "drums":  # kicks, snares and hats: peaky, needs the limiter
        x = render(make_clip(bars=2, bpm=85, roles=("drums",)), {"drums": DrumKit(test_voices, "lofi")}).mix()
    elif kind == "quiet_tone":
        t = np.arange(frames) / SR
        x = np.stack([np.sin(2 * np.pi * 110 * t)] * 2, 1) * 0.01
    else:
        x = rng.standard_normal((frames, 2)) * 0.05 + 0.3
    out = master(x, SR, target_lufs=-14.0)
    assert out.lufs == pytest.approx(-14.0, abs=0.1)
    assert integrated_loudness(out.audio, SR) == pytest.approx(-14.0, abs=0.1)
    assert out.true_peak_dbtp <= -1.0 + 1e-6
    assert np.abs(out.audio).max() <= 10 ** (-1 / 20) + 1e-6
    assert np.isfinite(out.audio).all()
    assert np.abs(out.audio.mean(axis=0)).max() < 1e-5
    if kind == "drums":
        assert out.limiter_db < -1.0


def test_master_never_boosts_past_its_gain_limit() -> None:
    t = np.arange(2 * SR) / SR
    whisper = np.stack([np.sin(2 * np.pi * 440 * t)] * 2, 1) * 1e-4  # about -83 LUFS
    out = master(whisper, SR, max_gain_db=40.0)
    assert out.gain_db == 40.0 and out.lufs == pytest.approx(-40.7, abs=0.2)


def test_master_refuses_bad_input_and_passes_silence() -> None:
    with pytest.raises(ValueError, match="NaN"):
        master(np.full((100, 2), np.nan), SR)
    with pytest.raises(ValueError, match="target_lufs"):
        master(np.ones((100, 2)), SR, target_lufs=5)
    silent = master(np.zeros((SR, 2)), SR)
    assert silent.lufs is None and not silent.audio.any()


def test_mastered_stems_add_up_to_the_mastered_mix() -> None:
    clip = make_clip(bars=1)
    stems = render(clip, {"drums": DrumKit(test_voices, "house"), "*": ToneInstrument()})
    mastered = master(stems.mix(), SR)
    total = sum(mastered.apply(a) for a in stems.audio)
    np.testing.assert_allclose(total, mastered.audio, atol=1e-5)


# ------------------------------------------------------------------------------ stretching


def sine(freq: float, seconds: float, sample_rate: int = SR) -> np.ndarray:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return np.stack([0.5 * np.sin(2 * np.pi * freq * t)] * 2, 1).astype(np.float32)


def dominant_hz(audio: np.ndarray, sample_rate: int = SR) -> float:
    x = audio[:, 0] * np.hanning(audio.shape[0])
    spectrum = np.abs(np.fft.rfft(x, n=8 * x.shape[0]))
    return float(np.argmax(spectrum) * sample_rate / (8 * x.shape[0]))


def test_stretch_to_tempo_keeps_pitch_and_gets_the_length_exact() -> None:
    source = sine(220.0, 2.0)
    out = stretch_to_tempo(source, SR, from_bpm=120, to_bpm=100)
    assert out.shape == (round(2 * SR * 120 / 100), 2)
    assert dominant_hz(out[SR // 4 : -SR // 4]) == pytest.approx(220.0, rel=0.01)
    faster = stretch_to_tempo(source, SR, from_bpm=100, to_bpm=133.3, semitones=-12)
    assert faster.shape[0] == round(2 * SR * 100 / 133.3)
    assert dominant_hz(faster[SR // 8 : -SR // 8]) == pytest.approx(110.0, rel=0.01)
    with pytest.raises(ValueError, match="limit is 4x"):
        stretch_to_tempo(source, SR, from_bpm=40, to_bpm=200)


def test_pitch_shift_keeps_the_length() -> None:
    out = pitch_shift(sine(220.0, 1.0), SR, 7)
    assert out.shape == (SR, 2)
    assert dominant_hz(out[SR // 8 : -SR // 8]) == pytest.approx(220.0 * 2 ** (7 / 12), rel=0.01)
    with pytest.raises(ValueError, match="semitones"):
        pitch_shift(sine(220.0, 1.0), SR, 30)


def test_stretch_loop_gives_the_new_loop_length() -> None:
    clip = make_clip(bars=1, bpm=120, roles=("bass", "melody"))
    loop = master(render(clip, {"*": ToneInstrument()}).mix(), SR).audio
    out = stretch_loop(loop, SR, bars=1, meter=(4, 4), from_bpm=120, to_bpm=90, semitones=2)
    assert out.shape == (loop_length_samples(1, (4, 4), 90, SR), 2)
    assert np.isfinite(out).all()
    ok, jump, limit = seam_ok(out)
    assert ok, (jump, limit)


def test_key_shift_is_the_nearest_move() -> None:
    assert key_shift_semitones("A minor", "C major") == 3
    assert key_shift_semitones("C", "B") == -1
    assert key_shift_semitones("F# minor", "C minor") == 6 or key_shift_semitones("F# minor", "C minor") == -6
    assert key_shift_semitones((0, "major"), "G") == -5
    with pytest.raises(ValueError, match="key"):
        key_shift_semitones("C", "H major")


# ------------------------------------------------------------------------------ WAV files


@pytest.mark.parametrize("bit_depth", [16, 24, 32])
def test_wav_round_trip_with_acid_and_smpl(tmp_path: Path, bit_depth: int) -> None:
    audio = (np.random.default_rng(1).uniform(-0.9, 0.9, (12345, 2))).astype(np.float32)
    path = write_wav(tmp_path / "loop.wav", audio, 48000, bit_depth=bit_depth,
                     loop=LoopInfo(bpm=137.5, beats=14, meter=(7, 8), root_note=61))  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop.wav"]  # no temporary left
    back = read_wav(path)
    assert back.sample_rate == 48000 and back.bit_depth == bit_depth and back.samples.shape == (12345, 2)
    np.testing.assert_allclose(back.samples, audio, atol=2.0 ** -(bit_depth - 1) if bit_depth < 32 else 0)
    assert back.acid is not None and back.smpl is not None
    assert (back.acid.bpm, back.acid.beats, back.acid.meter, back.acid.root_note) == (137.5, 14, (7, 8), 61)
    assert not back.acid.one_shot
    assert back.smpl.loops == ((0, 12344),) and back.smpl.unity_note == 61
    assert back.smpl.sample_period_ns == round(1e9 / 48000)


def test_wav_with_metadata_stays_readable_by_other_readers(tmp_path: Path) -> None:
    from pedalboard.io import AudioFile

    audio = sine(440.0, 0.5)
    path = write_wav(tmp_path / "a.wav", audio, SR, loop=LoopInfo(120.0, 4))
    with AudioFile(str(path)) as f:
        assert (f.samplerate, f.num_channels, f.frames) == (SR, 2, audio.shape[0])
        np.testing.assert_allclose(f.read(f.frames).T, audio, atol=2.0**-23)
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (SR, 2, 3, audio.shape[0])


def test_wav_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NaN"):
        write_wav(tmp_path / "x.wav", np.full((4, 2), np.nan), SR)
    with pytest.raises(ValueError, match="bit_depth"):
        write_wav(tmp_path / "x.wav", np.zeros((4, 2)), SR, bit_depth=12)
    assert not list(tmp_path.iterdir())
