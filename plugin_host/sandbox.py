"""Plugins run in a sandbox process, and only from the plugin folders.

Two rules keep a daemon that hosts plugins safe, as DAWs keep themselves safe from theirs:

1. **Only the plugin folders.** A plugin path a client sends is loaded only when its real path
   (symlinks and ``..`` resolved) lies inside one of :func:`plugin_folders`: the VST3 standard
   locations on Linux (``~/.vst3``, ``/usr/lib/vst3``, ``/usr/local/lib/vst3``), every folder
   in ``$PROMPTDAW_PLUGIN_PATH`` (``:``-separated) and every ``promptdaw serve --plugin-path``.
   :func:`check_plugin_path` refuses every other path with one error, the same whether it
   exists or not, so a client learns nothing about the daemon's files.
2. **Never in the daemon.** :class:`PluginSandbox` starts one process per job
   (``python -c "...sandbox import main..."``, :func:`main`) that loads the job's plugins and renders with
   them. A plugin that crashes, hangs or raises ends its job with a clear error
   (:class:`PluginCrashed`, or the job's time-out), the process is killed, and the daemon
   keeps serving. The sandbox is killed when the job ends, fails or is cancelled, and it
   exits by itself when the daemon is gone.

The built-in instrument and pedalboard's built-in effects stay in the daemon: they are our
own code and our dependency's, no stranger's, and the built-in instrument needs the daemon's
loaded models.

The wire between the two is a socket pair carrying length-prefixed frames: a JSON header,
then raw float32 audio when the header says so. The daemon never unpickles anything the
sandbox sends (plugin code runs there), and checks every reply's size and shape against
what it asked for before reading it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from promptdaw.core.processes import exit_with_parent
from promptdaw.plugin_host.effects import DEFAULT_TAIL_S, EffectSpec
from promptdaw.plugin_host.instruments import NoteEvent, PluginLoadError

__all__ = [
    "PLUGIN_PATH_ENV",
    "STANDARD_PLUGIN_FOLDERS",
    "PluginCrashed",
    "PluginPathRefused",
    "PluginSandbox",
    "SandboxedChain",
    "SandboxedInstrument",
    "check_plugin_path",
    "plugin_folders",
]

#: Folders the person running the daemon adds to the standard ones, ``os.pathsep``-separated.
PLUGIN_PATH_ENV = "PROMPTDAW_PLUGIN_PATH"
#: Where VST3 plugins are installed on Linux (Steinberg's "VST3 locations"), per user and system-wide.
STANDARD_PLUGIN_FOLDERS = ("~/.vst3", "/usr/lib/vst3", "/usr/local/lib/vst3")
#: How often a wait on the sandbox looks at cancellation, time-out and whether the sandbox lives.
POLL_S = 0.05
#: Largest JSON header either side accepts.
_MAX_HEADER_BYTES = 1 << 20
_LENGTH = struct.Struct("!Q")
#: The sandbox process's program (``-m`` would import this module twice: the package imports it).
_SANDBOX_MAIN = "import sys; from promptdaw.plugin_host.sandbox import main; sys.exit(main())"


class PluginPathRefused(ValueError):
    """A plugin path outside the plugin folders (the one message for every such path)."""


class PluginCrashed(RuntimeError):
    """The sandbox died (a crash, a kill) or broke the protocol while a plugin ran."""


# ---------------------------------------------------------------------------------- folders


def plugin_folders(extra: Iterable[str | Path] = (), environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The folders plugins may be loaded from, real paths, without duplicates.

    Args:
        extra: folders the daemon's configuration adds (``promptdaw serve --plugin-path``).
        environ: where ``$PROMPTDAW_PLUGIN_PATH`` is read (default ``os.environ``).
    """
    environ = os.environ if environ is None else environ
    listed = [*STANDARD_PLUGIN_FOLDERS, *environ.get(PLUGIN_PATH_ENV, "").split(os.pathsep), *extra]
    folders: list[Path] = []
    for entry in listed:
        entry = os.path.expanduser(str(entry).strip())
        if entry and os.path.isabs(entry):  # a relative entry would depend on the daemon's cwd
            folder = Path(os.path.realpath(entry))
            if folder not in folders:
                folders.append(folder)
    return tuple(folders)


def _refusal(path: str | Path) -> PluginPathRefused:
    # Names the client's own text and the rule, never the daemon's folders (the home folder
    # would give away the user's name) nor whether the path exists.
    return PluginPathRefused(
        f"{path} is not in a plugin folder; this daemon loads plugins only from ~/.vst3, /usr/lib/vst3, "
        f"/usr/local/lib/vst3 and the folders in ${PLUGIN_PATH_ENV} or `promptdaw serve --plugin-path`"
    )


