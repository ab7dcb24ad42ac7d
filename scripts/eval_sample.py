"""Evaluate text-to-sample one-shots over ../shared/eval/sample_dev.jsonl (see its README).

    .venv/bin/python scripts/eval_sample.py                      # table on stdout
    .venv/bin/python scripts/eval_sample.py --markdown docs/text2sample_eval.md --json out/eval.json

Metrics per ``kind: sample`` line (seed 1, as the README asks):

* **note**: median f0 of the voiced frames (``librosa.pyin``, fmin 30 Hz) within +-25 cents of
  the requested note; octave errors fail;
* **category**: an audio classifier (the *judge*) trained here only on renders of the held-out
  soundfonts (TimGM6mb, MuseScore General), never on FluidR3_GM or the project's presets, which
  are the generator's training data. Features: log-mel statistics and the level envelope;
* **duration_s**: audible length (until the level stays below -60 dBFS) within 10 %;
* **peak** at -1 dBFS within 0.1 dB, never above 0 dBFS, no NaN, DC (channel means);
* **diversity**: seeds 1..5 per prompt: mean pairwise distance of their log-mel profiles, and
  how many seeds the judge puts in seed 1's category.

Per ``kind: loop`` line (seed 1), through a real daemon's ``generate-loop`` and the files
``promptdaw loop`` writes (the mix WAV with its ACID chunk and the MIDI beside it):

* **loop length**: the sample count equals ``round(bars * bar_quarters * 60 / bpm * sr)``;
* **loop seam**: ``|x[0] - x[N-1]| <= max(0.01, 4 * median |x[n] - x[n-1]|)`` on every channel;
* **loudness**: -14 LUFS integrated (pyloudnorm, independent of the mastering code) within 1 dB,
  never above 0 dBFS, no NaN;
* **bpm / meter / bars / key** of the MIDI written beside it, as the Text-to-MIDI metrics define
  them (``scripts/eval_midi.py``), and the WAV's ACID tempo and beats.

With ``--training-sounds N`` it also runs a diagnostic: N sounds drawn from the cached
text-to-sample training set (FluidR3 one-shots), each judged as it is and as the generator makes
it from the sound's first training text and note: where the category is lost, by category.
With ``--fits`` it judges every cached per-sound fit (stage 2 of the training) beside its
original: how much of the category the synthesiser itself can keep.

Lines are dispatched through ``EVALUATORS`` (kind -> function). One-shots are generated in this
process through the same code as the daemon's ``generate-sample``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
DEV_SET = REPO.parent / "shared" / "eval" / "sample_dev.jsonl"
JUDGE_RATE = 22050
JUDGE_SECONDS = 2.5
SEEDS = (1, 2, 3, 4, 5)
#: Shorter cuts of every judge render added to its training set (length robustness).
CROPS = 2
HELD_OUT_SOUNDFONTS = {
    "timgm6mb": Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
    "musescore": Path("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"),
}
#: Prompts in our own words (not the dev set's), to see how the reading generalises.
PARAPHRASES = (
    ("hard-hitting techno kick", "kick", None), ("boom bap kick with vinyl grit", "kick", None),
    ("crisp rimshot snare", "snare", None), ("fat trap snare", "snare", None), ("stacked handclap", "clap", None),
    ("tight hat", "hihat", None), ("sizzly open hat", "hihat", None), ("splash cymbal", "cymbal", None),
    ("high rack tom", "tom", None), ("conga slap", "percussion", None), ("tambourine hit", "percussion", None),
    ("distorted 808 G1", "bass", "G1"), ("reese bass A1", "bass", "A1"), ("upright bass E2", "bass", "E2"),
    ("bright grand piano A3", "keys", "A3"), ("rhodes note D4", "keys", "D4"), ("nylon guitar pluck G3", "pluck", "G3"),
    ("harp note C5", "pluck", "C5"), ("dreamy choir pad F3", "pad", "F3"), ("evolving ambient pad C4", "pad", "C4"),
    ("square wave lead G4", "lead", "G4"), ("trumpet F4", "brass", "F4"), ("french horn C3", "brass", "C3"),
    ("solo violin E5", "strings", "E5"), ("cello note C3", "strings", "C3"), ("celesta C6", "bell", "C6"),
    ("marimba G4", "bell", "G4"), ("vibraphone A4", "bell", "A4"), ("cinematic impact", "fx", None),
    ("downlifter, 3 seconds", "fx", None),
)  # fmt: skip

Evaluator = Callable[[dict, "Context"], dict]


# ---------------------------------------------------------------------------------- features


def trim_start(audio: np.ndarray) -> np.ndarray:
    level = np.abs(audio)
    loud = np.flatnonzero(level > level.max() * 1e-3)
    return audio[loud[0] :] if loud.size else audio


def features(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    """Log-mel statistics and envelope shape of one sound (peak-normalised, start trimmed)."""
    import librosa

    if sample_rate != JUDGE_RATE:
        mono = librosa.resample(mono, orig_sr=sample_rate, target_sr=JUDGE_RATE)
    mono = trim_start(mono.astype(np.float32))
    mono = mono / (np.abs(mono).max() + 1e-9)
    n = round(JUDGE_SECONDS * JUDGE_RATE)
    mono = np.pad(mono[:n], (0, max(0, n - len(mono))))
    mel = librosa.feature.melspectrogram(y=mono, sr=JUDGE_RATE, n_fft=2048, hop_length=256, n_mels=48, fmin=30)
    log_mel = 10 * np.log10(mel + 1e-8)
    frame_db = 10 * np.log10(mel.sum(axis=0) + 1e-8)
    loud = frame_db > frame_db.max() - 40
    active = log_mel[:, loud]
    profile = active.mean(axis=1) - active.mean()
    spread = active.std(axis=1)
    early = log_mel[:, :8].mean(axis=1) - log_mel[:, :8].mean()
    times = np.geomspace(0.01, JUDGE_SECONDS * 0.98, 24)
    envelope = np.interp(times, np.arange(len(frame_db)) * 256 / JUDGE_RATE, frame_db - frame_db.max())
    flatness = librosa.feature.spectral_flatness(y=mono, n_fft=2048, hop_length=256)[0][loud]
    zcr = librosa.feature.zero_crossing_rate(mono, frame_length=2048, hop_length=256)[0][loud]
    extra = [np.log10(flatness.mean() + 1e-6), zcr.mean(), loud.mean()]
    return np.concatenate([profile, spread, early, np.maximum(envelope, -80) / 10, extra]).astype(np.float32)


# ---------------------------------------------------------------------------------- the judge


def build_judge(cache: Path, log: Callable[[str], None]) -> tuple[Any, dict]:
    """Train the category judge on held-out soundfont renders (cached); returns (classifier, report)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from training.stems.render import FLUIDR3_GM
    from training.text2sample.sounds import fade_out, family_shots, render_family_shots

    available = {name: path for name, path in HELD_OUT_SOUNDFONTS.items() if path.exists()}
    if not available:
        raise SystemExit("no held-out soundfont found: install timgm6mb-soundfont (scripts/debian-packages.txt)")
    shots, families = family_shots()
    data: dict[str, tuple[np.ndarray, list[str]]] = {}
    if cache.exists():
        with np.load(cache) as stored:
            data = {k: (stored[k], json.loads(str(stored[k + "_labels"]))) for k in stored.files if "_" not in k}
    for name, path in {**available, "fluidr3 (check only)": FLUIDR3_GM}.items():
        key = name.split()[0]
        if key in data:
            continue
        log(f"judge: {name}")
        audio, heard = render_family_shots(path, shots, families, duration_s=JUDGE_SECONDS, sample_rate=JUDGE_RATE,
                                           log=log)  # fmt: skip
        rng = np.random.default_rng(len(heard))
        rows, labels = [], []
        for sound, family in zip(audio, heard, strict=True):  # whole, and shorter cuts: one-shots come in every length
            for length_s in (JUDGE_SECONDS, *rng.uniform(0.25, 2.0, CROPS)):
                rows.append(features(fade_out(sound, round(length_s * JUDGE_RATE), JUDGE_RATE), JUDGE_RATE))
                labels.append(family)
        data[key] = (np.stack(rows), labels)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **{k: v[0] for k, v in data.items()},
                 **{k + "_labels": np.array(json.dumps(v[1])) for k, v in data.items()})  # fmt: skip

    def classifier():
        return make_pipeline(StandardScaler(), SVC(C=3.0, gamma="scale"))

    held = [k for k in ("timgm6mb", "musescore") if k in data]
    report: dict[str, Any] = {"trained_on": held, "examples": {k: len(data[k][1]) for k in held}}
    if len(held) == 2:  # how well the judge transfers across soundfonts (it must, to judge ours)
        for train, test in (held, held[::-1]):
            clf = classifier().fit(*data[train])
            report[f"accuracy_{train}_to_{test}"] = round(float(clf.score(*data[test])), 4)
    labels = [label for k in held for label in data[k][1]]
    judge = classifier().fit(np.concatenate([data[k][0] for k in held]), labels)
    if "fluidr3" in data:
        report["accuracy_on_fluidr3_renders"] = round(float(judge.score(*data["fluidr3"])), 4)
    return judge, report


