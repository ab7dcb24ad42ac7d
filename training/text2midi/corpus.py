"""The text-to-MIDI training corpus: pieces of multi-part music on a 16th-note grid.

A :class:`Piece` is a few bars (4-16) of one genre in one meter and key, made of
:class:`Track` s that each play one role of :data:`PART_ROLES` (drums, bass, chords,
melody, arp, pad). Times are integer 16th-note steps from the start of the piece, so a
bar of ``n/d`` holds ``n * 16 // d`` steps; ``bpm`` always counts quarter notes per
minute (the MIDI ``set_tempo`` convention), whatever the meter.

Two builders fill it: ``idioms.build_idiom_corpus`` (the project's own MIT-licensed idiom
library) and ``music21_corpus.build_music21_corpus`` (public-domain works from the corpus
that ships in the music21 wheel). This module owns the data structure, the role checks
shared with the evaluation (``/work/shared/eval/README.md``), storage and statistics.

Storage (``save_corpus`` / ``load_corpus``) is a ``.npz`` (default) or ``.json.gz`` file,
byte-for-byte deterministic for the same pieces:

- ``.npz``: ``notes`` int32 (N, 4) rows of (start, duration, pitch, velocity);
  ``track_offsets`` int64 (T + 1) slicing ``notes`` per track; ``track_role`` int8 (index
  into ``PART_ROLES``); ``track_program`` int16; ``piece_offsets`` int64 (P + 1) slicing
  tracks per piece; ``meta`` uint8, UTF-8 JSON with the format version and one object per
  piece (source, licence, genre, meter, key, bpm, bars, chords).
- ``.json.gz``: the same JSON with each track's notes as a flat integer list.
"""

from __future__ import annotations

import gzip
import io
import json
import statistics
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from promptdaw.core.music.spec import PART_ROLES
from promptdaw.core.music.theory import MODES

__all__ = [
    "CORPUS_FORMAT",
    "GM_DRUM_RANGE",
    "Note",
    "Piece",
    "Track",
    "beat_groups",
    "corpus_stats",
    "load_corpus",
    "piece_problems",
    "role_features",
    "save_corpus",
    "track_meets_role",
]

#: Version of the stored layout; bump when ``save_corpus`` changes what it writes.
CORPUS_FORMAT = 1
#: General MIDI percussion keys a drum track may use (35 acoustic bass drum .. 81 open triangle).
GM_DRUM_RANGE = (35, 81)
#: Fixed zip timestamp so the same corpus always gives the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Role thresholds, as the evaluation defines the parts (see the module docstring).
BASS_MAX_MEDIAN = 55  # bass: median pitch below G3
MELODY_MIN_MEDIAN = 60  # melody: median pitch at or above C4
MELODY_MIN_SINGLE_SHARE = 0.8  # melody / arp: share of single-note onsets
CHORDS_MIN_SHARE = 0.5  # chords: share of onsets striking 3+ notes
ARP_MIN_NOTES_PER_BEAT = 2.0  # arp: notes per quarter-note beat
ARP_MIN_PITCH_CLASSES = 3  # arp: distinct pitch classes in most bars


@dataclass(frozen=True)
class Note:
    start: int  # 16th-note steps from the start of the piece
    duration: int  # steps, >= 1
    pitch: int  # MIDI 0..127; a GM percussion key on drum tracks
    velocity: int  # 1..127


@dataclass
class Track:
    role: str  # one of PART_ROLES
    program: int  # GM program 0..127 (0-based); 0 for drums
    notes: list[Note]


@dataclass
class Piece:
    source: str  # e.g. "idiom:house/four-floor-1/17" or "music21:bach/bwv66.6/bars-1-8"
    licence: str  # e.g. "MIT (promptdaw idiom library)", "public domain (music21 corpus)"
    genre: str  # e.g. "house", "trap", "classical", "folk"
    meter: tuple[int, int]
    key_tonic: int  # pitch class, C = 0
    key_mode: str  # a key of theory.MODES
    bpm: float  # quarter notes per minute
    bars: int
    chords: list[tuple[int, tuple[int, ...]] | None]  # per bar: (root pc, chord pcs root first) or None
    tracks: list[Track]

    @property
    def steps_per_bar(self) -> int:
        """16th-note grid steps in one bar: numerator * 16 // denominator."""
        return self.meter[0] * 16 // self.meter[1]

    @property
    def total_steps(self) -> int:
        return self.bars * self.steps_per_bar

    def track(self, role: str) -> Track | None:
        """The first track playing ``role``, or None."""
        return next((t for t in self.tracks if t.role == role), None)