def check_plugin_path(path: str | Path, folders: Sequence[Path]) -> Path:
    """The real path of ``path`` when it lies inside one of ``folders``.

    Only strings are compared and the real path resolved (``os.path.realpath``), so nothing of
    the plugin is read, let alone run, before the path is accepted.

    Raises:
        PluginPathRefused: for every other path, with the same message whether it exists or not.
    """
    text = os.path.expanduser(str(path))
    if not os.path.isabs(text):
        raise _refusal(path)
    real = Path(os.path.realpath(text))
    if any(real != folder and real.is_relative_to(folder) for folder in folders):
        return real
    raise _refusal(path)


# ---------------------------------------------------------------------------------- framing


def _send_frames(sock: socket.socket, frames: Sequence[bytes | memoryview], wait: Callable[[], None]) -> None:
    """Send length-prefixed frames; ``wait`` runs whenever the socket's time-out passes."""
    for frame in frames:
        for part in (_LENGTH.pack(len(frame)), frame):
            view = memoryview(part).cast("B")
            while view.nbytes:
                try:
                    view = view[sock.send(view) :]
                except TimeoutError:
                    wait()


def _recv_exact(sock: socket.socket, buffer: bytearray | memoryview, wait: Callable[[], None]) -> None:
    view = memoryview(buffer).cast("B")
    while view.nbytes:
        try:
            got = sock.recv_into(view)
        except TimeoutError:
            wait()
            continue
        if got == 0:
            raise EOFError("the sandbox closed its end")
        view = view[got:]


def _recv_length(sock: socket.socket, limit: int, wait: Callable[[], None]) -> int:
    head = bytearray(_LENGTH.size)
    _recv_exact(sock, head, wait)
    (length,) = _LENGTH.unpack(head)
    if length > limit:
        raise PluginCrashed(f"the sandbox sent {length} bytes where at most {limit} were expected")
    return length


def _recv_frame(sock: socket.socket, limit: int, wait: Callable[[], None]) -> bytearray:
    buffer = bytearray(_recv_length(sock, limit, wait))
    _recv_exact(sock, buffer, wait)
    return buffer


# ---------------------------------------------------------------------------------- daemon side


