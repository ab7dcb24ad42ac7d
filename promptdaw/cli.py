"""The ``promptdaw`` command: run the daemon and talk to it.

Every client command takes ``--endpoint`` and ``--json``; errors are one line on stderr
and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from promptdaw import __version__
from promptdaw.inference_server.client import DEFAULT_TIMEOUT_S, Client, ProgressCallback, resolve_endpoint
from promptdaw.inference_server.errors import PromptdawError
from promptdaw.inference_server.protocol import DEFAULT_MAX_MESSAGE_BYTES

from .audio_files import read_audio
from .files import atomic_write_bytes
from .launcher import daemon_log_path, ensure_daemon, is_running
from .paths import cache_dir, models_dir

__all__ = ["get_parser", "main"]

#: Exit status when the daemon is not running (as ``systemctl status`` does).
EXIT_NOT_RUNNING = 3


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="promptdaw", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"promptdaw {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    client = argparse.ArgumentParser(add_help=False)
    client.add_argument(
        "--endpoint", help="daemon endpoint (default: $PROMPTDAW_ENDPOINT or tcp://127.0.0.1:7467)"
    )
    client.add_argument("--json", action="store_true", help="print machine-readable JSON")
    client.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help="give up after S seconds without word from the daemon (default %(default)s)",
    )
    client.add_argument(
        "--server-key", type=Path, help="daemon public key for CurveZMQ ($PROMPTDAW_SERVER_KEY)"
    )
    client.add_argument(
        "--client-key", type=Path, help="client secret key for CurveZMQ ($PROMPTDAW_CLIENT_KEY)"
    )

    serve = commands.add_parser("serve", help="run the inference daemon in the foreground")
    serve.add_argument(
        "--endpoint", help="where to listen (default: $PROMPTDAW_ENDPOINT or tcp://127.0.0.1:7467)"
    )
    serve.add_argument(
        "--models-dir", type=Path, help="folder of model manifests (default: $PROMPTDAW_MODELS_DIR)"
    )
    serve.add_argument("--workers", type=int, default=1, help="parallel jobs (default %(default)s)")
    serve.add_argument(
        "--max-queue", type=int, default=64, help="queued jobs before 'busy' (default %(default)s)"
    )
    serve.add_argument(
        "--max-message-mb",
        type=float,
        default=DEFAULT_MAX_MESSAGE_BYTES / 2**20,
        help="largest accepted request in MiB (default %(default)g)",
    )
    serve.add_argument(
        "--curve-keys",
        type=Path,
        metavar="DIR",
        help="CurveZMQ keys folder (from `promptdaw keys`); required off loopback",
    )
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    commands.add_parser("stop", parents=[client], help="stop the daemon")
    commands.add_parser("status", parents=[client], help="daemon state: providers, models, jobs, memory")
    commands.add_parser("models", parents=[client], help="list installed models and their state")
    for verb in ("load", "unload"):
        sub = commands.add_parser(verb, parents=[client], help=f"{verb} a model")
        sub.add_argument("model")

    transcribe = commands.add_parser(
        "transcribe", parents=[client], help="audio file to MIDI (audio-to-MIDI)"
    )
    transcribe.add_argument("input", type=Path, help="WAV, FLAC, MP3, AIFF or OGG file")
    transcribe.add_argument("-o", "--output", type=Path, required=True, help="MIDI file to write")
    transcribe.add_argument(
        "--onset-threshold", type=float, help="0..1, lower finds more notes (default 0.5)"
    )
    transcribe.add_argument(
        "--frame-threshold", type=float, help="0..1, lower sustains notes longer (default 0.3)"
    )
    transcribe.add_argument("--min-note-ms", type=float, help="shortest note kept (default 127.7)")
    transcribe.add_argument("--tempo", type=float, dest="tempo_bpm", help="tempo written to the MIDI file")
    transcribe.add_argument("--model", help="audio-to-MIDI model name (default: the installed one)")

    fetch = commands.add_parser("fetch-models", help="download model files listed in manifests (set-up step)")
    fetch.add_argument("--models-dir", type=Path)
    fetch.add_argument("--force", action="store_true", help="download again even if present")
    fetch.add_argument("--json", action="store_true")

    keys = commands.add_parser("keys", help="create CurveZMQ server and client keys in DIR")
    keys.add_argument("dir", type=Path)
    keys.add_argument("--json", action="store_true")
    return parser


# ---------------------------------------------------------------------- output helpers


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


def _keys(args: argparse.Namespace) -> dict[str, Path | None]:
    """CurveZMQ key files from the flags or the environment."""
    env = {"server_key": "PROMPTDAW_SERVER_KEY", "client_key": "PROMPTDAW_CLIENT_KEY"}
    return {name: getattr(args, name) or (Path(v) if (v := os.environ.get(var)) else None) for name, var in env.items()}


def _client(args: argparse.Namespace) -> Client:
    return Client(args.endpoint, timeout_s=args.timeout, **_keys(args))


def _running(args: argparse.Namespace) -> bool:
    return is_running(resolve_endpoint(args.endpoint), **_keys(args))


def _progress_bar(args: argparse.Namespace, description: str) -> tuple[ProgressCallback, Callable[[], None]]:
    bar = tqdm(total=100, desc=description, unit="%", disable=args.json or None, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")  # fmt: skip

    def update(fraction: float, stage: str) -> None:
        bar.n = round(fraction * 100)
        bar.set_postfix_str(stage, refresh=False)
        bar.refresh()

    return update, bar.close


def _not_running(args: argparse.Namespace) -> int:
    endpoint = resolve_endpoint(args.endpoint)
    _emit(
        args, {"running": False, "endpoint": endpoint}, f"the promptdaw daemon is not running at {endpoint}"
    )
    return EXIT_NOT_RUNNING


# ---------------------------------------------------------------------- commands


def _serve(args: argparse.Namespace) -> int:
    from promptdaw.inference_server.daemon import Daemon, DaemonConfig

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = DaemonConfig(
        models_dir=args.models_dir or models_dir(),
        endpoint=resolve_endpoint(args.endpoint),
        workers=args.workers,
        max_queue=args.max_queue,
        max_message_bytes=int(args.max_message_mb * 2**20),
        curve_keys_dir=args.curve_keys,
    )
    Daemon(config).serve()
    return 0


def _stop(args: argparse.Namespace) -> int:
    if not _running(args):
        return _not_running(args)
    with _client(args) as client:
        reply = client.shutdown()
    _emit(args, reply, f"stopped the promptdaw daemon (pid {reply['pid']})")
    return 0


def _status(args: argparse.Namespace) -> int:
    if not _running(args):
        return _not_running(args)
    with _client(args) as client:
        status = client.status()
    memory_mb = status["memory"]["rss_bytes"] / 2**20
    lines = [
        f"promptdaw {status['version']} (protocol {status['protocol']}) pid {status['pid']} on {status['endpoint']}",
        f"up {status['uptime_s']:.0f} s, providers: {', '.join(status['providers'])}, memory {memory_mb:.0f} MiB",
        f"models loaded: {', '.join(status['models_loaded']) or 'none'}",
        f"jobs: {len(status['running'])} running, {status['queue_depth']} queued",
    ]
    lines += [
        f"  {j['type']} {j['id']}: {j['stage']} {j['fraction']:.0%} ({j['elapsed_s']:.1f} s)"
        for j in status["running"]
    ]
    _emit(args, status, "\n".join(lines))
    return 0


def _models(args: argparse.Namespace) -> int:
    if not _running(args):
        return _not_running(args)
    with _client(args) as client:
        models = client.models()
    lines = [
        f"{m['name']:<16} {m.get('kind', '?'):<14} {m['state']:<10} {m.get('version', '')}" for m in models
    ]
    lines += [f"  {m['name']}: {m['error']}" for m in models if m.get("error")]
    _emit(args, models, "\n".join(lines) or "no models installed")
    return 0


def _load_or_unload(args: argparse.Namespace) -> int:
    if not _running(args):
        return _not_running(args)
    with _client(args) as client:
        reply = client.load(args.model) if args.command == "load" else client.unload(args.model)
    _emit(args, reply, f"{args.command}ed {args.model}")
    return 0


def _transcribe(args: argparse.Namespace) -> int:
    samples, sample_rate = read_audio(args.input)  # fail on bad input before any daemon work
    endpoint = resolve_endpoint(args.endpoint)
    if ensure_daemon(endpoint, **_keys(args)) and not args.json:
        print(f"started the promptdaw daemon on {endpoint} (log: {daemon_log_path()})", file=sys.stderr)
    params = {k: v for k in ("onset_threshold", "frame_threshold", "min_note_ms", "tempo_bpm", "model")
              if (v := getattr(args, k)) is not None}  # fmt: skip
    on_progress, close_bar = _progress_bar(args, "transcribing")
    start = time.perf_counter()
    try:
        with _client(args) as client:
            result, midi = client.transcribe(samples, sample_rate, on_progress=on_progress, **params)
    finally:
        close_bar()
    atomic_write_bytes(args.output, midi)
    result = {**result, "output": str(args.output), "elapsed_s": round(time.perf_counter() - start, 3)}
    _emit(args, result, f"wrote {args.output}: {result['note_count']} notes from {result['duration_s']:.1f} s "
          f"of audio ({result['model']}, {result['elapsed_s']:.2f} s)")  # fmt: skip
    return 0


def _fetch_models(args: argparse.Namespace) -> int:
    from promptdaw.models.fetch import fetch_all

    written = fetch_all(args.models_dir or models_dir(), cache_dir(), force=args.force)
    report = {name: [str(p) for p in paths] for name, paths in written.items()}
    lines = [f"{name}: {'fetched ' + ', '.join(p) if p else 'up to date'}" for name, p in report.items()]
    _emit(args, report, "\n".join(lines) or "no model needs fetching")
    return 0


def _make_keys(args: argparse.Namespace) -> int:
    from promptdaw.inference_server.security import generate_keys

    paths = {k: str(v) for k, v in generate_keys(args.dir).items()}
    _emit(args, paths, f"keys in {args.dir}: serve with --curve-keys {args.dir}; clients use "
          f"--server-key {paths['server']} --client-key {paths['client_secret']}")  # fmt: skip
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _serve,
    "stop": _stop,
    "status": _status,
    "models": _models,
    "load": _load_or_unload,
    "unload": _load_or_unload,
    "transcribe": _transcribe,
    "fetch-models": _fetch_models,
    "keys": _make_keys,
}


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except PromptdawError as exc:
        print(f"promptdaw: error: {exc.message}", file=sys.stderr)
    except OSError as exc:
        print(f"promptdaw: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
    except KeyboardInterrupt:
        print("promptdaw: interrupted", file=sys.stderr)
        return 130
    return 1
