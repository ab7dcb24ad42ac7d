"""Post-processing, windowing and MIDI writing of the transcription package (no model needed)."""

from __future__ import annotations

import io

import mido
import numpy as np
import pytest

from promptdaw.runtime.transcription import (
    AUDIO_SAMPLE_RATE,
    MIDI_OFFSET,
    N_PITCH_BINS,
    WINDOW_FRAMES,
    WINDOW_SAMPLES,
    NoteEvent,
    count_windows,
    frames_to_seconds,
    iter_window_batches,
    n_output_frames,
    notes_to_midi,
    posteriorgrams_to_notes,
    transcribe,
    unwrap,
)
from promptdaw.runtime.transcription.constants import (
    DEFAULT_GHOST_END_SLACK_S,
    DEFAULT_GHOST_ONSET_TOLERANCE_S,
    DEFAULT_GHOST_STRENGTH_RATIO,
    FFT_HOP,
    HALF_OVERLAP_SAMPLES,
    KEPT_FRAMES_PER_WINDOW,
    WINDOW_HOP_SAMPLES,
)
from promptdaw.runtime.transcription.notes import find_harmonic_ghosts, harmonic_intervals

N_FRAMES = 400
BACKGROUND = 0.05  # realistic non-zero floor of both posteriorgrams


def blank() -> tuple[np.ndarray, np.ndarray]:
    """Empty note and onset posteriorgrams of N_FRAMES frames."""
    shape = (N_FRAMES, N_PITCH_BINS)
    return np.full(shape, BACKGROUND, np.float32), np.full(shape, BACKGROUND, np.float32)


def put_note(
    note: np.ndarray,
    onset: np.ndarray | None,
    pitch: int,
    start: int,
    end: int,
    level: float = 0.8,
    onset_level: float = 0.9,
) -> None:
    """Write a sustained note (frames [start, end)) and optionally its onset peak."""
    note[start:end, pitch - MIDI_OFFSET] = level
    if onset is not None:
        onset[start, pitch - MIDI_OFFSET] = onset_level


def t(frame: int) -> float:
    return float(frames_to_seconds(frame))


# --- Frame timing -----------------------------------------------------------------------------


