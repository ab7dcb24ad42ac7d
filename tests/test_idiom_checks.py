"""The idiom checks (training/text2midi/idiom_checks.py) on hand-written MIDI: every check passes
on a clip that has the idiom and fails on one that lacks it."""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Sequence
from pathlib import Path

import mido
import pytest

from training.text2midi.idiom_checks import CHECKS, drum_pattern, judge, read_clip, recognise_roles

TPB = 480
KICK, SNARE, CLAP, CHH, OHH, RIDE = 36, 38, 39, 42, 46, 51
DRUMS = 9
NoteSpec = tuple[float, float, int, int]  # (start beat, length in beats, pitch, velocity)


def smf(*tracks: tuple[int, Sequence[NoteSpec]], meter: tuple[int, int] = (4, 4)) -> bytes:
    """A type-1 file: a conductor track, then one track per (channel, notes)."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TPB)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120)))
    conductor.append(mido.MetaMessage("time_signature", numerator=meter[0], denominator=meter[1]))
    midi.tracks.append(conductor)
    for channel, notes in tracks:
        events = []
        for start, length, pitch, velocity in notes:
            on, off = round(start * TPB), round((start + length) * TPB)
            events.append((on, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)))
            events.append((off, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
        events.sort(key=lambda e: (e[0], e[1], e[2].note))
        track, tick = mido.MidiTrack(), 0
        for at, _, message in events:
            track.append(message.copy(time=at - tick))
            tick = at
        midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def bars(pattern: Sequence[NoteSpec], count: int, bar: float = 4) -> list[NoteSpec]:
    """``pattern`` (one bar) repeated ``count`` times."""
    return [
        (start + i * bar, length, pitch, velocity) for i in range(count) for start, length, pitch, velocity in pattern
    ]


def at_bar(pattern: Sequence[NoteSpec], index: int, bar: float = 4) -> list[NoteSpec]:
    """One bar's ``pattern`` placed in bar ``index`` (0-based)."""
    return [(start + index * bar, length, pitch, velocity) for start, length, pitch, velocity in pattern]


def hits(pitch: int, beats: Sequence[float], velocity: int = 100) -> list[NoteSpec]:
    return [(b, 0.1, pitch, velocity) for b in beats]


EIGHTHS = [k / 2 for k in range(8)]
SIXTEENTHS = [k / 4 for k in range(16)]
HOUSE_BAR = hits(KICK, [0, 1, 2, 3]) + hits(CLAP, [1, 3]) + hits(CHH, [0.5, 1.5, 2.5, 3.5])
TRAP_BAR = hits(KICK, [0, 1.75, 2.5]) + hits(SNARE, [2]) + hits(CHH, EIGHTHS)
DISCO_BAR = hits(KICK, [0, 1, 2, 3]) + hits(SNARE, [1, 3]) + hits(OHH, [0.5, 1.5, 2.5, 3.5]) + hits(CHH, [0, 1, 2, 3])


def check(data: bytes, name: str, **arguments) -> tuple[bool, str]:
    return judge(data, {name: arguments})[name]


def passes(data: bytes, name: str, **arguments) -> bool:
    return check(data, name, **arguments)[0]


# ---------------------------------------------------------------------- reading and roles


def test_read_clip_notes_in_beats_bar_length_and_bar_count():
    clip = read_clip(smf((0, [(0, 1, 60, 90), (4.5, 1.5, 62, 80)]), meter=(3, 4)))
    assert clip.bar == 3.0 and clip.bars == 2  # notes reach beat 6 = the end of bar 2
    (track,) = clip.tracks
    assert [(n.start, n.duration, n.pitch, n.velocity, n.channel) for n in track] == [
        (0, 1, 60, 90, 0),
        (4.5, 1.5, 62, 80, 0),
    ]
    assert read_clip(smf((0, [(0, 1, 60, 90)]), meter=(6, 8))).bar == 3.0
    # A note that only overhangs the bar line a hair does not open another bar.
    assert read_clip(smf((0, [(0, 4.02, 60, 90)]))).bars == 1


