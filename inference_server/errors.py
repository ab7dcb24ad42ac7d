"""The daemon's errors and the one table mapping every error to its wire code.

The domain errors (:mod:`promptdaw.core.errors`) know nothing of the wire; this module adds
the errors only a server and its clients have and gives each class its stable code::

    PromptdawError                  internal
    ├── InvalidInput                invalid_params        (core)
    │   ├── InvalidAudio            invalid_audio         (core)
    │   └── InvalidMidi             invalid_params        (core; a kind of invalid input on the wire)
    ├── ModelError                  model_error           (core)
    │   ├── ModelNotFound           model_not_found       (core)
    │   ├── ModelUnavailable        model_unavailable     (core)
    │   └── InferenceFailed         inference_failed      (core)
    ├── ProtocolError               bad_request
    │   ├── MalformedMessage        malformed
    │   ├── UnsupportedVersion      unsupported_version
    │   ├── UnknownRequestType      unknown_type
    │   ├── PayloadTooLarge         payload_too_large
    │   └── BadSignature            bad_signature        (never sent: such messages are dropped)
    ├── JobError                    job_error
    │   ├── JobCancelled            cancelled
    │   ├── JobTimeout              timeout
    │   ├── JobNotFound             job_not_found
    │   └── ServerBusy              busy
    ├── ResourcesExhausted          resources_exhausted  (also any MemoryError)
    ├── DaemonUnavailable           daemon_unavailable   (raised by clients only)
    └── InsecureEndpoint            insecure_endpoint    (raised at start-up only)

The daemon turns an exception into an error reply with :func:`error_to_wire`; a client turns
the reply back into the same class with :func:`error_from_wire`, so callers on both sides
catch typed exceptions.
"""

from __future__ import annotations

from typing import Any

from promptdaw.core.errors import (
    InferenceFailed,
    InvalidAudio,
    InvalidInput,
    InvalidMidi,
    ModelError,
    ModelNotFound,
    ModelUnavailable,
    PromptdawError,
)

__all__ = [
    "ERRORS_BY_CODE",
    "WIRE_CODES",
    "BadSignature",
    "DaemonUnavailable",
    "InferenceFailed",
    "InsecureEndpoint",
    "InvalidAudio",
    "InvalidInput",
    "InvalidMidi",
    "JobCancelled",
    "JobError",
    "JobNotFound",
    "JobTimeout",
    "MalformedMessage",
    "ModelError",
    "ModelNotFound",
    "ModelUnavailable",
    "PayloadTooLarge",
    "PromptdawError",
    "ProtocolError",
    "ResourcesExhausted",
    "ServerBusy",
    "UnknownRequestType",
    "UnsupportedVersion",
    "error_from_wire",
    "error_to_wire",
    "wire_code",
]


class ProtocolError(PromptdawError):
    """A message the daemon cannot read; carries what could be read of its header."""

    #: Filled in by the decoder when the header could be read, to address the error reply.
    request_id: str | None = None
    request_type: str | None = None


class MalformedMessage(ProtocolError):
    pass


class UnsupportedVersion(ProtocolError):
    pass


class UnknownRequestType(ProtocolError):
    pass


class PayloadTooLarge(ProtocolError):
    pass


class BadSignature(ProtocolError):
    """An unsigned or wrongly signed message: dropped and counted, never answered."""


class JobError(PromptdawError):
    pass


class JobCancelled(JobError):
    pass


class JobTimeout(JobError):
    pass


class JobNotFound(JobError):
    pass


class ServerBusy(JobError):
    pass


class ResourcesExhausted(PromptdawError):
    """The daemon ran out of memory for a request; it released what it held and keeps serving."""


class DaemonUnavailable(PromptdawError):
    pass


class InsecureEndpoint(PromptdawError):
    """A non-loopback endpoint without CurveZMQ keys."""


#: The one class -> code table; codes are stable, see docs/protocol.md.
WIRE_CODES: dict[type[PromptdawError], str] = {
    PromptdawError: "internal",
    InvalidInput: "invalid_params",
    InvalidAudio: "invalid_audio",
    ModelError: "model_error",
    ModelNotFound: "model_not_found",
    ModelUnavailable: "model_unavailable",
    InferenceFailed: "inference_failed",
    ProtocolError: "bad_request",
    MalformedMessage: "malformed",
    UnsupportedVersion: "unsupported_version",
    UnknownRequestType: "unknown_type",
    PayloadTooLarge: "payload_too_large",
    BadSignature: "bad_signature",
    JobError: "job_error",
    JobCancelled: "cancelled",
    JobTimeout: "timeout",
    JobNotFound: "job_not_found",
    ServerBusy: "busy",
    ResourcesExhausted: "resources_exhausted",
    DaemonUnavailable: "daemon_unavailable",
    InsecureEndpoint: "insecure_endpoint",
}
ERRORS_BY_CODE: dict[str, type[PromptdawError]] = {code: cls for cls, code in WIRE_CODES.items()}


def wire_code(error: BaseException) -> str:
    """The code of the nearest class in ``WIRE_CODES``; ``internal`` for anything not ours.

    A ``MemoryError`` (numpy's or Python's) is ``resources_exhausted``: not a bug but a request
    too big for the machine, which the client may retry smaller.
    """
    if isinstance(error, MemoryError):
        return WIRE_CODES[ResourcesExhausted]
    for cls in type(error).__mro__:
        if cls in WIRE_CODES:
            return WIRE_CODES[cls]
    return WIRE_CODES[PromptdawError]


def error_to_wire(error: BaseException) -> dict[str, Any]:
    """Return the ``error`` object of an error reply for any exception.

    Exceptions that are not ours become ``internal`` with their type in the message, so a
    crashed model or a bug still reaches the client as one clear line.
    """
    if isinstance(error, PromptdawError):
        return {"code": wire_code(error), "message": error.message}
    return {"code": wire_code(error), "message": f"{type(error).__name__}: {error}"}


def error_from_wire(error: dict[str, Any]) -> PromptdawError:
    """Rebuild the typed exception from an error reply's ``error`` object."""
    code = str(error.get("code", WIRE_CODES[PromptdawError]))
    cls = ERRORS_BY_CODE.get(code, PromptdawError)
    return cls(str(error.get("message", code)))
