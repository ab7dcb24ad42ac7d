"""Training pieces from the corpus that ships inside the music21 wheel (no downloads).

Collections (see :data:`COLLECTIONS`):

- **Bach chorales** (``bach/bwv*.mxl``, genre "classical"): soprano -> melody, bass ->
  bass, the three upper voices -> a harmony track (``chords`` when at least half of its
  onsets strike 3+ notes, else ``pad``), organ / strings / piano / choir programs.
- **Palestrina** (``palestrina/*.krn``, "classical"): top voice -> melody, lowest ->
  bass, the others -> harmony as above. Half-note meters are written in diminution
  (4/2 -> 4/4, 3/2 -> 3/4).
- **Folk tunes** (O'Neill's 1850, Ryan's Mammoth, Aird's Airs, misc. and Nottingham ABC,
  "folk"): melody only, keeping their meters (2/4, 3/4, 6/8, 9/8, ...; 2/2 is written
  4/4); ABC chord symbols, where present, give the chords per bar.
- **Essen folksongs** ("folk") are off unless ``allow_noncommercial=True``: their
  licence allows non-commercial use only.

Works are split at bar lines into chunks of 4-16 full bars (pickups and partial bars are
left out) and quantised to the 16th grid; a bar holding a note off the grid (tuplets) ends
a chunk. Keys come from the file (key signature with mode) unless music21's
``analyze('key')`` of the chunk finds another key signature, as where a chorale modulates.
Chords per bar come from matching triad and seventh templates to the bar's duration-
weighted pitch classes (a bass note on the root counts extra).

Builds are cached under ``promptdaw.core.paths.cache_dir() / "text2midi"``, keyed by
:data:`EXTRACTION_VERSION`, the music21 version and the arguments.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import statistics
import zlib
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from promptdaw.core.music.theory import MODES
from promptdaw.core.paths import cache_dir
from training.text2midi.corpus import (
    Note,
    Piece,
    Track,
    beat_groups,
    load_corpus,
    piece_problems,
    save_corpus,
    track_meets_role,
)

__all__ = [
    "COLLECTIONS",
    "EXTRACTION_VERSION",
    "Collection",
    "WorkRef",
    "bar_chord",
    "build_music21_corpus",
    "list_works",
    "pieces_from_work",
]

#: Bump when extraction changes what it produces: cached builds are keyed by it.
EXTRACTION_VERSION = "2"
PUBLIC_DOMAIN = "public domain (music21 corpus)"
ESSEN_LICENCE = "non-commercial use only (Essen folksong database, music21 corpus)"
MIN_BARS, MAX_BARS, CHUNK_BARS = 4, 16, 8
DEFAULT_VELOCITY = 80
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class Collection:
    """A group of works in the music21 corpus and how to read them."""

    name: str
    kind: str  # "chorale", "polyphony" or "folk"
    genre: str
    licence: str
    patterns: tuple[str, ...]  # globs under the music21 corpus folder
    max_works: int | None = None  # evenly spaced selection when there are more
    noncommercial: bool = False


# fmt: off
COLLECTIONS: tuple[Collection, ...] = (
    Collection("bach-chorales", "chorale", "classical", PUBLIC_DOMAIN, ("bach/bwv*.mxl",)),
    Collection("palestrina", "polyphony", "classical", PUBLIC_DOMAIN, ("palestrina/*.krn",), max_works=100),
    Collection("oneills1850", "folk", "folk", PUBLIC_DOMAIN, ("oneills1850/*.abc",), max_works=350),
    Collection("ryans-mammoth", "folk", "folk", PUBLIC_DOMAIN, ("ryansMammoth/*.abc",), max_works=250),
    Collection("airds-airs", "folk", "folk", PUBLIC_DOMAIN, ("airdsAirs/*.abc",), max_works=200),
    Collection("misc-folk", "folk", "folk", PUBLIC_DOMAIN, ("miscFolk/*.abc", "nottingham-dataset/*.abc"),
               max_works=100),
    Collection("essen", "folk", "folk", ESSEN_LICENCE, ("essenFolksong/*.abc",), max_works=800, noncommercial=True),
)
# fmt: on

#: Instrumentations (melody, harmony, bass programs) for vocal works, with weights.
# fmt: off
_ENSEMBLES: dict[str, tuple[tuple[tuple[int, int, int], int], ...]] = {
    "chorale": (((19, 19, 19), 4), ((40, 48, 42), 4), ((0, 0, 0), 2), ((52, 52, 52), 1), ((56, 61, 58), 1),
                ((73, 48, 70), 1)),
    "polyphony": (((52, 52, 52), 3), ((40, 48, 42), 3), ((19, 19, 19), 2), ((73, 48, 70), 1)),
}
# fmt: on
_FOLK_PROGRAMS = (73, 40, 78, 21, 72, 74, 22, 68, 71, 0, 24, 75, 110, 46)

#: Meters written in half notes or wholes are halved (diminution); 2/2 is re-read as 4/4.
_METER_MAP: dict[tuple[int, int], tuple[tuple[int, int], Fraction]] = {
    (2, 2): ((4, 4), Fraction(1)),
    (4, 2): ((4, 4), Fraction(1, 2)),
    (2, 1): ((4, 4), Fraction(1, 2)),
    (3, 2): ((3, 4), Fraction(1, 2)),
    (6, 4): ((6, 8), Fraction(1, 2)),
}
#: Tempo (quarter notes per minute) when a work has no metronome mark, by meter.
_DEFAULT_BPM = {(2, 4): 104, (3, 4): 112, (4, 4): 100, (6, 8): 150, (9, 8): 150, (12, 8): 150, (3, 8): 120}


# ---------------------------------------------------------------------------------------------------------------------
# Listing works
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkRef:
    """One work to read: a corpus file, or one tune (``abc`` text) of a multi-tune ABC file."""

    collection: str
    source: str  # "bach/bwv66.6" or "oneills1850/0001-0050#12"
    path: str
    abc: str | None = None


def corpus_root() -> Path:
    """The corpus folder inside the installed music21 package.

    Raises:
        FileNotFoundError: this music21 install has no corpus (some distributions strip it).
    """
    from music21 import corpus

    root = Path(corpus.__file__).parent
    if not (root / "bach").is_dir():
        raise FileNotFoundError(f"no music21 corpus under {root}; install music21 from PyPI (the wheel ships it)")
    return root


def _split_abc(text: str) -> list[tuple[str, str]]:
    """(X number, tune text) for each tune of an ABC file; file-header fields are copied into each tune."""
    parts = re.split(r"(?m)^(?=X:)", text)
    header = [line for line in parts[0].splitlines() if re.match(r"^[A-Za-z]:", line)] if parts else []
    tunes = []
    for part in parts[1:]:
        lines = part.splitlines()
        number = lines[0][2:].strip() or str(len(tunes) + 1)
        tunes.append((number, "\n".join([lines[0], *header, *lines[1:]]) + "\n"))
    return tunes


def _spread(items: list, n: int | None) -> list:
    """``n`` items evenly spaced through ``items`` (all when n is None or large)."""
    if n is None or n >= len(items):
        return items
    return [items[i * len(items) // n] for i in range(n)]


def list_works(collection: Collection, root: Path | None = None) -> list[WorkRef]:
    """The works of a collection, in a fixed order, at most ``collection.max_works``."""
    root = root or corpus_root()
    paths = sorted({p for pattern in collection.patterns for p in root.glob(pattern)})
    works: list[WorkRef] = []
    for path in paths:
        rel = path.relative_to(root).with_suffix("").as_posix()
        if collection.kind == "folk":
            text = path.read_text(encoding="utf-8", errors="replace")
            for number, tune in _split_abc(text):
                works.append(WorkRef(collection.name, f"{rel}#{number}", str(path), tune))
        else:
            works.append(WorkRef(collection.name, rel, str(path)))
    return _spread(works, collection.max_works)


def _interleave(groups: Sequence[Sequence[WorkRef]]) -> list[WorkRef]:
    out = []
    for i in range(max((len(g) for g in groups), default=0)):
        out.extend(g[i] for g in groups if i < len(g))
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Reading one work
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class _Bar:
    offset: Fraction  # quarter lengths from the part start
    meter: tuple[int, int]  # after _METER_MAP
    factor: Fraction  # step scale: steps = quarter lengths * 4 * factor
    full: bool
    number: int
    tail: bool = False  # a short last bar of a section (its pickup went to the section's start): padded with rest
    on_grid: bool = True

    @property
    def steps(self) -> int:
        return self.meter[0] * 16 // self.meter[1]

    @property
    def length(self) -> Fraction:
        """Quarter lengths of a full bar in the file's notation."""
        return Fraction(self.steps, 4) / self.factor