def test_read_clip_retrigger_ends_the_sounding_note_and_open_notes_end_with_the_track():
    midi = mido.MidiFile(type=1, ticks_per_beat=TPB)
    midi.tracks.append(
        mido.MidiTrack(
            [
                mido.Message("note_on", channel=DRUMS, note=CHH, velocity=90, time=0),
                mido.Message("note_on", channel=DRUMS, note=CHH, velocity=70, time=TPB // 2),
                mido.Message("note_off", channel=DRUMS, note=CHH, velocity=0, time=TPB // 2),
                mido.Message("note_on", channel=DRUMS, note=KICK, velocity=100, time=TPB),
                mido.MetaMessage("end_of_track", time=2 * TPB),
            ]
        )
    )
    buffer = io.BytesIO()
    midi.save(file=buffer)
    (track,) = read_clip(buffer.getvalue()).tracks
    assert [(n.start, n.duration, n.pitch, n.velocity) for n in track] == [
        (0, 0.5, CHH, 90),
        (0.5, 0.5, CHH, 70),
        (2, 2, KICK, 100),
    ]


def test_roles_come_from_the_notes_not_from_names():
    drums = (DRUMS, bars(HOUSE_BAR, 2))
    bass = (1, bars([(0, 1, 36, 100), (1.5, 0.5, 43, 100), (3, 1, 41, 100)], 2))
    pad = (2, bars([(0, 4, p, 80) for p in (60, 64, 67)], 2))
    lead = (3, bars([(k, 1, 72 + k, 90) for k in range(4)], 2))
    roles = recognise_roles(read_clip(smf(drums, bass, pad, lead)))
    assert len(roles.drums) == len(HOUSE_BAR) * 2 and all(n.channel == DRUMS for n in roles.drums)
    assert [t[0].pitch for t in roles.bass] == [36]
    assert [t[0].pitch for t in roles.polyphonic] == [60]
    assert [t[0].pitch for t in roles.monophonic] == [72]
    # A low track striking triads is not a bass (it fails the single-note share): it is polyphonic.
    low_chords = recognise_roles(read_clip(smf((1, [(0, 4, p, 80) for p in (36, 40, 43)]))))
    assert not low_chords.bass and len(low_chords.polyphonic) == 1


def test_judge_answers_every_requested_check_with_a_reason():
    every = {name: {} for name in CHECKS} | {"backbeat": {"beats": [1, 3]}, "hat_density": {"min": 8}}
    results = judge(smf((DRUMS, bars(HOUSE_BAR, 4))), every)
    assert list(results) == list(every)
    assert all(isinstance(ok, bool) and isinstance(detail, str) and detail for ok, detail in results.values())
    assert results["pad_sustain"] == (False, "no polyphonic track")
    assert results["bass_walking"] == (False, "no bass")
    assert results["melody_motif"] == (False, "no melody")
    with pytest.raises(KeyError):
        judge(smf((DRUMS, HOUSE_BAR)), {"cowbell_more": {}})


def test_drum_checks_fail_without_drums():
    pad = smf((0, bars([(0, 4, p, 80) for p in (60, 64, 67)], 4)))
    for name in ("kick_downbeat", "four_on_floor", "groove_repeat", "drum_dynamics", "hat_rolls", "offbeat_open_hat"):
        assert check(pad, name) == (False, "no drums")
    assert check(pad, "backbeat", beats=[1, 3]) == (False, "no drums")


def test_drum_pattern_is_the_16th_grid_set_of_position_and_drum_class():
    assert drum_pattern(read_clip(smf((DRUMS, hits(KICK, [0, 4]) + hits(CLAP, [1]) + hits(RIDE, [0.5]))))) == {
        (0, 0),
        (16, 0),
        (4, 1),
        (2, 3),
    }


# ---------------------------------------------------------------------- drums


def test_house_groove_passes_kick_backbeat_and_repeat_checks():
    house = smf((DRUMS, bars(HOUSE_BAR, 4)))
    assert passes(house, "four_on_floor")
    assert passes(house, "kick_downbeat")
    assert passes(house, "backbeat", beats=[1, 3])
    assert passes(house, "groove_repeat")
    assert check(house, "backbeat", beats=[1, 3])[1] == "snare at beats [1, 3] in 1.00 of bars (need 0.75)"


def test_trap_half_time_snare_on_three():
    trap = smf((DRUMS, bars(TRAP_BAR, 4)))
    assert passes(trap, "backbeat", beats=[2])
    assert not passes(trap, "backbeat", beats=[1, 3])
    assert not passes(trap, "four_on_floor")
    assert passes(trap, "kick_downbeat")


def test_kick_downbeat_needs_three_bars_in_four():
    late = bars(hits(KICK, [1, 3]) + hits(SNARE, [2]), 4)
    assert check(smf((DRUMS, late)), "kick_downbeat") == (False, "kick on the downbeat in 0.00 of bars")
    two_of_four = bars(HOUSE_BAR, 2) + hits(KICK, [9.5, 13.5])
    ok, detail = check(smf((DRUMS, two_of_four)), "kick_downbeat")
    assert not ok and detail == "kick on the downbeat in 0.50 of bars"


def test_positions_allow_a_little_timing_slop():
    loose = [(start + 0.1, length, pitch, velocity) for start, length, pitch, velocity in bars(HOUSE_BAR, 2)]
    assert passes(smf((DRUMS, loose)), "four_on_floor")
    sloppy = [(start + 0.2, length, pitch, velocity) for start, length, pitch, velocity in bars(HOUSE_BAR, 2)]
    assert not passes(smf((DRUMS, sloppy)), "four_on_floor")


def test_four_on_floor_needs_nine_bars_in_ten():
    drums = bars(HOUSE_BAR, 9) + hits(KICK, [36, 38])  # bar 10 misses beats 2 and 4
    assert check(smf((DRUMS, drums)), "four_on_floor") == (True, "kick on every beat in 0.90 of bars")
    drums = bars(HOUSE_BAR, 8) + hits(KICK, [32, 34, 36, 38])
    assert not passes(smf((DRUMS, drums)), "four_on_floor")


def test_backbeat_share_argument():
    dembow = hits(KICK, [0, 1, 2, 3]) + hits(SNARE, [0.75, 1.5, 2.75, 3.5])
    clip = smf((DRUMS, bars(dembow, 2) + at_bar(HOUSE_BAR, 2) + at_bar(HOUSE_BAR, 3)))
    assert passes(clip, "backbeat", beats=[0.75, 1.5, 2.75, 3.5], share=0.5)
    assert not passes(clip, "backbeat", beats=[0.75, 1.5, 2.75, 3.5])


def test_hat_density():
    sixteenths = smf((DRUMS, bars(hits(KICK, [0]) + hits(CHH, SIXTEENTHS), 2)))
    assert check(sixteenths, "hat_density", min=8) == (True, "16.0 hats per bar (need 8)")
    assert not passes(smf((DRUMS, bars(HOUSE_BAR, 2))), "hat_density", min=8)  # 4 hats per bar


def test_hat_rolls_at_32nds_pass_and_16ths_fail():
    roll = [3 + k / 8 for k in range(8)]  # 32nd notes over beat 4
    with_roll = TRAP_BAR[:4] + hits(CHH, EIGHTHS[:6] + roll)
    ok, detail = check(smf((DRUMS, bars(TRAP_BAR, 3) + at_bar(with_roll, 3))), "hat_rolls")
    assert ok and detail == "1 of 4 bars with hat rolls (need 1)"
    assert not passes(smf((DRUMS, bars(hits(KICK, [0]) + hits(CHH, SIXTEENTHS), 4))), "hat_rolls")
    # One rolled bar in eight is not one in four.
    assert not passes(smf((DRUMS, bars(TRAP_BAR, 7) + at_bar(with_roll, 7))), "hat_rolls")


def test_offbeat_open_hat():
    assert passes(smf((DRUMS, bars(DISCO_BAR, 4))), "offbeat_open_hat")
    on_the_beat = hits(KICK, [0, 2]) + hits(OHH, [0, 1, 2, 3])
    assert not passes(smf((DRUMS, bars(on_the_beat, 4))), "offbeat_open_hat")
    assert not passes(smf((DRUMS, bars(HOUSE_BAR, 4))), "offbeat_open_hat")  # closed hats do not count


def test_groove_repeat_fails_when_every_bar_is_different():
    shifting = [hits(KICK, [k / 4]) + hits(SNARE, [k / 4 + 1.25]) + hits(CHH, [k / 4 + 2.5]) for k in range(4)]
    drums = [note for i, bar in enumerate(shifting) for note in at_bar(bar, i)]
    ok, detail = check(smf((DRUMS, drums)), "groove_repeat")
    assert not ok and detail == "drum pattern repeat 0.000 (need 0.6)"


def test_drum_dynamics():
    flat = smf((DRUMS, bars(hits(KICK, [0, 2]) + hits(CHH, EIGHTHS), 2)))
    assert check(flat, "drum_dynamics") == (False, "drum velocity sd 0.0 (need 8)")
    ghosts = hits(KICK, [0, 2], 110) + hits(SNARE, [1, 3], 105) + hits(SNARE, [1.75, 3.25], 35) + hits(CHH, EIGHTHS, 80)
    assert passes(smf((DRUMS, bars(ghosts, 2))), "drum_dynamics")


# ---------------------------------------------------------------------- pads and arps

TRIADS = [(60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60)]


def test_held_pads_pass_and_restruck_quarter_chords_fail():
    held = [(4 * i, 4, p, 80) for i, chord in enumerate(TRIADS) for p in chord]
    ok, detail = check(smf((0, held)), "pad_sustain")
    assert ok and detail == "mean note 4.00 beats, 1.0 chord onsets per bar"
    quarters = [(4 * i + k, 1, p, 80) for i, chord in enumerate(TRIADS) for k in range(4) for p in chord]
    ok, detail = check(smf((0, quarters)), "pad_sustain")
    assert not ok and detail == "mean note 1.00 beats, 4.0 chord onsets per bar"
    # Long notes re-struck on every beat are not a pad either.
    overlapping = [(4 * i + k, 2, p, 80) for i, chord in enumerate(TRIADS) for k in range(4) for p in chord]
    assert not passes(smf((0, overlapping)), "pad_sustain")


def arpeggio(step: float, bars_: int = 4) -> list[NoteSpec]:
    notes, t = [], 0.0
    cycle = [57, 60, 64, 69]
    while t < 4 * bars_ - 1e-9:
        notes.append((t, step * 0.9, cycle[len(notes) % 4] + 12, 90))
        t += step
    return notes


def test_arp_regular():
    ok, detail = check(smf((0, arpeggio(0.25))), "arp_regular")
    assert ok and detail == "1.00 of gaps 0.25 beat, 4.0 notes/beat, 3 pitch classes/bar"
    assert passes(smf((0, arpeggio(0.5))), "arp_regular")  # eighths: 2 notes per beat
    assert not passes(smf((0, arpeggio(1.0))), "arp_regular")  # quarters are too slow
    uneven = [
        (b * 4 + s, 0.2, 69 + 3 * (k % 3), 90) for b in range(4) for k, s in enumerate([0, 0.75, 1, 1.5, 2.75, 3])
    ]
    assert not passes(smf((0, uneven)), "arp_regular")
    trill = [(k / 4, 0.2, 72 + 2 * (k % 2), 90) for k in range(64)]  # regular and fast but 2 pitch classes
    assert not passes(smf((0, trill)), "arp_regular")
    assert check(smf((0, arpeggio(0.25)[:7])), "arp_regular")[0] is False  # fewer than 8 notes


# ---------------------------------------------------------------------- bass


def test_bass_kick_lock():
    kick = hits(KICK, [0, 1.5, 2.5]) + hits(SNARE, [1, 3])
    locked = [(0, 1, 31, 100), (1.5, 0.5, 31, 100), (2.5, 1, 34, 100)]
    drums = (DRUMS, bars(kick, 4))
    ok, detail = check(smf(drums, (1, bars(locked, 4))), "bass_kick_lock")
    assert ok and detail == "1.00 of bass onsets on a kick"
    offbeat = [(0.5, 0.5, 31, 100), (1.25, 0.5, 31, 100), (3.5, 0.5, 34, 100)]
    assert not passes(smf(drums, (1, bars(offbeat, 4))), "bass_kick_lock")
    assert check(smf(drums), "bass_kick_lock") == (False, "no bass")


def test_walking_bass_passes_and_held_roots_fail():
    walk = [(4 * b + k, 0.9, 41 + [0, 4, 7, 9][k] + b, 90) for b in range(4) for k in range(4)]
    walk.append((2.5, 0.4, 47, 80))  # one passing note in bar 1: still walking
    assert check(smf((1, walk)), "bass_walking") == (True, "bass walks in quarters in 1.00 of bars")
    held = [(4 * b, 4, 41, 90) for b in range(4)]
    assert not passes(smf((1, held)), "bass_walking")
    busy = [(4 * b + k / 2, 0.4, 41 + k % 5, 90) for b in range(4) for k in range(8)]  # eighths: too many notes
    assert not passes(smf((1, busy)), "bass_walking")


def test_bass_repeat():
    riff = [(0, 0.5, 29, 100), (0.75, 0.25, 29, 100), (2.5, 0.5, 32, 100), (3.5, 0.5, 34, 100)]
    assert passes(smf((1, bars(riff, 4))), "bass_repeat")
    rhythms = [[0], [0.25, 1.75], [0.5, 2.25, 3.75], [1, 3.25]]
    wandering = [(4 * b + s, 0.25, 29 + b, 100) for b, starts in enumerate(rhythms) for s in starts]
    ok, detail = check(smf((1, wandering)), "bass_repeat")
    assert not ok and detail == "bass rhythm repeat 0.000 (need 0.5)"


# ---------------------------------------------------------------------- melody


def melody(pitches: Sequence[int], rhythm: Sequence[float]) -> list[NoteSpec]:
    """``pitches`` played over the per-bar onset ``rhythm``, as many bars as needed."""
    per_bar = len(rhythm)
    return [(4 * (i // per_bar) + rhythm[i % per_bar], 0.45, p, 90) for i, p in enumerate(pitches)]


RHYTHM = [0, 0.5, 1, 2, 2.5, 3]


def test_stepwise_melody_passes_and_leaping_fails():
    stepwise = [72, 74, 76, 77, 76, 74, 72, 71, 72, 74, 76, 79, 77, 76, 74, 72]
    ok, detail = check(smf((0, melody(stepwise, RHYTHM))), "melody_stepwise")
    assert ok and detail == "steps 0.93, leaps over a fifth 0.00, range 8 semitones"
    leaping = [60, 72, 64, 79, 62, 76, 67, 84, 60, 71, 65, 81]
    ok, detail = check(smf((0, melody(leaping, RHYTHM))), "melody_stepwise")
    assert not ok and detail.startswith("steps 0.00, leaps over a fifth 0.91")
    # Stepwise but wandering over more than an octave and a half.
    scale = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79, 81, 83]
    assert not passes(smf((0, melody(scale, RHYTHM))), "melody_stepwise")


def test_melody_is_the_longest_monophonic_track_at_or_above_a3():
    low = (1, melody([50, 52, 53, 55, 57, 55, 53, 52] * 2, RHYTHM))  # median below A3: a bass line, no melody
    assert check(smf(low), "melody_stepwise") == (False, "no melody")
    stepwise = (2, melody([72, 74, 76, 74] * 4, RHYTHM))
    leaping = (3, melody([60, 72, 64, 79] * 2, RHYTHM))
    assert passes(smf(leaping, stepwise), "melody_stepwise")  # the stepwise line has more notes


def test_melody_motif():
    motif = smf((0, melody([72, 74, 76, 77, 76, 74] * 4, RHYTHM)))
    assert check(motif, "melody_motif") == (True, "best bar-rhythm repeat 1.00 (need 0.7)")
    rhythms = [[0, 1.5, 3], [0.25, 1.25, 2.75], [0.5, 2, 3.5], [0.75, 2.25, 3.25]]
    through = [(4 * b + s, 0.4, 72 + k, 90) for b, starts in enumerate(rhythms) for k, s in enumerate(starts)]
    assert not passes(smf((0, through)), "melody_motif")


# ---------------------------------------------------------------------- the reference judge

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "tools" / "judge_groove.py"


@pytest.mark.skipif(not REFERENCE.exists(), reason="the team's reference judge is not beside this checkout")
def test_agrees_with_the_reference_judge_on_the_hand_written_clips(tmp_path):
    spec = importlib.util.spec_from_file_location("judge_groove", REFERENCE)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    every = {name: {} for name in CHECKS} | {"backbeat": {"beats": [1, 3]}, "hat_density": {"min": 8}}
    clips = [
        smf((DRUMS, bars(HOUSE_BAR, 4)), (1, bars([(0, 1, 36, 90), (2.5, 1, 43, 90)], 4))),
        smf((DRUMS, bars(TRAP_BAR, 4)), (1, melody([72, 74, 76, 77, 76, 74] * 4, RHYTHM))),
        smf((DRUMS, bars(DISCO_BAR, 8)), (2, arpeggio(0.25, 8))),
        smf((0, [(4 * i, 4, p, 80) for i, chord in enumerate(TRIADS) for p in chord])),
        smf((1, [(4 * b + k, 0.9, 41 + k + b, 90) for b in range(4) for k in range(4)]), meter=(3, 4)),
    ]
    for i, data in enumerate(clips):
        path = tmp_path / f"{i}.mid"
        path.write_bytes(data)
        tracks, bar = reference.read(path)
        end = max(n[0] + n[1] for tr in tracks for n in tr)
        nbars = max(1, round(end / bar + 0.49))
        parts = reference.classify(tracks)
        ours = judge(data, every)
        for name, arguments in every.items():
            assert bool(reference.check(name, arguments, *parts, bar, nbars)[0]) == ours[name][0], (i, name)