def test_frames_to_seconds_follows_windows_not_nominal_hop() -> None:
    # Inside the first window frames are one hop apart ...
    assert t(1) == pytest.approx(FFT_HOP / AUDIO_SAMPLE_RATE)
    assert t(KEPT_FRAMES_PER_WINDOW - 1) == pytest.approx(141 * FFT_HOP / AUDIO_SAMPLE_RATE)
    # ... but the next window starts one window hop (36,164 samples) later, not 142 hops.
    assert t(KEPT_FRAMES_PER_WINDOW) == pytest.approx(WINDOW_HOP_SAMPLES / AUDIO_SAMPLE_RATE)
    times = frames_to_seconds(np.arange(5000))
    assert np.all(np.diff(times) > 0)
    # At ~60 s the nominal-hop time would be ~0.3 s late.
    i = 5000
    assert i * FFT_HOP / AUDIO_SAMPLE_RATE - t(i) == pytest.approx(
        (i // KEPT_FRAMES_PER_WINDOW) * 188 / AUDIO_SAMPLE_RATE
    )


# --- Note creation ----------------------------------------------------------------------------


def test_single_note_pitch_times_velocity() -> None:
    note, onset = blank()
    put_note(note, onset, pitch=60, start=50, end=80, level=0.8)
    events = posteriorgrams_to_notes(note, onset)
    assert events == [NoteEvent(start_s=t(50), end_s=t(80), pitch=60, velocity=round(127 * 0.8))]


def test_velocity_is_clamped_to_midi_range() -> None:
    note, onset = blank()
    put_note(note, onset, pitch=70, start=10, end=40, level=1.0)
    assert posteriorgrams_to_notes(note, onset)[0].velocity == 127
    note, onset = np.zeros((N_FRAMES, N_PITCH_BINS), np.float32), blank()[1]
    put_note(note, onset, pitch=70, start=10, end=40, level=0.003)
    events = posteriorgrams_to_notes(note, onset, frame_threshold=0.001)
    assert [e.velocity for e in events] == [1]


def test_note_must_be_longer_than_minimum() -> None:
    # 127.7 ms is 11 frames: a 11-frame note is dropped, a 12-frame note kept.
    note, onset = blank()
    put_note(note, onset, pitch=50, start=20, end=31)
    put_note(note, onset, pitch=70, start=20, end=32)
    events = posteriorgrams_to_notes(note, onset)
    assert [(e.pitch, e.start_s, e.end_s) for e in events] == [(70, t(20), t(32))]
    assert posteriorgrams_to_notes(note, onset, min_note_ms=50.0)[0].pitch == 50


def test_two_overlapping_notes_sorted_by_start_then_pitch() -> None:
    note, onset = blank()
    put_note(note, onset, pitch=64, start=100, end=160, level=0.7)
    put_note(note, onset, pitch=48, start=100, end=130, level=0.6)
    put_note(note, onset, pitch=55, start=120, end=200, level=0.9)
    events = posteriorgrams_to_notes(note, onset)
    assert [(e.pitch, e.start_s, e.end_s) for e in events] == [
        (48, t(100), t(130)),
        (64, t(100), t(160)),
        (55, t(120), t(200)),
    ]
    assert [e.velocity for e in events] == [round(127 * v) for v in (0.6, 0.7, 0.9)]


def test_reattacked_note_splits_at_second_onset() -> None:
    note, onset = blank()
    put_note(note, onset, pitch=62, start=100, end=160)
    onset[130, 62 - MIDI_OFFSET] = 0.9
    events = posteriorgrams_to_notes(note, onset)
    assert [(e.start_s, e.end_s) for e in events] == [(t(100), t(130)), (t(130), t(160))]


def test_short_dip_is_bridged_long_gap_is_not() -> None:
    note, onset = blank()
    put_note(note, onset, pitch=60, start=50, end=120)
    note[80:90, 60 - MIDI_OFFSET] = BACKGROUND  # 10-frame dip: tolerated
    put_note(note, onset, pitch=72, start=50, end=80)
    put_note(note, None, pitch=72, start=100, end=140)  # after a 20-frame gap, no onset
    events = posteriorgrams_to_notes(note, onset, recover_unonseted=False, infer_onsets=False)
    assert [(e.pitch, e.start_s, e.end_s) for e in events] == [
        (60, t(50), t(120)),
        (72, t(50), t(80)),
    ]


def test_energy_without_onset_is_recovered_only_when_asked() -> None:
    note, onset = blank()
    put_note(note, onset, pitch=67, start=20, end=60)  # gives the onset map a 0.9 peak
    put_note(note, None, pitch=40, start=200, end=240, level=0.6)
    plain = posteriorgrams_to_notes(note, onset, infer_onsets=False, recover_unonseted=False)
    assert [e.pitch for e in plain] == [67]
    recovered = posteriorgrams_to_notes(note, onset, infer_onsets=False, recover_unonseted=True)
    assert [(e.pitch, e.start_s, e.end_s) for e in recovered] == [
        (67, t(20), t(60)),
        (40, t(200), t(240)),
    ]


def test_recovery_walks_both_ways_from_the_maximum() -> None:
    note, onset = blank()
    row = note[:, 45 - MIDI_OFFSET]
    row[100:150] = np.concatenate([np.linspace(0.35, 0.9, 25), np.linspace(0.9, 0.35, 25)])
    events = posteriorgrams_to_notes(note, onset, infer_onsets=False)
    assert [(e.pitch, e.start_s, e.end_s) for e in events] == [(45, t(100), t(150))]


def test_inferred_onsets_come_from_frame_rises() -> None:
    note, onset = blank()
    put_note(note, onset, pitch=67, start=20, end=60)
    put_note(note, None, pitch=40, start=200, end=240, level=0.9)  # sharp rise, no onset
    events = posteriorgrams_to_notes(note, onset, infer_onsets=True, recover_unonseted=False)
    assert [(e.pitch, e.start_s) for e in events] == [(67, t(20)), (40, t(200))]


def test_thresholds_are_respected() -> None:
    note, onset = blank()
    put_note(note, onset, pitch=60, start=50, end=90, level=0.35, onset_level=0.45)
    kwargs = {"infer_onsets": False, "recover_unonseted": False}
    assert posteriorgrams_to_notes(note, onset, **kwargs) == []  # onset 0.45 < 0.5
    assert len(posteriorgrams_to_notes(note, onset, onset_threshold=0.4, **kwargs)) == 1
    # Frames at 0.35 cannot sustain a note when the frame threshold is above them.
    assert posteriorgrams_to_notes(note, onset, onset_threshold=0.4, frame_threshold=0.4) == []


def test_neighbouring_semitone_energy_is_consumed() -> None:
    note, onset = blank()
    put_note(note, onset, pitch=60, start=50, end=100, level=0.9)
    note[50:100, 61 - MIDI_OFFSET] = 0.4  # leakage into the next bin, no onset
    events = posteriorgrams_to_notes(note, onset)
    assert [e.pitch for e in events] == [60]


def test_empty_and_invalid_posteriorgrams() -> None:
    note, onset = blank()
    assert posteriorgrams_to_notes(note, onset) == []
    assert posteriorgrams_to_notes(note[:0], onset[:0]) == []
    with pytest.raises(ValueError, match="equal shapes"):
        posteriorgrams_to_notes(note, onset[:-1])
    with pytest.raises(ValueError, match="onset_threshold"):
        posteriorgrams_to_notes(note, onset, onset_threshold=1.5)


# --- Harmonic ghosts ---------------------------------------------------------------------------


def test_harmonic_intervals() -> None:
    assert harmonic_intervals(8).tolist() == [12, 19, 24, 28, 31, 34, 36]
    assert harmonic_intervals(2).tolist() == [12]
    assert harmonic_intervals(1).tolist() == []


def ghosts(notes: list[NoteEvent], strengths: list[float] | None = None, **kwargs) -> list[int]:
    """Pitches of the notes flagged as harmonic ghosts."""
    return [n.pitch for n, g in zip(notes, find_harmonic_ghosts(notes, strengths, **kwargs), strict=True) if g]


def test_weak_notes_at_harmonic_intervals_above_a_strong_note_are_ghosts() -> None:
    notes = [
        NoteEvent(1.0, 2.0, 48, 100),  # C3, the fundamental
        NoteEvent(1.0, 1.6, 60, 45),  # 2nd harmonic, +12
        NoteEvent(1.01, 1.5, 67, 45),  # 3rd, +19
        NoteEvent(0.99, 1.4, 72, 40),  # 4th, +24
        NoteEvent(1.0, 1.3, 76, 35),  # 5th, +28
        NoteEvent(1.0, 1.3, 84, 35),  # 8th, +36
        NoteEvent(1.0, 1.6, 64, 45),  # +16: not a harmonic, a real note of a chord
        NoteEvent(1.0, 1.6, 36, 45),  # below the loud note: never its harmonic
        NoteEvent(1.0, 1.6, 86, 35),  # +38 (9th harmonic) is beyond the default 8th
    ]
    assert ghosts(notes) == [60, 67, 72, 76, 84]
    assert ghosts(notes, max_harmonic=9) == [60, 67, 72, 76, 84, 86]
    # The answer does not depend on the order of the input.
    assert sorted(ghosts(notes[::-1])) == [60, 67, 72, 76, 84]


def test_octave_doubling_at_similar_loudness_is_kept() -> None:
    doubled = [NoteEvent(1.0, 2.0, 48, 100), NoteEvent(1.0, 2.0, 60, 85), NoteEvent(1.0, 2.0, 67, 80)]
    assert ghosts(doubled) == []
    assert ghosts(doubled, [0.9, 0.85, 0.9]) == []
    # The limit is a strength ratio: just under it is a ghost, at it is not.
    ratio = DEFAULT_GHOST_STRENGTH_RATIO
    assert ghosts([NoteEvent(1.0, 2.0, 48, 100), NoteEvent(1.0, 2.0, 60, round(100 * ratio) - 1)]) == [60]
    assert ghosts([NoteEvent(1.0, 2.0, 48, 100), NoteEvent(1.0, 2.0, 60, round(100 * ratio))]) == []


def test_onset_strength_weighs_in() -> None:
    notes = [NoteEvent(1.0, 2.0, 48, 100), NoteEvent(1.0, 1.8, 60, 70)]
    assert ghosts(notes) == []  # by velocity alone 0.7 of the lower note: a doubling
    assert ghosts(notes, [0.9, 0.9]) == []
    # The model barely saw an attack of the upper note: 70 * 0.5 is under half of 100 * 0.9.
    assert ghosts(notes, [0.9, 0.5]) == [60]
    with pytest.raises(ValueError, match="onset strengths"):
        find_harmonic_ghosts(notes, [0.9])


def test_ghost_must_start_with_and_end_within_its_fundamental() -> None:
    tolerance, slack = DEFAULT_GHOST_ONSET_TOLERANCE_S, DEFAULT_GHOST_END_SLACK_S
    low = NoteEvent(1.0, 2.0, 48, 100)
    # Onsets apart by more than the tolerance: a quiet melody note entering over a held bass.
    assert ghosts([low, NoteEvent(1.0 + tolerance + 0.01, 1.9, 60, 40)]) == []
    assert ghosts([low, NoteEvent(1.0 + tolerance - 0.01, 1.9, 60, 40)]) == [60]
    assert ghosts([low, NoteEvent(1.0 - tolerance + 0.01, 1.9, 60, 40)]) == [60]
    # A partial cannot outlast its fundamental: a quiet note held on after it is real.
    assert ghosts([low, NoteEvent(1.0, 2.0 + slack + 0.05, 60, 40)]) == []
    assert ghosts([low, NoteEvent(1.0, 2.0 + slack - 0.05, 60, 40)]) == [60]
    # Simultaneous onsets but no overlap at all (hand-written edge case).
    assert ghosts([NoteEvent(1.0, 1.0, 48, 100), NoteEvent(1.0, 1.5, 60, 40)]) == []


def test_ghost_search_spans_many_notes_and_chords() -> None:
    # Two-second bars, each a C major chord whose C3 echoes at C4; far-apart bars never interact.
    notes: list[NoteEvent] = []
    for bar in range(50):
        t0 = 2.0 * bar
        notes += [NoteEvent(t0, t0 + 1.5, p, 100) for p in (48, 52, 55)]
        notes.append(NoteEvent(t0 + 0.02, t0 + 1.0, 60, 40))
        notes.append(NoteEvent(t0 + 1.0, t0 + 1.9, 72, 45))  # late entry over the chord: real
    flags = find_harmonic_ghosts(notes)
    assert flags.shape == (len(notes),) and flags.dtype == bool
    assert [n.pitch for n, g in zip(notes, flags.tolist(), strict=True) if g] == [60] * 50
    assert find_harmonic_ghosts([]).shape == (0,)


def test_posteriorgram_ghost_is_dropped_doubling_kept() -> None:
    note, onset = blank()
    put_note(note, onset, pitch=48, start=50, end=120, level=0.8, onset_level=0.9)
    put_note(note, onset, pitch=60, start=50, end=90, level=0.4, onset_level=0.55)  # echo of C3
    put_note(note, onset, pitch=52, start=200, end=260, level=0.8, onset_level=0.9)
    put_note(note, onset, pitch=64, start=200, end=260, level=0.75, onset_level=0.85)  # doubling
    events = posteriorgrams_to_notes(note, onset)
    assert [(e.pitch, e.start_s) for e in events] == [(48, t(50)), (52, t(200)), (64, t(200))]
    unfiltered = posteriorgrams_to_notes(note, onset, suppress_harmonics=False)
    assert [e.pitch for e in unfiltered] == [48, 60, 52, 64]


# --- Windowing --------------------------------------------------------------------------------


@pytest.mark.parametrize("n_samples", [1, 255, 256, 22050, 36163, 36164, 36165, 43844, 100_000, 22050 * 61 + 17])
def test_windowing_round_trip(n_samples: int) -> None:
    # Sample value = 1 + sample index, so padding (0) is distinguishable and every frame can be
    # traced back to the original sample at its centre.
    audio = np.arange(1, n_samples + 1, dtype=np.float32)
    batches = list(iter_window_batches(audio, batch_size=3))
    windows = np.concatenate(batches)
    assert windows.dtype == np.float32
    assert windows.shape == (count_windows(n_samples), WINDOW_SAMPLES, 1)
    assert all(1 <= b.shape[0] <= 3 for b in batches)

    # A stand-in "model": frame j of a window reports the sample at its centre (j * hop).
    centres = windows[:, np.arange(WINDOW_FRAMES) * FFT_HOP, 0]
    frames = unwrap(centres[:, :, None], n_samples)[:, 0]
    assert frames.shape == (n_output_frames(n_samples),)
    positions = frames.astype(np.int64) - 1  # back to 0-based sample indices
    # Monotone, gap-free coverage from sample 0 up to the end of the audio ...
    assert np.all(np.diff(positions) > 0)
    assert np.all(np.diff(positions) <= FFT_HOP)
    np.testing.assert_array_equal(positions, frame_positions(len(positions)))
    if len(positions):
        assert positions[0] == 0
        assert positions[-1] + FFT_HOP <= n_samples
    # ... and exactly as many frames as fit: the next frame's hop would cross the end.
    assert int(frame_positions(len(positions) + 1)[-1]) + FFT_HOP > n_samples


def frame_positions(n: int) -> np.ndarray:
    return np.rint(frames_to_seconds(np.arange(n)) * AUDIO_SAMPLE_RATE).astype(np.int64)


def test_window_geometry() -> None:
    assert WINDOW_SAMPLES == 43844 and WINDOW_FRAMES == 172
    assert count_windows(0) == 0
    assert count_windows(1) == 1
    assert count_windows(WINDOW_HOP_SAMPLES - HALF_OVERLAP_SAMPLES) == 1
    assert count_windows(WINDOW_HOP_SAMPLES - HALF_OVERLAP_SAMPLES + 1) == 2
    # Short audio keeps the nominal frame count; long audio gains the drift frames.
    assert n_output_frames(30_000) == 30_000 // FFT_HOP
    assert n_output_frames(22050 * 60) > 22050 * 60 // FFT_HOP


def test_unwrap_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="shape"):
        unwrap(np.zeros((2, 171, 88), np.float32), 1000)
    with pytest.raises(ValueError, match="windows"):
        unwrap(np.zeros((1, WINDOW_FRAMES, 88), np.float32), 100_000)


