"""Text-to-MIDI through the real daemon: the committed model, real sockets, real files."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import mido
import pytest

from promptdaw.client import Client
from promptdaw.inference_server.errors import InvalidInput

TRAP = "dark trap in F minor, 140 bpm, 8 bars, 808 bass and rolling hats"


def midi_notes(data: bytes) -> dict[str, list[tuple[int, int, int]]]:
    """Track name -> [(start tick, end tick, pitch)]."""
    out = {}
    for track in mido.MidiFile(file=io.BytesIO(data)).tracks:
        tick, name, open_notes, notes = 0, "", {}, []
        for message in track:
            tick += message.time
            if message.type == "track_name":
                name = message.name
            elif message.type == "note_on" and message.velocity:
                open_notes[message.note] = tick
            elif message.type in ("note_on", "note_off") and message.note in open_notes:
                notes.append((open_notes.pop(message.note), tick, message.note))
        if notes:
            out[name] = sorted(notes)
    return out


def generate(client: Client, prompt: str, **params) -> tuple[dict, bytes]:
    return client.midi_job("generate-midi", {"prompt": prompt, **params})


def test_generate_obeys_the_prompt(client: Client) -> None:
    result, data = generate(client, TRAP, seed=3)
    spec = result["spec"]
    assert (spec["bpm"], spec["key_tonic"], spec["key_mode"]) == (140, 5, "minor")
    assert (spec["meter"], spec["bars"]) == ("4/4", 8)
    assert {"bpm", "key_tonic", "key_mode", "bars"} <= set(spec["explicit"])
    midi = mido.MidiFile(file=io.BytesIO(data))
    assert midi.type == 1
    meta = {m.type: m for m in midi.tracks[0] if m.is_meta}
    assert round(mido.tempo2bpm(meta["set_tempo"].tempo), 3) == 140
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (4, 4)
    assert meta["key_signature"].key == "Fm"
    bar_ticks = 4 * midi.ticks_per_beat
    for track in midi.tracks:  # every track ends exactly at bar 8
        assert sum(m.time for m in track) == 8 * bar_ticks
    roles = {p["role"] for p in spec["parts"]}
    assert {"drums", "bass"} <= roles
    drum_channels = {m.channel for t in midi.tracks for m in t if m.type == "note_on"
                     and t.name == next(p["name"] for p in spec["parts"] if p["role"] == "drums")}  # fmt: skip
    assert drum_channels == {9}
    notes = midi_notes(data)
    assert all(len(notes[p["name"]]) > 0 for p in spec["parts"])


def test_same_seed_same_bytes_other_seed_other_music(client: Client) -> None:
    _, first = generate(client, TRAP, seed=11)
    _, again = generate(client, TRAP, seed=11)
    _, other = generate(client, TRAP, seed=12)
    assert first == again
    assert midi_notes(first) != midi_notes(other)


def test_flags_override_the_prompt(client: Client) -> None:
    result, data = generate(client, TRAP, bars=4, bpm=96.5, key="C# minor", meter="6/8")
    spec = result["spec"]
    assert (spec["bars"], spec["bpm"], spec["key_tonic"], spec["meter"]) == (4, 96.5, 1, "6/8")
    midi = mido.MidiFile(file=io.BytesIO(data))
    assert sum(m.time for m in midi.tracks[0]) == 4 * 3 * midi.ticks_per_beat  # 4 bars of 6/8


def test_given_chords_sound_in_their_bars(client: Client) -> None:
    required = [{9, 0, 7}, {2, 5, 0}, {7, 11, 5}, {0, 4, 11}]  # root, third, seventh of Am7 Dm9 G7 Cmaj7
    _, data = generate(client, "lofi chords Am7 Dm9 G7 Cmaj7, 85 bpm, 4 bars", seed=1)
    midi = mido.MidiFile(file=io.BytesIO(data))
    bar_ticks = 4 * midi.ticks_per_beat
    sounding: list[set[int]] = [set() for _ in required]
    for notes in midi_notes(data).values():
        for start, end, pitch in notes:
            for bar in range(4):
                if start < (bar + 1) * bar_ticks and end > bar * bar_ticks:
                    sounding[bar].add(pitch % 12)
    assert all(req <= pcs for req, pcs in zip(required, sounding, strict=True))


def test_variation_keep_strength(client: Client) -> None:
    result, original = generate(client, TRAP, seed=5)
    spec = result["spec"]
    _, kept = client.midi_job("vary-midi", {"spec": spec, "keep": 1.0, "seed": 9}, original)
    _, fresh = client.midi_job("vary-midi", {"spec": spec, "keep": 0.0, "seed": 9}, original)
    assert midi_notes(kept) == midi_notes(original)
    assert midi_notes(fresh) != midi_notes(original)


def test_continue_keeps_the_clip_and_adds_bars(client: Client) -> None:
    _, original = generate(client, "house groove with bass in A minor, 124 bpm, 4 bars", seed=2)
    reply, longer = client.midi_job("continue-midi", {"prompt": "house", "add_bars": 4, "seed": 4}, original)
    assert reply["spec"]["bars"] == 8 and reply["spec"]["bpm"] == 124
    before, after = midi_notes(original), midi_notes(longer)
    bar_ticks = 4 * mido.MidiFile(file=io.BytesIO(original)).ticks_per_beat
    for name, notes in before.items():
        assert [n for n in after[name] if n[0] < 4 * bar_ticks] == notes
    assert any(n[0] >= 4 * bar_ticks for notes in after.values() for n in notes)


def test_regenerate_one_part_in_a_bar_range(client: Client) -> None:
    result, original = generate(client, TRAP, seed=8)
    spec = result["spec"]
    _, redone = client.midi_job(
        "regenerate-midi", {"spec": spec, "part": "bass", "from_bar": 2, "to_bar": 6, "seed": 21}, original
    )
    before, after = midi_notes(original), midi_notes(redone)
    bass = next(p["name"] for p in spec["parts"] if p["role"] == "bass")
    for name in before:
        if name != bass:
            assert after[name] == before[name]
    bar_ticks = 4 * mido.MidiFile(file=io.BytesIO(original)).ticks_per_beat
    outside = [n for n in before[bass] if n[1] <= 2 * bar_ticks]
    assert [n for n in after[bass] if n[1] <= 2 * bar_ticks] == outside
    assert after[bass] != before[bass]


@pytest.mark.parametrize(
    ("prompt", "params", "field"),
    [
        ("techno, 0 bars", {}, "bars"),
        ("techno at 900 bpm", {}, "bpm"),
        ("techno in 99/4", {}, "meter"),
        ("techno", {"bars": 0}, "bars"),
    ],
)
def test_impossible_values_name_the_field(client: Client, prompt: str, params: dict, field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        generate(client, prompt, **params)
    assert client.ping() < 1.0


def test_cli_prints_how_the_prompt_was_read(daemon, tmp_path: Path) -> None:
    out = tmp_path / "clip.mid"
    command = [sys.executable, "-m", "promptdaw", "midi", TRAP, "-o", str(out), "--seed", "4", "--bars", "4",
               "--endpoint", daemon.endpoint]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "F minor*" in done.stdout and "4 bars*" in done.stdout and "140 bpm*" in done.stdout
    assert out.read_bytes().startswith(b"MThd")
    as_json = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=60)
    assert json.loads(as_json.stdout)["spec"]["bars"] == 4


def test_training_script_smoke_run(tmp_path: Path) -> None:
    """A few steps of the real training script on a tiny corpus, exported and loadable."""
    out = tmp_path / "text2midi"
    script = Path(__file__).resolve().parents[1] / "scripts" / "train_text2midi.py"
    command = [sys.executable, str(script), "--smoke", "--out", str(out), "--checkpoint", str(tmp_path / "c.pt")]
    env = {**os.environ, "PROMPTDAW_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "text-to-midi"
    from promptdaw.runtime.registry import ModelRegistry

    model = ModelRegistry(tmp_path, providers=["CPUExecutionProvider"]).get("text2midi")
    assert set(model.manifest.outputs) == {"onset", "sustain", "state"}


def test_the_mode_one_hot_order_the_weights_were_trained_on() -> None:
    from promptdaw.runtime.text2midi.features import MODE_NAMES

    assert MODE_NAMES == ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian")
