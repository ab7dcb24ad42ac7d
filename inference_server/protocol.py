"""The promptdaw wire protocol: the only module that builds or parses frames.

A message is a ZeroMQ multipart message: a signature frame, one UTF-8 JSON header frame, then
zero or more binary frames, each described by an entry of the header's ``buffers`` list.
Clients use a DEALER socket, the daemon a ROUTER socket (which adds the routing identity frame
in front). The ``encode_*``/``decode_*`` functions build and read the header and buffers;
:func:`sign` puts the signature in front and :func:`verify` checks and strips it, as Jupyter's
``Session`` signs kernel messages. ``docs/protocol.md`` is the authoritative description; keep
the two in step.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from promptdaw.inference_server.errors import (
    BadSignature,
    MalformedMessage,
    PayloadTooLarge,
    ProtocolError,
    UnsupportedVersion,
    error_from_wire,
    error_to_wire,
)

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_PORT",
    "PROTOCOL_VERSION",
    "SIGNATURE_SCHEME",
    "Audio",
    "Midi",
    "Payload",
    "Reply",
    "Request",
    "decode_reply",
    "decode_request",
    "encode_error",
    "encode_progress",
    "encode_request",
    "encode_result",
    "message_size",
    "new_key",
    "raise_for_error",
    "sign",
    "signature",
    "verify",
]

#: Bumped on any incompatible change; independent of the package version. 2: the signature frame.
PROTOCOL_VERSION = 2
#: How the signature frame is made (named in the connection file, as Jupyter's ``signature_scheme``).
SIGNATURE_SCHEME = "hmac-sha256"
DEFAULT_PORT = 7467
DEFAULT_ENDPOINT = f"tcp://127.0.0.1:{DEFAULT_PORT}"
#: Largest accepted request (all frames together). 10 minutes of 48 kHz stereo float32 is 230 MB.
DEFAULT_MAX_MESSAGE_BYTES = 512 * 1024 * 1024
MAX_HEADER_BYTES = 1024 * 1024
MAX_ID_CHARS = 128
MAX_SAMPLE_RATE = 768_000


Event = Literal["result", "progress", "error"]
Frame = bytes | memoryview


@dataclass(frozen=True)
class Audio:
    """Audio as float32 ``[frames, channels]`` samples at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int


@dataclass(frozen=True)
class Midi:
    """A Standard MIDI File, as bytes."""

    data: bytes


Payload = Audio | Midi


@dataclass(frozen=True)
class Request:
    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    payloads: tuple[Payload, ...] = ()


@dataclass(frozen=True)
class Reply:
    """One message from the daemon: a final ``result`` or ``error``, or a ``progress`` event."""

    id: str | None
    type: str | None
    event: Event
    body: dict[str, Any]
    payloads: tuple[Payload, ...] = ()

    @property
    def final(self) -> bool:
        return self.event != "progress"


# --------------------------------------------------------------------------- payloads


def _describe(payload: Payload) -> tuple[dict[str, Any], Frame]:
    if isinstance(payload, Audio):
        samples = np.asarray(payload.samples)
        if samples.ndim == 1:
            samples = samples[:, None]
        samples = np.ascontiguousarray(samples, dtype="<f4")
        spec = {
            "kind": "audio",
            "encoding": "f32le",
            "shape": list(samples.shape),
            "sample_rate": int(payload.sample_rate),
        }
        return spec, memoryview(samples.reshape(-1).view(np.uint8))
    if isinstance(payload, Midi):
        return {"kind": "midi", "encoding": "smf"}, payload.data
    raise TypeError(f"payload must be Audio or Midi, got {type(payload).__name__}")


