"""Pitch names, scales, chord symbols and roman numerals: the one music-theory module.

Pitch classes are integers with C = 0. Chord symbols follow lead-sheet spelling
("Am7", "F#m7b5", "Bbmaj9", "E5", "Gsus4", "C/E"); roman numerals follow the usual
case convention ("I V vi IV", "i bVI bIII bVII", "ii7 V7 Imaj7").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FLAT_MAJOR_TONICS",
    "MODES",
    "NOTE_NAME",
    "Chord",
    "chord_symbol",
    "estimate_key",
    "key_margin",
    "key_profile",
    "note_name",
    "parse_chord",
    "parse_note",
    "parse_pitch_class",
    "pitch_class_name",
    "roman_to_symbol",
    "scale_pitch_classes",
    "twelve_bar_blues",
]

_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"#": 1, "♯": 1, "b": -1, "♭": -1, "": 0}
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")

#: Scale intervals (semitones above the tonic) of the supported modes.
MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
}


def parse_pitch_class(name: str) -> int:
    """Pitch class of a name: "C" -> 0, "F#" -> 6, "Bb" -> 10, "E♭" -> 3. Raises ValueError otherwise."""
    match = re.fullmatch(r"([A-Ga-g])([#♯b♭]?)", name.strip())
    if not match:
        raise ValueError(f"not a pitch name: {name!r}")
    return (_LETTERS[match[1].upper()] + _ACCIDENTALS[match[2]]) % 12


#: A note name as a regex (no groups): letter, accidental, octave -1..9 ("C3", "F#1", "Bb3", "E♭-1").
NOTE_NAME = r"[A-Ga-g][#♯b♭]?-?\d"


def parse_note(name: str) -> int:
    """MIDI number of a note name: "C4" -> 60 (middle C), "F#1" -> 30, "Bb3" -> 58."""
    match = re.fullmatch(r"([A-Ga-g][#♯b♭]?)(-?\d)", name.strip())
    if not match:
        raise ValueError(f"not a note name (e.g. C4, F#1, Bb3): {name!r}")
    # Letter and octave, not pitch class: Cb4 is B3 and B#3 is C4.
    letter = _LETTERS[match[1][0].upper()] + _ACCIDENTALS[match[1][1:]]
    return 12 * (int(match[2]) + 1) + letter


def note_name(note: int, *, flats: bool = False) -> str:
    """Name with octave of a MIDI number, inverse of :func:`parse_note`: 60 -> "C4", 58 -> "A#3" (flats: "Bb3")."""
    return f"{pitch_class_name(note % 12, flats=flats)}{note // 12 - 1}"


def pitch_class_name(pc: int, *, flats: bool = False) -> str:
    return (_FLAT_NAMES if flats else _SHARP_NAMES)[pc % 12]


def scale_pitch_classes(tonic: int, mode: str) -> tuple[int, ...]:
    return tuple((tonic + i) % 12 for i in MODES[mode])


@dataclass(frozen=True)
class Chord:
    """A parsed chord symbol.

    ``required`` holds the tones a realisation must sound: root, third (or the suspended
    tone; the fifth of a power chord) and the seventh when written. ``pitch_classes`` adds
    the optional fifth and extensions.
    """

    symbol: str
    root: int
    intervals: tuple[int, ...]  # semitones above the root, root first
    required_intervals: tuple[int, ...]
    bass: int | None = None  # slash-chord bass pitch class

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in self.intervals)

    @property
    def required(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in self.required_intervals)


# quality suffix -> (intervals, required intervals). Longest suffixes are tried first.
_QUALITIES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "": ((0, 4, 7), (0, 4)),
    "maj": ((0, 4, 7), (0, 4)),
    "M": ((0, 4, 7), (0, 4)),
    "m": ((0, 3, 7), (0, 3)),
    "min": ((0, 3, 7), (0, 3)),
    "-": ((0, 3, 7), (0, 3)),
    "dim": ((0, 3, 6), (0, 3, 6)),
    "°": ((0, 3, 6), (0, 3, 6)),
    "aug": ((0, 4, 8), (0, 4, 8)),
    "+": ((0, 4, 8), (0, 4, 8)),
    "5": ((0, 7), (0, 7)),
    "sus2": ((0, 2, 7), (0, 2)),
    "sus4": ((0, 5, 7), (0, 5)),
    "sus": ((0, 5, 7), (0, 5)),
    "6": ((0, 4, 7, 9), (0, 4, 9)),
    "m6": ((0, 3, 7, 9), (0, 3, 9)),
    "7": ((0, 4, 7, 10), (0, 4, 10)),
    "maj7": ((0, 4, 7, 11), (0, 4, 11)),
    "M7": ((0, 4, 7, 11), (0, 4, 11)),
    "Δ7": ((0, 4, 7, 11), (0, 4, 11)),
    "Δ": ((0, 4, 7, 11), (0, 4, 11)),
    "m7": ((0, 3, 7, 10), (0, 3, 10)),
    "min7": ((0, 3, 7, 10), (0, 3, 10)),
    "-7": ((0, 3, 7, 10), (0, 3, 10)),
    "mmaj7": ((0, 3, 7, 11), (0, 3, 11)),
    "m7b5": ((0, 3, 6, 10), (0, 3, 6, 10)),
    "ø": ((0, 3, 6, 10), (0, 3, 6, 10)),
    "ø7": ((0, 3, 6, 10), (0, 3, 6, 10)),
    "dim7": ((0, 3, 6, 9), (0, 3, 6, 9)),
    "°7": ((0, 3, 6, 9), (0, 3, 6, 9)),
    "7sus4": ((0, 5, 7, 10), (0, 5, 10)),
    "9": ((0, 4, 7, 10, 14), (0, 4, 10)),
    "maj9": ((0, 4, 7, 11, 14), (0, 4, 11)),
    "m9": ((0, 3, 7, 10, 14), (0, 3, 10)),
    "add9": ((0, 4, 7, 14), (0, 4)),
    "madd9": ((0, 3, 7, 14), (0, 3)),
    "11": ((0, 4, 7, 10, 14, 17), (0, 4, 10)),
    "m11": ((0, 3, 7, 10, 14, 17), (0, 3, 10)),
    "13": ((0, 4, 7, 10, 14, 21), (0, 4, 10)),
    "maj13": ((0, 4, 7, 11, 14, 21), (0, 4, 11)),
    "m13": ((0, 3, 7, 10, 14, 21), (0, 3, 10)),
    "7b9": ((0, 4, 7, 10, 13), (0, 4, 10)),
    "7#9": ((0, 4, 7, 10, 15), (0, 4, 10)),
}
_CHORD_RE = re.compile(r"([A-G][#♯b♭]?)([^/]*)(?:/([A-G][#♯b♭]?))?")


def parse_chord(symbol: str) -> Chord:
    """Parse a chord symbol. Raises ValueError naming the symbol when it is not one."""
    match = _CHORD_RE.fullmatch(symbol.strip())
    if not match or match[2] not in _QUALITIES:
        raise ValueError(f"not a chord symbol: {symbol!r}")
    intervals, required = _QUALITIES[match[2]]
    bass = parse_pitch_class(match[3]) if match[3] else None
    return Chord(symbol.strip(), parse_pitch_class(match[1]), intervals, required, bass)


def chord_symbol(root: int, quality: str, *, flats: bool = False) -> str:
    """Inverse of :func:`parse_chord` for a root pitch class and a quality suffix."""
    if quality not in _QUALITIES:
        raise ValueError(f"unknown chord quality {quality!r}")
    return pitch_class_name(root, flats=flats) + quality


_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7}
_ROMAN_RE = re.compile(r"([b#♭♯]?)(vii|iii|iv|vi|ii|v|i)(°|o|ø|\+|dim|aug)?(maj7|7|9|6|sus4|sus2)?", re.IGNORECASE)
#: Major keys spelled with flats (F Bb Eb Ab Db Gb), and so their relative minors.
FLAT_MAJOR_TONICS = frozenset({5, 10, 3, 8, 1, 6})


def roman_to_symbol(numeral: str, tonic: int, mode: str) -> str:
    """Chord symbol of a roman numeral: "vi" in G major -> "Em", "bVII" in C minor -> "Bb", "V7" in A minor -> "E7".

    Upper case is major, lower case minor; the degree is measured on the major scale
    (so "bVI" and "bVII" are explicit) except that in minor modes unaltered degrees follow
    the mode's own scale, as musicians write "i VI III VII" in minor.
    """
    match = _ROMAN_RE.fullmatch(numeral.strip())
    if not match:
        raise ValueError(f"not a roman numeral: {numeral!r}")
    accidental, degree_text, alteration, extension = match.groups()
    degree = _ROMAN[degree_text.lower()]
    scale = MODES[mode] if not accidental else MODES["major"]
    root = (tonic + scale[degree - 1] + _ACCIDENTALS.get(accidental.replace("♭", "b").replace("♯", "#"), 0)) % 12
    upper = degree_text.isupper()
    if alteration in ("°", "o", "dim"):
        quality = "dim7" if extension == "7" else "dim"
    elif alteration == "ø":
        quality = "m7b5"
    elif alteration in ("+", "aug"):
        quality = "aug"
    elif extension in ("sus4", "sus2"):
        quality = extension
    elif upper:
        quality = {"maj7": "maj7", "7": "7", "9": "9", "6": "6"}.get(extension or "", "")
    else:
        quality = {"maj7": "mmaj7", "7": "m7", "9": "m9", "6": "m6"}.get(extension or "", "m")
    relative_major = tonic if mode != "minor" else (tonic + 3) % 12
    flats = accidental in ("b", "♭") or (accidental == "" and relative_major in FLAT_MAJOR_TONICS)
    return chord_symbol(root, quality, flats=flats)


def twelve_bar_blues(tonic: int, mode: str = "major") -> list[str]:
    """The classic 12-bar form with dominant sevenths (minor blues uses m7 on i and iv)."""
    seventh = "m7" if mode == "minor" else "7"
    i, iv, v = (roman_to_symbol(n, tonic, "major") for n in ("I", "IV", "V"))
    root = {name: parse_chord(name).root for name in (i, iv, v)}
    flats = tonic in FLAT_MAJOR_TONICS
    one, four, five = (chord_symbol(root[n], q, flats=flats) for n, q in ((i, seventh), (iv, seventh), (v, "7")))
    return [one, one, one, one, four, four, one, one, five, four, one, five]


# Krumhansl-Kessler key profiles (probe-tone ratings), tonic first.
_MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


# Aarden-Essen profiles: how often each degree sounds in folk melodies of a key (the
# weighting music21's key analysis uses by default).
_AARDEN_MAJOR = (17.77, 0.15, 14.93, 0.16, 19.80, 11.36, 0.29, 22.06, 0.15, 8.15, 0.23, 4.95)
_AARDEN_MINOR = (18.26, 0.74, 14.05, 16.86, 0.70, 14.44, 0.70, 18.62, 4.57, 1.93, 7.38, 1.76)
_PROFILES = {"krumhansl": (_MAJOR_PROFILE, _MINOR_PROFILE), "aarden": (_AARDEN_MAJOR, _AARDEN_MINOR)}


def key_profile(tonic: int, mode: str, kind: str = "krumhansl") -> tuple[float, ...]:
    """Weight of each pitch class (C = 0) in a key: Krumhansl-Kessler stability ratings or
    Aarden-Essen occurrence rates. Modes use the profile of the major or minor key they
    sound closest to."""
    major, minor = _PROFILES[kind]
    profile = major if MODES[mode][2] == 4 else minor
    return tuple(profile[(pc - tonic) % 12] for pc in range(12))


def estimate_key(weights: Sequence[float], kind: str = "krumhansl") -> tuple[int, str]:
    """(tonic, "major" | "minor") best correlated with 12 pitch-class weights (e.g. durations)."""
    scores = _key_scores(weights, kind)
    return max(scores, key=scores.__getitem__)


def key_margin(weights: Sequence[float], tonic: int, mode: str, kind: str = "krumhansl") -> float:
    """How much better the key of ``tonic`` and ``mode`` fits ``weights`` than the best other
    major or minor key: positive when a key finder would name it. Modes are judged as the
    major or minor key they sound closest to."""
    scores = _key_scores(weights, kind)
    own = (tonic % 12, "major" if MODES[mode][2] == 4 else "minor")
    return scores[own] - max(score for key, score in scores.items() if key != own)


def _key_scores(weights: Sequence[float], kind: str) -> dict[tuple[int, str], float]:
    return {(tonic, mode): _correlation(weights, key_profile(tonic, mode, kind))
            for mode in ("major", "minor") for tonic in range(12)}  # fmt: skip


def _correlation(a: Sequence[float], b: Sequence[float]) -> float:
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    norm = (sum((x - mean_a) ** 2 for x in a) * sum((y - mean_b) ** 2 for y in b)) ** 0.5
    return cov / norm if norm else 0.0