class PluginSandbox:
    """One sandbox process for one job: loads its plugins there and renders with them.

    The process starts at the first load and is killed by :meth:`close` (or leaving the
    ``with`` block), whatever happened. Calls are one at a time.

    Args:
        check: called every :data:`POLL_S` while the sandbox works; raising in it (a cancelled
            or timed-out job) kills the sandbox and lets the exception through.
    """

    def __init__(self, *, check: Callable[[], None] | None = None) -> None:
        self._check = check or (lambda: None)
        self._process: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._next = 0
        self._doing = ""

    def __enter__(self) -> PluginSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The sandbox process's id while it runs (for tests and logs)."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    # ------------------------------------------------------------------ process

    def _start(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        ours, theirs = socket.socketpair()
        try:
            # A session of its own: the kill reaches anything the plugin started, and a terminal's
            # Ctrl-C is the daemon's to handle.
            self._process = subprocess.Popen(
                [sys.executable, "-c", _SANDBOX_MAIN, str(theirs.fileno()), str(os.getpid())],
                stdin=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        finally:
            theirs.close()
        ours.settimeout(POLL_S)
        self._sock = ours
        self._doing = "starting"
        header, _ = self._receive(0)
        if not header.get("ready"):
            raise PluginCrashed(f"the plugin sandbox did not start: {header}")
        return ours

    def close(self) -> None:
        """Kill the sandbox (and anything it started); safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            _kill(process)  # first: a plugin gets no chance to run its teardown code either
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _wait(self) -> None:
        """Between socket time-outs: the job may have ended, the sandbox may have died."""
        try:
            self._check()
        except BaseException:
            self.close()
            raise
        if self._process is not None and self._process.poll() is not None:
            raise EOFError("the sandbox exited")

    def _died(self, reason: BaseException) -> PluginCrashed:
        process = self._process
        code = None
        if process is not None and isinstance(reason, EOFError | ConnectionError):
            # The socket closes a moment before the exit status can be read.
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = process.wait(timeout=2)
        self.close()
        if code is not None and code < 0:
            how = f"crashed ({_signal_name(-code)})"
        elif code is not None:
            how = f"exited with status {code}"
        else:
            how = f"broke off ({reason})"
        return PluginCrashed(f"the plugin {how} while {self._doing}; its sandbox was stopped, the daemon is unharmed")

    def _receive(self, max_data_bytes: int) -> tuple[dict[str, Any], bytearray | None]:
        assert self._sock is not None
        try:
            header = json.loads(_recv_frame(self._sock, _MAX_HEADER_BYTES, self._wait))
            if not isinstance(header, dict):
                raise ValueError("the header is not an object")
            data = None
            if header.get("data"):
                data = _recv_frame(self._sock, max_data_bytes, self._wait)
        except (EOFError, OSError, ValueError, PluginCrashed) as exc:
            if self._sock is None:  # closed by _wait: the job ended; its exception is on its way
                raise
            raise self._died(exc) from None
        return header, data

    def _call(self, doing: str, header: dict[str, Any], data: np.ndarray | None = None,
              max_data_bytes: int = 0) -> tuple[dict[str, Any], bytearray | None]:  # fmt: skip
        """One request and its reply; a reply ``{"ok": false}`` raises the error it names."""
        with self._lock:
            sock = self._start()
            self._doing = doing
            frames: list[bytes | memoryview] = [json.dumps({**header, "data": data is not None}).encode()]
            if data is not None:
                frames.append(memoryview(np.ascontiguousarray(data, np.float32)).cast("B"))
            try:
                _send_frames(sock, frames, self._wait)
            except (EOFError, OSError) as exc:
                if self._sock is None:
                    raise
                raise self._died(exc) from None
            reply, out = self._receive(max_data_bytes)
        if not reply.get("ok"):
            error = str(reply.get("error", "failed"))
            kind = reply.get("kind")
            if kind == "missing":
                raise FileNotFoundError(2, error, header.get("path"))
            if kind == "load":
                raise PluginLoadError(error)
            raise RuntimeError(f"{doing}: {error}")
        return reply, out

    # ------------------------------------------------------------------ plugins

    def _handle(self) -> int:
        self._next += 1
        return self._next

    def instrument(self, path: str | Path, *, channel: int = 0) -> SandboxedInstrument:
        """Load a VST3 instrument in the sandbox.

        Raises:
            FileNotFoundError, PluginLoadError: as :class:`~.instruments.VST3Instrument` does.
            PluginCrashed: the plugin crashed the sandbox while loading.
        """
        handle = self._handle()
        reply, _ = self._call(f"loading {path}", {"op": "instrument", "handle": handle, "path": str(path),
                                                 "channel": channel})  # fmt: skip
        return SandboxedInstrument(self, handle, Path(path), channel, str(reply.get("name", Path(path).stem)))

    def effect_chain(self, specs: Sequence[EffectSpec]) -> SandboxedChain:
        """Build an effect chain (VST3 effects and built-ins alike) in the sandbox.

        Raises:
            FileNotFoundError, PluginLoadError, ValueError: as :class:`~.effects.EffectChain` does.
            PluginCrashed: a plugin crashed the sandbox while loading.
        """
        handle = self._handle()
        described = [{"name": s.name, "path": None if s.path is None else str(s.path),
                      "parameters": dict(s.parameters)} for s in specs]  # fmt: skip
        chain = ", ".join(str(s) for s in specs)
        try:
            reply, _ = self._call(f"loading the effect chain {chain}", {"op": "chain", "handle": handle,
                                                                        "effects": described})  # fmt: skip
        except RuntimeError as exc:
            if isinstance(exc, PluginCrashed):
                raise
            raise ValueError(str(exc).split(": ", 1)[-1]) from None
        tail_s = min(float(reply.get("tail_s", DEFAULT_TAIL_S)), DEFAULT_TAIL_S)
        return SandboxedChain(self, handle, tuple(specs), tail_s)

    def render_events(self, handle: int, where: str, events: Sequence[NoteEvent], duration_s: float,
                      sample_rate: int) -> np.ndarray:  # fmt: skip
        frames = round(duration_s * sample_rate)
        header = {"op": "render", "handle": handle, "duration_s": duration_s, "sample_rate": sample_rate,
                  "events": [[e.start_s, e.duration_s, e.pitch, e.velocity] for e in events]}  # fmt: skip
        reply, data = self._call(f"rendering with {where}", header, max_data_bytes=frames * 2 * 4)
        return _audio(reply, data, where)

    def process(self, handle: int, where: str, audio: np.ndarray, sample_rate: int, wrap: bool) -> np.ndarray:
        frames = audio.shape[0] + (0 if wrap else round(DEFAULT_TAIL_S * sample_rate))
        header = {"op": "process", "handle": handle, "sample_rate": sample_rate, "wrap": wrap,
                  "shape": list(audio.shape)}  # fmt: skip
        reply, data = self._call(f"processing with {where}", header, audio, max_data_bytes=frames * 2 * 4)
        return _audio(reply, data, where)


def _audio(reply: Mapping[str, Any], data: bytearray | None, where: str) -> np.ndarray:
    """The float32 ``[frames, channels]`` array a reply announces, checked against its bytes."""
    shape = reply.get("shape")
    if (data is None or not isinstance(shape, list) or len(shape) != 2
            or not all(isinstance(n, int) and n >= 0 for n in shape) or shape[1] not in (1, 2)
            or shape[0] * shape[1] * 4 != len(data)):  # fmt: skip
        raise PluginCrashed(f"{where} sent audio that does not match its description ({shape})")
    return np.frombuffer(data, np.float32).reshape(shape)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


class SandboxedInstrument:
    """A VST3 instrument living in a :class:`PluginSandbox`; an ``EventInstrument``."""

    def __init__(self, sandbox: PluginSandbox, handle: int, path: Path, channel: int, name: str) -> None:
        self._sandbox, self._handle = sandbox, handle
        self.path, self.channel, self.name = path, channel, name

    def render_events(self, events: Sequence[NoteEvent], duration_s: float, sample_rate: int) -> np.ndarray:
        return self._sandbox.render_events(self._handle, str(self.path), events, duration_s, sample_rate)


class SandboxedChain:
    """An effect chain living in a :class:`PluginSandbox`; processes like an ``EffectChain``."""

    def __init__(self, sandbox: PluginSandbox, handle: int, specs: tuple[EffectSpec, ...], tail_s: float) -> None:
        self._sandbox, self._handle = sandbox, handle
        self.specs, self.tail_s = specs, tail_s

    def __str__(self) -> str:
        return ", ".join(str(s) for s in self.specs)

    def process(self, audio: np.ndarray, sample_rate: int, *, wrap: bool = True) -> np.ndarray:
        if not self.specs or audio.shape[0] == 0:
            return audio
        out = self._sandbox.process(self._handle, str(self), audio, sample_rate, wrap)
        return np.repeat(out, 2, axis=1) if out.shape[1] == 1 else out


# ---------------------------------------------------------------------------------- sandbox side


def _serve_one(header: dict[str, Any], data: bytearray | None,
               plugins: dict[int, Any]) -> tuple[dict[str, Any], memoryview | None]:  # fmt: skip
    from promptdaw.plugin_host.effects import EffectChain
    from promptdaw.plugin_host.instruments import VST3Instrument

    op = header.get("op")
    if op == "instrument":
        instrument = VST3Instrument(header["path"], channel=int(header["channel"]))
        plugins[int(header["handle"])] = instrument
        return {"ok": True, "name": instrument.name}, None
    if op == "chain":
        specs = [EffectSpec(e["name"], e["parameters"], None if e["path"] is None else Path(e["path"]))
                 for e in header["effects"]]  # fmt: skip
        chain = EffectChain(specs)
        plugins[int(header["handle"])] = chain
        return {"ok": True, "tail_s": chain.tail_s}, None
    if op == "render":
        events = [NoteEvent(float(s), float(d), int(p), int(v)) for s, d, p, v in header["events"]]
        audio = plugins[int(header["handle"])].render_events(events, float(header["duration_s"]),
                                                             int(header["sample_rate"]))  # fmt: skip
    elif op == "process":
        assert data is not None
        source = np.frombuffer(data, np.float32).reshape(header["shape"])
        audio = plugins[int(header["handle"])].process(source, int(header["sample_rate"]), wrap=bool(header["wrap"]))
    else:
        raise ValueError(f"unknown operation {op!r}")
    audio = np.ascontiguousarray(audio, np.float32)
    return {"ok": True, "shape": list(audio.shape)}, memoryview(audio).cast("B")


def _error_reply(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, FileNotFoundError):
        return {"ok": False, "kind": "missing", "error": f"{exc.strerror}: {exc.filename}"}
    if isinstance(exc, PluginLoadError):
        return {"ok": False, "kind": "load", "error": str(exc)}
    detail = " ".join(str(exc).split())
    return {"ok": False, "kind": "failed", "error": detail if isinstance(exc, ValueError) else
            f"{type(exc).__name__}: {detail}"}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """The sandbox process: serve one daemon job's plugin requests until the daemon hangs up."""
    fd, parent = (int(a) for a in (argv if argv is not None else sys.argv[1:]))
    exit_with_parent(parent, 1)  # even while a plugin hangs
    sock = socket.socket(fileno=fd)
    never = lambda: None  # noqa: E731  blocking socket: no time-outs to wait through
    plugins: dict[int, Any] = {}
    _send_frames(sock, [json.dumps({"ok": True, "ready": os.getpid()}).encode()], never)
    while True:
        try:
            header = json.loads(_recv_frame(sock, _MAX_HEADER_BYTES, never))
            data = _recv_frame(sock, 1 << 40, never) if header.get("data") else None
        except EOFError:
            return 0  # the daemon closed the job
        try:
            reply, out = _serve_one(header, data, plugins)
        except Exception as exc:  # the plugin's error goes back as data; the daemon decides
            reply, out = _error_reply(exc), None
        frames: list[bytes | memoryview] = [json.dumps({**reply, "data": out is not None}).encode()]
        if out is not None:
            frames.append(out)
        _send_frames(sock, frames, never)


if __name__ == "__main__":
    sys.exit(main())