@dataclass
class _Event:
    offset: Fraction
    length: Fraction
    pitch: int
    velocity: int


def _frac(x) -> Fraction:
    return Fraction(x).limit_denominator(10_000)


def _map_meter(meter: tuple[int, int]) -> tuple[tuple[int, int], Fraction] | None:
    if meter in _METER_MAP:
        return _METER_MAP[meter]
    numerator, denominator = meter
    if denominator in (4, 8) and 1 <= numerator <= 12 and 6 <= numerator * 16 // denominator <= 48:
        return meter, Fraction(1)
    return None


def _read_bars(part) -> list[_Bar]:
    from music21 import stream

    bars = []
    current = None
    for m in part.getElementsByClass(stream.Measure):
        if m.timeSignature is not None:
            current = (m.timeSignature.numerator, m.timeSignature.denominator)
        if current is None:
            continue
        mapped = _map_meter(current)
        bar_length = Fraction(current[0] * 4, current[1])
        offset, length = _frac(m.offset), _frac(m.duration.quarterLength)
        full = mapped is not None and length == bar_length
        meter, factor = mapped if mapped else (current, Fraction(1))
        # A short bar right after a full one ends a section; a short bar after a short one is a pickup.
        prev = bars[-1] if bars else None
        tail = (
            mapped is not None
            and 0 < length < bar_length
            and prev is not None
            and prev.full
            and prev.meter == meter
            and prev.offset + prev.length == offset
        )
        bars.append(_Bar(offset, meter, factor, full, int(m.number or 0), tail))
    return bars


