"""Evaluate text-to-MIDI on an eval set (default ../shared/eval/midi_dev.jsonl) and on the idiom set
(default ../shared/eval/groove_dev.jsonl).

    .venv/bin/python scripts/eval_midi.py                 # table for docs/text2midi_eval.md
    .venv/bin/python scripts/eval_midi.py --json          # every number, per prompt too
    .venv/bin/python scripts/eval_midi.py --piano-rolls out/rolls   # PNG piano rolls of a few prompts, then exit

Every prompt runs with seed 1 through the same code the daemon runs (prompt parser with the
MiniLM embedder, text2midi model, constrained sampler), and the written Standard MIDI File is
judged as ../shared/eval/README.md defines: tempo, meter, exact bar count, key (music21's
Krumhansl-Schmuckler analysis over non-drum notes; exact and relative), parts and
instrument families present, given chords realised, idioms. Also: in-scale ratio, pitch-class
entropy and groove consistency against the training corpus, diversity across seeds 1..5,
and the longest run of bars copied from the training data.

The idiom set (``--groove``) runs through the same code at seed 1 and is judged by
``training/text2midi/idiom_checks.py`` (README section "Idioms"): each check's pass rate and the
share of all checks passed, the number of distinct drum patterns over seeds 1..5 for every prompt
with drums (target >= 3 of 5), whether the same prompt and seed give the same bytes, and the
musical statistics against the corpus.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _checkout  # noqa: F401  (training/ from this checkout)
import mido
import numpy as np
from tqdm import tqdm

from promptdaw.core.clip import clip_to_midi
from promptdaw.core.music.gm import DRUM_CHANNEL
from promptdaw.core.music.prompt import parse_prompt
from promptdaw.core.music.theory import parse_chord, parse_pitch_class
from promptdaw.core.paths import models_dir
from promptdaw.runtime import catalog
from promptdaw.runtime.catalog import midi_generator
from promptdaw.runtime.onnx import select_providers
from promptdaw.runtime.registry import ModelRegistry
from training.text2midi.idiom_checks import DRUM_CLASSES, drum_class, drum_pattern, judge, read_clip, recognise_roles

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SET = REPO.parent / "shared" / "eval" / "midi_dev.jsonl"
DEFAULT_GROOVE_SET = REPO.parent / "shared" / "eval" / "groove_dev.jsonl"
DISTINCT_DRUM_TARGET = 3  # distinct drum patterns over the diversity seeds (of 5)
PIANO_ROLL_PROMPTS = (
    "trap beat with 808 bass and hi-hat rolls, 140 bpm, 4 bars",
    "house groove with bass and chords, 124 bpm, 4 bars",
    "warm evolving pad in D minor, 70 bpm, 4 bars",
    "singable pop melody in C major, 110 bpm, 4 bars",
    "amapiano groove with log drum bass and keys in F minor, 112 bpm, 4 bars",
    "uk drill beat with sliding 808, 142 bpm, 4 bars",
    "deep house groove in A minor, 122 bpm, 4 bars",
    "uplifting trance arpeggio in E major, 138 bpm, 4 bars",
)
FAMILIES = {
    "piano": range(0, 8), "chromatic": range(8, 16), "organ": range(16, 24), "guitar": range(24, 32),
    "bass": range(32, 40), "strings": range(40, 52), "brass": range(56, 64), "reed": range(64, 72),
    "flute": range(72, 80), "synth_lead": range(80, 88), "synth_pad": range(88, 96),
}  # fmt: skip
KICKS = (35, 36)


@dataclass
class Note:
    track: int
    channel: int
    program: int
    start: float  # quarter notes
    end: float
    pitch: int


@dataclass
class MidiFacts:
    bpm: float | None
    meter: str | None
    end_quarters: float  # latest end of track
    notes: list[Note]


def read_midi(data: bytes) -> MidiFacts:
    midi = mido.MidiFile(file=io.BytesIO(data))
    tpb = midi.ticks_per_beat
    bpm = meter = None
    notes: list[Note] = []
    end = 0
    for index, track in enumerate(midi.tracks):
        tick, program, open_notes = 0, 0, {}
        for message in track:
            tick += message.time
            if message.type == "set_tempo" and bpm is None:
                bpm = mido.tempo2bpm(message.tempo)
            elif message.type == "time_signature" and meter is None:
                meter = f"{message.numerator}/{message.denominator}"
            elif message.type == "program_change":
                program = message.program
            elif message.type == "note_on" and message.velocity > 0:
                open_notes[(message.channel, message.note)] = tick
            elif message.type in ("note_on", "note_off") and (message.channel, message.note) in open_notes:
                start = open_notes.pop((message.channel, message.note))
                notes.append(Note(index, message.channel, program, start / tpb, tick / tpb, message.note))
        end = max(end, tick)
    return MidiFacts(bpm, meter, end / tpb, notes)


# ---------------------------------------------------------------------- metric definitions


def bar_quarters(meter: str) -> float:
    numerator, denominator = (int(x) for x in meter.split("/"))
    return numerator * 4 / denominator


def key_of(notes: list[Note]) -> tuple[int, str] | None:
    """music21's Krumhansl-Schmuckler key over the non-drum notes."""
    from music21 import note as m21note
    from music21 import stream

    melodic = [n for n in notes if n.channel != DRUM_CHANNEL]
    if not melodic:
        return None
    s = stream.Stream()
    for n in melodic:
        item = m21note.Note(n.pitch)
        item.quarterLength = max(n.end - n.start, 0.25)
        s.insert(n.start, item)
    key = s.analyze("key")
    return key.tonic.pitchClass, key.mode


