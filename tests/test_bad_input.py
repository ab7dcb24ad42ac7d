"""Every bad input file gets one clear line naming the user's path, from the real CLI, before any daemon starts.

MIDI through ``core/midi_files.read_midi``, WAV through ``core/wav.check_wav_complete`` (the
one truncation check, used by ``read_wav`` and ``read_audio`` alike), JSON patches in the CLI.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mido
import numpy as np
import pytest
from test_cli import Cli, assert_not_running, assert_one_line_error, make_cli, stop_daemons_at

from promptdaw.core.audio_files import read_audio
from promptdaw.core.errors import InvalidAudio, InvalidMidi
from promptdaw.core.midi_files import read_midi
from promptdaw.core.wav import LoopInfo, read_wav, wav_bytes

RATE = 44100


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    runner = make_cli(tmp_path)
    try:
        yield runner
    finally:
        stop_daemons_at(runner.endpoint)


def a_midi_file() -> bytes:
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("track_name", name="Bass", time=0)])
    for k in range(16):
        track += [mido.Message("note_on", note=40 + k % 5, velocity=90, time=0 if k == 0 else 240),
                  mido.Message("note_off", note=40 + k % 5, velocity=0, time=240)]  # fmt: skip
    midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def a_loop_wav() -> bytes:
    tone = np.sin(2 * np.pi * 110 * np.arange(RATE * 2) / RATE).astype(np.float32) * 0.3
    return wav_bytes(np.stack([tone, tone], axis=1), RATE, loop=LoopInfo(120.0, 4, (4, 4), 45))


# ---------------------------------------------------------------------- the readers


def test_every_truncation_of_a_midi_file_is_one_line_with_a_reason() -> None:
    data = a_midi_file()
    reasons = set()
    for n in range(len(data)):
        with pytest.raises(InvalidMidi) as caught:
            read_midi(data[:n], "in.mid")
        message = caught.value.message
        assert message.startswith("in.mid: not a readable Standard MIDI File: ") and "\n" not in message
        reasons.add(message.removeprefix("in.mid: not a readable Standard MIDI File: "))
    assert "" not in reasons and "the data ends in the middle of a chunk (truncated file)" in reasons, reasons


def test_a_truncated_wav_is_refused_by_every_reader(tmp_path: Path) -> None:
    data = a_loop_wav()
    for name, cut in [("half.wav", len(data) // 2), ("one-byte-short.wav", len(data) - 1),
                      ("header-only.wav", data.index(b"data") + 2)]:  # fmt: skip
        path = tmp_path / name
        path.write_bytes(data[:cut])
        for reader in (read_wav, read_audio):
            with pytest.raises(InvalidAudio, match=rf"^{path} is truncated: "):
                reader(path)
    whole = tmp_path / "whole.wav"
    whole.write_bytes(data)
    assert read_wav(whole).samples.shape == read_audio(whole)[0].shape == (2 * RATE, 2)


# ---------------------------------------------------------------------- the real CLI


BAD_MIDI = {
    "truncated": lambda: a_midi_file()[:-7],
    "header-only": lambda: a_midi_file()[:14],
    "garbage": lambda: b"MThd" + np.random.default_rng(5).bytes(300),
}


@pytest.mark.parametrize("kind", sorted(BAD_MIDI))
@pytest.mark.parametrize(
    "command",
    [("midi", "trap", "--extend"), ("midi", "trap", "--vary"), ("midi", "trap", "--regenerate"), ("render",)],
    ids=["extend", "vary", "regenerate", "render"],
)
def test_a_bad_midi_file_is_one_line_with_a_reason(cli: Cli, tmp_path: Path, command: tuple, kind: str) -> None:
    source = tmp_path / f"{kind}.mid"
    source.write_bytes(BAD_MIDI[kind]())
    output = tmp_path / ("out.mid" if command[0] == "midi" else "out.wav")
    done = cli.run(*command, str(source), "-o", str(output))
    assert_one_line_error(done)
    prefix = f"promptdaw: error: {source}: not a readable Standard MIDI File: "
    assert done.stderr.startswith(prefix) and done.stderr.strip() != prefix.strip(), done.stderr
    assert not output.exists()
    assert_not_running(cli)


@pytest.mark.parametrize("content", [b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60", b"\xff\xfe\x00garbage" * 50],
                         ids=["a-midi-file", "binary"])  # fmt: skip
def test_sample_patch_that_is_not_json_is_one_line(cli: Cli, tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "garbage.mid"
    source.write_bytes(content)
    output = tmp_path / "s.wav"
    done = cli.run("sample", "--patch", str(source), "-o", str(output))
    assert_one_line_error(done)
    assert done.stderr.startswith(f"promptdaw: error: {source} is not a JSON patch file: ")
    assert not output.exists()
    assert_not_running(cli)


@pytest.mark.parametrize("cut", ["half", "header"])
def test_render_refuses_a_truncated_wav(cli: Cli, tmp_path: Path, cut: str) -> None:
    data = a_loop_wav()
    source = tmp_path / "cut.wav"
    source.write_bytes(data[: len(data) // 2] if cut == "half" else data[: data.index(b"data") + 2])
    output = tmp_path / "fitted.wav"
    done = cli.run("render", str(source), "--bpm", "100", "-o", str(output))
    assert_one_line_error(done)
    assert done.stderr.startswith(f"promptdaw: error: {source} is truncated: ")
    assert not output.exists()
    assert_not_running(cli)


def test_a_write_error_names_the_users_path_not_the_temporary(cli: Cli, tmp_path: Path) -> None:
    """``render IN.wav --bpm`` writes here, with no daemon: a file-size limit makes a real EFBIG."""
    source = tmp_path / "loop.wav"
    source.write_bytes(a_loop_wav())
    output = tmp_path / "out" / "fitted.wav"

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    done = subprocess.run([sys.executable, "-m", "promptdaw", "render", str(source), "--bpm", "100", "-o", str(output)],
                          env={**cli.env, "PYTHONDONTWRITEBYTECODE": "1"}, capture_output=True, text=True, timeout=120,
                          preexec_fn=limit)  # fmt: skip
    assert_one_line_error(done)
    assert done.stderr.strip() == f"promptdaw: error: File too large: {output}"
    assert os.listdir(output.parent) == []  # no temporary left

    done = cli.run("render", str(source), "--bpm", "100", "-o", str(output), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"] == str(output) and read_wav(output).acid.bpm == 100.0
