"""Long requests that run on worker threads, by request type.

Each task is ``task(ctx) -> (result, payloads)``; it reads ``ctx.request``, gets models from
``ctx.registry`` and calls ``ctx.progress`` between chunks of work.
"""

from __future__ import annotations

from collections.abc import Callable

from ..jobs import JobContext, TaskResult
from .load import load
from .transcribe import transcribe

__all__ = ["DEFAULT_TIMEOUTS_S", "TASKS"]

TASKS: dict[str, Callable[[JobContext], TaskResult]] = {
    "load": load,
    "transcribe": transcribe,
}

#: Default per-request timeout; a request may lower or raise it with ``timeout_s``.
DEFAULT_TIMEOUTS_S: dict[str, float] = {
    "load": 120.0,
    "transcribe": 600.0,
}