def key_matches(key: tuple[int, str] | None, expected: str) -> tuple[bool, bool]:
    """(exact, relative): ``key`` against an expected "C# minor"; relative also takes the relative key."""
    name, mode = expected.split()
    want = (parse_pitch_class(name), mode)
    relative = ((want[0] + 9) % 12, "minor") if mode == "major" else ((want[0] + 3) % 12, "major")
    return key == want, key in (want, relative)


def track_groups(notes: list[Note]) -> dict[int, list[Note]]:
    groups: dict[int, list[Note]] = defaultdict(list)
    for n in notes:
        groups[n.track].append(n)
    return groups


def onset_groups(notes: list[Note]) -> list[int]:
    counts: dict[float, int] = defaultdict(int)
    for n in notes:
        counts[round(n.start, 3)] += 1
    return list(counts.values())


def parts_present(facts: MidiFacts, meter: str) -> set[str]:
    found = set()
    bq = bar_quarters(meter)
    for notes in track_groups(facts.notes).values():
        if notes[0].channel == DRUM_CHANNEL:
            found.add("drums")
            continue
        pitches = sorted(n.pitch for n in notes)
        median = float(np.median(pitches))
        groups = onset_groups(notes)
        single = sum(g == 1 for g in groups) / len(groups)
        if median < 55:
            found.add("bass")
        if sum(g >= 3 for g in groups) >= len(groups) / 2:
            found.add("chords")
        if single >= 0.8 and median >= 60:
            found.add("melody")
        if single >= 0.8:
            beats = max(facts.end_quarters, 1e-9)
            per_beat = len(groups) / beats
            bars = defaultdict(set)
            for n in notes:
                bars[int(n.start // bq)].add(n.pitch % 12)
            most = sum(len(pcs) >= 3 for pcs in bars.values()) > len(bars) / 2
            if per_beat >= 2 and most:
                found.add("arp")
    return found


def programs_present(facts: MidiFacts) -> set[str]:
    return {fam for n in facts.notes if n.channel != DRUM_CHANNEL for fam, r in FAMILIES.items() if n.program in r}


def chords_realised(facts: MidiFacts, symbols: list[str], meter: str, bars: int) -> float:
    bq = bar_quarters(meter)
    melodic = [n for n in facts.notes if n.channel != DRUM_CHANNEL]
    hits = 0
    for bar in range(bars):
        chord = parse_chord(symbols[bar % len(symbols)])
        sounding = {n.pitch % 12 for n in melodic if n.start < (bar + 1) * bq and n.end > bar * bq}
        hits += set(chord.required) <= sounding
    return hits / bars


def kick_every_beat(facts: MidiFacts, meter: str, bars: int) -> bool:
    numerator, denominator = (int(x) for x in meter.split("/"))
    beat = 4 / denominator
    kicks = {round(n.start, 3) for n in facts.notes if n.channel == DRUM_CHANNEL and n.pitch in KICKS}
    return all(round(b * beat, 3) in kicks for b in range(bars * numerator))


def exact_bars(facts: MidiFacts, meter: str, bars: int) -> bool:
    length = bars * bar_quarters(meter)
    return abs(facts.end_quarters - length) < 1e-6 and all(n.end <= length + 1e-6 for n in facts.notes)


# ---------------------------------------------------------------------- musical statistics


def in_scale_ratio(notes: list[Note], tonic: int, mode: str) -> float:
    from promptdaw.core.music.theory import scale_pitch_classes

    scale = set(scale_pitch_classes(tonic, mode))
    melodic = [n for n in notes if n.channel != DRUM_CHANNEL]
    return sum(n.pitch % 12 in scale for n in melodic) / max(len(melodic), 1)


def pitch_class_entropy(notes: list[Note]) -> float:
    counts = np.bincount([n.pitch % 12 for n in notes if n.channel != DRUM_CHANNEL], minlength=12).astype(float)
    if counts.sum() == 0:
        return 0.0
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def groove_consistency(notes: list[Note], meter: str, bars: int) -> float:
    """1 - mean Hamming distance (as a share of grid steps) between consecutive bars' onset patterns."""
    bq = bar_quarters(meter)
    steps = round(bq * 4)
    patterns = np.zeros((bars, steps), bool)
    for n in notes:
        bar, pos = int(n.start // bq), round((n.start % bq) * 4)
        if bar < bars and pos < steps:
            patterns[bar, pos] = True
    if bars < 2:
        return 1.0
    return float(1 - np.mean([np.mean(patterns[i] != patterns[i + 1]) for i in range(bars - 1)]))


def jaccard_distance(a: set, b: set) -> float:
    return 1 - len(a & b) / len(a | b) if a | b else 0.0


# ---------------------------------------------------------------------- memorisation


def bar_signature(notes: list[tuple[int, int]]) -> frozenset:
    return frozenset(notes)


def training_index(pieces: list) -> dict[tuple[str, frozenset], set[tuple[int, int]]]:
    """(role, bar content) -> {(piece, bar)}: contents are key-relative (step in bar, pitch)."""
    from promptdaw.runtime.text2midi.features import tonic_shift

    index: dict[tuple[str, frozenset], set[tuple[int, int]]] = defaultdict(set)
    for p_i, piece in enumerate(pieces):
        spb = piece.steps_per_bar
        for track in piece.tracks:
            shift = 0 if track.role == "drums" else tonic_shift(piece.key_tonic)
            per_bar: dict[int, list] = defaultdict(list)
            for n in track.notes:
                per_bar[n.start // spb].append((n.start % spb, n.pitch - shift))
            for bar, content in per_bar.items():
                index[(track.role, bar_signature(content))].add((p_i, bar))
    return index


def longest_copied_run(clip, index) -> int:
    """Longest run of consecutive bars in which every non-empty part equals the same-role part
    of consecutive bars of one training piece."""
    from promptdaw.runtime.text2midi.features import tonic_shift

    spec = clip.spec
    spb = spec.steps_per_bar
    positions: list[set[tuple[int, int]] | None] = []
    for bar in range(spec.bars):
        common: set[tuple[int, int]] | None = None
        for track in clip.tracks:
            shift = 0 if track.role == "drums" else tonic_shift(spec.key_tonic)
            content = [(n.start % spb, n.pitch - shift) for n in track.notes if n.start // spb == bar]
            if not content:
                continue
            found = index.get((track.role, bar_signature(content)), set())
            common = found if common is None else common & found
        positions.append(common if common else None)
    best, run = 0, {}
    for here in positions:
        new_run = {}
        for p, b in here or ():
            new_run[(p, b)] = run.get((p, b - 1), 0) + 1
        run = new_run
        best = max(best, max(run.values(), default=0))
    return best


# ---------------------------------------------------------------------- driver


def generate(generator, embedder, prompt: str, seed: int):
    """(spec, clip, Standard MIDI File bytes) of one prompt, as the daemon makes them."""
    spec = parse_prompt(prompt, embedder=embedder, seed=seed)
    clip = generator.generate(spec)
    return spec, clip, clip_to_midi(clip)


def evaluate(
    lines: list[dict], registry: ModelRegistry, diversity_seeds: int, index, corpus_stats, seed: int = 1
) -> dict[str, Any]:
    generator = midi_generator(registry)
    embedder = catalog.embedder(registry)
    rows, timings = [], []
    checks: dict[str, list[float]] = defaultdict(list)
    for line in tqdm(lines, desc="prompts", leave=False):
        expect = line["expect"]
        start = time.perf_counter()
        spec, clip, data = generate(generator, embedder, line["prompt"], seed)
        timings.append(time.perf_counter() - start)
        facts = read_midi(data)
        meter = facts.meter or "4/4"
        bars = expect.get("bars", spec.bars)
        row: dict[str, Any] = {"id": line["id"], "prompt": line["prompt"]}
        if "bpm" in expect:
            want = expect["bpm"]
            ok = want[0] <= facts.bpm <= want[1] if isinstance(want, list) else abs(facts.bpm - want) <= 0.5
            checks["bpm"].append(ok)
            row["bpm"] = ok
        if "meter" in expect:
            checks["meter"].append(facts.meter == expect["meter"])
            row["meter"] = facts.meter == expect["meter"]
        if "bars" in expect:
            checks["bars"].append(exact_bars(facts, meter, expect["bars"]))
            row["bars"] = checks["bars"][-1]
        key = key_of(facts.notes)
        if "key" in expect:
            exact, relative = key_matches(key, expect["key"])
            checks["key_exact"].append(exact)
            checks["key_relative"].append(relative)
            row["key"] = key
        present = parts_present(facts, meter)
        for part in expect.get("parts", []):
            checks["parts"].append(part in present)
        row["parts"] = sorted(present)
        families = programs_present(facts)
        for family in expect.get("programs", []):
            checks["programs"].append(family in families)
        if "chords" in expect:
            score = chords_realised(facts, expect["chords"], meter, bars)
            checks["chords"].append(score)
            row["chords"] = score
        for idiom in expect.get("idioms", []):
            if idiom == "kick_every_beat":
                checks["kick_every_beat"].append(kick_every_beat(facts, meter, bars))
        for key, value in musical_statistics(facts, spec).items():
            checks[key].append(value)
        if index is not None:
            copied = longest_copied_run(clip, index)
            checks["copied_bars_max"].append(copied)
            row["copied_bars"] = copied
        if diversity_seeds > 1:
            sets = []
            for other_seed in range(1, diversity_seeds + 1):
                other = generator.generate(parse_prompt(line["prompt"], embedder=embedder, seed=other_seed))
                sets.append({(t.role, n.start, n.pitch) for t in other.tracks for n in t.notes})
            pairs = itertools.combinations(sets, 2)
            checks["diversity"].append(float(np.mean([jaccard_distance(a, b) for a, b in pairs])))
        rows.append(row)
    summary = {k: (max(v) if k == "copied_bars_max" else float(np.mean(v))) for k, v in checks.items()}
    summary["generate_p50_ms"] = float(np.median(timings) * 1e3)
    if corpus_stats:
        summary["corpus"] = corpus_stats
    return {"summary": summary, "counts": {k: len(v) for k, v in checks.items()}, "rows": rows}


def musical_statistics(facts: MidiFacts, spec) -> dict[str, float]:
    """In-scale ratio (against the spec's key), pitch-class entropy and groove consistency of one clip."""
    meter = facts.meter or "4/4"
    return {
        "in_scale": in_scale_ratio(facts.notes, spec.key_tonic, spec.key_mode),
        "pc_entropy": pitch_class_entropy(facts.notes),
        "groove_consistency": groove_consistency(facts.notes, meter, spec.bars),
    }


def evaluate_groove(
    lines: list[dict], registry: ModelRegistry, diversity_seeds: int, corpus_stats, seed: int = 1
) -> dict[str, Any]:
    """The idiom set: checks at ``seed``, distinct drum patterns over seeds 1..N, same bytes twice."""
    generator = midi_generator(registry)
    embedder = catalog.embedder(registry)
    rows, timings = [], []
    per_check: dict[str, list[bool]] = defaultdict(list)
    stats: dict[str, list[float]] = defaultdict(list)
    distinct, deterministic = [], []
    for line in tqdm(lines, desc="groove prompts", leave=False):
        start = time.perf_counter()
        spec, _, data = generate(generator, embedder, line["prompt"], seed)
        timings.append(time.perf_counter() - start)
        results = judge(data, line["checks"])
        for name, (passed, _) in results.items():
            per_check[name].append(passed)
        facts = read_midi(data)
        pitched = any(n.channel != DRUM_CHANNEL for n in facts.notes)
        for key, value in musical_statistics(facts, spec).items():
            if pitched or key == "groove_consistency":  # key statistics of a drums-only clip mean nothing
                stats[key].append(value)
        same = generate(generator, embedder, line["prompt"], seed)[2] == data
        deterministic.append(same)
        row: dict[str, Any] = {
            "id": line["id"],
            "prompt": line["prompt"],
            "checks": {name: {"passed": passed, "detail": detail} for name, (passed, detail) in results.items()},
            "same_bytes": same,
        }
        if any(part.role == "drums" for part in spec.parts) and diversity_seeds > 1:
            patterns = {
                drum_pattern(read_clip(data if s == seed else generate(generator, embedder, line["prompt"], s)[2]))
                for s in range(1, diversity_seeds + 1)
            }
            row["distinct_drum_patterns"] = len(patterns)
            distinct.append(len(patterns))
        rows.append(row)
    checks = {name: {"passed": sum(v), "n": len(v), "rate": sum(v) / len(v)} for name, v in sorted(per_check.items())}
    total = sum(c["n"] for c in checks.values())
    summary: dict[str, Any] = {
        "seed": seed,
        "prompts": len(lines),
        "checks": checks,
        "passed": sum(c["passed"] for c in checks.values()),
        "total": total,
        "overall": sum(c["passed"] for c in checks.values()) / max(total, 1),
        "same_bytes": sum(deterministic),
        "same_bytes_n": len(deterministic),
        **{key: float(np.mean(values)) for key, values in stats.items()},
        "statistics_n": {key: len(values) for key, values in stats.items()},
        "generate_p50_ms": float(np.median(timings) * 1e3) if timings else 0.0,
    }
    if distinct:
        summary["drum_patterns"] = {
            "seeds": diversity_seeds,
            "prompts": len(distinct),
            "mean_distinct": float(np.mean(distinct)),
            "meeting_target": sum(d >= DISTINCT_DRUM_TARGET for d in distinct),
            "target": DISTINCT_DRUM_TARGET,
        }
    if corpus_stats:
        summary["corpus"] = corpus_stats
    return {"summary": summary, "rows": rows}


def corpus_reference(pieces: list, limit: int = 400) -> dict[str, float]:
    """The musical statistics on training pieces, for comparison."""
    from promptdaw.core.clip import Clip, ClipNote, ClipTrack
    from promptdaw.core.music.spec import MusicSpec, PartSpec

    rng = np.random.default_rng(0)
    picks = rng.choice(len(pieces), size=min(limit, len(pieces)), replace=False)
    stats = defaultdict(list)
    for i in picks:
        p = pieces[int(i)]
        spec = MusicSpec(p.bpm, p.key_tonic, p.key_mode, p.meter, p.bars, p.genre,
                         tuple(PartSpec(t.role, t.program, t.role) for t in p.tracks))  # fmt: skip
        clip = Clip(spec, [ClipTrack(t.role, t.program, t.role, [ClipNote(n.start, n.duration, n.pitch, n.velocity)
                                                                  for n in t.notes]) for t in p.tracks])  # fmt: skip
        facts = read_midi(clip_to_midi(clip))
        meter = f"{p.meter[0]}/{p.meter[1]}"
        stats["in_scale"].append(in_scale_ratio(facts.notes, p.key_tonic, p.key_mode))
        stats["pc_entropy"].append(pitch_class_entropy(facts.notes))
        stats["groove_consistency"].append(groove_consistency(facts.notes, meter, p.bars))
    return {k: float(np.mean(v)) for k, v in stats.items()}


def table(result: dict[str, Any]) -> str:
    s, counts = result["summary"], result["counts"]
    corpus = s.get("corpus", {})
    rows = [
        ("tempo (bpm within 0.5)", "bpm", ">= 95 %"),
        ("meter", "meter", ">= 95 %"),
        ("exact bar count", "bars", ">= 95 %"),
        ("key exact", "key_exact", ">= 95 %"),
        ("key incl. relative", "key_relative", ">= 95 %"),
        ("requested parts present", "parts", ">= 95 %"),
        ("instrument families present", "programs", ">= 95 %"),
        ("given chords realised (share of bars)", "chords", ">= 95 %"),
        ("kick on every beat (idiom)", "kick_every_beat", ">= 95 %"),
    ]
    lines = ["| metric | result | n | target |", "|---|---|---|---|"]
    for label, key, target in rows:
        if key in s:
            lines.append(f"| {label} | {100 * s[key]:.1f} % | {counts[key]} | {target} |")
    for label, key in (("in-scale ratio", "in_scale"), ("pitch-class entropy (bits)", "pc_entropy"),
                       ("groove consistency", "groove_consistency")):  # fmt: skip
        ref = f" (training corpus {corpus[key]:.3f})" if key in corpus else ""
        lines.append(f"| {label} | {s[key]:.3f}{ref} | {counts[key]} | |")
    if "diversity" in s:
        lines.append(f"| diversity, seeds 1..5 (mean pairwise Jaccard distance) | {s['diversity']:.3f} | "
                     f"{counts['diversity']} | |")  # fmt: skip
    if "copied_bars_max" in s:
        lines.append(f"| longest run of bars copied from training data | {s['copied_bars_max']:.0f} | "
                     f"{counts['copied_bars_max']} | <= 2 |")  # fmt: skip
    lines.append(f"| generation time p50 (in-process, incl. parsing) | {s['generate_p50_ms']:.0f} ms | | |")
    if "groove" in result:
        lines += groove_rows(result["groove"]["summary"], corpus)
    return "\n".join(lines)


def groove_rows(s: dict[str, Any], corpus: dict[str, float]) -> list[str]:
    """The idiom section of the table: per-check pass rates, overall, drum-pattern diversity, same bytes."""
    lines = [f"| **idioms** ({s['set']}, seed {s['seed']}) | | | |"]
    for name, c in s["checks"].items():
        lines.append(f"| idiom: {name} | {100 * c['rate']:.1f} % ({c['passed']}/{c['n']}) | {c['n']} | |")
    overall = f"{100 * s['overall']:.1f} % ({s['passed']}/{s['total']})"
    lines.append(f"| idiom checks passed, all | {overall} | {s['total']} | |")
    if "drum_patterns" in s:
        d = s["drum_patterns"]
        lines.append(
            f"| distinct drum patterns, seeds 1..{d['seeds']} (mean; prompts meeting target) | "
            f"{d['mean_distinct']:.1f}; {d['meeting_target']}/{d['prompts']} | {d['prompts']} | "
            f">= {d['target']} of {d['seeds']} |"
        )
    lines.append(
        f"| same prompt and seed give the same bytes | {s['same_bytes']}/{s['same_bytes_n']} | {s['same_bytes_n']} "
        "| all |"
    )
    for label, key in (("in-scale ratio", "in_scale"), ("pitch-class entropy (bits)", "pc_entropy"),
                       ("groove consistency", "groove_consistency")):  # fmt: skip
        ref = f" (training corpus {corpus[key]:.3f})" if key in corpus else ""
        if key in s:
            lines.append(f"| idiom set: {label} | {s[key]:.3f}{ref} | {s['statistics_n'][key]} | |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="JSONL eval set")
    parser.add_argument("--groove", type=Path, default=DEFAULT_GROOVE_SET, help="JSONL idiom set (README 'Idioms')")
    parser.add_argument("--no-groove", action="store_true", help="skip the idiom set")
    parser.add_argument("--seed", type=int, default=1, help="seed of every prompt (the README's metrics use 1)")
    parser.add_argument("--diversity-seeds", type=int, default=5)
    parser.add_argument("--no-memorisation", action="store_true", help="skip the training-data copy check")
    parser.add_argument("--corpus", type=Path, help="saved training corpus (default: the training script's cache)")
    parser.add_argument(
        "--piano-rolls", type=Path, metavar="DIR", help="write PNG piano rolls of a few prompts to DIR, then exit"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    registry = ModelRegistry(models_dir(), providers=select_providers())
    if args.piano_rolls is not None:
        for path in write_piano_rolls(registry, PIANO_ROLL_PROMPTS, args.piano_rolls, args.seed):
            print(path)
        return 0
    lines = [json.loads(line) for line in args.set.read_text().splitlines() if line.strip()]
    index = corpus_stats = None
    if not args.no_memorisation:
        pieces = load_training_corpus(args.corpus)
        index, corpus_stats = training_index(pieces), corpus_reference(pieces)
    started = time.perf_counter()
    result = evaluate(lines, registry, args.diversity_seeds, index, corpus_stats, args.seed)
    if not args.no_groove:
        groove_lines = [json.loads(line) for line in args.groove.read_text().splitlines() if line.strip()]
        result["groove"] = evaluate_groove(groove_lines, registry, args.diversity_seeds, corpus_stats, args.seed)
        result["groove"]["summary"]["set"] = args.groove.name
    result["summary"]["eval_s"] = time.perf_counter() - started
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(f"{args.set.name}: {len(lines)} prompts, seed {args.seed}")
        print(table(result))
        failures = [r for r in result["rows"] if any(v is False for v in r.values())]
        for r in failures:
            print(f"  failed: {r['id']} {r['prompt']!r}: {r}", file=sys.stderr)
        for r in result.get("groove", {}).get("rows", []):
            failed = [f"{name} ({c['detail']})" for name, c in r["checks"].items() if not c["passed"]]
            if failed:
                print(f"  idioms failed: {r['id']} {r['prompt']!r}: {'; '.join(failed)}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------- piano rolls

ROLE_COLOURS = {"bass": "#1f77b4", "chords": "#2ca02c", "melody": "#ff7f0e", "other": "#7f7f7f"}
DRUM_COLOURS = {"kick": "#d62728", "snare": "#9467bd", "hat": "#bcbd22", "other": "#7f7f7f"}
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def pitched_tracks(clip) -> list[tuple[str, tuple]]:
    """(role, notes) per non-drum track, roles recognised from the notes as the idiom checks do."""
    roles = recognise_roles(clip)
    out = [("bass", t) for t in roles.bass] + [("chords", t) for t in roles.polyphonic]
    out += [("melody", t) for t in roles.monophonic]
    placed = {n for _, track in out for n in track}
    for track in clip.tracks:
        rest = tuple(n for n in track if n.channel != DRUM_CHANNEL and n not in placed)
        if rest:
            out.append(("other", rest))
    return out


def _box(ax, x: float, y: float, width: float, height: float, colour: str, velocity: int) -> None:
    """One note: louder is more opaque; a thin white edge keeps repeated notes apart."""
    from matplotlib.patches import Rectangle

    alpha = 0.35 + 0.65 * velocity / 127
    ax.add_patch(Rectangle((x, y), width, height, facecolor=colour, alpha=alpha, edgecolor="white", linewidth=0.6))


def _draw_pitched(ax, tracks: list[tuple[str, tuple]]) -> None:
    from matplotlib.patches import Patch

    for role, notes in tracks:
        for n in notes:
            _box(ax, n.start, n.pitch - 0.4, max(n.duration, 0.05), 0.8, ROLE_COLOURS[role], n.velocity)
    pitches = [n.pitch for _, notes in tracks for n in notes]
    low, high = min(pitches) - 2, max(pitches) + 2
    ax.set_ylim(low, high)
    ticks = [p for p in range(low, high + 1) if p % 12 == 0] or [low + 2]
    ax.set_yticks(ticks, [f"{NOTE_NAMES[p % 12]}{p // 12 - 1}" for p in ticks])
    ax.set_ylabel("pitch")
    roles = dict.fromkeys(role for role, _ in tracks)
    ax.legend(handles=[Patch(color=ROLE_COLOURS[r], label=r) for r in roles], loc="upper right", fontsize=8)


def _draw_drums(ax, drums: tuple) -> None:
    for n in drums:
        lane = drum_class(n.pitch)
        _box(ax, n.start, lane - 0.35, 0.12, 0.7, DRUM_COLOURS[DRUM_CLASSES[lane]], n.velocity)
    ax.set_ylim(len(DRUM_CLASSES) - 0.4, -0.6)  # kick on top
    ax.set_yticks(range(len(DRUM_CLASSES)), DRUM_CLASSES)
    ax.set_ylabel("drums")


def piano_roll(data: bytes, title: str, path: Path) -> None:
    """One PNG: pitched notes coloured by role above a drum lane (kick/snare/hat/other), bar lines, title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clip = read_clip(data)
    tracks, drums = pitched_tracks(clip), recognise_roles(clip).drums
    panels = [(3.0, lambda ax: _draw_pitched(ax, tracks))] if tracks else []
    panels += [(1.2, lambda ax: _draw_drums(ax, drums))] if drums else []
    ratios = [r for r, _ in panels] or [1.0]
    fig, axes = plt.subplots(len(ratios), 1, figsize=(12, 1.6 + 1.4 * sum(ratios)), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": ratios})  # fmt: skip
    end = clip.bars * clip.bar
    for ax, (_, draw) in zip(axes[:, 0], panels, strict=False):
        draw(ax)
    for ax in axes[:, 0]:
        for beat in range(math.ceil(end) + 1):
            on_bar = abs(beat / clip.bar - round(beat / clip.bar)) < 1e-9
            ax.axvline(beat, color="black" if on_bar else "#dddddd", linewidth=1.2 if on_bar else 0.5, zorder=0)
        ax.set_xlim(0, end)
    axes[-1, 0].set_xticks([b * clip.bar for b in range(clip.bars)], [str(b + 1) for b in range(clip.bars)])
    axes[-1, 0].set_xlabel("bar")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_piano_rolls(registry: ModelRegistry, prompts: Sequence[str], out: Path, seed: int) -> list[Path]:
    """Generate each prompt at ``seed`` (same path as the evaluation) and draw its piano roll to ``out``."""
    generator, embedder = midi_generator(registry), catalog.embedder(registry)
    paths = []
    for i, prompt in enumerate(prompts, 1):
        spec, _, data = generate(generator, embedder, prompt, seed)
        slug = "-".join("".join(c if c.isalnum() else " " for c in prompt.lower()).split()[:4])
        path = out / f"{i:02d}-{slug}.png"
        meter = f"{spec.meter[0]}/{spec.meter[1]}"
        title = f"{prompt!r}\nseed {seed}: {spec.genre}, {spec.bpm:g} bpm, {meter}, {spec.bars} bars"
        piano_roll(data, title, path)
        paths.append(path)
    return paths


def load_training_corpus(path: Path | None) -> list:
    """The corpus the committed model was trained on (rebuilt deterministically when not cached)."""
    from training.text2midi.corpus import load_corpus
    from training.text2midi.dataset import training_corpus

    if path is not None:
        return load_corpus(path)
    corpus = json.loads((models_dir() / "text2midi" / "config.json").read_text())["corpus"]
    return training_corpus(corpus["seed"], corpus["idioms"], corpus["music21_limit"])


if __name__ == "__main__":
    raise SystemExit(main())