# ---------------------------------------------------------------------------------- metrics


class Context:
    """What the evaluators share: the sample model, the judge and, once a loop line asks, a daemon."""

    def __init__(self, model, judge, models_dir: Path) -> None:
        self.model, self.judge, self.models_dir = model, judge, models_dir
        self._stack = contextlib.ExitStack()
        self._client = None
        self._loops = itertools.count()
        self.files = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="eval-loops-")))

    def close(self) -> None:
        self._stack.close()

    def loop(self, prompt: str, seed: int) -> tuple[dict, list[Path]]:
        """``promptdaw loop PROMPT --seed S``: the daemon's reply and the files written (mix first)."""
        from promptdaw.client import Client
        from promptdaw.launcher import temporary_daemon
        from promptdaw.loop_files import write_render_files

        if self._client is None:
            daemon = self._stack.enter_context(temporary_daemon(["--models-dir", str(self.models_dir)]))
            self._client = self._stack.enter_context(Client(daemon.endpoint, timeout_s=600))
        reply = self._client.request("generate-loop", {"prompt": prompt, "seed": seed})
        output = self.files / f"loop-{next(self._loops)}.wav"
        return reply.body, write_render_files(output, reply.body, reply.payloads)

    def generate(self, prompt: str, seed: int) -> tuple[dict, np.ndarray, int]:
        from promptdaw.inference_server.tasks.generate_sample import SampleOptions, generate_sample_core

        result, payloads = generate_sample_core(self.model, SampleOptions(prompt=prompt, seed=seed))
        return result, payloads[0].samples, payloads[0].sample_rate


