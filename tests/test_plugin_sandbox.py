"""Plugins load only from the plugin folders, and only in a sandbox process, never in the daemon.

The test plugins are real bundles (``Name.vst3/Contents/<arch>-linux/Name.so``) built here with
gcc: a constructor runs as soon as anything opens the shared object, before any VST3 entry
point, so a marker file it writes proves the code ran (and in which process), and one that
calls ``raise(SIGSEGV)``, ``abort()`` or ``sleep()`` is a plugin that crashes or hangs.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, DaemonProcess, start_daemon
from loop_support import make_clip

from promptdaw.core.clip import clip_to_midi
from promptdaw.inference_server.errors import InferenceFailed, InvalidInput, JobTimeout
from promptdaw.inference_server.protocol import Midi
from promptdaw.plugin_host import PluginPathRefused, check_plugin_path, plugin_folders

BRIDGE = REPO / "build" / "bridge" / "bin" / "promptdaw.vst3"
GCC = shutil.which("gcc") or shutil.which("cc")
needs_gcc = pytest.mark.skipif(GCC is None, reason="no C compiler to build the test plugins")

MIDI = Midi(clip_to_midi(make_clip(bars=1, roles=("bass",))))

_SOURCE = """
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor)) static void promptdaw_test_plugin(void) {
    FILE *f = fopen(MARKER, "w");
    if (f) { fprintf(f, "%d\\n", (int)getpid()); fclose(f); }
    ACTION;
}
"""


def build_plugin(folder: Path, name: str, marker: Path, action: str = "(void)0") -> Path:
    """A ``name.vst3`` bundle in ``folder`` whose code writes its pid to ``marker``, then does ``action``."""
    assert GCC is not None
    binary = folder / f"{name}.vst3" / "Contents" / f"{platform.machine()}-linux" / f"{name}.so"
    binary.parent.mkdir(parents=True)
    source = folder.parent / f"{name}.c"
    source.write_text(_SOURCE)
    subprocess.run([GCC, "-shared", "-fPIC", "-o", str(binary), f'-DMARKER="{marker}"', f"-DACTION={action}",
                    str(source)], check=True)  # fmt: skip
    return folder / f"{name}.vst3"


def sandboxes_of(daemon: DaemonProcess) -> list[int]:
    """Pids of the daemon's plugin sandbox processes."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == daemon.process.pid and b"plugin_host.sandbox" in cmdline:
            found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting to be reaped by whoever adopted it does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_for(condition, timeout_s: float = 30.0) -> bool:
    """Poll ``condition`` until true; a generous bound, not a measure of speed."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a plugin folder the daemon is given, a folder it is not)."""
    root = tmp_path_factory.mktemp("plugins")
    (root / "allowed").mkdir()
    (root / "elsewhere").mkdir()
    return root / "allowed", root / "elsewhere"


@pytest.fixture(scope="module")
def daemon(models_dir: Path, folders: tuple[Path, Path], tmp_path_factory) -> Iterator[DaemonProcess]:
    allowed, _ = folders
    args = ["--plugin-path", str(allowed)]
    if BRIDGE.exists():
        args += ["--plugin-path", str(BRIDGE.parent)]
    process = start_daemon(models_dir, tmp_path_factory.mktemp("logs"), *args)
    yield process
    process.stop()


# ------------------------------------------------------------------------------ the folders


def test_paths_are_checked_by_their_real_path(tmp_path: Path) -> None:
    allowed, elsewhere = tmp_path / "allowed", tmp_path / "elsewhere"
    (allowed / "Good.vst3").mkdir(parents=True)
    (elsewhere / "Evil.vst3").mkdir(parents=True)
    (allowed / "Link.vst3").symlink_to(elsewhere / "Evil.vst3")
    folders = plugin_folders([allowed], environ={})
    assert folders[:3] == tuple(Path(os.path.realpath(os.path.expanduser(p)))
                                for p in ("~/.vst3", "/usr/lib/vst3", "/usr/local/lib/vst3"))  # fmt: skip
    assert check_plugin_path(allowed / "Good.vst3", folders) == (allowed / "Good.vst3").resolve()
    assert check_plugin_path(allowed / "Missing.vst3", folders) == (allowed / "Missing.vst3").resolve()
    refused = [elsewhere / "Evil.vst3", allowed / "Link.vst3", allowed / ".." / "elsewhere" / "Evil.vst3",
               allowed, Path("Good.vst3"), Path("/nowhere/Evil.vst3")]  # fmt: skip
    messages = set()
    for path in refused:
        with pytest.raises(PluginPathRefused) as caught:
            check_plugin_path(path, folders)
        messages.add(str(caught.value).replace(str(path), "PATH"))
    assert len(messages) == 1, messages  # one error, whatever the path and whether it exists
    env = {"PROMPTDAW_PLUGIN_PATH": f"{elsewhere}{os.pathsep}relative/dir"}
    assert check_plugin_path(elsewhere / "Evil.vst3", plugin_folders(environ=env))  # the env adds folders


