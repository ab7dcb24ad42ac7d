"""Output sets are replaced whole or not at all: a full disk, a failed write or ``kill -9`` never mixes them.

A full disk is made for real, without root, by a file-size limit (``RLIMIT_FSIZE``) on the
writing process with ``SIGXFSZ`` ignored: every write past the limit fails with ``EFBIG``, the
same path through the kernel as ``ENOSPC``. The CLI runs as a real subprocess against the
session's real daemon (``conftest.daemon``), which is never under the limit.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import DaemonProcess

from promptdaw.core.files import STALE_PART_AGE_S, OutputSet, is_part_name, sweep_stale_parts
from promptdaw.core.wav import LoopInfo, WavWriter, read_wav, wav_bytes, write_wav
from promptdaw.inference_server.protocol import Audio, Midi
from promptdaw.loop_files import write_render_files
from promptdaw.signals import synth_notes

RATE = 44100
DAY = 24 * 3600


def file_size_limit(max_bytes: int) -> Callable[[], None]:
    """A ``preexec_fn``: writes past ``max_bytes`` fail with EFBIG instead of killing the process."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    return limit


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of ``folder`` (hidden ones included) and its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def run_cli(*args: str, endpoint: str | None = None, limit_bytes: int | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:  # fmt: skip
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    extra = ["--endpoint", endpoint] if endpoint else []
    limit = file_size_limit(limit_bytes) if limit_bytes else None
    return subprocess.run([sys.executable, "-m", "promptdaw", *args, *extra], env=env, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit)  # fmt: skip


def assert_one_line(done: subprocess.CompletedProcess[str], expected: str) -> None:
    assert done.returncode == 1, done
    assert done.stderr.strip().splitlines() == [expected], done.stderr
    assert "Traceback" not in done.stdout + done.stderr


# ---------------------------------------------------------------------- the set, in-process and in a child


def test_a_failed_member_leaves_the_old_set_and_no_temporaries(tmp_path: Path) -> None:
    """The second of three members passes the size limit: the first's finished temporary goes too."""
    for name, data in {"a.mid": b"old a", "b.wav": b"old b", "c.wav": b"old c"}.items():
        (tmp_path / name).write_bytes(data)
    before = snapshot(tmp_path)
    script = (
        "import sys; from pathlib import Path; from promptdaw.core.files import OutputSet\n"
        "d = Path(sys.argv[1])\n"
        "with OutputSet() as files:\n"
        "    files.write_bytes(d / 'a.mid', b'new a')\n"
        "    files.write_bytes(d / 'b.wav', b'x' * 50_000)\n"
        "    files.write_bytes(d / 'c.wav', b'new c')\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                          timeout=60, preexec_fn=file_size_limit(10_000))  # fmt: skip
    assert done.returncode == 1
    assert f"OSError: [Errno 27] File too large: '{tmp_path / 'b.wav'}'" in done.stderr  # the user's name, not .part
    assert snapshot(tmp_path) == before


def test_commit_replaces_all_members_and_removes_stale_ones(tmp_path: Path) -> None:
    old = {"x.wav": b"old mix", "x.mid": b"old midi", "x.bass.wav": b"old bass", "x.final.wav": b"mine"}
    for name, data in old.items():
        (tmp_path / name).write_bytes(data)
    with OutputSet(stale=[tmp_path / "x.bass.wav", tmp_path / "x.mid"]) as files:
        files.write_bytes(tmp_path / "x.wav", b"new mix")
        with files.open(tmp_path / "x.mid") as f:
            f.write(b"new ")
            f.write(b"midi")
        assert sorted(snapshot(tmp_path)) == sorted([*old, *hidden(tmp_path)]) and len(hidden(tmp_path)) == 2
        assert (tmp_path / "x.wav").read_bytes() == b"old mix"  # nothing replaced before the commit
    # x.mid was stale and written anew: written wins.
    assert snapshot(tmp_path) == {"x.final.wav": b"mine", "x.mid": b"new midi", "x.wav": b"new mix"}


def test_an_exception_in_the_block_discards_the_set(tmp_path: Path) -> None:
    (tmp_path / "x.wav").write_bytes(b"old")
    with pytest.raises(RuntimeError, match="the daemon went away"), OutputSet(stale=[tmp_path / "x.wav"]) as files:
        files.write_bytes(tmp_path / "x.wav", b"new")
        files.write_bytes(tmp_path / "x.mid", b"new")
        raise RuntimeError("the daemon went away")
    assert snapshot(tmp_path) == {"x.wav": b"old"}


def test_stale_temporaries_are_swept_and_fresh_ones_and_user_files_kept(tmp_path: Path) -> None:
    now = time.time()
    names = {
        ".loop.wav.k3j_x9a2.part": now - 2 * DAY,  # killed writer, this version
        ".drums.part.wav": now - 2 * DAY,  # killed `stems` of an earlier version
        ".kick.part.flac": now - 2 * DAY,  # killed `write_audio` of an earlier version
        ".bass.wav.abcdefgh.part": now - 60,  # a writer at work right now
        ".hidden-notes": now - 2 * DAY,  # not ours
        "take.part": now - 2 * DAY,  # not hidden: the user's
        "loop.wav": now - 2 * DAY,
    }
    for name, mtime in names.items():
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (mtime, mtime))
    removed = sweep_stale_parts(tmp_path, now=now)
    assert sorted(p.name for p in removed) == [".drums.part.wav", ".kick.part.flac", ".loop.wav.k3j_x9a2.part"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".bass.wav.abcdefgh.part", ".hidden-notes", "loop.wav",
                                                           "take.part"]  # fmt: skip
    assert STALE_PART_AGE_S == DAY and is_part_name(".x.wav.abc.part") and not is_part_name("x.part")
    # Writing a set into the folder sweeps it too.
    os.utime(tmp_path / ".bass.wav.abcdefgh.part", (now - 2 * DAY, now - 2 * DAY))
    write_wav(tmp_path / "new.wav", np.zeros((10, 2)), RATE)
    assert ".bass.wav.abcdefgh.part" not in {p.name for p in tmp_path.iterdir()}


def test_streamed_wav_is_the_same_file_as_one_written_whole(tmp_path: Path) -> None:
    audio = (np.random.default_rng(1).standard_normal((10_001, 2)) * 0.2).astype(np.float32)
    info = LoopInfo(120.0, 4, (4, 4), 57)
    for bit_depth in (16, 24, 32):
        with OutputSet() as files, files.open(tmp_path / f"s{bit_depth}.wav") as f:
            writer = WavWriter(f, RATE, 2, bit_depth=bit_depth, loop=info)
            for start in range(0, len(audio), 3000):
                writer.write(audio[start : start + 3000])
            writer.close()
        assert (tmp_path / f"s{bit_depth}.wav").read_bytes() == wav_bytes(audio, RATE, bit_depth=bit_depth, loop=info)
    assert read_wav(tmp_path / "s32.wav").smpl.loops == ((0, 10_000),)


def _render_reply(parts: list[str], frames: int = 4410) -> tuple[dict, list]:
    """A generate-loop reply's result and buffers, as the client receives them."""
    tone = synth_notes([(0.0, 0.09, 57)], frames / RATE, sample_rate=RATE)
    stereo = np.stack([tone, tone], axis=1).astype(np.float32) * 0.5
    result = {"parts": parts, "bpm": 120.0, "beats": 4, "meter": "4/4", "root_note": 57}
    return result, [Audio(stereo, RATE), Midi(b"MThd fake"), *(Audio(stereo * (k + 2) / 10, RATE)
                                                              for k in range(len(parts)))]  # fmt: skip


def test_a_loop_with_fewer_parts_removes_the_old_loops_extra_stems(tmp_path: Path) -> None:
    out = tmp_path / "z.wav"
    write_render_files(out, *_render_reply(["drums", "bass", "chords"]))
    (tmp_path / "z.final.wav").write_bytes(b"the producer's own bounce")
    (tmp_path / "z.patch.json").write_bytes(b"{}")
    written = write_render_files(out, *_render_reply(["drums"]))
    assert [p.name for p in written] == ["z.wav", "z.mid", "z.drums.wav"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.drums.wav", "z.final.wav", "z.mid", "z.patch.json",
                                                           "z.wav"]  # fmt: skip
    # A render without stems leaves no stem of the earlier loop beside its new mix.
    write_render_files(out, *_render_reply(["drums"]), stems=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.final.wav", "z.mid", "z.patch.json", "z.wav"]


# ---------------------------------------------------------------------- the real CLI on a full disk


def loop(daemon: DaemonProcess, prompt: str, out: Path, **kwargs) -> subprocess.CompletedProcess[str]:
    return run_cli("loop", prompt, "-o", str(out), "--json", endpoint=daemon.endpoint, **kwargs)


DRUMS, HOUSE = "lofi drum loop, 85 bpm, 1 bars", "house loop with bass and chords in A minor, 124 bpm, 1 bars"


def test_loop_replaces_its_set_whole_or_not_at_all(daemon: DaemonProcess, tmp_path: Path) -> None:
    out = tmp_path / "z.wav"
    done = loop(daemon, DRUMS, out)
    assert done.returncode == 0, done.stderr
    before = snapshot(tmp_path)
    assert sorted(before) == ["z.drums.wav", "z.mid", "z.wav"]

    # A later member cannot be written (a folder in its way): the mix and MIDI, already complete,
    # must not replace the old ones either, and the error names the member, not a temporary.
    (tmp_path / "z.bass.wav").mkdir()
    done = loop(daemon, HOUSE, out)
    assert_one_line(done, f"promptdaw: error: Is a directory: {tmp_path / 'z.bass.wav'}")
    (tmp_path / "z.bass.wav").rmdir()
    assert snapshot(tmp_path) == before

    # A full disk: the same.
    done = loop(daemon, HOUSE, out, limit_bytes=100_000)
    assert_one_line(done, f"promptdaw: error: File too large: {out}")
    assert snapshot(tmp_path) == before  # byte for byte, and no temporary left

    done = loop(daemon, HOUSE, out)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.bass.wav", "z.chords.wav", "z.drums.wav", "z.mid",
                                                           "z.wav"]  # fmt: skip
    assert read_wav(out).acid.bpm == 124.0

    # The drum loop replaces the whole set: no bass or chords of the house loop remain beside it.
    done = loop(daemon, DRUMS, out)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"] == [str(out), str(tmp_path / "z.mid"), str(tmp_path / "z.drums.wav")]
    assert snapshot(tmp_path) == before  # the same prompt and seed: the same bytes


def test_sample_on_a_full_disk_keeps_the_old_sample_and_patch(daemon: DaemonProcess, tmp_path: Path) -> None:
    out = tmp_path / "kick.wav"
    done = run_cli("sample", "punchy 808 kick", "-o", str(out), endpoint=daemon.endpoint)
    assert done.returncode == 0, done.stderr
    before = snapshot(tmp_path)
    assert sorted(before) == ["kick.patch.json", "kick.wav"]
    done = run_cli("sample", "glassy bell", "-o", str(out), endpoint=daemon.endpoint, limit_bytes=20_000)
    assert_one_line(done, f"promptdaw: error: File too large: {out}")
    assert snapshot(tmp_path) == before


def _long_wav(path: Path, seconds: float) -> Path:
    notes = [(t * 0.5, t * 0.5 + 0.3, 48 + (t * 5) % 24) for t in range(int(seconds * 2))]
    mono = synth_notes(notes, seconds, sample_rate=RATE, noise_level=1e-3)
    write_wav(path, np.stack([mono, mono], axis=1), RATE)
    return path


def test_stems_on_a_full_disk_keep_the_old_stems(daemon: DaemonProcess, tmp_path: Path) -> None:
    source = _long_wav(tmp_path / "mix.wav", 3.0)
    out = tmp_path / "stems"
    done = run_cli("stems", str(source), "-o", str(out), endpoint=daemon.endpoint)
    assert done.returncode == 0, done.stderr
    before = snapshot(out)
    assert sorted(before) == ["bass.wav", "drums.wav", "other.wav", "vocals.wav"]
    done = run_cli("stems", str(_long_wav(tmp_path / "other.wav", 2.0)), "-o", str(out), endpoint=daemon.endpoint,
                   limit_bytes=100_000)  # fmt: skip
    assert_one_line(done, f"promptdaw: error: File too large: {out / 'drums.wav'}")
    assert snapshot(out) == before


def test_kill_9_of_stems_leaves_temporaries_that_the_next_write_sweeps(daemon: DaemonProcess, tmp_path: Path) -> None:
    source = _long_wav(tmp_path / "long.wav", 40.0)
    out = tmp_path / "stems"
    command = [sys.executable, "-m", "promptdaw", "stems", str(source), "-o", str(out), "--block-s", "1",
               "--endpoint", daemon.endpoint]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        # Wait until the stems hold data past their headers: the client is mid-write.
        while time.monotonic() < deadline and process.poll() is None:
            parts = [p for p in out.glob(".*.part")] if out.exists() else []
            if len(parts) == 4 and all(p.stat().st_size > 100_000 for p in parts):
                break
            time.sleep(0.05)
        assert process.poll() is None, "stems finished before it could be killed: give it a longer input"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    left = hidden(out)
    assert len(left) == 4 and all(name.endswith(".part") for name in left), left
    assert not any(p.name in ("drums.wav", "bass.wav", "vocals.wav", "other.wav") for p in out.iterdir())

    # A day later, the next write into the folder removes them (a fresh one would be kept).
    for name in left:
        os.utime(out / name, (time.time() - 2 * DAY, time.time() - 2 * DAY))
    done = run_cli("stems", str(_long_wav(tmp_path / "short.wav", 2.0)), "-o", str(out), endpoint=daemon.endpoint)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["bass.wav", "drums.wav", "other.wav", "vocals.wav"]
