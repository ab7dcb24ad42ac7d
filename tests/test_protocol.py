"""Framing round trips and every way a request can be malformed (no sockets needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from promptdaw.inference_server import protocol
from promptdaw.inference_server.errors import (
    ERRORS_BY_CODE,
    BadSignature,
    InvalidAudio,
    MalformedMessage,
    PayloadTooLarge,
    PromptdawError,
    UnknownRequestType,
    UnsupportedVersion,
    error_from_wire,
    error_to_wire,
    wire_code,
)
from promptdaw.inference_server.protocol import Audio, Midi, Request
from promptdaw.inference_server.requests import request_type

MIDI_BYTES = b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x04\x00\xff/\x00"


def header(frames: list) -> dict:
    return json.loads(bytes(frames[0]))


def test_request_round_trip_with_audio_and_midi() -> None:
    samples = np.random.default_rng(0).standard_normal((1000, 2)).astype(np.float32)
    request = Request("r1", "transcribe", {"onset_threshold": 0.4}, (Audio(samples, 48000), Midi(MIDI_BYTES)))
    decoded = protocol.decode_request(protocol.encode_request(request))
    assert (decoded.id, decoded.type, decoded.params) == ("r1", "transcribe", {"onset_threshold": 0.4})
    audio, midi = decoded.payloads
    assert isinstance(audio, Audio) and audio.sample_rate == 48000
    np.testing.assert_array_equal(audio.samples, samples)
    assert midi == Midi(MIDI_BYTES)


def test_mono_audio_is_sent_as_one_channel() -> None:
    frames = protocol.encode_request(Request("r", "ping", {}, (Audio(np.zeros(10, np.float32), 22050),)))
    assert header(frames)["buffers"] == [{"kind": "audio", "encoding": "f32le", "shape": [10, 1], "sample_rate": 22050}]
    assert len(frames[1]) == 40


def test_replies_carry_the_request_id() -> None:
    request = Request("abc", "transcribe")
    result = protocol.decode_reply(protocol.encode_result(request, {"n": 1}, (Midi(MIDI_BYTES),)))
    assert (result.id, result.event, result.body, result.final) == ("abc", "result", {"n": 1}, True)
    progress = protocol.decode_reply(protocol.encode_progress(request, 0.5, "transcribing"))
    assert (progress.event, progress.final) == ("progress", False)
    assert progress.body == {"fraction": 0.5, "stage": "transcribing"}
    error = protocol.decode_reply(protocol.encode_error("abc", "transcribe", InvalidAudio("audio is empty")))
    assert error.body == {"code": "invalid_audio", "message": "audio is empty"}
    with pytest.raises(InvalidAudio, match="audio is empty"):
        protocol.raise_for_error(error)


@pytest.mark.parametrize(
    ("frames", "error", "match"),
    [
        ([], MalformedMessage, "empty"),
        ([b"\xff\xfe not utf-8"], MalformedMessage, "UTF-8 JSON"),
        ([b"{not json"], MalformedMessage, "JSON"),
        ([b"[1, 2]"], MalformedMessage, "object"),
        ([b'{"protocol": 99, "id": "x", "type": "ping"}'], UnsupportedVersion, "99"),
        ([b'{"id": "x", "type": "ping"}'], UnsupportedVersion, "None"),
        ([b'{"protocol": 2, "type": "ping"}'], MalformedMessage, "id"),
        ([b'{"protocol": 2, "id": "x", "type": "ping", "params": 3}'], MalformedMessage, "params"),
        ([b'{"protocol": 2, "id": "x", "type": "ping"}', b"extra"], MalformedMessage, "0 buffers"),
    ],
)
def test_malformed_requests_raise_typed_errors(frames: list, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        protocol.decode_request(frames)


def _audio_request(spec: dict, frame: bytes) -> list:
    head = {"protocol": 2, "id": "a1", "type": "transcribe", "buffers": [spec]}
    return [json.dumps(head).encode(), frame]


@pytest.mark.parametrize(
    ("spec", "nbytes", "match"),
    [
        ({"kind": "audio", "encoding": "s16le", "shape": [4, 1], "sample_rate": 8000}, 8, "f32le"),
        ({"kind": "audio", "encoding": "f32le", "shape": [4, 1], "sample_rate": 8000}, 12, "needs 16"),
        ({"kind": "audio", "encoding": "f32le", "shape": [4], "sample_rate": 8000}, 16, "frames, channels"),
        ({"kind": "audio", "encoding": "f32le", "shape": [4, 1], "sample_rate": 0}, 16, "sample_rate"),
        ({"kind": "video"}, 16, "kind"),
        ({"kind": "midi"}, 16, "MThd"),
    ],
)
def test_bad_buffers_are_rejected_with_the_request_id(spec: dict, nbytes: int, match: str) -> None:
    with pytest.raises(MalformedMessage, match=match) as info:
        protocol.decode_request(_audio_request(spec, b"\x00" * nbytes))
    assert (info.value.request_id, info.value.request_type) == ("a1", "transcribe")


def test_size_limit() -> None:
    frames = _audio_request({"kind": "audio", "encoding": "f32le", "shape": [300, 1], "sample_rate": 8000}, bytes(1200))
    assert protocol.decode_request(frames, max_bytes=2000).payloads
    with pytest.raises(PayloadTooLarge, match="limit is 1000"):
        protocol.decode_request(frames, max_bytes=1000)


KEY = b"0123456789abcdef" * 4


def test_signed_round_trip_and_the_signature_is_hmac_sha256_over_length_prefixed_frames() -> None:
    import hashlib
    import hmac
    import struct

    request = Request("s1", "ping", {"x": 1}, (Midi(MIDI_BYTES),))
    body = protocol.encode_request(request)
    signed = protocol.sign(KEY, body)
    assert len(signed) == len(body) + 1
    mac = hmac.new(KEY, digestmod=hashlib.sha256)
    for frame in body:
        mac.update(struct.pack("<Q", len(frame)) + bytes(frame))
    assert signed[0] == mac.hexdigest().encode()  # what a client in another language computes
    assert protocol.decode_request(protocol.verify(KEY, signed)).id == "s1"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda f: f[1:],  # no signature frame
        lambda f: [b"", *f[1:]],  # an empty one
        lambda f: [protocol.signature(b"another key", f[1:]), *f[1:]],
        lambda f: [f[0], f[1].replace(b"ping", b"pong"), *f[2:]],  # the header changed
        lambda f: [f[0], *f[1:-1], f[-1][:-1]],  # a buffer cut short
        lambda f: [f[0], f[1] + f[2][:4], f[2][4:]],  # bytes moved from one frame to the next
        lambda f: [],
    ],
)
def test_unsigned_or_tampered_messages_fail_verification(tamper) -> None:
    signed = protocol.sign(KEY, protocol.encode_request(Request("s1", "ping", {}, (Midi(MIDI_BYTES),))))
    with pytest.raises(BadSignature):
        protocol.verify(KEY, tamper(signed))


def test_memory_error_is_resources_exhausted_never_internal() -> None:
    assert error_to_wire(MemoryError("Unable to allocate 11.6 GiB"))["code"] == "resources_exhausted"


def test_every_error_code_maps_back_to_its_class() -> None:
    for code, cls in ERRORS_BY_CODE.items():
        rebuilt = error_from_wire(error_to_wire(cls("why")))
        assert type(rebuilt) is cls and wire_code(rebuilt) == code and rebuilt.message == "why"
    assert error_to_wire(ZeroDivisionError("boom")) == {"code": "internal", "message": "ZeroDivisionError: boom"}
    assert type(error_from_wire({"code": "from-the-future", "message": "m"})) is PromptdawError


def test_domain_errors_know_no_wire_and_map_in_one_place() -> None:
    """Lower layers raise core errors; the daemon's table gives each its code, nearest class first."""
    import promptdaw.core.errors as domain

    assert not any(hasattr(cls, "code") for cls in vars(domain).values() if isinstance(cls, type))
    assert wire_code(domain.InvalidMidi("x")) == "invalid_params"
    assert wire_code(domain.InvalidAudio("x")) == "invalid_audio"
    assert wire_code(domain.ModelUnavailable("x")) == "model_unavailable"


def test_unknown_request_type_lists_the_declared_ones() -> None:
    with pytest.raises(UnknownRequestType, match="'dance'; known: cancel, continue-midi"):
        request_type("dance")
    assert request_type("separate").timeout_s == 600.0 and request_type("status").quick