def _read_events(part) -> list[_Event]:
    """One event per sounding pitch, tied notes merged; grace notes and chord symbols left out.

    (Merging ties here rather than with music21's ``stripTies`` halves the build time.)
    """
    from music21 import chord, harmony, note

    events: list[_Event] = []
    open_by_pitch: dict[int, _Event] = {}  # the last event of each pitch, to extend across ties
    for element in part.flatten().notes:
        if isinstance(element, harmony.ChordSymbol) or element.duration.isGrace:
            continue
        length = _frac(element.quarterLength)
        if length <= 0:
            continue
        offset = _frac(element.offset)
        if isinstance(element, note.Note):
            members = [(element.pitch.midi, element.tie)]
        elif isinstance(element, chord.Chord):
            members = [(n.pitch.midi, n.tie or element.tie) for n in element.notes]
        else:
            continue
        velocity = int(element.volume.velocity or DEFAULT_VELOCITY)
        for pitch, tie in members:
            previous = open_by_pitch.get(pitch)
            tied = tie is not None and tie.type in ("continue", "stop")
            if tied and previous is not None and previous.offset + previous.length == offset:
                previous.length += length
                continue
            event = _Event(offset, length, pitch, velocity)
            events.append(event)
            open_by_pitch[pitch] = event
    return events