def beat_groups(meter: tuple[int, int]) -> list[int]:
    """Lengths in 16th steps of the beats (felt pulses) of one bar, summing to the bar.

    Simple meters pulse in quarters (2/4, 3/4, 4/4, 5/4); compound ones in dotted quarters
    (6/8, 9/8, 12/8); odd eighth meters group eighths in twos and a final three (7/8 =
    2+2+3, 5/8 = 2+3); 3/8 is one beat.

    Raises:
        ValueError: the meter does not fill a whole number of 16th steps.
    """
    numerator, denominator = meter
    if numerator < 1 or denominator not in (1, 2, 4, 8, 16) or (numerator * 16) % denominator:
        raise ValueError(f"meter {numerator}/{denominator} is not a whole number of 16th steps")
    steps = numerator * 16 // denominator
    if denominator == 8 and numerator < 3:
        return [steps]
    if denominator == 8 and numerator % 3 == 0:
        return [6] * (numerator // 3)
    if denominator == 8:
        twos = (numerator - 3) // 2 if numerator % 2 else numerator // 2
        return [4] * twos + ([6] if numerator % 2 else [])
    beat = 16 // denominator
    return [beat] * numerator if beat else [steps]


# ---------------------------------------------------------------------------------------------------------------------
# Role checks: the evaluation's part definitions, applied to one track of a piece.
# ---------------------------------------------------------------------------------------------------------------------


def _onset_sizes(notes: Sequence[Note]) -> list[int]:
    return list(Counter(n.start for n in notes).values())


def role_features(track: Track, piece: Piece) -> dict[str, float]:
    """Numbers the evaluation reads to decide which part a track plays.

    Returns:
        ``median_pitch``, ``single_share`` (onsets sounding one note), ``chord_share``
        (onsets striking 3+ notes), ``notes_per_beat`` (per quarter-note beat over the
        piece) and ``pc_bar_share`` (bars with notes that hold 3+ distinct pitch classes).
    """
    notes = track.notes
    if not notes:
        return {
            "median_pitch": 0.0,
            "single_share": 0.0,
            "chord_share": 0.0,
            "notes_per_beat": 0.0,
            "pc_bar_share": 0.0,
        }
    sizes = _onset_sizes(notes)
    quarters = piece.bars * piece.meter[0] * 4 / piece.meter[1]
    pcs_by_bar: dict[int, set[int]] = {}
    for n in notes:
        pcs_by_bar.setdefault(n.start // piece.steps_per_bar, set()).add(n.pitch % 12)
    return {
        "median_pitch": float(statistics.median(n.pitch for n in notes)),
        "single_share": sum(s == 1 for s in sizes) / len(sizes),
        "chord_share": sum(s >= 3 for s in sizes) / len(sizes),
        "notes_per_beat": len(notes) / quarters,
        "pc_bar_share": sum(len(p) >= ARP_MIN_PITCH_CLASSES for p in pcs_by_bar.values()) / len(pcs_by_bar),
    }


def track_meets_role(track: Track, piece: Piece) -> bool:
    """Whether the evaluation would find ``track.role`` in this track alone.

    ``pad`` has no evaluation definition; it passes when it holds notes.
    """
    if not track.notes:
        return False
    if track.role == "drums":
        return True
    f = role_features(track, piece)
    if track.role == "bass":
        return f["median_pitch"] < BASS_MAX_MEDIAN
    if track.role == "chords":
        return f["chord_share"] >= CHORDS_MIN_SHARE
    if track.role == "melody":
        return f["single_share"] >= MELODY_MIN_SINGLE_SHARE and f["median_pitch"] >= MELODY_MIN_MEDIAN
    if track.role == "arp":
        return (
            f["single_share"] >= MELODY_MIN_SINGLE_SHARE
            and f["notes_per_beat"] >= ARP_MIN_NOTES_PER_BEAT
            and f["pc_bar_share"] > 0.5
        )
    return True


def piece_problems(piece: Piece, *, check_roles: bool = True) -> list[str]:
    """Everything wrong with a piece; an empty list means it is valid.

    Checks the header (meter, key, bpm, bars, one chord entry per bar), every note (inside
    the piece's bars, duration >= 1, pitch and velocity ranges, GM drum keys on drum
    tracks) and, with ``check_roles``, that each track meets its role's definition.
    """
    problems: list[str] = []
    try:
        beat_groups(piece.meter)
    except ValueError as e:
        problems.append(str(e))
        return problems
    if piece.key_mode not in MODES:
        problems.append(f"key_mode {piece.key_mode!r} not in {sorted(MODES)}")
    if not 0 <= piece.key_tonic < 12:
        problems.append(f"key_tonic {piece.key_tonic} outside 0..11")
    if not 20 <= piece.bpm <= 320:
        problems.append(f"bpm {piece.bpm} outside 20..320")
    if piece.bars < 1:
        problems.append(f"bars {piece.bars} < 1")
    if len(piece.chords) != piece.bars:
        problems.append(f"{len(piece.chords)} chord entries for {piece.bars} bars")
    if not piece.tracks:
        problems.append("no tracks")
    end = piece.total_steps
    for t in piece.tracks:
        if t.role not in PART_ROLES:
            problems.append(f"track role {t.role!r} not in {PART_ROLES}")
            continue
        if not 0 <= t.program <= 127:
            problems.append(f"{t.role}: program {t.program} outside 0..127")
        low, high = GM_DRUM_RANGE if t.role == "drums" else (0, 127)
        for n in t.notes:
            if n.start < 0 or n.duration < 1 or n.start + n.duration > end:
                problems.append(f"{t.role}: note {n} outside 0..{end} steps")
                break
            if not low <= n.pitch <= high or not 1 <= n.velocity <= 127:
                problems.append(f"{t.role}: note {n} pitch outside {low}..{high} or bad velocity")
                break
        if check_roles and not track_meets_role(t, piece):
            problems.append(f"{t.role}: track does not meet the role definition {role_features(t, piece)}")
    return problems


# ---------------------------------------------------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------------------------------------------------


def _piece_meta(piece: Piece) -> dict[str, Any]:
    return {
        "source": piece.source,
        "licence": piece.licence,
        "genre": piece.genre,
        "meter": list(piece.meter),
        "key_tonic": piece.key_tonic,
        "key_mode": piece.key_mode,
        "bpm": piece.bpm,
        "bars": piece.bars,
        "chords": [None if c is None else [c[0], list(c[1])] for c in piece.chords],
    }


def _piece_from_meta(meta: dict[str, Any], tracks: list[Track]) -> Piece:
    return Piece(
        source=meta["source"],
        licence=meta["licence"],
        genre=meta["genre"],
        meter=(int(meta["meter"][0]), int(meta["meter"][1])),
        key_tonic=int(meta["key_tonic"]),
        key_mode=meta["key_mode"],
        bpm=float(meta["bpm"]),
        bars=int(meta["bars"]),
        chords=[None if c is None else (int(c[0]), tuple(int(x) for x in c[1])) for c in meta["chords"]],
        tracks=tracks,
    )


def _write_npz(pieces: Sequence[Piece], path: Path) -> None:
    tracks = [t for p in pieces for t in p.tracks]
    notes = np.array(
        [(n.start, n.duration, n.pitch, n.velocity) for t in tracks for n in t.notes], dtype=np.int32
    ).reshape(-1, 4)
    header = {"format": CORPUS_FORMAT, "pieces": [_piece_meta(p) for p in pieces]}
    arrays = {
        "notes": notes,
        "track_offsets": np.cumsum([0] + [len(t.notes) for t in tracks], dtype=np.int64),
        "track_role": np.array([PART_ROLES.index(t.role) for t in tracks], dtype=np.int8),
        "track_program": np.array([t.program for t in tracks], dtype=np.int16),
        "piece_offsets": np.cumsum([0] + [len(p.tracks) for p in pieces], dtype=np.int64),
        "meta": np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            zf.writestr(info, buffer.getvalue())


def _read_npz(path: Path) -> list[Piece]:
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(data["meta"].tobytes().decode())
        _check_format(header, path)
        notes = data["notes"].tolist()
        track_offsets = data["track_offsets"].tolist()
        roles = data["track_role"].tolist()
        programs = data["track_program"].tolist()
        piece_offsets = data["piece_offsets"].tolist()
    tracks = [
        Track(PART_ROLES[roles[i]], programs[i], [Note(*row) for row in notes[track_offsets[i] : track_offsets[i + 1]]])
        for i in range(len(roles))
    ]
    return [
        _piece_from_meta(meta, tracks[piece_offsets[i] : piece_offsets[i + 1]])
        for i, meta in enumerate(header["pieces"])
    ]


def _write_json_gz(pieces: Sequence[Piece], path: Path) -> None:
    header = {
        "format": CORPUS_FORMAT,
        "pieces": [
            {
                **_piece_meta(p),
                "tracks": [
                    {
                        "role": t.role,
                        "program": t.program,
                        "notes": [x for n in t.notes for x in (n.start, n.duration, n.pitch, n.velocity)],
                    }
                    for t in p.tracks
                ],
            }
            for p in pieces
        ],
    }
    raw = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    with path.open("wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
        gz.write(raw)


def _read_json_gz(path: Path) -> list[Piece]:
    with gzip.open(path, "rb") as f:
        header = json.loads(f.read().decode())
    _check_format(header, path)
    pieces = []
    for meta in header["pieces"]:
        tracks = []
        for t in meta["tracks"]:
            flat = t["notes"]
            tracks.append(Track(t["role"], int(t["program"]), [Note(*flat[i : i + 4]) for i in range(0, len(flat), 4)]))
        pieces.append(_piece_from_meta(meta, tracks))
    return pieces


def _check_format(header: dict[str, Any], path: Path) -> None:
    if header.get("format") != CORPUS_FORMAT:
        raise ValueError(f"{path}: corpus format {header.get('format')!r}, this code reads format {CORPUS_FORMAT}")


def _suffix_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(".json.gz"):
        return "json.gz"
    raise ValueError(f"corpus path {str(path)!r} must end in .npz or .json.gz")


def save_corpus(pieces: Iterable[Piece], path: str | Path) -> Path:
    """Write pieces to ``path`` (``.npz`` or ``.json.gz``), creating parent folders.

    The same pieces always give the same bytes (fixed zip dates, gzip mtime 0, sorted keys).

    Returns:
        The path written.

    Raises:
        ValueError: the suffix is neither ``.npz`` nor ``.json.gz``, or a track role is unknown.
    """
    path = Path(path)
    kind = _suffix_kind(path)
    pieces = list(pieces)
    for p in pieces:
        for t in p.tracks:
            if t.role not in PART_ROLES:
                raise ValueError(f"{p.source}: track role {t.role!r} not in {PART_ROLES}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    (_write_npz if kind == "npz" else _write_json_gz)(pieces, tmp)
    tmp.replace(path)
    return path


def load_corpus(path: str | Path) -> list[Piece]:
    """Read pieces written by :func:`save_corpus`.

    Raises:
        ValueError: unknown suffix or a different corpus format version.
        FileNotFoundError: no such file.
    """
    path = Path(path)
    return _read_npz(path) if _suffix_kind(path) == "npz" else _read_json_gz(path)


# ---------------------------------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------------------------------


def _sorted_counts(counter: Counter) -> dict[str, int]:
    return {str(k): v for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))}


def corpus_stats(pieces: Iterable[Piece]) -> dict[str, Any]:
    """Counts that describe a corpus: pieces, bars, notes, and how they spread over roles,
    genres, meters, modes, tonics, origins and licences.

    Returns:
        A JSON-serialisable dict. ``*_bars`` counters count bars, the others pieces
        (``notes_per_role`` and ``tracks_per_role`` count notes and tracks).
    """
    pieces = list(pieces)
    notes_per_role: Counter = Counter()
    tracks_per_role: Counter = Counter()
    genre_bars: Counter = Counter()
    meters: Counter = Counter()
    meter_bars: Counter = Counter()
    modes: Counter = Counter()
    tonics: Counter = Counter()
    origins: Counter = Counter()
    origin_bars: Counter = Counter()
    licences: Counter = Counter()
    bar_lengths: Counter = Counter()
    chord_bars = 0
    for p in pieces:
        for t in p.tracks:
            notes_per_role[t.role] += len(t.notes)
            tracks_per_role[t.role] += 1
        meter = f"{p.meter[0]}/{p.meter[1]}"
        origin = p.source.split(":", 1)[0]
        genre_bars[p.genre] += p.bars
        meters[meter] += 1
        meter_bars[meter] += p.bars
        modes[p.key_mode] += 1
        tonics[p.key_tonic] += 1
        origins[origin] += 1
        origin_bars[origin] += p.bars
        licences[p.licence] += 1
        bar_lengths[p.bars] += 1
        chord_bars += sum(c is not None for c in p.chords)
    bpms = [p.bpm for p in pieces]
    return {
        "pieces": len(pieces),
        "bars": sum(p.bars for p in pieces),
        "notes": sum(notes_per_role.values()),
        "bars_with_chords": chord_bars,
        "bpm": {"min": min(bpms), "median": statistics.median(bpms), "max": max(bpms)} if bpms else {},
        "notes_per_role": _sorted_counts(notes_per_role),
        "tracks_per_role": _sorted_counts(tracks_per_role),
        "genres": _sorted_counts(Counter(p.genre for p in pieces)),
        "genre_bars": _sorted_counts(genre_bars),
        "meters": _sorted_counts(meters),
        "meter_bars": _sorted_counts(meter_bars),
        "modes": _sorted_counts(modes),
        "tonics": {str(k): tonics[k] for k in sorted(tonics)},
        "piece_lengths": {str(k): bar_lengths[k] for k in sorted(bar_lengths)},
        "origins": _sorted_counts(origins),
        "origin_bars": _sorted_counts(origin_bars),
        "licences": _sorted_counts(licences),
    }
