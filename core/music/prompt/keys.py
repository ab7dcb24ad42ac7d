"""Key names: the one reader of "F minor", "C#m", "E♭ major", "D dorian", "Bb" (also MIDI key signatures).

:func:`parse_key` reads a whole key name (an override, a CLI flag, a MIDI file's key
signature); :func:`find_key` finds one inside a prompt, where the tonic or the mode may be
missing ("in A", "in a minor key") and a lower-case "a" is often the article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from promptdaw.core.music.prompt.checks import invalid
from promptdaw.core.music.prompt.scan import Scan
from promptdaw.core.music.prompt.vocabulary import NOUN_WORDS
from promptdaw.core.music.theory import parse_pitch_class

__all__ = ["Key", "find_key", "parse_key"]

#: An accidental as a sign or a word: "F#", "F♯", "F sharp", "E-flat".
_ACC = r"(?:#|♯|b|♭|(?i:\s*-?\s*(?:sharp|flat)))"
_MODE_WORD = (
    r"(?i:(?:harmonic|melodic|natural)\s+minor|major|minor|maj|min|dorian|phrygian|lydian|mixolydian|locrian"
    r"|aeolian|ionian)"
)
#: Letter and mode word: "F minor", "c# min", "Eb-major", "D dorian".
_KEY_FULL = re.compile(rf"(?<![\w#♯♭])(?P<letter>[A-Ga-g])(?P<acc>{_ACC})?\s*-?\s*(?P<mode>{_MODE_WORD})(?![\w#♯♭])")
#: Chord-style minor: "Am", "C#m" (upper-case letter, so the "am" of a sentence is not A minor).
_KEY_M = re.compile(r"(?<![\w#♯♭])(?P<letter>[A-G])(?P<acc>#|♯|b|♭)?m(?![\w#♯♭])")
#: A bare tonic after "in" or "key": "in A", "key of Eb", "key: F#".
_KEY_BARE = re.compile(
    rf"(?i:\bin\s+(?:the\s+key\s+of\s+)?|\bkey(?:\s+of)?\s*[:=]?\s*)(?P<letter>[A-G])(?P<acc>{_ACC})?(?![\w#♯♭])"
)
#: A lower-case tonic only after "key" ("key of d"): after "in", "a" is the article.
_KEY_OF = re.compile(rf"(?i:\bkey(?:\s+of)?\s*[:=]?\s*)(?P<letter>[a-g])(?P<acc>{_ACC})?(?![\w#♯♭])")
#: A mode without a tonic: "minor key", "dorian", but not the "minor 7th" of a chord.
_MODE_ONLY = re.compile(
    r"(?<![\w])(?P<mode>(?:harmonic|melodic|natural)\s+minor|major|minor|dorian|phrygian|lydian|mixolydian"
    r"|locrian|aeolian|ionian)(?:[\s\-]+(?:key|scale|tonality|mode))?(?![\w])"
    r"(?!\s*(?:7|9|11|13|seventh|7th|ninth|9th|third|3rd|sixth|6th|second|2nd|triad))"
)
_KEY_NOUNS = r"key|scale|tonality|mode|feel|vibe|sound|progression|chords?|piece|song|tune|melody|ballad|groove|track"
_NEXT_WORD = re.compile(r"[\s\-]*([a-z][a-z\-]*)")


def _mode_name(word: str) -> str:
    word = " ".join(word.lower().split())
    if word.endswith("minor") or word in ("min", "aeolian", "m"):
        return "minor"
    if word in ("major", "maj", "ionian"):
        return "major"
    return word


def _tonic(letter: str, accidental: str | None) -> int:
    acc = (accidental or "").strip().lstrip("-").strip().lower()
    acc = {"sharp": "#", "flat": "b"}.get(acc, acc)
    return parse_pitch_class(letter.upper() + acc)


def parse_key(text: str) -> tuple[int, str]:
    """A whole key name -> (tonic pitch class, mode): "F minor", "C#m", "E♭ major", "D dorian", "Bb".

    MIDI key signatures as mido names them ("Am", "F#", "Bbm") are key names too.

    Raises:
        InvalidInput: naming ``key`` when ``text`` is not a key.
    """
    text = text.strip()
    if match := _KEY_FULL.fullmatch(text):
        return _tonic(match["letter"], match["acc"]), _mode_name(match["mode"])
    if match := _KEY_M.fullmatch(text):
        return _tonic(match["letter"], match["acc"]), "minor"
    if match := re.fullmatch(rf"(?P<letter>[A-Ga-g])(?P<acc>{_ACC})?", text):
        return _tonic(match["letter"], match["acc"]), "major"
    raise invalid("key", text, "expected a key such as 'F minor', 'C#m', 'Eb major' or 'D dorian'")


def _next_is_noun(text: str, position: int) -> bool:
    """Whether the word at ``position`` names a thing: "key", "scale", a part, an instrument or a genre."""
    match = _NEXT_WORD.match(text, position)
    return bool(match) and (re.fullmatch(_KEY_NOUNS, match[1]) is not None or match[1] in NOUN_WORDS)


@dataclass
class Key:
    """What the prompt states of the key; None where it is silent."""

    tonic: int | None = None
    mode: str | None = None


def find_key(scan: Scan) -> Key:
    """Tonic and mode the prompt states; either may be missing ("in a minor key", "in A")."""
    key = Key()
    for match in scan.find(_KEY_FULL, case=True):
        letter = match["letter"]
        # Lower-case "a" in "a minor key", "a minor piano piece" is the article, not A.
        if letter == "a" and not match["acc"] and _next_is_noun(scan.lower, match.end()):
            key.mode = key.mode or _mode_name(match["mode"])
            scan.take(match.start("mode"), match.end())
            continue
        scan.take(*match.span())
        return Key(_tonic(letter, match["acc"]), _mode_name(match["mode"]))
    for match in scan.find(_KEY_M, case=True):
        scan.take(*match.span())
        return Key(_tonic(match["letter"], match["acc"]), "minor")
    if match := next(scan.find(_KEY_BARE, case=True), None) or next(scan.find(_KEY_OF, case=True), None):
        scan.take(*match.span())
        key.tonic = _tonic(match["letter"], match["acc"])
    if match := next(scan.find(_MODE_ONLY), None):
        scan.take(*match.span())
        key.mode = key.mode or _mode_name(match["mode"])
    if key.tonic is not None and key.mode is None:
        key.mode = "major"  # "in A" is A major unless the prompt says minor
    return key