def test_window_batches_are_built_lazily() -> None:
    audio = np.zeros(22050 * 600, np.float32)  # 10 minutes
    batches = iter_window_batches(audio, batch_size=4)
    first = next(batches)
    assert first.shape == (4, WINDOW_SAMPLES, 1)
    assert first.nbytes < 1_000_000  # one batch, not the whole padded signal


# --- transcribe() with a stand-in model ----------------------------------------------------------


def gate_model(pitch: int = 60):
    """A fake model: the note is 'on' wherever the window's sample at the frame centre is > 0."""

    def run_model(batch: np.ndarray) -> dict[str, np.ndarray]:
        gate = batch[:, np.arange(WINDOW_FRAMES) * FFT_HOP, 0] > 0
        note = np.full((batch.shape[0], WINDOW_FRAMES, N_PITCH_BINS), BACKGROUND, np.float32)
        onset = note.copy()
        note[:, :, pitch - MIDI_OFFSET] = np.where(gate, 0.8, BACKGROUND)
        rises = gate[:, 1:] & ~gate[:, :-1]
        onset[:, 1:, pitch - MIDI_OFFSET] = np.where(rises, 0.9, BACKGROUND)
        contour = np.zeros((batch.shape[0], WINDOW_FRAMES, 3 * N_PITCH_BINS), np.float32)
        return {"note": note, "onset": onset, "contour": contour}

    return run_model