def _parse_payload(spec: Any, frame: Frame, index: int) -> Payload:
    if not isinstance(spec, dict):
        raise MalformedMessage(f"buffers[{index}] must be an object")
    kind = spec.get("kind")
    if kind == "midi":
        data = bytes(frame)
        if not data.startswith(b"MThd"):
            raise MalformedMessage(f"buffers[{index}] is not a Standard MIDI File (no MThd)")
        return Midi(data)
    if kind != "audio":
        raise MalformedMessage(f"buffers[{index}].kind must be 'audio' or 'midi', got {kind!r}")
    if spec.get("encoding") != "f32le":
        raise MalformedMessage(
            f"buffers[{index}].encoding must be 'f32le' (little-endian float32), got {spec.get('encoding')!r}"
        )
    shape, rate = spec.get("shape"), spec.get("sample_rate")
    if not isinstance(shape, list) or len(shape) != 2 or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise MalformedMessage(f"buffers[{index}].shape must be [frames, channels], got {shape!r}")
    if not isinstance(rate, int) or not 0 < rate <= MAX_SAMPLE_RATE:
        raise MalformedMessage(f"buffers[{index}].sample_rate must be an integer in 1..{MAX_SAMPLE_RATE}, got {rate!r}")
    expected = math.prod(shape) * 4
    if len(frame) != expected:
        raise MalformedMessage(
            f"buffers[{index}] holds {len(frame)} bytes but shape {shape} of float32 needs {expected}"
        )
    samples = np.frombuffer(frame, dtype="<f4").reshape(shape)
    return Audio(samples, rate)


def _encode(header: dict[str, Any], payloads: Sequence[Payload]) -> list[Frame]:
    specs, frames = [], []
    for payload in payloads:
        spec, frame = _describe(payload)
        specs.append(spec)
        frames.append(frame)
    if specs:
        header["buffers"] = specs
    return [json.dumps(header, separators=(",", ":"), allow_nan=False).encode(), *frames]


