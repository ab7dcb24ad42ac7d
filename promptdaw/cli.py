"""The ``promptdaw`` command: run the daemon and talk to it.

Every client command takes ``--endpoint`` and ``--json``; errors are one line on stderr
and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

from promptdaw import __version__
from promptdaw.client import DEFAULT_TIMEOUT_S, Client, ProgressCallback, resolve_endpoint
from promptdaw.core.audio_files import read_audio
from promptdaw.core.files import OutputSet, atomic_write_bytes
from promptdaw.core.limits import KEPT_RESULT_TTL_S, KEPT_RESULTS_BYTES
from promptdaw.core.midi_files import read_midi
from promptdaw.core.music.theory import pitch_class_name
from promptdaw.core.paths import cache_dir, models_dir
from promptdaw.inference_server.errors import DaemonUnavailable, InvalidInput, PromptdawError
from promptdaw.inference_server.protocol import DEFAULT_MAX_MESSAGE_BYTES, Audio
from promptdaw.launcher import WatchingClient, daemon_log_path, ensure_daemon, is_running, unanswered_reason
from promptdaw.runtime.separation.blocks import DEFAULT_BLOCK_S
from promptdaw.runtime.separation.constants import SOURCES
from promptdaw.runtime.separation.drums import DRUM_SOURCES
from promptdaw.runtime.separation.stem_files import separate_to_files, stack_stems

__all__ = ["connected_client", "get_parser", "main"]

#: Exit status when the daemon is not running (as ``systemctl status`` does).
EXIT_NOT_RUNNING = 3


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="promptdaw", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"promptdaw {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    client = argparse.ArgumentParser(add_help=False)
    client.add_argument("--endpoint", help="daemon endpoint (default: $PROMPTDAW_ENDPOINT or tcp://127.0.0.1:7467)")
    client.add_argument("--json", action="store_true", help="print machine-readable JSON")
    client.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help="give up after S seconds without word from the daemon (default %(default)s)",
    )
    client.add_argument("--server-key", type=Path, help="daemon public key for CurveZMQ ($PROMPTDAW_SERVER_KEY)")
    client.add_argument("--client-key", type=Path, help="client secret key for CurveZMQ ($PROMPTDAW_CLIENT_KEY)")

    serve = commands.add_parser("serve", help="run the inference daemon in the foreground")
    serve.add_argument("--endpoint", help="where to listen (default: $PROMPTDAW_ENDPOINT or tcp://127.0.0.1:7467)")
    serve.add_argument("--models-dir", type=Path, help="folder of model manifests (default: $PROMPTDAW_MODELS_DIR)")
    serve.add_argument("--workers", type=int, default=1, help="parallel jobs (default %(default)s)")
    serve.add_argument("--max-queue", type=int, default=64, help="queued jobs before 'busy' (default %(default)s)")
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
    serve.add_argument("--plugin-path", type=Path, action="append", default=[], metavar="DIR",
                       help="also load VST3 plugins from DIR (repeatable; besides ~/.vst3, /usr/lib/vst3, "
                       "/usr/local/lib/vst3 and $PROMPTDAW_PLUGIN_PATH)")  # fmt: skip
    serve.add_argument(
        "--max-kept-mb",
        type=float,
        default=KEPT_RESULTS_BYTES / 2**20,
        help="memory for results kept for clients that left, in MiB (default %(default)g)",
    )
    serve.add_argument(
        "--result-ttl",
        type=float,
        default=KEPT_RESULT_TTL_S,
        metavar="S",
        help="how long such a result is kept, in seconds (default %(default)g)",
    )
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    commands.add_parser("stop", parents=[client], help="stop the daemon")
    commands.add_parser("status", parents=[client], help="daemon state: providers, models, jobs, memory")
    commands.add_parser("models", parents=[client], help="list installed models and their state")
    for verb in ("load", "unload"):
        sub = commands.add_parser(verb, parents=[client], help=f"{verb} a model")
        sub.add_argument("model")

    transcribe = commands.add_parser("transcribe", parents=[client], help="audio file to MIDI (audio-to-MIDI)")
    transcribe.add_argument("input", type=Path, help="WAV, FLAC, MP3, AIFF or OGG file")
    transcribe.add_argument("-o", "--output", type=Path, required=True, help="MIDI file to write")
    transcribe.add_argument("--onset-threshold", type=float, help="0..1, lower finds more notes (default 0.5)")
    transcribe.add_argument("--frame-threshold", type=float, help="0..1, lower sustains notes longer (default 0.3)")
    transcribe.add_argument("--min-note-ms", type=float, help="shortest note kept (default 127.7)")
    transcribe.add_argument("--tempo", type=float, dest="tempo_bpm", help="tempo written to the MIDI file")
    transcribe.add_argument("--model", help="audio-to-MIDI model name (default: the installed one)")

    stems = commands.add_parser(
        "stems", parents=[client], help="split an audio file into drums, bass, vocals and other"
    )
    stems.add_argument("input", type=Path, help="WAV, FLAC, MP3, AIFF or OGG file")
    stems.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                       help="folder for drums.wav, bass.wav, vocals.wav, other.wav (stereo float WAV)")  # fmt: skip
    stems.add_argument("--model", help="stem-separation model name (default: the project's own `stems`; "
                       "`htdemucs` once fetched with `promptdaw fetch-models htdemucs --accept-license`)")  # fmt: skip
    stems.add_argument("--block-s", type=float, default=DEFAULT_BLOCK_S,
                       help="seconds of audio per daemon request; bounds its memory (default %(default)g)")  # fmt: skip
    stems.add_argument("--drums", action="store_true", help="also split the drums into kick.wav, snare.wav, "
                       "hats.wav, toms.wav and cymbals.wav (the drum_stems model)")  # fmt: skip

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

    loop = commands.add_parser("loop", parents=[client], help="text to a tempo-locked loop with MIDI and stems")
    loop.add_argument("prompt", help='e.g. "lofi drum loop, dusty, 85 bpm, 4 bars"')
    loop.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.wav",
                      help="the mix; OUT.mid and OUT.<part>.wav are written beside it")  # fmt: skip
    loop.add_argument("--bars", type=int, help="overrides the prompt")
    loop.add_argument("--bpm", type=float, help="overrides the prompt")
    loop.add_argument("--key", help='overrides the prompt, e.g. "F minor", "C#m", "Eb"')
    loop.add_argument("--meter", help='overrides the prompt, e.g. "6/8"')
    loop.add_argument("--seed", type=int, default=0, help="same prompt + seed + models = same loop (default 0)")
    loop.add_argument("--sample-rate", type=int, default=44100, help="Hz (default %(default)s)")

    render = commands.add_parser("render", parents=[client], help="render a MIDI file with instruments and effects")
    render.add_argument("input", type=Path, metavar="IN.mid",
                        help="Standard MIDI File; or a WAV to fit to --bpm and --key (stretched)")  # fmt: skip
    render.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.wav", help="the mix")
    render.add_argument("--instrument", action="append", default=[], metavar='PART=builtin:"prompt"|PART=path.vst3',
                        help="a part's instrument (repeatable); PART is a role or track name; parts without one "
                        "play the built-in instrument prompted with the track name")  # fmt: skip
    render.add_argument("--fx", action="append", default=[], metavar="PART=effect(param=value),...",
                        help="a part's effect chain (repeatable; PART * for all), e.g. "
                        "drums=reverb(room_size=0.3),compressor(threshold_db=-18)")  # fmt: skip
    render.add_argument("--bpm", type=float, help="play the file at this tempo")
    render.add_argument("--key", help='transpose the pitched parts to this key, e.g. "A minor"')
    render.add_argument("--bars", type=int, help="length in bars (default: the file's, in whole bars)")
    render.add_argument("--tail", action="store_true",
                        help="keep tails after the end instead of folding them round (not a loop)")  # fmt: skip
    render.add_argument("--stems", action="store_true", help="also write OUT.<part>.wav per part")
    render.add_argument("--lufs", type=float, default=-14.0, help="loudness target (default %(default)s)")
    render.add_argument("--seed", type=int, default=0, help="seed of the built-in instrument (default 0)")
    render.add_argument("--sample-rate", type=int, default=44100, help="Hz (default %(default)s)")
    render.add_argument("--source-bpm", type=float, help="with a WAV: its tempo, when it has no acid chunk")
    render.add_argument("--source-key", help="with a WAV: its key, when it has no acid chunk root note")

    sample = commands.add_parser("sample", parents=[client], help="text to a one-shot sample (and its editable patch)")
    sample.add_argument("prompt", nargs="?", help='e.g. "punchy 808 kick", "glassy bell E5" (optional with --patch)')
    sample.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.wav",
                        help="the sample (stereo, -1 dBFS peak); OUT.patch.json is written beside it")  # fmt: skip
    sample.add_argument("--note", help="e.g. C3, F#1, Bb3 or a MIDI number (default: the prompt's, else the model's)")
    sample.add_argument("--seed", type=int, default=0, help="another seed, another sound of the same kind (default 0)")
    sample.add_argument("--velocity", type=int, help="1..127 (default 100)")
    sample.add_argument("--duration", type=float, dest="duration_s", metavar="S",
                        help="the sample's length in seconds (default: the prompt's, else its own)")  # fmt: skip
    edit_patch = sample.add_mutually_exclusive_group()
    edit_patch.add_argument("--patch", type=Path, metavar="FILE.json", help="re-render this (edited) patch")
    edit_patch.add_argument("--vary", type=Path, metavar="FILE.json", help="a variation of this patch (see --strength)")
    sample.add_argument("--strength", type=float, default=0.3, help="with --vary: 0 same .. 1 far (default 0.3)")
    sample.add_argument("--sample-rate", type=int, default=44100, help="Hz (default %(default)s)")

    fetch = commands.add_parser("fetch-models", help="download model files listed in manifests (set-up step)")
    fetch.add_argument("names", nargs="*", metavar="MODEL",
                       help="only these models; opt-in ones (htdemucs) are fetched only when named")  # fmt: skip
    fetch.add_argument("--accept-license", action="store_true",
                       help="accept an opt-in model's licence (shown when refused), e.g. htdemucs: "
                       "personal and research use only")  # fmt: skip
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


class _NotRunning(Exception):
    """No daemon answers and the command does not start one: :func:`main` reports it (exit status 3)."""


@contextmanager
def connected_client(args: argparse.Namespace, *, start: bool = True) -> Iterator[Client]:
    """A client of the daemon at the command's endpoint (``--endpoint``, keys from flags or environment).

    With ``start``, a local daemon is started when none answers (and stderr says so, unless ``--json``);
    without, a missing daemon ends the command with the not-running report and exit status 3. The
    client reports a daemon that dies mid-request within about a second instead of after ``--timeout``.
    """
    endpoint, keys = resolve_endpoint(args.endpoint), _keys(args)
    if not start:
        if not is_running(endpoint, **keys):
            if not any(keys.values()) and (reason := unanswered_reason(endpoint)) is not None:
                raise DaemonUnavailable(reason)
            raise _NotRunning
    elif ensure_daemon(endpoint, **keys) and not args.json:
        print(f"started the promptdaw daemon on {endpoint} (log: {daemon_log_path()})", file=sys.stderr)
    with WatchingClient(endpoint, timeout_s=args.timeout, **keys) as client:
        yield client


@contextmanager
def _progress_bar(args: argparse.Namespace, description: str) -> Iterator[ProgressCallback]:
    bar = tqdm(total=100, desc=description, unit="%", disable=args.json or None, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")  # fmt: skip

    def update(fraction: float, stage: str) -> None:
        bar.n = round(fraction * 100)
        bar.set_postfix_str(stage, refresh=False)
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


def _not_running(args: argparse.Namespace) -> int:
    endpoint = resolve_endpoint(args.endpoint)
    _emit(args, {"running": False, "endpoint": endpoint}, f"the promptdaw daemon is not running at {endpoint}")
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
        max_kept_bytes=int(args.max_kept_mb * 2**20),
        result_ttl_s=args.result_ttl,
        plugin_paths=tuple(p.expanduser().absolute() for p in args.plugin_path),
    )
    Daemon(config).serve()
    return 0


def _stop(args: argparse.Namespace) -> int:
    with connected_client(args, start=False) as client:
        reply = client.shutdown()
    _emit(args, reply, f"stopped the promptdaw daemon (pid {reply['pid']})")
    return 0


def _status(args: argparse.Namespace) -> int:
    with connected_client(args, start=False) as client:
        status = client.status()
    memory_mb = status["memory"]["rss_bytes"] / 2**20
    lines = [
        f"promptdaw {status['version']} (protocol {status['protocol']}) pid {status['pid']} on {status['endpoint']}",
        f"up {status['uptime_s']:.0f} s, providers: {', '.join(status['providers'])}, memory {memory_mb:.0f} MiB",
        f"models loaded: {', '.join(status['models_loaded']) or 'none'}",
        f"jobs: {len(status['running'])} running, {len(status['queued'])} queued (yours); "
        f"{status['others']['running']} running, {status['others']['queued']} queued (other clients')",
        f"kept results: {status['kept_results']} ({status['kept_bytes'] / 2**20:.0f} MiB); "
        f"unsigned or wrongly signed messages dropped: {status['dropped_messages']}",
    ]
    lines += [
        f"  {j['type']} {j['id']}: {j['stage']} {j['fraction']:.0%} ({j['elapsed_s']:.1f} s)" for j in status["running"]
    ]
    _emit(args, status, "\n".join(lines))
    return 0


def _models(args: argparse.Namespace) -> int:
    with connected_client(args, start=False) as client:
        models = client.models()
    lines = [f"{m['name']:<16} {m.get('kind', '?'):<14} {m['state']:<10} {m.get('version', '')}"
             + (f"  [licence: {m['license']}]" if m.get("license") else "") for m in models]  # fmt: skip
    lines += [f"  {m['name']}: {m['error']}" for m in models if m.get("error")]
    _emit(args, models, "\n".join(lines) or "no models installed")
    return 0


def _load_or_unload(args: argparse.Namespace) -> int:
    with connected_client(args, start=False) as client:
        reply = client.load(args.model) if args.command == "load" else client.unload(args.model)
    _emit(args, reply, f"{args.command}ed {args.model}")
    return 0


def _transcribe(args: argparse.Namespace) -> int:
    samples, sample_rate = read_audio(args.input)  # fail on bad input before any daemon work
    params = {k: v for k in ("onset_threshold", "frame_threshold", "min_note_ms", "tempo_bpm", "model")
              if (v := getattr(args, k)) is not None}  # fmt: skip
    with connected_client(args) as client, _progress_bar(args, "transcribing") as on_progress:
        start = time.perf_counter()
        result, midi = client.transcribe(samples, sample_rate, on_progress=on_progress, **params)
    atomic_write_bytes(args.output, midi)
    result = {**result, "output": str(args.output), "elapsed_s": round(time.perf_counter() - start, 3)}
    _emit(args, result, f"wrote {args.output}: {result['note_count']} notes from {result['duration_s']:.1f} s "
          f"of audio ({result['model']}, {result['elapsed_s']:.2f} s)")  # fmt: skip
    return 0


def _stems(args: argparse.Namespace) -> int:
    samples, sample_rate = read_audio(args.input)  # fail on bad input before any daemon work
    if not 1.0 <= args.block_s <= 3600.0:
        raise InvalidInput(f"--block-s must be in [1, 3600], got {args.block_s:g}")
    params: dict[str, Any] = {"model": args.model} if args.model else {}
    names = SOURCES + DRUM_SOURCES if args.drums else SOURCES
    if args.drums:
        params["drums"] = True
    with connected_client(args) as client, _progress_bar(args, "separating") as on_progress:
        start = time.perf_counter()

        def separate_block(block: Any, progress: ProgressCallback) -> tuple[dict[str, Any], Any]:
            reply = client.request("separate", params, (Audio(block, sample_rate),), on_progress=progress)
            return reply.body, stack_stems(reply.payloads, len(names))

        result = separate_to_files(separate_block, samples, sample_rate, args.output, block_s=args.block_s,
                                   on_progress=on_progress, names=names)  # fmt: skip
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
    read_midi(data, str(source))  # an unreadable file is named here, before the daemon sees bytes
    if args.vary:
        return "vary-midi", params | {"keep": args.keep}, data
    if args.extend:
        return "continue-midi", params | {"add_bars": args.add_bars}, data
    if args.bar_range:
        first, _, last = args.bar_range.partition("-")
        if not (first.isdigit() and (last or first).isdigit()):
            raise InvalidInput(f"--bar-range must look like 3-6 (1-based, inclusive), got {args.bar_range!r}")
        params |= {"from_bar": int(first) - 1, "to_bar": int(last or first)}
    return "regenerate-midi", params | {"part": args.part or "all"}, data


def describe_spec(spec: dict[str, Any]) -> str:
    """How the prompt was read, on a few lines; explicit values are marked with *."""
    explicit = set(spec.get("explicit", []))

    def mark(field: str, text: str) -> str:
        return f"{text}*" if field in explicit else text

    key = f"{pitch_class_name(spec['key_tonic'])} {spec['key_mode']}"
    lines = [", ".join([mark("key_tonic", key), mark("bpm", f"{spec['bpm']:g} bpm"), mark("meter", spec["meter"]),
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
    with connected_client(args) as client, _progress_bar(args, "generating") as on_progress:
        start = time.perf_counter()
        result, midi = client.midi_job(request_type, params, clip, on_progress=on_progress)
    atomic_write_bytes(args.output, midi)
    result = {**result, "output": str(args.output), "elapsed_s": round(time.perf_counter() - start, 3)}
    _emit(args, result, f"wrote {args.output} ({result['elapsed_s']:.2f} s)\n{describe_spec(result['spec'])}")
    return 0


def _render_job(args: argparse.Namespace, request_type: str, params: dict[str, Any], payloads: tuple = ()) -> Any:
    with connected_client(args) as client, _progress_bar(args, "rendering") as on_progress:
        return client.request(request_type, params, payloads, on_progress=on_progress)


def _loudness_line(result: dict[str, Any]) -> str:
    lufs = "silent" if result["lufs"] is None else f"{result['lufs']:.1f} LUFS"
    peak = "" if result["true_peak_dbtp"] is None else f", true peak {result['true_peak_dbtp']:.1f} dBTP"
    return (f"{result['length_samples']} samples at {result['sample_rate']} Hz ({result['bars']} bars of "
            f"{result['meter']} at {result['bpm']:g} bpm), {lufs}{peak}")  # fmt: skip


def _loop(args: argparse.Namespace) -> int:
    from promptdaw.loop_files import write_render_files

    params: dict[str, Any] = {"prompt": args.prompt, "seed": args.seed, "sample_rate": args.sample_rate}
    params |= {k: v for k in ("bars", "bpm", "key", "meter") if (v := getattr(args, k)) is not None}
    start = time.perf_counter()
    reply = _render_job(args, "generate-loop", params)
    written = write_render_files(args.output, reply.body, reply.payloads)
    result = {**reply.body, "files": [str(p) for p in written], "elapsed_s": round(time.perf_counter() - start, 3)}
    _emit(args, result, f"wrote {', '.join(map(str, written))} ({result['elapsed_s']:.2f} s)\n"
          f"{_loudness_line(result)}\n{describe_spec(result['spec'])}")  # fmt: skip
    return 0


def _render_params(args: argparse.Namespace) -> dict[str, Any]:
    """Check specs and paths here, before the daemon is asked; plugin paths are sent absolute."""
    from promptdaw.plugin_host import EffectChain, parse_fx, parse_instrument_spec

    instruments = []
    for text in args.instrument:
        try:
            spec = parse_instrument_spec(text)
        except ValueError as exc:
            raise InvalidInput(f"--instrument: {exc}") from None
        if spec.path is not None:
            if not spec.path.exists():
                raise InvalidInput(f"--instrument {text!r}: no such VST3 plugin: {spec.path}")
            spec = dataclasses.replace(spec, path=spec.path.resolve())
        instruments.append(str(spec))
    fx = []
    for text in args.fx:
        try:
            part, chain = parse_fx(text)
        except ValueError as exc:
            raise InvalidInput(f"--fx: {exc}") from None
        for effect in chain:
            if effect.path is not None and not effect.path.exists():
                raise InvalidInput(f"--fx {text!r}: no such VST3 plugin: {effect.path}")
        if all(effect.path is None for effect in chain):
            try:
                EffectChain(chain)  # built-ins only: values are checked here, in milliseconds
            except ValueError as exc:
                raise InvalidInput(f"--fx {text!r}: {exc}") from None
        chain = tuple(dataclasses.replace(e, path=e.path.resolve()) if e.path else e for e in chain)
        fx.append(f"{part}=" + ",".join(str(e) for e in chain))
    params: dict[str, Any] = {"instruments": instruments, "fx": fx, "wrap": not args.tail, "seed": args.seed,
                              "sample_rate": args.sample_rate, "target_lufs": args.lufs}  # fmt: skip
    params |= {k: v for k in ("bars", "bpm", "key") if (v := getattr(args, k)) is not None}
    return params


def _render(args: argparse.Namespace) -> int:
    from promptdaw.inference_server.protocol import Midi
    from promptdaw.loop_files import write_render_files

    data = args.input.read_bytes()
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _fit_audio(args)
    if not data.startswith(b"MThd"):
        raise InvalidInput(f"{args.input} is neither a Standard MIDI File (no MThd header) nor a WAV file")
    read_midi(data, str(args.input))
    params = _render_params(args)
    start = time.perf_counter()
    reply = _render_job(args, "render-midi", params, (Midi(data),))
    written = write_render_files(args.output, reply.body, reply.payloads, stems=args.stems, loop=not args.tail)
    result = {**reply.body, "files": [str(p) for p in written], "elapsed_s": round(time.perf_counter() - start, 3)}
    parts = ", ".join(f"{role}: {result['instruments'][role]}" for role in result["parts"])
    _emit(args, result, f"wrote {', '.join(map(str, written))} ({result['elapsed_s']:.2f} s)\n"
          f"{_loudness_line(result)}\n{parts}")  # fmt: skip
    return 0


def _fit_audio(args: argparse.Namespace) -> int:
    """``promptdaw render IN.wav --bpm X --key K``: fit audio to a project, here (no daemon, no model)."""
    from promptdaw.loop_files import fit_audio_file

    if args.instrument or args.fx:
        raise InvalidInput("--instrument and --fx apply to MIDI files; a WAV is only fitted to --bpm and --key")
    if args.bpm is None and args.key is None:
        raise InvalidInput("a WAV input needs --bpm or --key to fit it to")
    start = time.perf_counter()
    result = fit_audio_file(args.input, args.output, bpm=args.bpm, key=args.key, source_bpm=args.source_bpm,
                            source_key=args.source_key)  # fmt: skip
    result["elapsed_s"] = round(time.perf_counter() - start, 3)
    _emit(args, result, f"wrote {args.output}: {result['from_bpm'] or '?'} -> {result['bpm']:g} bpm, "
          f"{result['semitones']:+d} semitones, {result['length_samples']} samples "
          f"({result['elapsed_s']:.2f} s)")  # fmt: skip
    return 0


def _fetch_models(args: argparse.Namespace) -> int:
    from promptdaw.runtime.fetch import fetch_all, fetch_named

    root = args.models_dir or models_dir()
    if args.names:
        written = fetch_named(root, cache_dir(), args.names, force=args.force, accept_license=args.accept_license,
                              notify=lambda line: print(line, file=sys.stderr, flush=True))  # fmt: skip
    else:
        written = fetch_all(root, cache_dir(), force=args.force)
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


def _read_patch(path: Path) -> dict[str, Any]:
    raw = Path(path).read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:  # a MIDI or WAV given by mistake: say what it is not
        raise InvalidInput(f"{path} is not a JSON patch file: byte {exc.start} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not a JSON patch file: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} is not a patch (a JSON object from `promptdaw sample`)")
    return data


def _sample(args: argparse.Namespace) -> int:
    from promptdaw.core.audio_files import audio_bytes
    from promptdaw.runtime.synthesis.prompt import parse_note_param

    if args.prompt is None and args.patch is None and args.vary is None:
        raise InvalidInput("sample needs a PROMPT (or --patch FILE.json / --vary FILE.json)")
    params: dict[str, Any] = {"seed": args.seed, "sample_rate": args.sample_rate}
    if args.prompt is not None:
        params["prompt"] = args.prompt
    if args.note is not None:
        params["note"] = parse_note_param(args.note)  # a bad note fails here, before the daemon is asked
    params |= {k: v for k in ("velocity", "duration_s") if (v := getattr(args, k)) is not None}
    if args.patch is not None:
        params["patch"] = _read_patch(args.patch)
    if args.vary is not None:
        params |= {"vary_from": _read_patch(args.vary), "strength": args.strength}
    start = time.perf_counter()
    reply = _render_job(args, "generate-sample", params)
    audio = [p for p in reply.payloads if isinstance(p, Audio)]
    if len(audio) != 1:
        raise PromptdawError(f"generate-sample reply carried {len(audio)} audio buffers, expected 1")
    result = reply.body
    patch_path = args.output.with_name(f"{args.output.stem}.patch.json")
    with OutputSet() as files:  # the sample and its patch are replaced together or not at all
        files.write_bytes(patch_path, json.dumps(result["patch"], indent=1).encode())
        files.write_bytes(args.output, audio_bytes(audio[0].samples, audio[0].sample_rate, args.output.suffix))
    result = {**result, "output": str(args.output), "patch_file": str(patch_path),
              "elapsed_s": round(time.perf_counter() - start, 3)}  # fmt: skip
    pitch = f" at {result['note_name']}" if result.get("pitched") else ""
    _emit(args, result, f"wrote {args.output} and {patch_path}: {result['category']}{pitch}, "
          f"{result['duration_s']:.2f} s, peak {result['peak_dbfs']:.1f} dBFS "
          f"({result['elapsed_s']:.2f} s)")  # fmt: skip
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
    "loop": _loop,
    "render": _render,
    "sample": _sample,
    "fetch-models": _fetch_models,
    "keys": _make_keys,
}


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except _NotRunning:
        return _not_running(args)
    except PromptdawError as exc:
        print(f"promptdaw: error: {exc.message}", file=sys.stderr)
    except OSError as exc:
        print(f"promptdaw: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
    except KeyboardInterrupt:
        print("promptdaw: interrupted", file=sys.stderr)
        return 130
    return 1
