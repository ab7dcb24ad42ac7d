"""Helpers for the bridge tests (tests/test_bridge*.py): building the plugin, plugin states,
the hosts (pedalboard for VST3, the mini CLAP host), a fake daemon, and small MIDI/PNG tools.

Kept in bridge/tests/ (the bridge owns it); the test files put this folder on sys.path.
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import subprocess
import threading
import time
import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mido
import numpy as np

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build" / "bridge"
BIN = BUILD / "bin"
TESTS_BIN = BUILD / "tests"
VST3 = BIN / "promptdaw.vst3"
CLAP = BIN / "promptdaw.clap"
LV2 = BIN / "promptdaw.lv2"
PROTOCOL_CLIENT = TESTS_BIN / "protocol_client"
CLAP_HOST = TESTS_BIN / "clap_host"
RTCHECK = TESTS_BIN / "librtcheck.so"
UNIT_TESTS = TESTS_BIN / "unit_tests"
XDND_TARGET = TESTS_BIN / "xdnd_target"

__all__ = [
    "CLAP",
    "CLAP_HOST",
    "LV2",
    "PROTOCOL_CLIENT",
    "RTCHECK",
    "UNIT_TESTS",
    "VST3",
    "XDND_TARGET",
    "ClapRun",
    "FakeDaemon",
    "build_bridge",
    "clip_state",
    "dpf_state_decode",
    "dpf_state_encode",
    "expected_midi_frames",
    "get_states",
    "juce_b64_decode",
    "juce_b64_encode",
    "load_vst3",
    "make_smf",
    "read_ppm",
    "run_clap_host",
    "set_states",
    "status",
    "wait_generated",
    "wait_status",
    "write_png",
]


# ------------------------------------------------------------------------------------ building


def build_bridge(timeout_s: float = 900) -> float:
    """`make -C bridge tests` (incremental); returns the seconds it took."""
    start = time.monotonic()
    proc = subprocess.run(
        ["make", "-C", str(REPO / "bridge"), "-j2", "tests"],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"building the bridge failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return time.monotonic() - start


# ------------------------------------------------------------------------------------ VST3 state via pedalboard


def load_vst3(path: Path = VST3) -> Any:
    """pedalboard.load_plugin for this plugin, without two slow pedalboard habits:
    - probing every parameter's text 1000-2000 times: DPF's VST3 adds 2080 "MIDI Ch. n CC m"
      parameters to instruments (VST3's way of receiving MIDI CC), which pedalboard would
      probe for tens of seconds; this plugin switches them off (bridge/dpf-vst3-parameters.patch),
      the pattern stays for a build without that patch;
    - "warming up" instruments by playing middle C until audio comes out (10 s here: with no
      clip yet the plugin is silent).
    """
    import re

    import pedalboard
    from pedalboard import _pedalboard

    _pedalboard.PARAMETER_NAME_REGEXES_TO_IGNORE.add(re.compile(r"MIDI Ch\. \d+ CC \d+"))
    return pedalboard.load_plugin(str(path), initialization_timeout=0)


_JUCE_ALPHABET = ".ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"
_JUCE_TABLE = np.frombuffer(_JUCE_ALPHABET.encode(), np.uint8)
_JUCE_LOOKUP = np.full(256, -1, np.int64)
_JUCE_LOOKUP[_JUCE_TABLE] = np.arange(64)


def juce_b64_encode(data: bytes) -> str:
    """JUCE MemoryBlock::toBase64Encoding: "<size>." then 6-bit groups of the bit stream, least
    significant bit first (3 bytes make 4 characters)."""
    chars = (len(data) * 8 + 5) // 6
    raw = np.frombuffer(data + b"\0" * (-len(data) % 3), np.uint8).reshape(-1, 3).astype(np.uint32)
    v = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
    groups = np.stack([(v >> shift) & 63 for shift in (0, 6, 12, 18)], 1).reshape(-1)[:chars]
    return f"{len(data)}." + _JUCE_TABLE[groups].tobytes().decode()


def juce_b64_decode(text: str) -> bytes:
    size_text, _, body = text.partition(".")
    size = int(size_text)
    values = _JUCE_LOOKUP[np.frombuffer(body.encode(), np.uint8)]
    if (values < 0).any():
        raise ValueError("not JUCE base64")
    values = np.concatenate([values, np.zeros(-len(values) % 4, np.int64)]).reshape(-1, 4)
    v = values[:, 0] | (values[:, 1] << 6) | (values[:, 2] << 12) | (values[:, 3] << 18)
    out = np.stack([v & 255, (v >> 8) & 255, (v >> 16) & 255], 1).astype(np.uint8).reshape(-1)
    return out[:size].tobytes() + b"\0" * max(0, size - out.size)


def dpf_state_encode(states: Iterable[tuple[str, str]], params: dict[str, float] | None = None) -> bytes:
    """DPF's state stream: states in the order given (then parameters), 0xfe terminated."""
    parts = [b"__dpf_state_begin__"]
    for key, value in states:
        parts += [key.encode(), value.encode()]
    parts.append(b"__dpf_state_end__")
    if params:
        parts.append(b"__dpf_parameters_begin__")
        for symbol, value in params.items():
            parts += [symbol.encode(), repr(float(value)).encode()]
        parts.append(b"__dpf_parameters_end__")
    return b"\0".join(parts) + b"\0\xfe\0"


def dpf_state_decode(blob: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """(states, parameters) of a DPF state stream."""
    body = blob.split(b"\xfe", 1)[0]
    items = body.split(b"\0")
    states: dict[str, str] = {}
    params: dict[str, str] = {}
    target: dict[str, str] | None = None
    i = 0
    while i < len(items):
        item = items[i].decode("utf-8", "replace")
        if item in ("__dpf_state_begin__", "__dpf_parameters_begin__"):
            target = states if item == "__dpf_state_begin__" else params
        elif item in ("__dpf_state_end__", "__dpf_parameters_end__"):
            target = None
        elif target is not None and i + 1 < len(items):
            target[item] = items[i + 1].decode("utf-8", "replace")
            i += 1
        i += 1
    return states, params


def _vst3_xml(raw: bytes) -> tuple[ET.Element, bytes]:
    if raw[:4] != b"VC2!":
        raise ValueError(f"not a JUCE VST3 state (starts {raw[:8]!r})")
    (length,) = struct.unpack("<I", raw[4:8])
    xml = raw[8 : 8 + length].rstrip(b"\0")
    return ET.fromstring(xml), raw


def get_states(plugin: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The plugin's DPF states and parameters, read through pedalboard's raw_state."""
    root, _ = _vst3_xml(plugin.raw_state)
    component = root.find("IComponent")
    if component is None or not component.text:
        raise ValueError("the VST3 state has no IComponent")
    return dpf_state_decode(juce_b64_decode(component.text.strip()))


def set_states(plugin: Any, states: Iterable[tuple[str, str]] | dict[str, str]) -> None:
    """Send states to the plugin (in order) through pedalboard's raw_state setter."""
    items = list(states.items()) if isinstance(states, dict) else list(states)
    root = ET.Element("VST3PluginState")
    ET.SubElement(root, "IComponent").text = juce_b64_encode(dpf_state_encode(items))
    xml = b'<?xml version="1.0" encoding="UTF-8"?>\n\n' + ET.tostring(root) + b"\n"
    data = xml + b"\0"
    plugin.raw_state = b"VC2!" + struct.pack("<I", len(data)) + data


def status(plugin: Any) -> dict[str, Any]:
    return json.loads(get_states(plugin)[0]["status"])


def wait_generated(plugin: Any, before: int, timeout_s: float = 120) -> dict[str, Any]:
    """Wait until the plugin handled a generate request made after `before` generations."""
    deadline = time.monotonic() + timeout_s
    while True:
        st = status(plugin)
        if st["generations"] > before and st["job"] != "running":
            return st
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer within {timeout_s} s: {st}")
        time.sleep(0.05)


def wait_status(plugin: Any, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        st = status(plugin)
        if predicate(st):
            return st
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s: {st}")
        time.sleep(0.05)


# ------------------------------------------------------------------------------------ clips


def clip_state(
    kind: str,
    *,
    audio: np.ndarray | None = None,
    sample_rate: int = 44100,
    midi: bytes | None = None,
    bpm: float = 120.0,
    meter: str = "4/4",
    bars: int = 0,
    root_note: int = 48,
    prompt: str = "test clip",
    seed: int = 1,
) -> str:
    """The text of the plugin's `clip` state (what it saves after a generation)."""
    state: dict[str, Any] = {
        "format": "promptdaw-clip",
        "version": 1,
        "kind": kind,
        "prompt": prompt,
        "seed": seed,
        "request_type": f"generate-{kind}",
        "request_id": uuid.uuid4().hex,
        "bpm": bpm,
        "meter": meter,
        "bars": bars,
        "root_note": root_note,
        "result": {},
    }
    if audio is not None:
        samples = np.ascontiguousarray(audio, dtype="<f4")
        if samples.ndim == 1:
            samples = samples[:, None]
        state["audio"] = {
            "encoding": "f32le",
            "sample_rate": sample_rate,
            "channels": samples.shape[1],
            "frames": samples.shape[0],
            "data": base64.b64encode(samples.tobytes()).decode(),
        }
    if midi is not None:
        state["midi"] = {"encoding": "smf", "data": base64.b64encode(midi).decode()}
    return json.dumps(state)


def make_smf(
    notes: Iterable[tuple[float, float, int, int, int]],
    *,
    bpm: float = 120.0,
    meter: tuple[int, int] = (4, 4),
    bars: int | None = None,
    ticks_per_beat: int = 480,
) -> bytes:
    """A type-1 SMF from (start_beats, length_beats, pitch, velocity, channel) notes, one track
    per channel, tempo and time signature in a conductor track, end of track at `bars` bars."""
    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    conductor.append(mido.MetaMessage("time_signature", numerator=meter[0], denominator=meter[1], time=0))
    end_beats = bars * meter[0] * 4 / meter[1] if bars else None
    by_channel: dict[int, list[tuple[int, mido.Message]]] = {}
    for start, length, pitch, velocity, channel in notes:
        on = round(start * ticks_per_beat)
        off = round((start + length) * ticks_per_beat)
        events = by_channel.setdefault(channel, [])
        events.append((on, mido.Message("note_on", note=pitch, velocity=velocity, channel=channel)))
        events.append((off, mido.Message("note_off", note=pitch, velocity=0, channel=channel)))
    tracks = [conductor]
    for channel in sorted(by_channel):
        track = mido.MidiTrack()
        now = 0
        for tick, msg in sorted(by_channel[channel], key=lambda e: (e[0], e[1].type == "note_on")):
            track.append(msg.copy(time=tick - now))
            now = tick
        tracks.append(track)
    for track in tracks:
        if end_beats is not None:
            total = sum(m.time for m in track)
            track.append(mido.MetaMessage("end_of_track", time=max(0, round(end_beats * ticks_per_beat) - total)))
        mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def expected_midi_frames(
    smf: bytes, *, bpm: float, sample_rate: float, length_beats: float, total_frames: int, start_beats: float = 0.0
) -> list[tuple[int, int, int, int]]:
    """The MIDI output the plugin should produce for a clip looped from song position
    `start_beats` at `bpm`: every channel message at ceil(beat * frames_per_beat) (the first
    frame whose position reaches it), sorted like the plugin (at equal times note-offs first,
    note-ons last), note-offs of notes that never started dropped, held notes released at
    the loop point."""
    mid = mido.MidiFile(file=io.BytesIO(smf))
    events: list[tuple[float, int, tuple[int, int, int]]] = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.is_meta or msg.type == "sysex":
                continue
            raw = msg.bytes()  # as in the file: note_on velocity 0 stays 0x9n
            data = (*raw, *(0,) * (3 - len(raw)))  # hosts carry 3 bytes (program change: 2 + 0)
            if msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0):
                order = 0
            else:
                order = 2 if msg.type == "note_on" else 1  # program changes etc. sit between
            events.append((tick / mid.ticks_per_beat, order, data))
    events.sort(key=lambda e: (e[0], e[1]))
    frames_per_beat = sample_rate * 60.0 / bpm
    out: list[tuple[int, int, int, int]] = []
    held: set[tuple[int, int]] = set()
    loop = 0
    while (loop * length_beats - start_beats) * frames_per_beat < total_frames:
        base = loop * length_beats - start_beats
        for beat, order, data in events:
            at = (base + beat) * frames_per_beat
            if at < -1e-4 or beat > length_beats + 1e-9:
                continue
            frame = int(np.ceil(at - 1e-4))
            if frame >= total_frames:
                break
            key = (data[0] & 15, data[1])
            if order == 1:
                out.append((frame, *data))
                continue
            if order == 2:  # note-on
                if key in held:  # overlapping notes of one pitch: the plugin ends the first
                    out.append((frame, 0x80 | key[0], key[1], 0))
                held.add(key)
            elif key in held:
                held.discard(key)
            else:
                continue  # its note-on was before the start
            out.append((frame, *data))
        # at the loop point the plugin releases whatever still sounds
        wrap = int(np.ceil((base + length_beats) * frames_per_beat - 1e-4))
        if wrap < total_frames:
            out.extend((wrap, 0x80 | ch, note, 0) for ch, note in sorted(held))
            held.clear()
        loop += 1
    return out


# ------------------------------------------------------------------------------------ the CLAP host


@dataclass
class ClapRun:
    lines: list[dict[str, Any]]
    out_dir: Path
    stderr: str

    def audio(self, name: str) -> np.ndarray:
        return np.fromfile(self.out_dir / f"{name}.f32", dtype="<f4").reshape(-1, 2)

    def midi(self, name: str) -> list[tuple[int, int, int, int]]:
        return [tuple(e) for e in json.loads((self.out_dir / f"{name}.midi.json").read_text())]

    def steps(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("step") == kind]

    @property
    def rtcheck(self) -> dict[str, int] | None:
        found = [line["rtcheck"] for line in self.lines if "rtcheck" in line]
        return found[-1] if found else None


def run_clap_host(
    script: dict[str, Any],
    out_dir: Path,
    *,
    env: dict[str, str] | None = None,
    preload_rtcheck: bool = False,
    timeout_s: float = 180,
) -> ClapRun:
    out_dir.mkdir(parents=True, exist_ok=True)
    script_path = out_dir / "script.json"
    script_path.write_text(json.dumps(script))
    full_env = dict(os.environ, **(env or {}))
    if preload_rtcheck:
        full_env["LD_PRELOAD"] = str(RTCHECK)
    proc = subprocess.run(
        [str(CLAP_HOST), str(CLAP), str(script_path), str(out_dir)],
        capture_output=True, text=True, timeout=timeout_s, env=full_env,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"clap_host failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return ClapRun(lines, out_dir, proc.stderr)


# ------------------------------------------------------------------------------------ a fake daemon


@dataclass
class FakeDaemon:
    """A ROUTER socket speaking the wire protocol with canned answers, for plugin behaviour the
    real daemon cannot show on demand (generate-* results before they land, a daemon that
    goes silent mid-request). `answers[type]` returns (result, payloads) or raises; set
    `silent_types` to swallow requests of a type after sending a progress event."""

    endpoint: str
    answers: dict[str, Callable[[Any], tuple[dict[str, Any], list[Any]]]] = field(default_factory=dict)
    silent_types: set[str] = field(default_factory=set)
    requests: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake daemon did not start")

    def _serve(self) -> None:
        import zmq

        from promptdaw.inference_server import protocol
        from promptdaw.inference_server.errors import BadSignature, JobCancelled, JobNotFound, UnknownRequestType
        from promptdaw.inference_server.security import ConnectionInfo, connection_file, write_connection_file

        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(self.endpoint)
        # Signed like the real daemon's messages, with a connection file where the plugin looks for it.
        key = protocol.new_key()
        self._connection_file = write_connection_file(
            connection_file(self.endpoint), ConnectionInfo(self.endpoint, key, os.getpid())
        )
        key_bytes = key.encode()
        self._ready.set()
        known = set(self.answers) | self.silent_types | {"ping", "status", "cancel"}
        pending: dict[str, tuple[bytes, str]] = {}  # silent requests: id -> (identity, type)

        def send(identity: bytes, frames: list) -> None:
            sock.send_multipart([identity, *protocol.sign(key_bytes, frames)])

        try:
            while not self._stop.is_set():
                if not sock.poll(20):
                    continue
                identity, *signed = sock.recv_multipart()
                try:
                    frames = protocol.verify(key_bytes, signed)
                except BadSignature:
                    continue  # dropped, as the daemon does
                header = json.loads(frames[0])
                rtype, rid, params = header.get("type"), header["id"], header.get("params", {})
                request = protocol.Request(rid, rtype, params)
                if rtype in ("ping", "status"):
                    send(
                        identity,
                        protocol.encode_result(request, {"protocol": 1, "version": "fake", "pid": os.getpid()}),
                    )
                    continue
                self.requests.append(header)
                if rtype == "cancel":
                    target = params.get("request_id")
                    if target in pending:
                        who, ttype = pending.pop(target)
                        err = JobCancelled(f"{ttype} {target!r} cancelled by request")
                        send(who, protocol.encode_error(target, ttype, err))
                        send(identity, protocol.encode_result(request, {"request_id": target, "was": "running"}))
                    else:
                        send(identity, protocol.encode_error(rid, rtype, JobNotFound(f"no job {target!r}")))
                    continue
                if rtype not in known:
                    send(
                        identity,
                        protocol.encode_error(rid, rtype, UnknownRequestType(f"unknown request type {rtype!r}")),
                    )
                    continue
                send(identity, protocol.encode_progress(request, 0.0, "queued"))
                if rtype in self.silent_types:
                    pending[rid] = (identity, rtype)
                    continue
                send(identity, protocol.encode_progress(request, 0.5, "generating"))
                result, payloads = self.answers[rtype](request)
                send(identity, protocol.encode_result(request, result, payloads))
        finally:
            sock.close()
            self._connection_file.unlink(missing_ok=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


# ------------------------------------------------------------------------------------ images


def write_png(path: Path, rgb: np.ndarray) -> None:
    """Write an [height, width, 3] uint8 image as PNG (zlib only, no imaging library)."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\0" + rgb[y].astype(np.uint8).tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def read_ppm(path: Path) -> np.ndarray:
    data = path.read_bytes()
    parts = data.split(b"\n", 3)
    width, height = (int(x) for x in parts[1].split())
    return np.frombuffer(parts[3], dtype=np.uint8).reshape(height, width, 3)


# ------------------------------------------------------------------------------------ Turtle (LV2)

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def turtle_triples(text: str, base: str = "") -> list[tuple[str, str, Any]]:
    """Parse the Turtle subset LV2 bundles use (prefixes, IRIs, prefixed names, `a`, string
    and numeric literals, blank nodes in brackets, `,` and `;` lists) into (s, p, o) triples
    with full IRIs. Raises ValueError on anything malformed: a careful check, not a full
    RDF library (rdflib is used instead when it is installed)."""
    import re

    token_re = re.compile(
        r'\s+|#[^\n]*|(?P<iri><[^<>"{}|^`\\\s]*>)|(?P<long>"""(?:[^"\\]|\\.|"(?!""))*""")'
        r'|(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<prefix>@prefix)|(?P<num>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+))'
        r"|(?P<pname>[A-Za-z][\w.-]*?:[\w.#-]*(?<!\.)|:[\w.#-]*(?<!\.))|(?P<punct>[\[\],;.()])|(?P<a>a\b)"
        r"|(?P<bool>true\b|false\b)"
    )
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = token_re.match(text, pos)
        if not m:
            raise ValueError(f"unexpected text at {pos}: {text[pos : pos + 30]!r}")
        pos = m.end()
        if m.lastgroup:
            tokens.append((m.lastgroup, m.group(m.lastgroup)))
    prefixes: dict[str, str] = {}
    triples: list[tuple[str, str, Any]] = []
    i = 0
    blank = [0]

    def expect(kind: str, value: str | None = None) -> str:
        nonlocal i
        if i >= len(tokens) or tokens[i][0] != kind or (value is not None and tokens[i][1] != value):
            got = tokens[i] if i < len(tokens) else "end of file"
            raise ValueError(f"expected {value or kind}, got {got}")
        i += 1
        return tokens[i - 1][1]

    def term() -> Any:
        nonlocal i
        kind, value = tokens[i]
        i += 1
        if kind == "iri":
            return base + value[1:-1] if not re.match(r"^\w+:", value[1:-1]) else value[1:-1]
        if kind == "pname":
            prefix, _, local = value.partition(":")
            if prefix not in prefixes:
                raise ValueError(f"undeclared prefix {prefix!r}")
            return prefixes[prefix] + local
        if kind == "a":
            return RDF_TYPE
        if kind in ("str", "long"):
            return ("literal", value.strip('"'))
        if kind == "num":
            return ("literal", float(value))
        if kind == "bool":
            return ("literal", value == "true")
        if kind == "punct" and value == "[":
            blank[0] += 1
            node = f"_:b{blank[0]}"
            if tokens[i] != ("punct", "]"):
                predicate_list(node)
            expect("punct", "]")
            return node
        raise ValueError(f"unexpected {value!r}")

    def predicate_list(subject: str) -> None:
        nonlocal i
        while True:
            predicate = term()
            while True:
                triples.append((subject, predicate, term()))
                if tokens[i] == ("punct", ","):
                    i += 1
                    continue
                break
            if tokens[i] == ("punct", ";"):
                i += 1
                if tokens[i] in (("punct", "."), ("punct", "]")):
                    return  # a trailing ';' is allowed
                continue
            return

    while i < len(tokens):
        if tokens[i][0] == "prefix":
            i += 1
            name = expect("pname")
            iri = expect("iri")
            prefixes[name[:-1]] = iri[1:-1]
            expect("punct", ".")
            continue
        subject = term()
        predicate_list(subject)
        expect("punct", ".")
    return triples
