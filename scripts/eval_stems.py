"""Evaluate the stem-separation model on the held-out set, against simple baselines.

SDR per stem and clip, MDX style: ``10 log10(sum s^2 / sum (s - s_hat)^2)`` over the whole
clip (both channels), averaged over clips. A clip whose reference stem is silent (below
-60 dB relative to its mixture) does not count for that stem: SDR means nothing there.

Systems, all computed here on the same mixtures:

- **model**: the ONNX model through the daemon's own code path (``tasks.separate``);
- **model at DIR** (``--compare-model-dir DIR``, may repeat): another own-model folder, e.g. the
  previous weights, on the same clips and code path;
- **HTDemucs (opt-in)**: when ``models/htdemucs/htdemucs.onnx`` is installed (``promptdaw
  fetch-models htdemucs --accept-license``; personal and research use only), the same code path
  with ``model: htdemucs`` (``--htdemucs-dir``; ``--no-htdemucs`` leaves it out);
- **HPSS**: librosa's harmonic/percussive separation, percussive part as drums (and
  ``mix - drums`` as the rest);
- **LPF150**: a 150 Hz low-pass (4th-order Butterworth, zero phase) of the non-drum part,
  as bass; the non-drum part is ``mix - HPSS drums`` (a real baseline), and, as a reference,
  ``mix - true drums`` (an oracle the baseline cannot have);
- **IRM**: the oracle ideal ratio mask (true stem power over total, same STFT as the model),
  an upper bound for any mask-based model of this STFT.

``--loops DIR`` also separates the project's own generated loops whose true stems exist:
each sub-folder of DIR holding ``drums.wav``, ``bass.wav``, ``vocals.wav`` and/or
``other.wav`` (missing stems are silent) is one clip.

    .venv/bin/python scripts/eval_stems.py --data data/stems/heldout --json data/stems/eval.json

needs the ``eval`` extra (librosa, scipy).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import _checkout  # noqa: F401  (training/ from this checkout)
import numpy as np

from promptdaw.inference_server.tasks.separate import separate_audio
from promptdaw.runtime.onnx import OnnxModel
from promptdaw.runtime.registry import Manifest
from promptdaw.runtime.separation import HOP, N_FFT, SOURCES, istft, stft

REPO = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 44100
SILENT_DB = -60.0


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """MDX SDR in dB of one clip (any shape, all samples together)."""
    num = float(np.square(reference, dtype=np.float64).sum())
    den = float(np.square(reference - estimate, dtype=np.float64).sum())
    return 10 * np.log10((num + 1e-8) / (den + 1e-8))


def hpss_drums(mix: np.ndarray) -> np.ndarray:
    import librosa

    return np.stack([librosa.effects.percussive(np.ascontiguousarray(mix[:, c])) for c in range(mix.shape[1])], axis=1)


def lowpass(audio: np.ndarray, cutoff_hz: float = 150.0) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, cutoff_hz, btype="low", fs=SAMPLE_RATE, output="sos")
    return sosfiltfilt(sos, audio, axis=0).astype(np.float32)


def irm(stems: np.ndarray) -> np.ndarray:
    """Oracle ideal-ratio-mask estimates ``[sources, n, 2]`` from true stems ``[sources, n, 2]``
    (the ceiling of a mask model on this STFT)."""
    mix = stems.sum(axis=0)
    spec_mix = stft(np.ascontiguousarray(mix.T), N_FFT, HOP)
    power = np.abs(stft(np.ascontiguousarray(stems.transpose(0, 2, 1)), N_FFT, HOP)) ** 2
    masks = power / np.maximum(power.sum(axis=0, keepdims=True), 1e-12)
    return istft(masks * spec_mix[None], N_FFT, HOP, mix.shape[0]).transpose(0, 2, 1)


def load_loops(directory: Path) -> list[tuple[str, np.ndarray]]:
    from promptdaw.core.audio_files import read_audio

    clips = []
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        parts = {name: read_audio(folder / f"{name}.wav") for name in SOURCES if (folder / f"{name}.wav").exists()}
        if not parts:
            continue
        n = max(a.shape[0] for a, _ in parts.values())
        stems = np.zeros((len(SOURCES), n, 2), np.float32)
        for k, name in enumerate(SOURCES):
            if name in parts:
                audio, rate = parts[name]
                if rate != SAMPLE_RATE:
                    raise ValueError(f"{folder / name}.wav is at {rate} Hz; loops are evaluated at {SAMPLE_RATE}")
                stems[k, : audio.shape[0]] = audio if audio.shape[1] == 2 else np.repeat(audio[:, :1], 2, axis=1)
        clips.append((folder.name, stems))
    return clips


def load_htdemucs(directory: Path, threads: int) -> OnnxModel | None:
    """The opt-in HTDemucs model when its weights are installed (checksum verified), else None."""
    from promptdaw.core.errors import ModelUnavailable
    from promptdaw.runtime.registry import ModelRegistry

    if not (directory / "manifest.json").exists():
        return None
    registry = ModelRegistry(directory.parent, providers=["CPUExecutionProvider"], intra_op_threads=threads)
    try:
        return registry.get(Manifest.read(directory / "manifest.json").name)
    except ModelUnavailable as exc:
        print(f"HTDemucs left out: {exc.message}", file=sys.stderr)
        return None


def evaluate(
    clips: list[tuple[str, np.ndarray]],
    model: OnnxModel,
    baselines: bool = True,
    others: dict[str, OnnxModel] | None = None,
) -> dict:
    """SDR per system and stem; ``others`` are further models (by row label) on the same clips."""
    rows: dict[str, dict[str, list[float]]] = {}

    def add(system: str, stem: str, value: float) -> None:
        rows.setdefault(system, {}).setdefault(stem, []).append(value)

    seconds = model_time = 0.0
    other_time = dict.fromkeys(others or {}, 0.0)
    for _name, stems in clips:
        mix = stems.sum(axis=0)
        mix_energy = float(np.square(mix).sum())
        present = [float(np.square(s).sum()) > mix_energy * 10 ** (SILENT_DB / 10) for s in stems]
        start = time.perf_counter()
        _, buffers = separate_audio(model, mix, SAMPLE_RATE)
        model_time += time.perf_counter() - start
        seconds += mix.shape[0] / SAMPLE_RATE
        estimates = np.stack([b.samples for b in buffers])
        oracle = irm(stems)
        for k, stem in enumerate(SOURCES):
            if present[k]:
                add("model", stem, sdr(stems[k], estimates[k]))
                add("IRM (oracle)", stem, sdr(stems[k], oracle[k]))
        for label, other in (others or {}).items():
            start = time.perf_counter()
            _, buffers = separate_audio(other, mix, SAMPLE_RATE)
            other_time[label] += time.perf_counter() - start
            theirs = np.stack([b.samples for b in buffers])
            for k, stem in enumerate(SOURCES):
                if present[k]:
                    add(label, stem, sdr(stems[k], theirs[k]))
            add(label, "rest", sdr(stems[1:].sum(axis=0), mix - theirs[0]))
        add("model", "rest", sdr(stems[1:].sum(axis=0), mix - estimates[0]))
        if not baselines:
            continue
        drums = hpss_drums(mix)
        if present[0]:
            add("HPSS", "drums", sdr(stems[0], drums))
        add("HPSS", "rest", sdr(stems[1:].sum(axis=0), mix - drums))
        if present[1]:
            add("LPF150 of mix - HPSS drums", "bass", sdr(stems[1], lowpass(mix - drums)))
            add("LPF150 of mix - true drums (oracle)", "bass", sdr(stems[1], lowpass(mix - stems[0])))
    summary = {
        system: {stem: {"mean_sdr_db": round(float(np.mean(v)), 2), "median_sdr_db": round(float(np.median(v)), 2),
                        "clips": len(v)} for stem, v in by_stem.items()}
        for system, by_stem in rows.items()
    }  # fmt: skip
    report = {"clips": len(clips), "seconds": round(seconds, 1), "model_rtf": round(model_time / max(seconds, 1e-9), 4),
              "sdr": summary}  # fmt: skip
    if others:
        report["other_rtf"] = {label: round(t / max(seconds, 1e-9), 4) for label, t in other_time.items()}
    return report


def table(report: dict) -> str:
    columns = [*SOURCES, "rest"]
    lines = ["| system | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for system, by_stem in report["sdr"].items():
        cells = [f"{by_stem[c]['mean_sdr_db']:.2f}" if c in by_stem else "" for c in columns]
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "data/stems/heldout")
    parser.add_argument("--model-dir", type=Path, default=REPO / "models/stems")
    parser.add_argument("--loops", type=Path, help="folder of generated loops with true stems (optional)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N clips")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: all cores)")
    parser.add_argument("--htdemucs-dir", type=Path, default=REPO / "models/htdemucs",
                        help="the opt-in HTDemucs model, evaluated too when its weights are installed")  # fmt: skip
    parser.add_argument("--no-htdemucs", action="store_true", help="leave HTDemucs out even when installed")
    parser.add_argument("--no-baselines", action="store_true",
                        help="leave out HPSS and the low-pass baselines (they are deterministic)")  # fmt: skip
    parser.add_argument("--compare-model-dir", type=Path, action="append", default=[],
                        help="another own-model folder (e.g. previous weights) as a row; may repeat")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)

    from training.stems.render import load_dataset

    model = OnnxModel.load(Manifest.read(args.model_dir / "manifest.json"), providers=["CPUExecutionProvider"],
                           intra_op_threads=args.threads)  # fmt: skip
    htdemucs = None if args.no_htdemucs else load_htdemucs(args.htdemucs_dir, args.threads)
    others = {"HTDemucs (opt-in)": htdemucs} if htdemucs is not None else {}
    for directory in args.compare_model_dir:  # own-model candidates side by side on the same clips
        others[f"model at {directory}"] = OnnxModel.load(Manifest.read(directory / "manifest.json"),
                                                         providers=["CPUExecutionProvider"],
                                                         intra_op_threads=args.threads)  # fmt: skip
    stems, records = load_dataset(args.data)
    count = min(args.limit or len(records), len(records))
    clips = [(records[i]["name"], np.asarray(stems[i], np.float32)) for i in range(count)]
    report = {"data": str(args.data), "soundfont": records[0].get("soundfont") if records else None,
              "heldout": evaluate(clips, model, not args.no_baselines, others=others)}  # fmt: skip
    print(f"held-out set {args.data} ({report['heldout']['clips']} clips, {report['heldout']['seconds']} s, "
          f"{report['soundfont']}): mean SDR in dB")  # fmt: skip
    print(table(report["heldout"]))
    if args.loops and args.loops.is_dir():
        loops = load_loops(args.loops)
        if loops:
            report["loops"] = evaluate(loops, model, not args.no_baselines, others=others)
            print(f"\ngenerated loops {args.loops} ({len(loops)} clips): mean SDR in dB")
            print(table(report["loops"]))
    elif args.loops:
        print(f"\nno generated loops at {args.loops}; skipped")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
