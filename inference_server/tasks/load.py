"""``load``: verify and open a model ahead of its first job."""

from __future__ import annotations

import time

from promptdaw.inference_server.errors import InvalidInput
from promptdaw.inference_server.jobs import JobContext, TaskResult
from promptdaw.inference_server.params import string_param


def load(ctx: JobContext) -> TaskResult:
    name = string_param(ctx.request, "model")
    if not name:
        raise InvalidInput("load needs params.model, the name of a model (see `models`)")
    start = time.perf_counter()
    model = ctx.registry.get(name)
    return {
        "model": name,
        "version": model.manifest.version,
        "providers": model.providers,
        "load_s": round(time.perf_counter() - start, 4),
    }, ()