@needs_gcc
def test_a_plugin_outside_the_folders_never_loads(daemon: DaemonProcess, folders, tmp_path: Path) -> None:
    allowed, elsewhere = folders
    marker = tmp_path / "loaded.txt"
    evil = build_plugin(elsewhere, "Evil", marker)
    (allowed / "Sneaky.vst3").symlink_to(evil)
    attempts = [str(evil), str(allowed / "Sneaky.vst3"), f"{allowed}/../{elsewhere.name}/Evil.vst3",
                "/nowhere/Evil.vst3"]  # fmt: skip
    with daemon.client(timeout_s=60) as client:
        errors = set()
        for path in attempts:
            for field, spec in [("instruments", f"bass={path}"), ("fx", f"bass={path}(mix=0.5)")]:
                with pytest.raises(InvalidInput) as caught:
                    client.request("render-midi", {"instruments": ["bass=builtin:sub"] * (field == "fx"),
                                                   field: [spec]}, (MIDI,))  # fmt: skip
                assert caught.value.message.startswith(f"{field} {spec!r}: ")
                errors.add(caught.value.message.replace(spec, "SPEC").replace(path, "PATH").replace(field, "FIELD"))
        assert len(errors) == 1, errors  # one error (naming the field) for an existing plugin and a missing path
        assert not marker.exists(), "the plugin's code ran"

        # The control: the same code in a plugin folder does run, in a process that is not the daemon.
        inside = build_plugin(allowed, "Marker", marker)
        with pytest.raises(InvalidInput, match="cannot be loaded as a VST3 plugin"):
            client.request("render-midi", {"instruments": [f"bass={inside}"]}, (MIDI,))
        assert marker.exists()
        assert int(marker.read_text()) != daemon.process.pid
        assert client.ping() < 5.0


# ------------------------------------------------------------------------------ the sandbox


@needs_gcc
@pytest.mark.parametrize(("name", "action", "signal_name"), [("Segfault", "raise(SIGSEGV)", "SIGSEGV"),
                                                             ("Abort", "abort()", "SIGABRT")])  # fmt: skip
def test_a_crashing_plugin_ends_its_job_and_the_daemon_serves_on(
    daemon: DaemonProcess, folders, tmp_path: Path, name: str, action: str, signal_name: str
) -> None:
    allowed, _ = folders
    plugin = build_plugin(allowed, name, tmp_path / "loaded.txt", action)
    with daemon.client(timeout_s=120) as client:
        with pytest.raises(InferenceFailed) as caught:
            client.request("render-midi", {"instruments": [f"bass={plugin}"]}, (MIDI,))
        message = caught.value.message
        crashed = f"the plugin crashed ({signal_name}) while loading"
        assert message.startswith(f"instrument bass={plugin.resolve()}: {crashed}"), message
        assert "daemon is unharmed" in message and "\n" not in message
        assert daemon.process.poll() is None
        assert client.ping() < 5.0
        assert wait_for(lambda: not sandboxes_of(daemon))
        if BRIDGE.exists():  # the next request renders, with a real plugin in a fresh sandbox
            reply = client.request("render-midi", {"instruments": [f"bass={BRIDGE}"]}, (MIDI,))
            assert reply.body["instruments"] == {"bass": str(BRIDGE.resolve())}
            assert reply.payloads[0].samples.shape == (reply.body["length_samples"], 2)
            assert all(np.isfinite(p.samples).all() for p in reply.payloads)


