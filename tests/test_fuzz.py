"""Property-based fuzzing of a real daemon: hostile params and buffers never make an ``internal`` error.

Every request type (``inference_server.requests.REQUEST_TYPES`` but ``shutdown``) gets random
parameters (plausible values, out-of-range numbers, wrong types, unknown names, long strings)
and random buffers (garbage and truncated Standard MIDI Files, files with hostile tempo, meter,
division and key events, audio of odd shapes and rates, NaN, infinities, huge values, wrong
descriptors) over the wire, from a real daemon's point of view. Each request must get exactly
one final reply, never with the code ``internal``, and the daemon must keep answering
``status``. Jobs still running after a short grace period are cancelled, so the test's length
does not depend on how slow a model is; nothing is asserted about timing.

The examples are derandomised (the same every run, for CI); ``EXAMPLES`` gives their number
per request type.
"""

from __future__ import annotations

import functools
import json
import math
import os
import struct
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptdaw.core.midi_files import read_midi
from promptdaw.inference_server import protocol
from promptdaw.inference_server.errors import InvalidMidi
from promptdaw.inference_server.protocol import Reply
from promptdaw.inference_server.requests import REQUEST_TYPES

#: Examples per request type: most where the input is richest (MIDI files, params, audio); 250 in all.
EXAMPLES: dict[str, int] = {
    **dict.fromkeys(["ping", "status", "models"], 6),
    **dict.fromkeys(["load", "unload", "cancel", "result"], 10),
    **dict.fromkeys(["transcribe", "separate", "generate-midi", "generate-loop", "generate-sample"], 16),
    **dict.fromkeys(["vary-midi", "continue-midi", "regenerate-midi", "render-midi"], 28),
}
#: For a longer hunt by hand: ``PROMPTDAW_FUZZ_SCALE=10`` runs ten times the examples,
#: ``PROMPTDAW_FUZZ_EXPLORE=1`` draws new ones each run (CI runs the same ones every time) and
#: ``PROMPTDAW_FUZZ_LOG=path`` appends one line per request (type, code, params, message).
SCALE = float(os.environ.get("PROMPTDAW_FUZZ_SCALE", "1"))
EXPLORE = bool(os.environ.get("PROMPTDAW_FUZZ_EXPLORE"))
#: A job not finished after this long is cancelled (its final reply is then ``cancelled``).
GRACE_S = 3.0
#: How long to wait for a final reply that is owed (after a cancel, or to a quick request).
#: Generous: a loaded machine is slow, never wrong.
REPLY_TIMEOUT_S = 120.0

FUZZED_TYPES = sorted(REQUEST_TYPES - {"shutdown"})
MIDI_TYPES = ("vary-midi", "continue-midi", "regenerate-midi", "render-midi")

# ------------------------------------------------------------------------------- the wire


