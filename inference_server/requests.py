"""Every request type of the protocol, declared once: quick or job, default timeout, what runs it.

Quick requests are answered inline by the daemon's loop (a ``Daemon._<name>`` method each);
jobs run on worker threads (``task(ctx) -> (result, payloads)``) with a default timeout the
request may change with ``timeout_s``. The daemon, the decoder's ``unknown_type`` check and
``tests/test_protocol_doc.py`` (against ``docs/protocol.md``'s table) all read this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from promptdaw.inference_server.errors import UnknownRequestType
from promptdaw.inference_server.jobs import JobContext, TaskResult
from promptdaw.inference_server.tasks.generate_loop import generate_loop
from promptdaw.inference_server.tasks.generate_midi import continue_midi, generate_midi, regenerate_midi, vary_midi
from promptdaw.inference_server.tasks.generate_sample import generate_sample
from promptdaw.inference_server.tasks.load import load
from promptdaw.inference_server.tasks.render_midi import render_midi
from promptdaw.inference_server.tasks.separate import separate
from promptdaw.inference_server.tasks.transcribe import transcribe

__all__ = ["REQUESTS", "REQUEST_TYPES", "RequestType", "Task", "request_type"]

Task = Callable[[JobContext], TaskResult]


@dataclass(frozen=True)
class RequestType:
    name: str
    #: A job's worker function; None for a quick request the daemon's loop answers itself.
    task: Task | None = None
    #: A job's default timeout in seconds.
    timeout_s: float | None = None

    @property
    def quick(self) -> bool:
        return self.task is None

    @property
    def handler_name(self) -> str:
        """The ``Daemon`` method that answers a quick request."""
        return "_" + self.name.replace("-", "_")


REQUESTS: dict[str, RequestType] = {
    r.name: r
    for r in (
        RequestType("ping"),
        RequestType("status"),
        RequestType("models"),
        RequestType("unload"),
        RequestType("cancel"),
        RequestType("result"),
        RequestType("shutdown"),
        RequestType("load", load, 120.0),
        RequestType("transcribe", transcribe, 600.0),
        RequestType("generate-midi", generate_midi, 60.0),
        RequestType("vary-midi", vary_midi, 60.0),
        RequestType("continue-midi", continue_midi, 60.0),
        RequestType("regenerate-midi", regenerate_midi, 60.0),
        RequestType("separate", separate, 600.0),
        RequestType("generate-loop", generate_loop, 120.0),
        RequestType("render-midi", render_midi, 300.0),
        RequestType("generate-sample", generate_sample, 60.0),
    )
}
REQUEST_TYPES = frozenset(REQUESTS)


def request_type(name: str) -> RequestType:
    """The declared request type ``name``; ``UnknownRequestType`` lists the known ones."""
    try:
        return REQUESTS[name]
    except KeyError:
        raise UnknownRequestType(f"unknown request type {name!r}; known: {', '.join(sorted(REQUESTS))}") from None