def median_f0(mono: np.ndarray, sample_rate: int) -> float | None:
    import librosa

    y = librosa.resample(mono, orig_sr=sample_rate, target_sr=JUDGE_RATE) if sample_rate != JUDGE_RATE else mono
    f0, voiced, _ = librosa.pyin(y[: 4 * JUDGE_RATE], fmin=30.0, fmax=4200.0, sr=JUDGE_RATE, frame_length=2048)
    f0 = f0[voiced & np.isfinite(f0)]
    return float(np.median(f0)) if f0.size else None


def audible_s(audio: np.ndarray, sample_rate: int) -> float:
    loud = np.flatnonzero(np.abs(audio).max(axis=1) >= 10 ** (-60 / 20))
    return float((loud[-1] + 1) / sample_rate) if loud.size else 0.0


def evaluate_sample(line: dict, ctx: Context) -> dict:
    from promptdaw.core.music.theory import parse_note

    expect = line.get("expect", {})
    result, audio, rate = ctx.generate(line["prompt"], 1)
    mono = audio.mean(axis=1)
    row: dict[str, Any] = {"id": line.get("id"), "prompt": line["prompt"], "category": result["category"],
                           "note": result["note_name"], "duration_s": round(audio.shape[0] / rate, 3)}  # fmt: skip
    peak = float(np.abs(audio).max())
    row["peak_dbfs"] = round(20 * np.log10(peak), 3) if peak > 0 else None
    row["peak_ok"] = bool(np.isfinite(audio).all() and peak <= 1.0 and abs(20 * np.log10(peak) + 1) <= 0.1)
    row["dc"] = round(float(np.abs(audio.mean(axis=0)).max()), 6)
    judged = str(ctx.judge.predict(features(mono, rate)[None])[0])
    row["judged"] = judged
    if "category" in expect:
        row["category_ok"] = judged == expect["category"]
    if "note" in expect:
        target = 440.0 * 2 ** ((parse_note(expect["note"]) - 69) / 12)
        f0 = median_f0(mono, rate)
        cents = None if f0 is None else 1200 * np.log2(f0 / target)
        row["f0_hz"] = None if f0 is None else round(f0, 2)
        row["cents"] = None if cents is None else round(float(cents), 1)
        row["note_ok"] = cents is not None and abs(cents) <= 25
    if "duration_s" in expect:
        length = audible_s(audio, rate)
        row["audible_s"] = round(length, 3)
        row["duration_ok"] = abs(length - expect["duration_s"]) <= 0.1 * expect["duration_s"]
    # diversity across seeds
    profiles, same, right = [], 0, 0
    for seed in SEEDS:
        _, seeded, seeded_rate = ctx.generate(line["prompt"], seed) if seed != 1 else (result, audio, rate)
        vector = features(seeded.mean(axis=1), seeded_rate)
        profiles.append(vector[:48])
        seed_judged = str(ctx.judge.predict(vector[None])[0])
        same += int(seed_judged == judged)
        right += int(seed_judged == expect.get("category"))
    distances = [
        float(np.linalg.norm(a - b) / np.sqrt(len(a))) for i, a in enumerate(profiles) for b in profiles[i + 1 :]
    ]
    row["diversity_db"] = round(float(np.mean(distances)), 2)
    row["seeds_same_category"] = same / len(SEEDS)
    if "category" in expect:  # steadier than seed 1 alone: one judged sound is a coin toss near a border
        row["seeds_category_ok"] = right / len(SEEDS)
    return row