def _read_chord_symbols(part) -> list[tuple[Fraction, int, tuple[int, ...]]]:
    from music21 import harmony

    out = []
    for cs in part.recurse().getElementsByClass(harmony.ChordSymbol):
        try:
            root = cs.root()
            pcs = tuple(dict.fromkeys(p.pitchClass for p in cs.pitches))
        except Exception:  # a malformed symbol is skipped, not fatal
            continue
        if root is not None and len(pcs) >= 2:
            rest = [pc for pc in pcs if pc != root.pitchClass]
            out.append((_frac(cs.getOffsetInHierarchy(part)), root.pitchClass, (root.pitchClass, *rest)))
    return sorted(out)


def _declared_key(score) -> tuple[int, str] | None:
    from music21 import key

    for k in score.recurse().getElementsByClass(key.Key):
        mode = {"ionian": "major", "aeolian": "minor"}.get(k.mode, k.mode)
        if mode in MODES:
            return k.tonic.pitchClass, mode
    return None


def _analysed_key(notes: Sequence[Note]) -> tuple[int, str] | None:
    """music21's ``analyze('key')`` over some notes (the evaluation's key reading)."""
    from music21 import note, stream

    if not notes:
        return None
    s = stream.Stream()
    for n in notes:
        m21 = note.Note(n.pitch, quarterLength=n.duration / 4)
        s.insert(n.start / 4, m21)
    k = s.analyze("key")
    mode = k.mode if k.mode in MODES else "major"
    return k.tonic.pitchClass, mode


# fmt: off
_MODE_OFFSET = {m: (0, 2, 4, 5, 7, 9, 11)[i] for i, m in enumerate(
    ("major", "dorian", "phrygian", "lydian", "mixolydian", "minor", "locrian"))}
# fmt: on


def _signature(tonic: int, mode: str) -> int:
    """Pitch class of the relative major: keys with the same signature share it."""
    return (tonic - _MODE_OFFSET[mode]) % 12


def _bpm(score, factor: Fraction, meter: tuple[int, int], source: str) -> float:
    from music21 import tempo

    for mark in score.recurse().getElementsByClass(tempo.MetronomeMark):
        qbpm = mark.getQuarterBPM()
        if qbpm:
            return float(round(min(240.0, max(40.0, qbpm * float(factor))), 1))
    base = _DEFAULT_BPM.get(meter, 100)
    jitter = (zlib.crc32(source.encode()) % 21 - 10) / 100  # +-10 %, fixed per work
    return float(round(base * (1 + jitter)))


# Chord templates: quality -> intervals; the fifth is optional except in diminished chords.
# fmt: off
_TEMPLATES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("", (0, 4, 7)), ("m", (0, 3, 7)), ("dim", (0, 3, 6)), ("7", (0, 4, 7, 10)), ("maj7", (0, 4, 7, 11)),
    ("m7", (0, 3, 7, 10)), ("m7b5", (0, 3, 6, 10)),
)
# fmt: on


def bar_chord(weights: Sequence[float], bass_pc: int | None) -> tuple[int, tuple[int, ...]] | None:
    """The triad or seventh chord that best explains a bar's pitch-class weights.

    Every chord tone but a perfect fifth must sound; tones outside the chord count against
    it, a root in the bass for it, and a seventh must earn its place.

    Args:
        weights: 12 duration weights, C = 0.
        bass_pc: the pitch class of the bar's lowest note at its start, if any.

    Returns:
        (root, pitch classes root first), or None for an empty or ambiguous bar.
    """
    total = sum(weights)
    if total <= 0:
        return None
    best, best_score = None, 0.35 * total
    for root in range(12):
        for quality, ivs in _TEMPLATES:
            pcs = tuple((root + i) % 12 for i in ivs)
            if any(weights[pc] <= 0 for pc, i in zip(pcs, ivs, strict=True) if i != 7):
                continue
            inside = sum(weights[pc] for pc in pcs)
            score = inside - 0.6 * (total - inside)
            score += 0.3 * total if bass_pc == root else 0.0
            score -= 0.15 * total if len(ivs) == 4 else 0.0
            score -= 0.05 * total if quality == "dim" else 0.0
            if score > best_score:
                best, best_score = (root, pcs), score
    return best


