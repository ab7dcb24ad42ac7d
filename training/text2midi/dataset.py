"""Turning corpus pieces into training sequences (numpy; torch only sees the arrays).

Each track of each piece becomes one sequence: static features (``features.static_features``)
plus its onset and sounding piano rolls on the 49-pitch window of its role. Statistics the
runtime needs (genre list, per-role density, chord transitions) are learned here too and
saved with the model.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from promptdaw.core.music.spec import PART_ROLES
from promptdaw.core.paths import cache_dir
from promptdaw.runtime.text2midi.features import (
    N_PITCHES,
    Context,
    fold_into_window,
    static_features,
    tonic_shift,
)
from training.text2midi.corpus import Piece, Track, load_corpus, save_corpus

__all__ = [
    "Sequences",
    "TrainingStats",
    "build_sequences",
    "chord_label",
    "learn_stats",
    "track_rolls",
    "training_corpus",
]


def training_corpus(seed: int, idioms: int, music21_limit: int | None) -> list[Piece]:
    """The training corpus: ``idioms`` idiom-library pieces plus the music21 works, built
    deterministically from the seed and cached (the eval script rebuilds the same one)."""
    # The builders' own source is part of the key, so an edited idiom library never loads a stale corpus.
    sources = b"".join((Path(__file__).parent / name).read_bytes() for name in ("idioms.py", "music21_corpus.py"))
    version = hashlib.sha256(sources).hexdigest()[:12]
    path = cache_dir() / f"text2midi-corpus-{seed}-{idioms}-{music21_limit}-{version}.npz"
    if path.exists():
        return load_corpus(path)
    from training.text2midi.idioms import build_idiom_corpus
    from training.text2midi.music21_corpus import build_music21_corpus

    pieces = build_idiom_corpus(seed=seed, n_pieces=idioms) + build_music21_corpus(limit=music21_limit)
    save_corpus(pieces, path)
    return pieces


@dataclass
class TrainingStats:
    genres: list[str]
    #: role -> (mean, std) of the fraction of steps with an onset.
    density: dict[str, tuple[float, float]]
    #: "mode_group" -> {previous label or "<start>": {next label: count}}; labels are "root:quality".
    harmony: dict[str, dict[str, dict[str, int]]]

    def to_json(self) -> dict:
        return {"genres": self.genres, "density": self.density, "harmony": self.harmony}


@dataclass
class Sequences:
    """Ragged training sequences, concatenated; ``offsets[i]:offsets[i+1]`` is sequence i."""

    static: np.ndarray  # [N, S] float32
    onset: np.ndarray  # [N, P] uint8
    sounding: np.ndarray  # [N, P] uint8
    offsets: np.ndarray  # [n + 1] int64
    steps_per_bar: np.ndarray  # [n] int

    def __len__(self) -> int:
        return len(self.offsets) - 1


@cache
def canonical_genre(label: str) -> str:
    """The lexicon genre a corpus label names ("boom-bap" -> "hiphop"), else the label itself.

    The prompt parser is the one place that knows genre words, so it decides here too.
    """
    from promptdaw.core.music.prompt import parse_prompt

    spec = parse_prompt(label.replace("-", " "))
    return spec.genre if "genre" in spec.explicit else label


def onset_fraction(track: Track, total_steps: int) -> float:
    return len({n.start for n in track.notes if n.start < total_steps}) / max(total_steps, 1)


def relative_density(fraction: float, stats: tuple[float, float]) -> float:
    """Squash a track's onset fraction against its role's corpus mean: 0.5 = typical."""
    mean, std = stats
    return float(1 / (1 + np.exp(-(fraction - mean) / max(std, 1e-3))))


def track_rolls(track: Track, piece: Piece) -> tuple[np.ndarray, np.ndarray]:
    """Onset and sounding rolls ``[steps, N_PITCHES]`` in the role window, tonic on C."""
    total = piece.bars * piece.steps_per_bar
    onset = np.zeros((total, N_PITCHES), np.uint8)
    sounding = np.zeros((total, N_PITCHES), np.uint8)
    shift = 0 if track.role == "drums" else tonic_shift(piece.key_tonic)
    for note in track.notes:
        index = fold_into_window(note.pitch - shift, track.role)
        if index is None or note.start >= total:
            continue
        end = min(note.start + max(note.duration, 1), total)
        sounding[note.start : end, index] = 1
        onset[note.start, index] = 1
    return onset, sounding


def chord_label(root: int, pcs: Sequence[int]) -> str:
    """A tonic-relative chord as "root:quality" from its pitch classes (coarse qualities)."""
    rel = {(pc - root) % 12 for pc in pcs}
    if {3, 6, 10} <= rel:
        quality = "m7b5"
    elif 3 in rel and 6 in rel:
        quality = "dim"
    elif 4 in rel and 8 in rel and 7 not in rel:
        quality = "aug"
    elif 3 in rel:
        quality = "m7" if 10 in rel else "m"
    elif 4 in rel:
        quality = "maj7" if 11 in rel else ("7" if 10 in rel else "")
    elif 5 in rel:
        quality = "sus4"
    elif 2 in rel:
        quality = "sus2"
    else:
        quality = "5"
    return f"{root % 12}:{quality}"


def mode_group(mode: str) -> str:
    return "major" if mode in ("major", "lydian", "mixolydian") else "minor"


def learn_stats(pieces: Sequence[Piece], extra_genres: Sequence[str] = ()) -> TrainingStats:
    genres = sorted({canonical_genre(p.genre) for p in pieces} | set(extra_genres))
    fractions: dict[str, list[float]] = defaultdict(list)
    harmony: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for piece in pieces:
        total = piece.bars * piece.steps_per_bar
        for track in piece.tracks:
            fractions[track.role].append(onset_fraction(track, total))
        previous = "<start>"
        for chord in piece.chords:
            if chord is None:
                previous = "<start>"
                continue
            label = chord_label((chord[0] - piece.key_tonic) % 12, [(pc - piece.key_tonic) % 12 for pc in chord[1]])
            harmony[mode_group(piece.key_mode)][previous][label] += 1
            previous = label
    density = {
        role: (float(np.mean(f)), float(np.std(f) + 1e-3)) if (f := fractions[role]) else (0.25, 0.1)
        for role in PART_ROLES
    }
    table = {group: {prev: dict(counts) for prev, counts in rows.items()} for group, rows in harmony.items()}
    return TrainingStats(genres, density, table)


def piece_context(piece: Piece, track: Track, stats: TrainingStats) -> Context:
    spb = piece.steps_per_bar
    chords: list[tuple[int, tuple[int, ...]] | None] = []
    for bar in range(piece.bars):
        chord = piece.chords[bar] if bar < len(piece.chords) else None
        rel = None
        if chord is not None:
            rel = ((chord[0] - piece.key_tonic) % 12, tuple(sorted({(pc - piece.key_tonic) % 12 for pc in chord[1]})))
        chords.extend([rel] * spb)
    total = piece.bars * spb
    return Context(
        role=track.role,
        meter=piece.meter,
        bars=piece.bars,
        mode=piece.key_mode,
        genre_index=stats.genres.index(genre) if (genre := canonical_genre(piece.genre)) in stats.genres else None,
        n_genres=len(stats.genres),
        density=relative_density(onset_fraction(track, total), stats.density[track.role]),
        bpm=piece.bpm,
        chords=chords,
    )


def build_sequences(pieces: Sequence[Piece], stats: TrainingStats) -> Sequences:
    statics, onsets, soundings, lengths, spbs = [], [], [], [], []
    for piece in pieces:
        for track in piece.tracks:
            if not track.notes or track.role not in PART_ROLES:
                continue
            onset, sounding = track_rolls(track, piece)
            statics.append(static_features(piece_context(piece, track, stats)))
            onsets.append(onset)
            soundings.append(sounding)
            lengths.append(len(onset))
            spbs.append(piece.steps_per_bar)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return Sequences(
        np.concatenate(statics), np.concatenate(onsets), np.concatenate(soundings), offsets, np.array(spbs)
    )
