"""The clip's chords, one per 16th step: the prompt's progression, or one drawn from the
chord-transition table the text-to-MIDI model learned from its training corpus."""

from __future__ import annotations

import numpy as np

from promptdaw.core.music.spec import MusicSpec
from promptdaw.core.music.theory import MODES, chord_symbol, parse_chord

__all__ = ["StepChord", "chords_per_step", "sample_progression"]

#: (root pitch class, chord pitch classes, required pitch classes), absolute (not key-relative).
StepChord = tuple[int, tuple[int, ...], tuple[int, ...]]
PHRASE_BARS = 4


def _tonic_symbol(spec: MusicSpec) -> str:
    third = MODES[spec.key_mode][2]
    return chord_symbol(spec.key_tonic, "m" if third == 3 else "")


def sample_progression(
    spec: MusicSpec, table: dict[str, dict[str, dict[str, int]]], rng: np.random.Generator
) -> list[str]:
    """One chord per bar: the tonic first (it anchors the key), then a walk on the learned table.

    Labels in the table are key-relative ``"root:quality"``; transitions are sampled with
    their counts as weights, restricted to roots in the mode's scale.
    """
    group = "major" if spec.key_mode in ("major", "lydian", "mixolydian") else "minor"
    rows = table.get(group, {})
    scale = set(MODES[spec.key_mode])
    symbols = [_tonic_symbol(spec)]
    previous = "0:" + ("m" if MODES[spec.key_mode][2] == 3 else "")
    tonic_label = previous
    for bar in range(1, spec.bars):
        if bar % PHRASE_BARS == 0 and bar < spec.bars - 1:
            # Each phrase starts at home, as loops and songs do.
            symbols.append(_tonic_symbol(spec))
            previous = tonic_label
            continue
        row = rows.get(previous) or rows.get("<start>") or {}
        options = [(label, n) for label, n in sorted(row.items()) if int(label.split(":")[0]) in scale]
        if bar == spec.bars - 1 and spec.bars >= 2:
            # Close on the tonic: the cadence is what tells a listener (and a key finder) the key.
            symbols.append(_tonic_symbol(spec))
            break
        if bar == spec.bars - 2 and spec.bars >= 4:
            # Prepare it with the dominant when the table has one.
            dominant = [(label, n) for label, n in options if label.split(":")[0] == "7"]
            options = dominant or options
        if not options:
            symbols.append(symbols[-1])
            continue
        labels, counts = zip(*options, strict=True)
        weights = np.asarray(counts, float) ** 0.8
        previous = labels[int(rng.choice(len(labels), p=weights / weights.sum()))]
        root, quality = previous.split(":")
        symbols.append(chord_symbol((spec.key_tonic + int(root)) % 12, quality))
    return symbols


def chords_per_step(spec: MusicSpec, symbols: list[str] | None = None) -> list[StepChord]:
    """Expand the spec's explicit chord changes (repeating when shorter than the clip), or
    ``symbols`` (one per bar), to one chord per step."""
    spb, total = spec.steps_per_bar, spec.bars * spec.steps_per_bar
    changes: list[tuple[int, str]] = []  # (start step, symbol)
    if spec.chords:
        steps_per_beat = 4
        cycle_start = 0
        while cycle_start < total:
            last = 0
            for change in spec.chords:
                start = cycle_start + change.bar * spb + round(change.beat * steps_per_beat)
                changes.append((start, change.symbol))
                length = round(change.duration_beats * steps_per_beat) if change.duration_beats else spb
                last = max(last, start + length)
            if last <= cycle_start:
                break
            cycle_start = last
    else:
        changes = [(bar * spb, symbol) for bar, symbol in enumerate(symbols or [])]
    out: list[StepChord] = []
    parsed = {symbol: parse_chord(symbol) for _, symbol in changes}
    index = 0
    changes.sort()
    for step in range(total):
        while index + 1 < len(changes) and changes[index + 1][0] <= step:
            index += 1
        chord = parsed[changes[index][1]]
        out.append((chord.root, chord.pitch_classes, chord.required))
    return out