def evaluate_loop(line: dict, ctx: Context) -> dict:
    import pyloudnorm
    from eval_midi import bar_quarters, exact_bars, key_matches, key_of, read_midi

    from promptdaw.core.music.theory import pitch_class_name
    from promptdaw.core.wav import read_wav
    from promptdaw.plugin_host.mastering import seam_step_ok

    expect = line.get("expect", {})
    result, files = ctx.loop(line["prompt"], 1)
    wav = read_wav(files[0])
    facts = read_midi(files[0].with_suffix(".mid").read_bytes())
    audio, rate = wav.samples, wav.sample_rate
    meter = facts.meter or "4/4"
    bpm = float(facts.bpm or 0.0)
    bars = int(result["bars"])
    row: dict[str, Any] = {"id": line.get("id"), "prompt": line["prompt"], "bpm": round(bpm, 3), "meter": meter,
                           "bars": bars, "parts": result["parts"], "length_samples": int(audio.shape[0])}  # fmt: skip
    # The asked tempo, not the MIDI's: a set_tempo holds whole microseconds per beat (85 bpm reads
    # back as 85.00004), which moves a long loop's rounding by a sample.
    asked_bpm = expect["bpm"] if isinstance(expect.get("bpm"), int | float) else float(result["bpm"])
    row["length_ok"] = audio.shape[0] == round(bars * bar_quarters(meter) * 60 / asked_bpm * rate)
    row["seam_ok"] = seam_step_ok(audio)
    lufs = float(pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64)))
    row["lufs"] = round(lufs, 2)
    row["loudness_ok"] = bool(np.isfinite(audio).all() and np.abs(audio).max() <= 1.0 and abs(lufs + 14) <= 1.0)
    acid = wav.acid
    row["acid_ok"] = acid is not None and abs(acid.bpm - bpm) < 1e-3 and acid.beats == bars * int(meter.split("/")[0])
    if "bpm" in expect:
        want = expect["bpm"]
        row["bpm_ok"] = want[0] <= bpm <= want[1] if isinstance(want, list) else abs(bpm - want) <= 0.5
    if "meter" in expect:
        row["meter_ok"] = facts.meter == expect["meter"]
    if "bars" in expect:
        row["bars_ok"] = exact_bars(facts, meter, expect["bars"])
    if "key" in expect:
        key = key_of(facts.notes)
        row["key"] = None if key is None else f"{pitch_class_name(key[0])} {key[1]}"
        row["key_exact_ok"], row["key_relative_ok"] = key_matches(key, expect["key"])
    return row


