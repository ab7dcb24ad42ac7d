"""Long requests that run on worker threads, by request type.

Each task is ``task(ctx) -> (result, payloads)``; it reads ``ctx.request``, gets models from
``ctx.registry`` and calls ``ctx.progress`` between chunks of work.
"""

from __future__ import annotations

from collections.abc import Callable

from promptdaw.inference_server.jobs import JobContext, TaskResult
from promptdaw.inference_server.tasks.generate_loop import generate_loop
from promptdaw.inference_server.tasks.generate_midi import continue_midi, generate_midi, regenerate_midi, vary_midi
from promptdaw.inference_server.tasks.generate_sample import generate_sample
from promptdaw.inference_server.tasks.load import load
from promptdaw.inference_server.tasks.render_midi import render_midi
from promptdaw.inference_server.tasks.separate import separate
from promptdaw.inference_server.tasks.transcribe import transcribe

__all__ = ["DEFAULT_TIMEOUTS_S", "TASKS"]

TASKS: dict[str, Callable[[JobContext], TaskResult]] = {
    "load": load,
    "transcribe": transcribe,
    "generate-midi": generate_midi,
    "vary-midi": vary_midi,
    "continue-midi": continue_midi,
    "regenerate-midi": regenerate_midi,
    "separate": separate,
    "generate-loop": generate_loop,
    "render-midi": render_midi,
    "generate-sample": generate_sample,
}

#: Default per-request timeout; a request may lower or raise it with ``timeout_s``.
DEFAULT_TIMEOUTS_S: dict[str, float] = {
    "load": 120.0,
    "transcribe": 600.0,
    "generate-midi": 60.0,
    "vary-midi": 60.0,
    "continue-midi": 60.0,
    "regenerate-midi": 60.0,
    "separate": 600.0,
    "generate-loop": 120.0,
    "render-midi": 300.0,
    "generate-sample": 60.0,
}
