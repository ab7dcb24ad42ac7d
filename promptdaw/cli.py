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
from promptdaw.inference_server.errors import InvalidParams, PromptdawError
from promptdaw.inference_server.music.theory import pitch_class_name
from promptdaw.inference_server.protocol import DEFAULT_MAX_MESSAGE_BYTES, Audio
from promptdaw.inference_server.separation.blocks import DEFAULT_BLOCK_S
from promptdaw.inference_server.separation.stem_files import separate_to_files, stack_stems

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

    stems = commands.add_parser(
        "stems", parents=[client], help="split an audio file into drums, bass, vocals and other"
    )
    stems.add_argument("input", type=Path, help="WAV, FLAC, MP3, AIFF or OGG file")
    stems.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                       help="folder for drums.wav, bass.wav, vocals.wav, other.wav (stereo float WAV)")  # fmt: skip
    stems.add_argument("--model", help="stem-separation model name (default: the installed one)")
    stems.add_argument("--block-s", type=float, default=DEFAULT_BLOCK_S,
                       help="seconds of audio per daemon request; bounds its memory (default %(default)g)")  # fmt: skip

    midi = commands.add_parser("midi", parents=[client], help="text to a multi-track MIDI clip")
    midi.add_argument("prompt", help='e.g. "dark trap in F minor, 140 bpm, 8 bars, 808 bass and rolling hats"')
    midi.add_argument("-o", "--output", type=Path, required=True, help="MIDI file to write")
    midi.add_argument("--bars", type=int, help="overrides the prompt")
    midi.add_argument("--bpm", type=float, help="overrides the prompt")
    midi.add_argument("--key", help='overrides the prompt, e.g. "F minor", "C#m", "Eb"')
    midi.add_argument("--meter", help='overrides the prompt, e.g. "6/8"')
    midi.add_argument("--seed", type=int, default=0, help="same prompt + seed + model = same file (default 0)")
    edit = midi.add_mutually_exclusive_group()
    edit.add_argument("--vary", type=Path, metavar="IN.mid", help="a variation of IN.mid (see --keep)")
    edit.add_argument("--extend", type=Path, metavar="IN.mid", help="continue IN.mid by --add-bars bars")
    edit.add_argument("--regenerate", type=Path, metavar="IN.mid", help="new notes for --part in --bar-range")
    midi.add_argument("--keep", type=float, default=0.5, help="with --vary: share of IN.mid kept, 0..1")
    midi.add_argument("--add-bars", type=int, default=4, help="with --extend: bars to add")
    midi.add_argument("--part", help="with --regenerate: drums, bass, chords, melody, arp, pad or all")
    midi.add_argument("--bar-range", help="with --regenerate: bars FROM-TO, 1-based inclusive (default all)")

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


def _stems(args: argparse.Namespace) -> int:
    samples, sample_rate = read_audio(args.input)  # fail on bad input before any daemon work
    if not 1.0 <= args.block_s <= 3600.0:
        raise InvalidParams(f"--block-s must be in [1, 3600], got {args.block_s:g}")
    endpoint = resolve_endpoint(args.endpoint)
    if ensure_daemon(endpoint, **_keys(args)) and not args.json:
        print(f"started the promptdaw daemon on {endpoint} (log: {daemon_log_path()})", file=sys.stderr)
    params = {"model": args.model} if args.model else {}
    on_progress, close_bar = _progress_bar(args, "separating")
    start = time.perf_counter()
    try:
        with _client(args) as client:

            def separate_block(block: Any, progress: ProgressCallback) -> tuple[dict[str, Any], Any]:
                reply = client.request("separate", params, (Audio(block, sample_rate),), on_progress=progress)
                return reply.body, stack_stems(reply.payloads)

            result = separate_to_files(separate_block, samples, sample_rate, args.output, block_s=args.block_s,
                                       on_progress=on_progress)  # fmt: skip
    finally:
        close_bar()
    result = {**result, "output": str(args.output), "elapsed_s": round(time.perf_counter() - start, 3)}
    residual = "silent input" if result["residual_db"] is None else f"{-result['residual_db']:.1f} dB below the mix"
    _emit(args, result, f"wrote {', '.join(result['files'].values())}: {result['duration_s']:.1f} s at "
          f"{sample_rate} Hz ({result.get('model', '?')}, {result['elapsed_s']:.2f} s); residual "
          f"(mix minus stems) {result['residual_dbfs']:.1f} dBFS, {residual}")  # fmt: skip
    return 0


def _midi_request(args: argparse.Namespace) -> tuple[str, dict[str, Any], bytes | None]:
    """The request type, params and input clip of a ``promptdaw midi`` call."""
    params: dict[str, Any] = {"prompt": args.prompt, "seed": args.seed}
    params |= {k: v for k in ("bars", "bpm", "key", "meter") if (v := getattr(args, k)) is not None}
    source = args.vary or args.extend or args.regenerate
    if source is None:
        return "generate-midi", params, None
    data = source.read_bytes()
    if args.vary:
        return "vary-midi", params | {"keep": args.keep}, data
    if args.extend:
        return "continue-midi", params | {"add_bars": args.add_bars}, data
    if args.bar_range:
        first, _, last = args.bar_range.partition("-")
        if not (first.isdigit() and (last or first).isdigit()):
            raise InvalidParams(f"--bar-range must look like 3-6 (1-based, inclusive), got {args.bar_range!r}")
        params |= {"from_bar": int(first) - 1, "to_bar": int(last or first)}
    return "regenerate-midi", params | {"part": args.part or "all"}, data


def describe_spec(spec: dict[str, Any]) -> str:
    """How the prompt was read, on a few lines; explicit values are marked with *."""
    explicit = set(spec.get("explicit", []))

    def mark(field: str, text: str) -> str:
        return f"{text}*" if field in explicit else text

    key = f"{pitch_class_name(spec['key_tonic'])} {spec['key_mode']}"
    lines = [", ".join([mark("key", key), mark("bpm", f"{spec['bpm']:g} bpm"), mark("meter", spec["meter"]),
                        mark("bars", f"{spec['bars']} bars"), mark("genre", spec["genre"])])]  # fmt: skip
    if spec.get("mood"):
        lines[0] += f", {mark('mood', spec['mood'])}"
    parts = [f"{p['role']} ({p['name']}, program {p['program']})" for p in spec["parts"]]
    lines.append("parts: " + ", ".join(parts))
    if spec.get("chords"):
        lines.append("chords: " + " ".join(c["symbol"] for c in spec["chords"]))
    if spec.get("swing"):
        lines.append(f"swing {spec['swing']:.2f}")
    return "\n".join(lines)


def _midi(args: argparse.Namespace) -> int:
    request_type, params, clip = _midi_request(args)
    endpoint = resolve_endpoint(args.endpoint)
    if ensure_daemon(endpoint, **_keys(args)) and not args.json:
        print(f"started the promptdaw daemon on {endpoint} (log: {daemon_log_path()})", file=sys.stderr)
    on_progress, close_bar = _progress_bar(args, "generating")
    start = time.perf_counter()
    try:
        with _client(args) as client:
            result, midi = client.midi_job(request_type, params, clip, on_progress=on_progress)
    finally:
        close_bar()
    atomic_write_bytes(args.output, midi)
    result = {**result, "output": str(args.output), "elapsed_s": round(time.perf_counter() - start, 3)}
    _emit(args, result, f"wrote {args.output} ({result['elapsed_s']:.2f} s)\n{describe_spec(result['spec'])}")
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
    "stems": _stems,
    "midi": _midi,
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