def skip(line: dict, ctx: Context) -> dict:
    return {"id": line.get("id"), "prompt": line["prompt"], "skipped": f"kind {line.get('kind')!r} has no evaluator"}


#: Evaluator per line kind.
EVALUATORS: dict[str, Evaluator] = {"sample": evaluate_sample, "loop": evaluate_loop}
LOOP_CHECKS = ("length_ok", "seam_ok", "loudness_ok", "acid_ok", "bpm_ok", "meter_ok", "bars_ok", "key_exact_ok",
               "key_relative_ok")  # fmt: skip


def training_sound_check(ctx: Context, data_path: Path, count: int) -> dict[str, dict[str, float]]:
    """Judge ``count`` FluidR3 training sounds and the generator's sounds for their texts (seed 1).

    Returns per category (and ``all``): sounds, share judged right as rendered by FluidR3, and as
    generated. The texts are training texts, so this separates timbre from reading the prompt.
    """
    from promptdaw.core.music.theory import note_name
    from promptdaw.runtime.synthesis.constants import CATEGORIES, DRUM_CATEGORIES
    from training.text2sample.dataset import TrainingSet

    data = TrainingSet.load(data_path)
    first_text = {int(owner): t for t, owner in reversed(list(enumerate(data.text_owner)))}
    judged = []
    for i in tqdm(np.random.default_rng(0).permutation(data.sounds)[:count], desc="training sounds"):
        category = CATEGORIES[data.category[i]]
        prompt = data.texts[first_text[int(i)]]
        if category not in DRUM_CATEGORIES:
            note = int(data.meta[i]["pitch"])
            prompt += f" {note_name(note)}"
        _, audio, rate = ctx.generate(prompt, 1)
        judged.append(_judge_beside_original(ctx.judge, data, int(i), audio.mean(axis=1), rate))
    return _tally(judged)


def fit_check(judge, data_path: Path) -> dict[str, dict[str, float]]:
    """Judge every cached per-sound fit (stage 2 of ``scripts/train_text2sample.py``), rendered by the
    runtime synthesiser at the sound's note and gate, beside its FluidR3 original.

    The fits are what the network learns from, so this is the synthesiser's bound on the
    generator. Same return as :func:`training_sound_check`, ``generated_ok`` meaning the fit.
    """
    from promptdaw.runtime.synthesis import synth
    from promptdaw.runtime.synthesis.patch import Patch
    from training.text2sample.dataset import TRAIN_DURATION_S, TRAIN_RATE, TrainingSet
    from training.text2sample.fit import load_fits, widen_fits

    data = TrainingSet.load(data_path)
    caches = sorted(data_path.parent.glob(f"{data_path.stem}-fits-*of*.npz"))
    if not caches:
        raise SystemExit(f"no fit caches beside {data_path}: run scripts/train_text2sample.py first")
    fits = widen_fits(load_fits(caches))  # fits of an older synthesiser play as it did
    n = round(TRAIN_DURATION_S * TRAIN_RATE)
    judged = []
    for i, unit in tqdm(list(zip(fits.items, fits.unit, strict=True)), desc="fits"):
        controls = Patch(unit).physical()
        audio = synth.render(controls, float(data.root[i]), float(data.gate_s[i]), n, TRAIN_RATE,
                             np.random.default_rng(int(i)))  # fmt: skip
        judged.append(_judge_beside_original(judge, data, int(i), audio.mean(axis=1), TRAIN_RATE))
    return _tally(judged)


def _judge_beside_original(judge, data, i: int, mono: np.ndarray, rate: int) -> tuple[str, bool, bool]:
    """(category, original judged right, ``mono`` judged right) for training sound ``i``."""
    from promptdaw.runtime.synthesis.constants import CATEGORIES, CATEGORY_FAMILY
    from training.text2sample.dataset import TRAIN_RATE

    category = CATEGORIES[data.category[i]]
    family = CATEGORY_FAMILY[category]
    original = str(judge.predict(features(data.audio[i], TRAIN_RATE)[None])[0]) == family
    return category, original, str(judge.predict(features(mono, rate)[None])[0]) == family