@pytest.mark.parametrize("start_s", [1.0, 30.3, 61.7])
def test_transcribe_end_to_end_timing_with_fake_model(start_s: float) -> None:
    audio = np.zeros(int(AUDIO_SAMPLE_RATE * 64), np.float32)
    first = int(start_s * AUDIO_SAMPLE_RATE)
    audio[first : first + AUDIO_SAMPLE_RATE // 2] = 0.5
    fractions: list[float] = []
    events = transcribe(audio, gate_model(), batch_size=5, progress=fractions.append)
    assert len(events) == 1
    assert events[0].pitch == 60
    # The gate is sampled at frame centres, so the onset is quantised to one hop.
    assert abs(events[0].start_s - start_s) <= FFT_HOP / AUDIO_SAMPLE_RATE
    assert abs(events[0].end_s - (start_s + 0.5)) <= FFT_HOP / AUDIO_SAMPLE_RATE
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(fractions) == -(-count_windows(len(audio)) // 5)


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (np.zeros((2, 1000), np.float32), "1-D"),
        (np.zeros(0, np.float32), "empty"),
        (np.array([0.0, np.nan, 0.0], np.float32), "NaN"),
        (np.array([0.0, np.inf], np.float32), "infinite"),
    ],
)
def test_transcribe_rejects_bad_audio(audio: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        transcribe(audio, gate_model())


def test_transcribe_progress_exception_propagates() -> None:
    class Cancelled(Exception):
        pass

    calls: list[float] = []

    def progress(fraction: float) -> None:
        calls.append(fraction)
        raise Cancelled

    with pytest.raises(Cancelled):
        transcribe(np.zeros(22050 * 20, np.float32), gate_model(), batch_size=2, progress=progress)
    assert len(calls) == 1


def test_transcribe_reports_bad_model_outputs() -> None:
    def no_onset(batch: np.ndarray) -> dict[str, np.ndarray]:
        return {"note": gate_model()(batch)["note"]}

    with pytest.raises(ValueError, match="onset"):
        transcribe(np.zeros(1000, np.float32), no_onset)


# --- MIDI -------------------------------------------------------------------------------------


def test_notes_to_midi_round_trip() -> None:
    notes = [
        NoteEvent(0.5, 1.0, 60, 100),
        NoteEvent(0.5, 0.75, 64, 80),
        NoteEvent(1.0, 1.5, 60, 90),  # repeated pitch starting exactly at the previous end
    ]
    data = notes_to_midi(notes, tempo_bpm=100.0, program=33, track_name="bass")
    midi = mido.MidiFile(file=io.BytesIO(data))
    assert midi.type == 1 and midi.ticks_per_beat == 480
    tempos = [m.tempo for tr in midi.tracks for m in tr if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(100.0)]
    names = [m.name for tr in midi.tracks for m in tr if m.type == "track_name"]
    assert names == ["bass"]
    programs = [m.program for tr in midi.tracks for m in tr if m.type == "program_change"]
    assert programs == [33]

    now = 0.0
    sounding: dict[int, tuple[float, int]] = {}
    decoded: list[tuple[float, float, int, int]] = []
    for message in midi:  # merged tracks, times in seconds
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            sounding[message.note] = (now, message.velocity)
        elif message.type in ("note_off", "note_on"):
            start, velocity = sounding.pop(message.note)
            decoded.append((start, now, message.note, velocity))
    decoded.sort()
    expected = sorted((n.start_s, n.end_s, n.pitch, n.velocity) for n in notes)
    assert len(decoded) == len(expected)
    for got, want in zip(decoded, expected, strict=True):
        assert got[2:] == want[2:]
        assert got[0] == pytest.approx(want[0], abs=0.002)
        assert got[1] == pytest.approx(want[1], abs=0.002)


def test_notes_to_midi_validates() -> None:
    with pytest.raises(ValueError, match="tempo"):
        notes_to_midi([], tempo_bpm=0)
    with pytest.raises(ValueError, match="program"):
        notes_to_midi([], program=128)
    with pytest.raises(ValueError, match="pitch"):
        notes_to_midi([NoteEvent(0.0, 1.0, 128, 100)])
    assert mido.MidiFile(file=io.BytesIO(notes_to_midi([]))).tracks