def _parse_header(frame: Frame) -> dict[str, Any]:
    if len(frame) > MAX_HEADER_BYTES:
        raise PayloadTooLarge(f"header frame is {len(frame)} bytes; the limit is {MAX_HEADER_BYTES}")
    try:
        header = json.loads(bytes(frame).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedMessage(f"header frame is not UTF-8 JSON: {exc}") from None
    if not isinstance(header, dict):
        raise MalformedMessage("header frame must be a JSON object")
    return header


def _parse_payloads(header: dict[str, Any], frames: Sequence[Frame]) -> tuple[Payload, ...]:
    specs = header.get("buffers", [])
    if not isinstance(specs, list) or len(specs) != len(frames):
        count = len(specs) if isinstance(specs, list) else "no list of"
        raise MalformedMessage(f"header describes {count} buffers but {len(frames)} binary frames followed")
    return tuple(_parse_payload(s, f, i) for i, (s, f) in enumerate(zip(specs, frames, strict=True)))


def message_size(frames: Sequence[Frame]) -> int:
    return sum(len(f) for f in frames)


# --------------------------------------------------------------------------- signatures


def new_key() -> str:
    """A fresh random signing key: 64 hex digits (256 bits). Its ASCII bytes are the HMAC key."""
    return secrets.token_hex(32)


def signature(key: bytes, frames: Sequence[Frame]) -> bytes:
    """HMAC-SHA256 of ``frames`` (header and buffers) as 64 lower-case hex digits.

    Each frame is preceded by its length as an unsigned 64-bit little-endian integer, so no
    bytes can move from one frame to the next without changing the signature.
    """
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for frame in frames:
        mac.update(struct.pack("<Q", len(frame)))
        mac.update(frame)
    return mac.hexdigest().encode("ascii")


def sign(key: bytes | None, frames: Sequence[Frame]) -> list[Frame]:
    """``frames`` with their signature frame in front; without a key the signature is empty."""
    return [signature(key, frames) if key else b"", *frames]


def verify(key: bytes, frames: Sequence[Frame]) -> Sequence[Frame]:
    """The frames after a valid signature frame.

    Raises:
        BadSignature: no frames, an empty or wrong signature. The receiver drops the message
            without a reply (an answer would tell a stranger what it got wrong).
    """
    if len(frames) < 2 or not len(frames[0]):
        raise BadSignature("unsigned message")
    if not hmac.compare_digest(bytes(frames[0]), signature(key, frames[1:])):
        raise BadSignature("wrong signature")
    return frames[1:]


# --------------------------------------------------------------------------- requests


def encode_request(request: Request) -> list[Frame]:
    """Frames a DEALER client sends for ``request``."""
    header = {
        "protocol": PROTOCOL_VERSION,
        "id": request.id,
        "type": request.type,
        "params": request.params,
    }
    return _encode(header, request.payloads)


def decode_request(frames: Sequence[Frame], *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Request:
    """Parse the frames of one request (without the routing identity).

    Raises:
        ProtocolError: a subclass naming what is wrong. When the header could be read, the
            exception carries ``request_id`` and ``request_type`` so the error reply can
            still be matched to the request.
    """
    header: dict[str, Any] = {}
    try:
        if not frames:
            raise MalformedMessage("empty message")
        header = _parse_header(frames[0])  # first, so even a refusal can name the request
        size = message_size(frames)
        if size > max_bytes:
            raise PayloadTooLarge(f"message is {size} bytes; the limit is {max_bytes}")
        version = header.get("protocol")
        if version != PROTOCOL_VERSION:
            raise UnsupportedVersion(
                f"protocol version {version!r} is not supported; this daemon speaks {PROTOCOL_VERSION}"
            )
        request_id, request_type = header.get("id"), header.get("type")
        if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_ID_CHARS:
            raise MalformedMessage(f"id must be a string of 1..{MAX_ID_CHARS} characters")
        if not isinstance(request_type, str):
            raise MalformedMessage("type must be a string")
        params = header.get("params", {})
        if not isinstance(params, dict):
            raise MalformedMessage("params must be a JSON object")
        payloads = _parse_payloads(header, frames[1:])
    except ProtocolError as exc:
        exc.request_id = header.get("id") if isinstance(header.get("id"), str) else None
        exc.request_type = header.get("type") if isinstance(header.get("type"), str) else None
        raise
    return Request(request_id, request_type, params, payloads)


# --------------------------------------------------------------------------- replies


def _reply_header(request_id: str | None, request_type: str | None, event: Event) -> dict:
    return {"protocol": PROTOCOL_VERSION, "id": request_id, "type": request_type, "event": event}


def encode_result(request: Request, result: dict[str, Any], payloads: Sequence[Payload] = ()) -> list[Frame]:
    header = _reply_header(request.id, request.type, "result")
    header["result"] = result
    return _encode(header, payloads)


def encode_progress(request: Request, fraction: float, stage: str) -> list[Frame]:
    header = _reply_header(request.id, request.type, "progress")
    header["progress"] = {"fraction": round(min(max(fraction, 0.0), 1.0), 4), "stage": stage}
    return _encode(header, ())


def encode_error(request_id: str | None, request_type: str | None, error: BaseException) -> list[Frame]:
    header = _reply_header(request_id, request_type, "error")
    header["error"] = error_to_wire(error)
    return _encode(header, ())


def decode_reply(frames: Sequence[Frame]) -> Reply:
    """Parse a reply received on a DEALER socket."""
    header = _parse_header(frames[0]) if frames else {}
    event = header.get("event")
    if event not in ("result", "progress", "error"):
        raise MalformedMessage(f"reply event must be result, progress or error, got {event!r}")
    if header.get("protocol") != PROTOCOL_VERSION:
        raise UnsupportedVersion(f"daemon speaks protocol {header.get('protocol')!r}")
    body = header.get(event) or {}
    return Reply(header.get("id"), header.get("type"), event, body, _parse_payloads(header, frames[1:]))


def raise_for_error(reply: Reply) -> Reply:
    """Return ``reply``, or raise the typed exception an error reply describes."""
    if reply.event == "error":
        raise error_from_wire(reply.body)
    return reply