def _tally(judged: list[tuple[str, bool, bool]]) -> dict[str, dict[str, float]]:
    tally: dict[str, list[int]] = {}
    for category, original, generated in judged:
        for key in (category, "all"):
            counts = tally.setdefault(key, [0, 0, 0])
            counts[0], counts[1], counts[2] = counts[0] + 1, counts[1] + original, counts[2] + generated
    return {key: {"sounds": n, "original_ok": round(o / n, 3), "generated_ok": round(g / n, 3)}
            for key, (n, o, g) in tally.items()}  # fmt: skip


# ---------------------------------------------------------------------------------- report


def _share(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if key in r]
    return round(sum(values) / len(values), 4) if values else None


def summarise(rows: list[dict]) -> dict[str, Any]:
    samples = [r for r in rows if "judged" in r]
    loops = [r for r in rows if "length_ok" in r]
    summary: dict[str, Any] = {
        "lines": len(rows),
        "samples": len(samples),
        "loops": len(loops),
        "skipped": sum("skipped" in r for r in rows),
        "pitch_accuracy": _share(samples, "note_ok"),
        "category_accuracy": _share(samples, "category_ok"),
        "category_accuracy_all_seeds": _share(samples, "seeds_category_ok"),
        "duration_accuracy": _share(samples, "duration_ok"),
        "peak_ok": _share(samples, "peak_ok"),
        "max_dc": max((r["dc"] for r in samples), default=None),
        "diversity_db": round(float(np.mean([r["diversity_db"] for r in samples])), 2) if samples else None,
        "seeds_same_category": round(float(np.mean([r["seeds_same_category"] for r in samples])), 3)
        if samples
        else None,
    }
    if loops:
        summary["loop"] = {check.removesuffix("_ok"): _share(loops, check) for check in LOOP_CHECKS}
    return summary