class Wire:
    """A bare DEALER socket that records every final reply, by request id."""

    def __init__(self, endpoint: str, key: bytes) -> None:
        self.key = key  # every message is signed, as a real client's
        self.socket = zmq.Context.instance().socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(endpoint)
        self.finals: dict[str, list[Reply]] = {}

    def close(self) -> None:
        self.socket.close(linger=0)

    def send(self, type_: str, params: Any, buffers: Sequence[tuple[Any, bytes]] = ()) -> str:
        request_id = uuid.uuid4().hex
        header: dict[str, Any] = {"protocol": 2, "id": request_id, "type": type_, "params": params}
        if buffers:
            header["buffers"] = [descriptor for descriptor, _ in buffers]
        # allow_nan: Python's json (the daemon's) reads NaN and Infinity, so they are fair game.
        frames = [json.dumps(header).encode(), *(frame for _, frame in buffers)]
        self.socket.send_multipart(protocol.sign(self.key, frames))
        return request_id

    def final(self, request_id: str, timeout_s: float) -> Reply | None:
        """The final reply to ``request_id``, or None when none came within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while request_id not in self.finals:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0 or not self.socket.poll(remaining_ms):
                return None
            self._receive()
        return self.finals[request_id][0]

    def drain(self, quiet_s: float = 0.3) -> None:
        """Take replies until none came for ``quiet_s`` (late duplicates show up here)."""
        while self.socket.poll(int(quiet_s * 1000)):
            self._receive()

    def _receive(self) -> None:
        reply = protocol.decode_reply(protocol.verify(self.key, self.socket.recv_multipart()))
        if reply.final:
            assert reply.id is not None, f"a final reply without an id: {reply.body}"
            self.finals.setdefault(reply.id, []).append(reply)


@pytest.fixture(scope="module")
def wire(daemon) -> Iterator[Wire]:
    w = Wire(daemon.endpoint, daemon.key)
    yield w
    w.close()


def exchange(wire: Wire, type_: str, params: Any, buffers: Sequence[tuple[Any, bytes]] = ()) -> Reply:
    """Send one request; cancel it if it is still running after ``GRACE_S``; its final reply."""
    request_id = wire.send(type_, params, buffers)
    reply = wire.final(request_id, GRACE_S)
    if reply is None:
        cancel_id = wire.send("cancel", {"request_id": request_id})
        cancel = wire.final(cancel_id, REPLY_TIMEOUT_S)
        assert cancel is not None, "no answer to cancel"
        assert _code(cancel) != "internal", cancel.body
        reply = wire.final(request_id, REPLY_TIMEOUT_S)
    assert reply is not None, f"no final reply to {type_} within {REPLY_TIMEOUT_S} s"
    return reply


def _code(reply: Reply) -> str | None:
    return reply.body.get("code") if reply.event == "error" else None


# ------------------------------------------------------------------------------- JSON values

_FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 1e-300, -1e-300, 1e308, -1e308, 0.5, 1.5, -1.0, 1e9, 2.0**63]
)
_INTS = st.integers(-(2**70), 2**70) | st.sampled_from([0, -1, 1, 2, 127, 128, 255, 256, 2**31 - 1, 2**31, 2**63])
_LONG_TEXT = st.builds(lambda piece, n: piece * n, st.text(min_size=1, max_size=4), st.integers(100, 20_000))
_TEXT = st.text(max_size=40) | _LONG_TEXT
_SCALARS = st.none() | st.booleans() | _INTS | _FLOATS | _TEXT
JSON = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=10,
)

PROMPTS = [
    "dark trap in F minor, 140 bpm, 8 bars",
    "lofi hip hop piano loop",
    "808 kick",
    "fast jazz waltz in 3/4 with walking bass",
    "ambient pad, 40 bpm, 2 bars",
    "punchy snare, 4 seconds",
    "x",
    "",
    "   ",
    "7/8 breakbeat at 400 bpm, 256 bars",
]
INSTRUMENT_SPECS = ['bass=builtin:"sub"', "drums=/no/such/Plugin.vst3", "=", "bass=builtin:", "*=builtin:x",
                    "melody=/etc/passwd", "part1=builtin:'pad'"]  # fmt: skip
FX_SPECS = ["*=reverb(room_size=0.3)", "bass=delay(delay_seconds=-1)", "*=gain(gain_db=1e308)", "*=nope()",
            "drums=compressor(threshold_db=x)", "*=ladder(mode=LPF99)", "*=", "*=/no/Effect.vst3(mix=1)",
            "*=reverb(room_size=0.3"]  # fmt: skip
MODEL_NAMES = ["text2midi", "basic_pitch", "stems", "minilm", "text2sample", "sample_critic",
               "corrupt_model", "absent_model", "garbled", "no-such-model", "../../etc/passwd", ""]  # fmt: skip


@functools.cache
def _spec() -> dict:
    from promptdaw.core.music.prompt import parse_prompt

    spec = parse_prompt("lofi hip hop in A minor, 2 bars, 90 bpm").to_dict()
    return json.loads(json.dumps(spec))


@functools.cache
def _patch() -> dict:
    from promptdaw.runtime.synthesis.patch import Patch

    return Patch.from_dict({"params": {}}).to_dict()


@st.composite
def _edited(draw: st.DrawFn, base: dict) -> dict:
    """``base`` with one field (or one of its ``params``) replaced, removed or added."""
    out = json.loads(json.dumps(base))
    target = out["params"] if isinstance(out.get("params"), dict) and draw(st.booleans()) else out
    key = draw(st.sampled_from([*target, "unknown_field"]))
    if draw(st.booleans()) and key in target:
        del target[key]
    else:
        target[key] = draw(PLAUSIBLE.get(key, JSON) | JSON)
    return out


PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "prompt": st.sampled_from(PROMPTS),
    "model": st.sampled_from(MODEL_NAMES),
    "bars": st.integers(-2, 300),
    "bpm": st.floats(0, 1000),
    "key": st.sampled_from(["F minor", "C#m", "H major", "Cb", "", "Eb dorian", "A"]),
    "meter": st.sampled_from(["6/8", "0/4", "4/0", "99/4", "3/3", "4/4", [7, 8], [4, 0]]),
    "seed": st.integers(-5, 2**32),
    "keep": st.floats(-1, 2),
    "add_bars": st.integers(-1, 300),
    "part": st.sampled_from(["drums", "bass", "all", "melody", "nope", ""]),
    "from_bar": st.integers(-2, 300),
    "to_bar": st.integers(-2, 300),
    "onset_threshold": st.floats(-1, 2),
    "frame_threshold": st.floats(-1, 2),
    "min_note_ms": st.floats(-10, 5000),
    "tempo_bpm": st.floats(-10, 1000),
    "program": st.integers(-1, 200),
    "sample_rate": st.sampled_from([1, 7999, 8000, 22050, 44100, 192000, 192001]),
    "target_lufs": st.floats(-100, 10),
    "instruments": st.lists(st.sampled_from(INSTRUMENT_SPECS), max_size=3),
    "fx": st.lists(st.sampled_from(FX_SPECS), max_size=3),
    "wrap": st.booleans(),
    "note": st.sampled_from(["C3", "F#1", "Bb3", "H9", "C-9", 60, 127, 128, -1, 60.5, ""]),
    "velocity": st.integers(-1, 200),
    "duration_s": st.floats(-1, 40),
    "strength": st.floats(-1, 2),
    "listen": st.sampled_from(["thorough", "quick", "off", "loud"]),
    "request_id": st.text(max_size=8),
    "timeout_s": st.sampled_from([0.001, 0.01, 0.5, 86_400, 86_401]),
}


_SONG = ["prompt", "bars", "bpm", "key", "meter", "seed", "spec", "model"]
#: The params each type reads (``timeout_s`` is added for jobs).
NAMES: dict[str, list[str]] = {
    "ping": [], "status": [], "models": [],
    "load": ["model"], "unload": ["model"], "cancel": ["request_id"], "result": ["request_id"],
    "transcribe": ["onset_threshold", "frame_threshold", "min_note_ms", "tempo_bpm", "program", "model"],
    "separate": ["model"],
    "generate-midi": _SONG,
    "vary-midi": [*_SONG, "keep"],
    "continue-midi": [*_SONG, "add_bars"],
    "regenerate-midi": [*_SONG, "part", "from_bar", "to_bar"],
    "generate-loop": [*_SONG, "sample_rate", "target_lufs"],
    "render-midi": ["instruments", "fx", "bpm", "key", "bars", "wrap", "sample_rate", "target_lufs", "seed"],
    "generate-sample": ["prompt", "note", "velocity", "duration_s", "seed", "patch", "vary_from", "strength",
                        "sample_rate", "listen", "model"],
}  # fmt: skip
#: A valid request of each type that the fuzzer starts from (small, so a success is quick).
BASES: dict[str, dict[str, Any]] = {
    "load": {"model": "text2midi"},
    "unload": {"model": "no-such-model"},
    "cancel": {"request_id": "not-running"},
    "result": {"request_id": "not-kept"},
    "generate-midi": {"prompt": "lofi hip hop, 2 bars"},
    "vary-midi": {"prompt": "lofi hip hop, 2 bars"},
    "continue-midi": {"prompt": "lofi hip hop", "add_bars": 1},
    "regenerate-midi": {"prompt": "lofi hip hop, 2 bars"},
    "generate-loop": {"prompt": "lofi hip hop, 1 bar", "sample_rate": 8000},
    "render-midi": {"sample_rate": 8000},
    "generate-sample": {"prompt": "808 kick", "listen": "off", "sample_rate": 8000},
}
JOB_TYPES = {"load", "transcribe", "separate", *MIDI_TYPES, "generate-midi", "generate-loop", "generate-sample"}
ALL_NAMES = sorted({*PLAUSIBLE, "spec", "patch", "vary_from"})


def _value(name: str) -> st.SearchStrategy[Any]:
    if name == "spec":
        return st.one_of(_edited(_spec()), _edited(_spec()), JSON)
    if name in ("patch", "vary_from"):
        return st.one_of(_edited(_patch()), _edited(_patch()), JSON)
    if name in PLAUSIBLE:
        return st.one_of(PLAUSIBLE[name], PLAUSIBLE[name], JSON)
    return JSON


@st.composite
def params_for(draw: st.DrawFn, type_: str) -> Any:
    """A valid base (usually) with up to three params of the type, of another type or unknown, set to hostile values."""
    if draw(st.integers(0, 19)) == 0:
        return draw(JSON)  # maybe not even an object
    params = dict(BASES.get(type_, {})) if draw(st.integers(0, 5)) else {}
    names = NAMES[type_] + (["timeout_s"] if type_ in JOB_TYPES else [])
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.integers(0, 9))
        if kind < 6 and names:
            name = draw(st.sampled_from(names))
        elif kind < 8:
            name = draw(st.sampled_from(ALL_NAMES))
        else:
            name = draw(st.text(max_size=16))
        params[name] = draw(_value(name))
    return params


# ------------------------------------------------------------------------------- buffers


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _chunk(name: bytes, data: bytes) -> bytes:
    return name + struct.pack(">L", len(data)) + data


TRACK_NAMES = [b"drums", b"bass", b"Chords", b"lead", b"\xff\xfe", b"", b"808 sub", b"part 1"]
REAL_MIDI = (
    _chunk(b"MThd", struct.pack(">HHH", 1, 2, 480))
    + _chunk(b"MTrk", b"\x00\xff\x51\x03\x07\xa1\x20\x00\xff\x58\x04\x04\x02\x18\x08\x00\xff\x2f\x00")
    + _chunk(b"MTrk", b"\x00\x90\x3c\x64\x83\x60\x80\x3c\x00\x00\xff\x2f\x00")
)
_BYTE = st.integers(0, 255)
_DATA7 = st.integers(0, 127)
_SF = st.integers(-7, 7).map(lambda sf: sf & 0xFF) | _BYTE  # sharps (flats negative), as a byte
_TEMPO = st.sampled_from([0, 1, 2**24 - 1]) | st.integers(0, 2**24 - 1)  # microseconds per beat
_NUMERATOR = st.integers(0, 17) | _BYTE
_DENOMINATOR = st.integers(0, 6) | _BYTE  # a power of two
_EVENT = st.one_of(
    st.builds(lambda c, n, v: bytes([0x90 | c, n, v]), st.integers(0, 15), _DATA7, _DATA7),  # note on
    st.builds(lambda c, n, v: bytes([0x80 | c, n, v]), st.integers(0, 15), _DATA7, _DATA7),  # note off
    st.builds(lambda c, p: bytes([0xC0 | c, p]), st.integers(0, 15), _DATA7),  # program change
    st.builds(lambda t: b"\xff\x51\x03" + t.to_bytes(3, "big"), _TEMPO),  # tempo
    st.builds(lambda n, d: bytes([0xFF, 0x58, 4, n, d, 24, 8]), _NUMERATOR, _DENOMINATOR),  # meter
    st.builds(lambda sf, mi: bytes([0xFF, 0x59, 2, sf, mi]), _SF, st.integers(0, 1) | _BYTE),  # key signature
    st.builds(lambda name: b"\xff\x03" + _vlq(len(name)) + name, st.sampled_from(TRACK_NAMES)),  # track name
    st.builds(lambda m, data: bytes([0xFF, m]) + _vlq(len(data)) + data, _BYTE, st.binary(max_size=6)),  # any meta
)
_DELTA = st.one_of(st.integers(0, 960), st.integers(0, 960), st.integers(0, 960), st.integers(0, 2**28 - 1))
_TRACK = st.lists(st.tuples(_DELTA, _EVENT), max_size=24).map(
    lambda events: _chunk(b"MTrk", b"".join(_vlq(d) + e for d, e in events) + b"\x00\xff\x2f\x00")
)


@st.composite
def smf(draw: st.DrawFn) -> bytes:
    """A Standard MIDI File whose header, events and values are hostile, maybe cut or flipped."""
    tracks = draw(st.lists(_TRACK, max_size=4))
    declared = draw(st.sampled_from([len(tracks)] * 5 + [len(tracks) + 1, 0, 65535]))
    division = draw(st.sampled_from([480, 96, 1, 0, 0xFFFF, 0x7FFF, 0xE728]) | st.integers(0, 0xFFFF))
    header = _chunk(b"MThd", struct.pack(">HHH", draw(st.integers(0, 3)), declared, division))
    data = header + b"".join(tracks)
    damage = draw(st.sampled_from(["none"] * 4 + ["truncate", "flip"]))
    if damage == "truncate":
        data = data[: draw(st.integers(4, max(4, len(data) - 1)))]
    elif damage == "flip" and len(data) > 14:
        at = draw(st.integers(14, len(data) - 1))
        data = data[:at] + bytes([draw(_BYTE)]) + data[at + 1 :]
    return data


@functools.cache
def _clip_midi() -> bytes:
    """A clip as promptdaw writes it: conductor track, drums on channel 10, bass, chords; 2 bars."""
    from promptdaw.core.clip import Clip, ClipNote, ClipTrack, clip_to_midi
    from promptdaw.core.music.prompt import parse_prompt

    spec = parse_prompt("lofi hip hop in A minor, 2 bars, 90 bpm")
    tracks = [
        ClipTrack(
            "drums", 0, "Drums", [ClipNote(step, 1, 36 if step % 8 == 0 else 42, 100) for step in range(0, 32, 2)]
        ),
        ClipTrack("bass", 33, "Mellow Bass", [ClipNote(0, 8, 45, 90), ClipNote(16, 8, 41, 90)]),
        ClipTrack("chords", 4, "Rhodes", [ClipNote(0, 16, p, 70) for p in (57, 60, 64)]),
    ]
    return clip_to_midi(Clip(spec, tracks))


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` cut short, or with a few bytes overwritten."""
    if draw(st.booleans()):
        return data[: draw(st.integers(4, len(data) - 1))]
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(14, len(data) - 1))] = draw(_BYTE)
    return bytes(data)


