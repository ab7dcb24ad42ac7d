"""Every error promptdaw reports, and the one table mapping them to wire codes.

The hierarchy::

    PromptdawError                  internal
    ├── ProtocolError               bad_request
    │   ├── MalformedMessage        malformed
    │   ├── UnsupportedVersion      unsupported_version
    │   ├── UnknownRequestType      unknown_type
    │   ├── PayloadTooLarge         payload_too_large
    │   └── InvalidParams           invalid_params
    │       └── InvalidAudio        invalid_audio
    ├── ModelError                  model_error
    │   ├── ModelNotFound           model_not_found
    │   ├── ModelUnavailable        model_unavailable
    │   └── InferenceFailed         inference_failed
    ├── JobError                    job_error
    │   ├── JobCancelled            cancelled
    │   ├── JobTimeout              timeout
    │   ├── JobNotFound             job_not_found
    │   └── ServerBusy              busy
    ├── DaemonUnavailable           daemon_unavailable   (raised by clients only)
    └── InsecureEndpoint            insecure_endpoint    (raised at start-up only)

The daemon turns an exception into an error reply with :func:`error_to_wire`; a client turns
the reply back into the same class with :func:`error_from_wire`, so callers on both sides
catch typed exceptions.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "DaemonUnavailable",
    "InferenceFailed",
    "InsecureEndpoint",
    "InvalidAudio",
    "InvalidParams",
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
    "ServerBusy",
    "UnknownRequestType",
    "UnsupportedVersion",
    "error_from_wire",
    "error_to_wire",
]


class PromptdawError(Exception):
    """Base class; ``code`` is the stable identifier sent on the wire."""

    code: ClassVar[str] = "internal"

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class ProtocolError(PromptdawError):
    code = "bad_request"
    #: Filled in by the decoder when the header could be read, to address the error reply.
    request_id: str | None = None
    request_type: str | None = None


class MalformedMessage(ProtocolError):
    code = "malformed"


class UnsupportedVersion(ProtocolError):
    code = "unsupported_version"


class UnknownRequestType(ProtocolError):
    code = "unknown_type"


class PayloadTooLarge(ProtocolError):
    code = "payload_too_large"


class InvalidParams(ProtocolError):
    code = "invalid_params"


class InvalidAudio(InvalidParams):
    code = "invalid_audio"


class ModelError(PromptdawError):
    code = "model_error"


class ModelNotFound(ModelError):
    code = "model_not_found"


class ModelUnavailable(ModelError):
    """The model is known but cannot be loaded: file missing, checksum mismatch, bad ONNX."""

    code = "model_unavailable"


class InferenceFailed(ModelError):
    code = "inference_failed"


class JobError(PromptdawError):
    code = "job_error"


class JobCancelled(JobError):
    code = "cancelled"


class JobTimeout(JobError):
    code = "timeout"


class JobNotFound(JobError):
    code = "job_not_found"


class ServerBusy(JobError):
    code = "busy"


class DaemonUnavailable(PromptdawError):
    code = "daemon_unavailable"


class InsecureEndpoint(PromptdawError):
    """A non-loopback endpoint without CurveZMQ keys."""

    code = "insecure_endpoint"


def _all_subclasses(cls: type[PromptdawError]) -> list[type[PromptdawError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_all_subclasses(sub))
    return found


#: The one code <-> class table.
ERRORS_BY_CODE: dict[str, type[PromptdawError]] = {cls.code: cls for cls in _all_subclasses(PromptdawError)}


def error_to_wire(error: BaseException) -> dict[str, Any]:
    """Return the ``error`` object of an error reply for any exception.

    Exceptions that are not ours become ``internal`` with their type in the message, so a
    crashed model or a bug still reaches the client as one clear line.
    """
    if isinstance(error, PromptdawError):
        return {"code": error.code, "message": error.message}
    return {"code": PromptdawError.code, "message": f"{type(error).__name__}: {error}"}


def error_from_wire(error: dict[str, Any]) -> PromptdawError:
    """Rebuild the typed exception from an error reply's ``error`` object."""
    code = str(error.get("code", PromptdawError.code))
    cls = ERRORS_BY_CODE.get(code, PromptdawError)
    return cls(str(error.get("message", code)))
