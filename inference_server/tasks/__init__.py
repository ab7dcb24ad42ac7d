"""Long requests that run on worker threads, one module per family of request types.

Each task is ``task(ctx) -> (result, payloads)``; it reads ``ctx.request``, gets models from
``ctx.registry`` through ``runtime.catalog`` and calls ``ctx.progress`` between chunks of work.
``inference_server.requests`` says which task serves which request type.
"""