VALID_MIDI = st.sampled_from(["clip", "real"]).map(lambda name: _clip_midi() if name == "clip" else REAL_MIDI)
MIDI_BYTES = st.one_of(
    VALID_MIDI,
    VALID_MIDI,
    VALID_MIDI,
    smf(),
    smf(),
    smf(),
    VALID_MIDI.flatmap(damaged),
    VALID_MIDI.flatmap(damaged),
    st.binary(max_size=64).map(lambda b: b"MThd" + b),  # garbage behind the magic
    st.binary(max_size=32),  # not even the magic: malformed
)


@st.composite
def audio(draw: st.DrawFn) -> tuple[dict, bytes]:
    long = draw(st.integers(0, 9)) == 0  # sometimes over the hour-long limit (at 1 Hz)
    frames = draw(st.integers(3601, 4000) if long else st.sampled_from([0, 1, 2, 7, 100, 2048, 22050]))
    channels = draw(st.sampled_from([0, 1, 2, 3, 6]))
    rate = 1 if long else draw(st.sampled_from([8000, 22050, 44100, 48000, 768000]) | st.integers(100, 768_000))
    fill = draw(st.sampled_from(["noise", "zeros", "nan", "inf", "huge", "tiny", "clipped"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    samples = rng.standard_normal((frames, channels)).astype(np.float32) * 0.1
    if fill == "zeros":
        samples[:] = 0
    elif fill in ("nan", "inf") and samples.size:
        samples.flat[draw(st.integers(0, samples.size - 1))] = np.nan if fill == "nan" else -np.inf
    elif fill == "huge":
        samples *= np.float32(3e37)
    elif fill == "tiny":
        samples *= np.float32(1e-40)  # denormal
    elif fill == "clipped":
        samples = np.sign(samples).astype(np.float32)
    descriptor: dict[str, Any] = {"kind": "audio", "encoding": "f32le", "shape": [frames, channels]}
    descriptor["sample_rate"] = rate
    frame = samples.astype("<f4").tobytes()
    broken = draw(st.sampled_from([None] * 20 + ["encoding", "shape", "length", "rate", "kind"]))
    if broken == "encoding":
        descriptor["encoding"] = draw(st.sampled_from(["s16le", "f32be", None]))
    elif broken == "shape":
        descriptor["shape"] = draw(st.sampled_from([[frames], [frames, channels, 1], [-1, 2], "big", None, [1.5, 2]]))
    elif broken == "length":
        frame = frame[: max(0, len(frame) - draw(st.integers(1, 8)))] + b"\x00" * draw(st.integers(0, 3))
    elif broken == "rate":
        descriptor["sample_rate"] = draw(st.sampled_from([0, -44100, 768_001, 44100.0, "44100", None, True]))
    elif broken == "kind":
        descriptor["kind"] = draw(st.sampled_from(["video", None, 1]))
    return descriptor, frame


BUFFERS = st.lists(st.one_of(MIDI_BYTES.map(lambda b: ({"kind": "midi", "encoding": "smf"}, b)), audio()), max_size=3)


def _buffers_for(type_: str) -> st.SearchStrategy[list]:
    """Mostly the buffers a type takes (so requests get past "needs one buffer"), sometimes anything."""
    if type_ in MIDI_TYPES:
        usual = MIDI_BYTES.map(lambda b: [({"kind": "midi", "encoding": "smf"}, b)])
    elif type_ in ("transcribe", "separate"):
        usual = audio().map(lambda a: [a])
    else:
        usual = st.just([])
    return st.one_of(usual, usual, usual, BUFFERS)


# ------------------------------------------------------------------------------- the tests


@pytest.mark.timeout(600)
@pytest.mark.parametrize("type_", FUZZED_TYPES)
def test_hostile_requests_never_fail_internally(wire: Wire, type_: str) -> None:
    codes: Counter[str] = Counter()
    sent: list[str] = []

    @settings(
        max_examples=max(1, round(EXAMPLES[type_] * SCALE)),
        deadline=None,
        derandomize=not EXPLORE,
        database=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(params=params_for(type_), buffers=_buffers_for(type_))
    def hostile(params: Any, buffers: list[tuple[Any, bytes]]) -> None:
        reply = exchange(wire, type_, params, buffers)
        sent.append(reply.id)
        code = _code(reply) or "ok"
        codes[code] += 1
        if os.environ.get("PROMPTDAW_FUZZ_LOG"):
            with open(os.environ["PROMPTDAW_FUZZ_LOG"], "a") as log:
                print(type_, code, _short(params)[:200], str(reply.body.get("message", ""))[:300], file=log)
        assert code != "internal", f"{type_} params={_short(params)} -> {reply.body}"
        if reply.event == "error":
            assert str(reply.body.get("message", "")).strip(), f"an error without a message: {reply.body}"

    hostile()
    status = wire.final(wire.send("status", {}), REPLY_TIMEOUT_S)
    assert status is not None and status.event == "result", "the daemon stopped answering status"
    wire.drain()
    duplicated = {rid: [r.event for r in wire.finals[rid]] for rid in sent if len(wire.finals[rid]) != 1}
    assert not duplicated, f"requests with more than one final reply: {duplicated}"
    print(f"{type_}: {dict(codes)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 600 else text[:600] + "..."


# ------------------------------------------------------------------------------- regressions
# What the fuzzer (and 3,000 hostile requests before it) found, each pinned down.

MIDI = {"kind": "midi", "encoding": "smf"}


def audio_buffer(samples: np.ndarray, sample_rate: int) -> tuple[dict, bytes]:
    descriptor = {"kind": "audio", "encoding": "f32le", "shape": list(samples.shape), "sample_rate": sample_rate}
    return descriptor, samples.astype("<f4").tobytes()


def test_the_real_midi_file_is_readable() -> None:
    midi = read_midi(REAL_MIDI)
    assert [m.type for m in midi.tracks[1]] == ["note_on", "note_off", "end_of_track"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (REAL_MIDI[:40], "truncated"),
        (REAL_MIDI[:14], "truncated"),  # a header and nothing else: the first track is missing
        (b"MThd\x00\x00\x00\x06\x00\x01", "truncated"),
        (b"MThd" + bytes(range(40)), ""),
        (REAL_MIDI.replace(b"\x01\xe0", b"\xe7\x28", 1), "SMPTE"),
        (REAL_MIDI.replace(b"\x01\xe0", b"\x00\x00", 1), "0 ticks per beat"),
        (REAL_MIDI.replace(b"\x07\xa1\x20", b"\x00\x00\x00"), "tempo of 0"),
        (REAL_MIDI.replace(b"\x58\x04\x04", b"\x58\x04\x00"), "time signature of 0/"),
        (REAL_MIDI.replace(b"\xff\x58\x04\x04\x02\x18\x08", b"\xff\x59\x02\x40\x07\x00\x00"), "KeySignatureError"),
        (REAL_MIDI.replace(b"\xff\x51\x03", b"\xff\x51\x00"), "IndexError"),
    ],
)
def test_unreadable_midi_is_invalid_midi_naming_the_buffer(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidMidi, match=r"^midi buffer: not a readable Standard MIDI File: .") as caught:
        read_midi(data)
    assert reason in caught.value.message


@pytest.mark.parametrize("type_", MIDI_TYPES)
def test_unreadable_midi_is_invalid_params_in_every_midi_request(wire: Wire, type_: str) -> None:
    """Was ``internal`` (EOFError) for continue-midi with a truncated file."""
    for data in (REAL_MIDI[:40], b"MThd" + bytes(range(40)), REAL_MIDI.replace(b"\x01\xe0", b"\x00\x00", 1)):
        reply = exchange(wire, type_, {"prompt": "lofi hip hop, 2 bars"}, [(MIDI, data)])
        assert _code(reply) == "invalid_params", reply.body
        assert reply.body["message"].startswith("midi buffer: not a readable Standard MIDI File: ")


def test_a_file_tempo_that_renders_nothing_is_invalid_params(wire: Wire) -> None:
    """Was ``inference_failed`` ("length must be positive"): 1 microsecond per beat is 6e7 bpm."""
    fast = REAL_MIDI.replace(b"\x07\xa1\x20", b"\x00\x00\x01")
    reply = exchange(wire, "render-midi", {"sample_rate": 8000}, [(MIDI, fast)])
    assert _code(reply) == "invalid_params" and "give params.bpm" in reply.body["message"], reply.body
    assert exchange(wire, "render-midi", {"sample_rate": 8000, "bpm": 120}, [(MIDI, fast)]).event == "result"


@pytest.mark.parametrize(
    ("field", "value"),
    [("bpm", 0.0), ("bpm", math.nan), ("meter", "4/0"), ("bars", 0), ("key_mode", "ionian"), ("parts", [])],
)
def test_an_edited_spec_is_checked_field_by_field(wire: Wire, field: str, value: Any) -> None:
    """Was ``internal`` (ZeroDivisionError) for a spec with bpm 0 in generate-midi and generate-loop."""
    reply = exchange(wire, "generate-midi", {"spec": {**_spec(), field: value}})
    assert _code(reply) == "invalid_params" and f"spec.{field}" in reply.body["message"], reply.body


def test_audio_shorter_than_one_model_sample_is_invalid_audio(wire: Wire) -> None:
    """Was ``internal`` (ValueError "audio is empty"): 1 frame at 768 kHz resamples to nothing."""
    reply = exchange(wire, "transcribe", {}, [audio_buffer(np.zeros((1, 2), np.float32), 768_000)])
    assert _code(reply) == "invalid_audio" and "too short" in reply.body["message"], reply.body


def test_a_model_of_another_kind_is_invalid_params(wire: Wire) -> None:
    """Was ``internal`` (KeyError 'magnitude'): separate fed its spectrogram to the text-to-MIDI model."""
    reply = exchange(wire, "separate", {"model": "text2midi"}, [audio_buffer(np.zeros((2048, 2), np.float32), 44100)])
    assert _code(reply) == "invalid_params" and "stem-separation" in reply.body["message"], reply.body