def _bar_chords(
    voices: Sequence[Sequence[Note]], bars: int, meter: tuple[int, int]
) -> list[tuple[int, tuple[int, ...]] | None]:
    """One chord per bar from the voices' notes: the bar's pitch classes by duration, plus the first
    beat's again (the chord on the downbeat usually names the bar), each share normalised."""
    steps = meter[0] * 16 // meter[1]
    beat = beat_groups(meter)[0]
    whole = [[0.0] * 12 for _ in range(bars)]
    first = [[0.0] * 12 for _ in range(bars)]
    lowest: list[tuple[int, int] | None] = [None] * bars  # (pitch, pc) of the lowest note sounding at the downbeat
    for voice in voices:
        for n in voice:
            end = n.start + n.duration
            for b in range(n.start // steps, min((end - 1) // steps, bars - 1) + 1):
                bar_start = b * steps
                whole[b][n.pitch % 12] += min(end, bar_start + steps) - max(n.start, bar_start)
                first[b][n.pitch % 12] += max(0, min(end, bar_start + beat) - max(n.start, bar_start))
                if n.start <= bar_start < end and (lowest[b] is None or n.pitch < lowest[b][0]):
                    lowest[b] = (n.pitch, n.pitch % 12)
    out = []
    for b in range(bars):
        total_whole, total_first = sum(whole[b]) or 1.0, sum(first[b]) or 1.0
        weights = [w / total_whole + f / total_first for w, f in zip(whole[b], first[b], strict=True)]
        out.append(bar_chord(weights, lowest[b][1] if lowest[b] else None))
    return out


def _chunks(bars: Sequence[_Bar]) -> list[tuple[int, int]]:
    """[start, end) bar index ranges of 4-16 consecutive on-grid bars in one meter: full bars,
    the last of which may be a section's short final bar (completed with rest)."""
    runs, start = [], None
    for i, bar in enumerate(bars):
        usable = (bar.full or bar.tail) and bar.on_grid
        if start is not None:
            prev = bars[i - 1]
            joins = (
                usable
                and not prev.tail
                and (bar.meter, bar.factor) == (prev.meter, prev.factor)
                and bar.offset == prev.offset + prev.length
            )
            if not joins:
                runs.append((start, i))
                start = None
        if usable and start is None and not bar.tail:
            start = i
    if start is not None:
        runs.append((start, len(bars)))
    out = []
    for a, b in runs:
        while b - a > MAX_BARS:
            out.append((a, a + CHUNK_BARS))
            a += CHUNK_BARS
        if b - a >= MIN_BARS:
            out.append((a, b))
    return out


def _place(events: Sequence[_Event], bars: Sequence[_Bar]) -> list[tuple[int, int, int, int, int]]:
    """(bar index, step in bar, length in steps, pitch, velocity) per pitch; marks bars holding off-grid notes."""
    offsets = [b.offset for b in bars]
    placed = []
    for e in events:
        i = bisect_right(offsets, e.offset) - 1
        if i < 0:
            continue
        bar = bars[i]
        step = (e.offset - bar.offset) * 4 * bar.factor
        length = e.length * 4 * bar.factor
        if step.denominator != 1 or length.denominator != 1:
            bar.on_grid = False
            continue
        placed.append((i, int(step), int(length), e.pitch, e.velocity))
    return placed


def _track_notes(placed, a: int, b: int, bars: Sequence[_Bar], *, check_meter: bool = True) -> list[Note]:
    """Notes of bars [a, b) on one grid (``check_meter=False``: rough positions across meter changes, for analysis)."""
    steps = bars[a].steps
    end = (b - a) * steps
    notes = {}
    for i, step, length, pitch, velocity in placed:
        if a <= i < b and (not check_meter or bars[i].meter == bars[a].meter):
            start = (i - a) * steps + step
            length = min(length, end - start)
            if length >= 1 and 0 <= pitch <= 127:
                notes[(start, pitch)] = Note(start, length, pitch, max(1, min(127, velocity)))
    return sorted(notes.values(), key=lambda n: (n.start, n.pitch))


def _chordify(notes: Sequence[Note]) -> list[Note]:
    """Block chords from voices: at every onset, strike every pitch then sounding, held to the next onset."""
    onsets = sorted({n.start for n in notes})
    out = []
    for i, t in enumerate(onsets):
        end = onsets[i + 1] if i + 1 < len(onsets) else max(n.start + n.duration for n in notes)
        sounding = {n.pitch: n for n in notes if n.start <= t < n.start + n.duration}
        for pitch in sorted(sounding):
            n = sounding[pitch]
            out.append(Note(t, max(1, min(end, n.start + n.duration) - t), pitch, n.velocity))
    return out


def _monophonic_top(notes: Sequence[Note]) -> list[Note]:
    """Keep the highest note of each onset and cut overlaps (a melody line)."""
    top: dict[int, Note] = {}
    for n in notes:
        if n.start not in top or n.pitch > top[n.start].pitch:
            top[n.start] = n
    ordered = [top[s] for s in sorted(top)]
    out = []
    for i, n in enumerate(ordered):
        nxt = ordered[i + 1].start if i + 1 < len(ordered) else n.start + n.duration
        out.append(Note(n.start, max(1, min(n.duration, nxt - n.start)), n.pitch, n.velocity))
    return out


def _shift_octaves(notes: list[Note], *, below: int | None = None, at_least: int | None = None) -> list[Note]:
    """Move a line by octaves until its median is below ``below`` / at least ``at_least``."""
    for _ in range(3):
        median = statistics.median(n.pitch for n in notes)
        if below is not None and median >= below:
            notes = [Note(n.start, n.duration, n.pitch - 12, n.velocity) for n in notes if n.pitch >= 12]
        elif at_least is not None and median < at_least:
            notes = [Note(n.start, n.duration, n.pitch + 12, n.velocity) for n in notes if n.pitch <= 115]
        else:
            break
    return notes


def _pick(options: Sequence[tuple[tuple[int, int, int], int]], source: str) -> tuple[int, int, int]:
    total = sum(w for _, w in options)
    x = zlib.crc32(source.encode()) % total
    for value, weight in options:
        if x < weight:
            return value
        x -= weight
    return options[-1][0]


def _parse(ref: WorkRef):
    from music21 import converter, stream

    parsed = converter.parse(ref.abc, format="abc") if ref.abc is not None else converter.parse(ref.path)
    if isinstance(parsed, stream.Opus):
        parsed = parsed.scores[0] if parsed.scores else None
    return parsed


def _voices(score, kind: str) -> list:
    """Parts top to bottom: SATB by name for chorales, else by mean pitch."""
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    if kind == "chorale":
        by_name = {}
        for p in parts:
            name = (p.partName or p.id or "").strip().lower()
            for voice in ("soprano", "alto", "tenor", "bass"):
                if name.startswith(voice) and voice not in by_name:
                    by_name[voice] = p
        if len(by_name) == 4:
            return [by_name[v] for v in ("soprano", "alto", "tenor", "bass")]

    def mean_pitch(p) -> float:
        pitches = [x.midi for n in p.flatten().notes for x in getattr(n, "pitches", ())]
        return statistics.mean(pitches) if pitches else 0.0

    return sorted(parts, key=mean_pitch, reverse=True)


def pieces_from_work(ref: WorkRef, collection: Collection) -> list[Piece]:
    """Read one work and cut it into pieces. Raises whatever music21 raises on a bad file."""
    score = _parse(ref)
    if score is None:
        return []
    voices = _voices(score, collection.kind)
    if collection.kind != "folk" and len(voices) < 3:
        return []
    if collection.kind == "folk":
        voices = voices[:1]
    bars = _read_bars(voices[0])
    if not bars:
        return []
    placed = [_place(_read_events(v), bars) for v in voices]
    symbols = _read_chord_symbols(voices[0]) if collection.kind == "folk" else []
    declared = _declared_key(score)
    if declared is None:  # no mode in the file: analyse the whole work once
        declared = _analysed_key(_track_notes([x for p in placed for x in p], 0, len(bars), bars, check_meter=False))
    pieces = []
    for a, b in _chunks(bars):
        piece = _chunk_piece(ref, collection, score, bars, placed, symbols, declared, a, b)
        if piece is not None and not piece_problems(piece):
            pieces.append(piece)
    return pieces


def _chunk_piece(ref, collection, score, bars, placed, symbols, declared, a: int, b: int) -> Piece | None:
    meter, factor = bars[a].meter, bars[a].factor
    lines = [_track_notes(p, a, b, bars) for p in placed]
    if not lines[0]:
        return None
    source = f"music21:{ref.source}/bars-{bars[a].number}-{bars[b - 1].number}"
    tracks: list[Track] = []
    if collection.kind == "folk":
        melody = _shift_octaves(_monophonic_top(lines[0]), at_least=60)
        tracks.append(Track("melody", _FOLK_PROGRAMS[zlib.crc32(ref.source.encode()) % len(_FOLK_PROGRAMS)], melody))
    else:
        melody_program, harmony_program, bass_program = _pick(_ENSEMBLES[collection.kind], ref.source)
        melody = _shift_octaves(_monophonic_top(lines[0]), at_least=60)
        bass_line = _monophonic_top(lines[-1])
        bass = _shift_octaves(bass_line, below=55) if bass_line else []
        if len(melody) >= b - a:  # a top voice that barely sings (a late entry) is left to the harmony
            tracks.append(Track("melody", melody_program, melody))
        harmony = Track("chords", harmony_program, _chordify([n for line in lines[:-1] for n in line]))
        if not track_meets_role(harmony, _stub(meter, b - a)):
            harmony.role = "pad"
        tracks.append(harmony)
        if bass:
            tracks.append(Track("bass", bass_program, bass))
    all_notes = [n for t in tracks for n in t.notes]
    chords = _bar_chords(lines, b - a, meter) if collection.kind != "folk" else _symbol_chords(symbols, bars, a, b)
    tonic, mode = _chunk_key(declared, all_notes, collection.kind)
    return Piece(
        source=source,
        licence=collection.licence,
        genre=collection.genre,
        meter=meter,
        key_tonic=tonic,
        key_mode=mode,
        bpm=_bpm(score, factor, meter, ref.source),
        bars=b - a,
        chords=chords,
        tracks=tracks,
    )


def _stub(meter: tuple[int, int], bars: int) -> Piece:
    return Piece("", "", "", meter, 0, "major", 100.0, bars, [None] * bars, [])


def _symbol_chords(symbols, bars: Sequence[_Bar], a: int, b: int) -> list[tuple[int, tuple[int, ...]] | None]:
    """Per bar, the ABC chord symbol sounding at its start (None where the tune has none)."""
    if not symbols:
        return [None] * (b - a)
    offsets = [s[0] for s in symbols]
    out = []
    for i in range(a, b):
        j = bisect_right(offsets, bars[i].offset) - 1
        in_bar = [
            s for s in symbols if bars[i].offset <= s[0] < bars[i].offset + Fraction(bars[i].steps, 4) / bars[i].factor
        ]
        chosen = symbols[j] if j >= 0 else (in_bar[0] if in_bar else None)
        out.append((chosen[1], chosen[2]) if chosen else None)
    return out


def _in_key_share(notes: Sequence[Note], tonic: int, mode: str) -> float:
    """Share of note time on the key's scale (a minor key's raised sixth and seventh count as in)."""
    scale = {(tonic + i) % 12 for i in MODES[mode]}
    if mode == "minor":
        scale |= {(tonic + 9) % 12, (tonic + 11) % 12}
    total = sum(n.duration for n in notes)
    return sum(n.duration for n in notes if n.pitch % 12 in scale) / total if total else 1.0


def _chunk_key(declared: tuple[int, str] | None, notes: Sequence[Note], kind: str) -> tuple[int, str]:
    """The work's key, unless the chunk strays from its scale and music21's analysis of the chunk
    finds a key with another signature (a modulation)."""
    if declared is not None and (kind == "folk" or _in_key_share(notes, *declared) >= 0.9):
        return declared
    analysed = _analysed_key(notes) or (0, "major")
    if declared is None:
        return analysed
    if analysed[0] == declared[0] or _signature(*analysed) == _signature(*declared):
        return declared
    return analysed


# ---------------------------------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------------------------------


def _work_task(args: tuple[WorkRef, Collection]) -> tuple[list[Piece], str | None]:
    ref, collection = args
    try:
        return pieces_from_work(ref, collection), None
    except Exception as e:
        return [], f"{ref.source}: {type(e).__name__}: {e}"


def _cache_path(key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / "text2midi" / f"music21-v{EXTRACTION_VERSION}-{digest}.npz"


def build_music21_corpus(
    limit: int | None = None,
    progress: ProgressFn | None = None,
    *,
    collections: Sequence[str] | None = None,
    allow_noncommercial: bool = False,
    processes: int | None = None,
    use_cache: bool = True,
    errors: list[str] | None = None,
) -> list[Piece]:
    """Build (or load from the cache) pieces from the music21 corpus.

    Args:
        limit: read at most this many works, taken in turn from each collection (so a small
            limit still covers chorales and folk); None reads every collection's selection.
        progress: called as ``progress(done, total)`` after each work.
        collections: names from :data:`COLLECTIONS`; default all but the non-commercial ones.
        allow_noncommercial: include collections licensed for non-commercial use only (Essen).
        processes: worker processes; default ``min(2, os.cpu_count())``; 1 reads in-process.
        use_cache: load and store the result under ``cache_dir()/text2midi``.
        errors: if given, receives one line per work that could not be read.

    Returns:
        Valid pieces in a fixed order.

    Raises:
        ValueError: an unknown collection name, or a non-commercial one without ``allow_noncommercial``.
        FileNotFoundError: music21 has no corpus.
    """
    by_name = {c.name: c for c in COLLECTIONS}
    names = (
        list(collections)
        if collections is not None
        else [c.name for c in COLLECTIONS if allow_noncommercial or not c.noncommercial]
    )
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown music21 collections {unknown}; choose from {sorted(by_name)}")
    restricted = [n for n in names if by_name[n].noncommercial and not allow_noncommercial]
    if restricted:
        raise ValueError(f"collections {restricted} are non-commercial only; pass allow_noncommercial=True to use them")
    import music21

    key = {"version": EXTRACTION_VERSION, "music21": music21.__version__, "limit": limit, "collections": names}
    cache = _cache_path(key)
    if use_cache and cache.exists():
        pieces = load_corpus(cache)
        if progress:
            progress(1, 1)
        return pieces
    root = corpus_root()
    refs = _interleave([list_works(by_name[n], root) for n in names])
    if limit is not None:
        refs = refs[:limit]
    tasks = [(r, by_name[r.collection]) for r in refs]
    processes = processes or min(2, os.cpu_count() or 1)
    pieces: list[Piece] = []
    failures: list[str] = []

    def collect(results) -> None:
        for done, (work_pieces, error) in enumerate(results, 1):
            pieces.extend(work_pieces)
            if error:
                failures.append(error)
            if progress:
                progress(done, len(tasks))

    if processes <= 1 or len(tasks) < 4:
        collect(map(_work_task, tasks))
    else:
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            collect(pool.imap(_work_task, tasks, chunksize=4))
    if errors is not None:
        errors.extend(failures)
    if use_cache:
        save_corpus(pieces, cache)
    return pieces