@needs_gcc
def test_a_hanging_plugin_times_out_and_its_sandbox_is_killed(daemon: DaemonProcess, folders, tmp_path: Path) -> None:
    allowed, _ = folders
    plugin = build_plugin(allowed, "Hang", tmp_path / "loaded.txt", "sleep(600)")
    with daemon.client(timeout_s=120) as client:
        with pytest.raises(JobTimeout):
            client.request("render-midi", {"instruments": [f"bass={plugin}"], "timeout_s": 3}, (MIDI,))
        assert wait_for(lambda: not sandboxes_of(daemon)), "the hung sandbox was left running"
        assert client.ping() < 5.0


@needs_gcc
def test_cancelling_the_job_kills_its_sandbox(daemon: DaemonProcess, folders, tmp_path: Path) -> None:
    allowed, _ = folders
    marker = tmp_path / "loaded.txt"
    plugin = build_plugin(allowed, "Stall", marker, "sleep(600)")
    with daemon.client(timeout_s=120) as client:
        request_id = client.send("render-midi", {"instruments": [f"bass={plugin}"]}, (MIDI,))
        assert wait_for(marker.exists), "the plugin never started loading"
        (sandbox,) = sandboxes_of(daemon)
        assert int(marker.read_text()) == sandbox
        assert client.cancel(request_id)["was"] == "running"
        assert wait_for(lambda: not running(sandbox)), "the cancelled job's sandbox lives on"
        assert client.ping() < 5.0


@pytest.mark.skipif(not BRIDGE.exists(), reason=f"the bridge plugin is not built ({BRIDGE}): run `make plugin`")
def test_render_midi_with_a_vst3_through_the_daemon(daemon: DaemonProcess, folders) -> None:
    """A real VST3 instrument plays in the sandbox; a file in a plugin folder that is no plugin is refused."""
    allowed, _ = folders
    midi = Midi(clip_to_midi(make_clip(bars=1, roles=("bass", "chords"))))
    with daemon.client(timeout_s=120) as client:
        reply = client.request("render-midi", {"instruments": [f"bass={BRIDGE}", f"chords={BRIDGE}"],
                                               "fx": ["chords=reverb(room_size=0.3)"]}, (midi,))  # fmt: skip
        result = reply.body
        assert result["instruments"] == {"bass": str(BRIDGE.resolve()), "chords": str(BRIDGE.resolve())}
        assert result["effects"] == {"chords": "reverb(room_size=0.3)"}
        assert all(np.isfinite(p.samples).all() for p in reply.payloads)  # the plugin is silent without a clip
        fake = allowed / "Fake.vst3"
        fake.write_text("not a plugin")
        for spec, message in [(f"bass={fake}", "cannot be loaded"), (f"bass={allowed}/Missing.vst3", "no such VST3"),
                              (f"chords={allowed}/Missing.vst3", "no such VST3")]:  # fmt: skip
            with pytest.raises(InvalidInput, match=message):
                client.request("render-midi", {"instruments": [spec]}, (midi,))
        with pytest.raises(InvalidInput, match="is an instrument, not an effect"):
            client.request("render-midi", {"instruments": [f"bass={BRIDGE}"], "fx": [f"bass={BRIDGE}"]}, (midi,))
        assert client.ping() < 5.0
        assert wait_for(lambda: not sandboxes_of(daemon))


@needs_gcc
def test_a_sandbox_leaves_with_its_daemon(models_dir: Path, folders, tmp_path: Path) -> None:
    """A daemon killed with -9 says no goodbye: its sandbox notices and exits by itself."""
    allowed, _ = folders
    marker = tmp_path / "loaded.txt"
    plugin = build_plugin(allowed, "Orphan", marker, "sleep(600)")
    daemon = start_daemon(models_dir, tmp_path, "--plugin-path", str(allowed))
    try:
        with daemon.client(timeout_s=120) as client:
            client.send("render-midi", {"instruments": [f"bass={plugin}"]}, (MIDI,))
            assert wait_for(marker.exists), "the plugin never started loading"
            (sandbox,) = sandboxes_of(daemon)
            daemon.process.kill()
            daemon.process.wait()
            assert wait_for(lambda: not running(sandbox)), "the sandbox outlived its daemon"
    finally:
        daemon.stop()
