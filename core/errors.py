"""Domain errors: what can go wrong with a user's input or a model, said without any wire.

The hierarchy::

    PromptdawError
    ├── InvalidInput        a value the user gave is wrong; the message names the field or file
    │   ├── InvalidAudio    audio that cannot be read or used
    │   └── InvalidMidi     a Standard MIDI File that cannot be read
    └── ModelError          a model failed
        ├── ModelNotFound       no model of that name is installed
        ├── ModelUnavailable    known but cannot be loaded: file missing, checksum, bad ONNX
        └── InferenceFailed     the model ran and failed

Every layer raises these; the daemon (``inference_server.errors``) is the one place that maps
them to wire codes and adds the errors only a server has (bad frames, jobs, busy).
"""

from __future__ import annotations

__all__ = [
    "InferenceFailed",
    "InvalidAudio",
    "InvalidInput",
    "InvalidMidi",
    "ModelError",
    "ModelNotFound",
    "ModelUnavailable",
    "PromptdawError",
]


class PromptdawError(Exception):
    """Base class of every promptdaw error; ``message`` is the one line shown to the user."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__


class InvalidInput(PromptdawError, ValueError):
    """A parameter, prompt or file the user gave is wrong: the message names it."""


class InvalidAudio(InvalidInput):
    pass


class InvalidMidi(InvalidInput):
    pass


class ModelError(PromptdawError):
    pass


class ModelNotFound(ModelError):
    pass


class ModelUnavailable(ModelError):
    """The model is known but cannot be loaded: file missing, checksum mismatch, bad ONNX."""


class InferenceFailed(ModelError):
    pass