def loop_markdown(summary: dict, rows: list[dict]) -> list[str]:
    loops = [r for r in rows if "length_ok" in r]
    if not loops:
        return []
    shares = summary["loop"]
    lines = [
        "",
        f"## Loops (`kind: loop`, {len(loops)} lines, seed 1, through a daemon and the files `promptdaw loop` writes)",
        "",
        "| measure | dev set | target |",
        "|---|---|---|",
        f"| exact length in samples | {_pct(shares['length'])} | 100 % |",
        f"| seam at the wrap | {_pct(shares['seam'])} | 100 % |",
        f"| -14 LUFS +-1 (pyloudnorm), no NaN, never above 0 dBFS | {_pct(shares['loudness'])} | 100 % |",
        f"| ACID chunk tempo and beats match the MIDI | {_pct(shares['acid'])} | 100 % |",
        f"| bpm / meter / bars of the MIDI | {_pct(shares['bpm'])} / {_pct(shares['meter'])} / "
        f"{_pct(shares['bars'])} | 100 % |",
        f"| key exact / relative (music21 on the MIDI) | {_pct(shares['key_exact'])} / "
        f"{_pct(shares['key_relative'])} | |",
        "",
        "| id | prompt | bpm | meter | bars | parts | samples | LUFS | key | checks failed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in loops:
        failed = [c.removesuffix("_ok") for c in LOOP_CHECKS if r.get(c) is False]
        lines.append(f"| {r['id']} | {r['prompt']} | {r['bpm']} | {r['meter']} | {r['bars']} | "
                     f"{', '.join(r['parts'])} | {r['length_samples']} | {r['lufs']} | {r.get('key', '')} | "
                     f"{', '.join(failed) or 'none'} |")  # fmt: skip
    return lines


def markdown(summary: dict, rows: list[dict], para_summary: dict, para_rows: list[dict], judge: dict,
             meta: dict) -> str:  # fmt: skip
    def mark(row: dict, key: str) -> str:
        return "" if key not in row else ("pass" if row[key] else "FAIL")

    lines = [
        "# Text-to-sample evaluation",
        "",
        f"Command: `.venv/bin/python scripts/eval_sample.py --markdown docs/text2sample_eval.md`. Model "
        f"`{meta['model']}` {meta['version']} with {meta['critic']}; run {meta['date']} on this project's 2-core "
        f"machine ({meta['seconds']:.0f} s). Definitions: `../shared/eval/README.md`; every prompt at seed 1, "
        "diversity over seeds 1..5.",
        "",
        "| measure | dev set | our paraphrases | target |",
        "|---|---|---|---|",
        f"| pitch accuracy (pyin median f0 within +-25 cents) | {_pct(summary['pitch_accuracy'])} | "
        f"{_pct(para_summary['pitch_accuracy'])} | >= 95 % |",
        f"| category accuracy (held-out soundfont judge) | {_pct(summary['category_accuracy'])} | "
        f"{_pct(para_summary['category_accuracy'])} | >= 85 % |",
        f"| category accuracy over seeds 1..5 | {_pct(summary['category_accuracy_all_seeds'])} | "
        f"{_pct(para_summary['category_accuracy_all_seeds'])} | |",
        f"| duration within 10 % | {_pct(summary['duration_accuracy'])} | {_pct(para_summary['duration_accuracy'])} "
        "| |",
        f"| peak -1 dBFS +-0.1 dB, no NaN, never above 0 dBFS | {_pct(summary['peak_ok'])} | "
        f"{_pct(para_summary['peak_ok'])} | 100 % |",
        f"| largest DC (channel mean) | {summary['max_dc']} | {para_summary['max_dc']} | |",
        f"| diversity: mean pairwise log-mel distance over seeds (dB) | {summary['diversity_db']} | "
        f"{para_summary['diversity_db']} | |",
        f"| seeds judged the same category as seed 1 | {_pct(summary['seeds_same_category'])} | "
        f"{_pct(para_summary['seeds_same_category'])} | |",
        "",
        "The judge is a support-vector classifier (RBF) on log-mel statistics and the level envelope, trained "
        "only on renders "
        f"of held-out soundfonts ({', '.join(judge['trained_on'])}: {judge['examples']} one-shots), never on "
        "FluidR3_GM or the project's presets (the generator's training data). Its own accuracy across soundfonts: "
        + ", ".join(f"{k.removeprefix('accuracy_').replace('_', ' ')} {_pct(v)}" for k, v in judge.items()
                    if k.startswith("accuracy")) + ".",
        "",
        "## Dev set, per prompt",
        "",
        "| id | prompt | model's category | judged | category | note | f0 / cents | note ok | length s | "
        "duration | diversity dB | same-category seeds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in rows:
        if "judged" not in r:
            continue
        cents = f"{r.get('f0_hz')} Hz / {r.get('cents')}" if "cents" in r else ""
        lines.append(f"| {r['id']} | {r['prompt']} | {r['category']} | {r['judged']} | {mark(r, 'category_ok')} | "
                     f"{r['note']} | {cents} | {mark(r, 'note_ok')} | {r['duration_s']} | {mark(r, 'duration_ok')} | "
                     f"{r['diversity_db']} | {r['seeds_same_category']:.0%} |")  # fmt: skip
    lines += loop_markdown(summary, rows)
    if para_rows:
        lines += [
            "",
            "## Our paraphrases (own wording, not tuned on)",
            "",
            "| prompt | model's category | judged | category | note | cents | note ok |",
            "|---|---|---|---|---|---|---|",
        ]
    for r in para_rows:
        lines.append(f"| {r['prompt']} | {r['category']} | {r['judged']} | {mark(r, 'category_ok')} | {r['note']} | "
                     f"{r.get('cents', '')} | {mark(r, 'note_ok')} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=DEV_SET)
    parser.add_argument("--models-dir", type=Path, default=REPO / "models")
    parser.add_argument("--judge-cache", type=Path, default=REPO / "data" / "text2sample" / "judge_features_v2.npz")
    parser.add_argument("--no-paraphrases", action="store_true")
    parser.add_argument("--no-critic", action="store_true", help="play the network's likeliest candidate")
    parser.add_argument("--judge-only", action="store_true", help="build the judge and report its own accuracy")
    parser.add_argument("--markdown", type=Path, help="write the report here")
    parser.add_argument("--json", type=Path, help="write all rows and summaries here")
    parser.add_argument(
        "--training-sounds",
        type=int,
        default=0,
        metavar="N",
        help="also judge N training sounds against the generator's sounds for their texts",
    )
    parser.add_argument(
        "--fits",
        action="store_true",
        help="also judge the cached per-sound fits (the synthesiser's bound) beside their originals",
    )
    parser.add_argument(
        "--training-data",
        type=Path,
        default=REPO / "data" / "text2sample" / "train.npz",
        help="the cached text-to-sample training set (scripts/train_text2sample.py)",
    )
    args = parser.parse_args(argv)
    started = time.time()
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731

    from promptdaw.runtime.catalog import sample_model
    from promptdaw.runtime.registry import ModelRegistry
    from promptdaw.runtime.synthesis.generator import SampleModel

    judge, judge_report = build_judge(args.judge_cache, log)
    if args.judge_only:
        print(json.dumps(judge_report, indent=2))
        return 0
    registry = ModelRegistry(args.models_dir, providers=["CPUExecutionProvider"])
    model = sample_model(registry)
    if args.no_critic:  # the network's own pick, to see what the critic buys
        model = SampleModel(model.model, model.embedder, critic=None)
    ctx = Context(model, judge, args.models_dir)
    lines = [json.loads(text) for text in args.dev.read_text().splitlines() if text.strip()]
    para_rows = []
    training: dict[str, dict[str, float]] = {}
    fitted = fit_check(judge, args.training_data) if args.fits else {}
    try:
        if args.training_sounds:
            training = training_sound_check(ctx, args.training_data, args.training_sounds)
        rows = [EVALUATORS.get(line.get("kind", "sample"), skip)(line, ctx) for line in tqdm(lines, desc="dev lines")]
        if not args.no_paraphrases:
            for prompt, family, note in tqdm(PARAPHRASES, desc="paraphrases"):
                expect = {"category": family, **({"note": note} if note else {})}
                if "seconds" in prompt:
                    expect["duration_s"] = float(prompt.split()[-2])
                para_rows.append(evaluate_sample({"id": None, "prompt": prompt, "expect": expect}, ctx))
    finally:
        ctx.close()
    summary, para_summary = summarise(rows), summarise(para_rows)
    critic = model.critic.model.manifest if model.critic is not None else None
    meta = {"model": model.model.manifest.name, "version": model.model.manifest.version,
            "critic": f"`{critic.name}` {critic.version}" if critic else "no critic (the network's own pick)",
            "date": time.strftime("%Y-%m-%d"), "seconds": time.time() - started}  # fmt: skip
    for r in rows:
        if "judged" in r:
            print(
                f"{r['id']:>4} {r['prompt'][:40]:<40} {r['category']:<11} judged {r['judged']:<10} "
                f"cat {r.get('category_ok', '-')!s:<5} note {r.get('note_ok', '-')!s:<5} {r.get('cents', '')}"
            )
        elif "length_ok" in r:
            failed = [c for c in LOOP_CHECKS if r.get(c) is False]
            print(f"{r['id']:>4} {r['prompt'][:40]:<40} {r['lufs']} LUFS, key {r.get('key')}, failed: {failed}")
    for label, table in (("training sounds", training), ("fits", fitted)):
        for key, row in sorted(table.items()):
            print(f"{label} {key:<12} n={row['sounds']:>3} judged right: FluidR3 {row['original_ok']:.0%}, "
                  f"{label} {row['generated_ok']:.0%}")  # fmt: skip
    print(json.dumps({"dev": summary, "paraphrases": para_summary, "judge": judge_report}, indent=2))
    if args.markdown:
        args.markdown.write_text(markdown(summary, rows, para_summary, para_rows, judge_report, meta))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "dev": summary,
                    "paraphrases": para_summary,
                    "judge": judge_report,
                    "rows": rows,
                    "paraphrase_rows": para_rows,
                    "training_sounds": training,
                    "fits": fitted,
                },
                indent=1,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
