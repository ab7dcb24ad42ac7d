"""General MIDI: the drum channel and the percussion key map, one home for every layer.

The key map gives, per General MIDI level 1 percussion note (35..81), the sound's name (the
words a text-described instrument is prompted with, "crash cymbal"), its text-to-sample
category (what a kit voice must be) and the pitch a tuned voice plays it at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["DRUM_CHANNEL", "GM_DRUMS", "UNKNOWN_DRUM", "DrumSound", "drum_sound"]

#: MIDI channel 10, counted from 0 as mido and the wire do.
DRUM_CHANNEL = 9


@dataclass(frozen=True)
class DrumSound:
    """What a General MIDI drum note asks of a voice."""

    name: str  # prompt words for the sound, e.g. "ride bell"
    category: str  # a text-to-sample category: "kick", "snare", "clap", "closed hat", ...
    pitch: int  # the note a tuned voice plays: tunes drums and percussion, no pitch promised


def _table() -> dict[int, DrumSound]:
    rows: dict[int, tuple[str, str, int]] = {
        35: ("kick drum", "kick", 36), 36: ("kick drum", "kick", 36),
        37: ("rimshot", "percussion", 60), 38: ("snare drum", "snare", 60),
        39: ("hand clap", "clap", 60), 40: ("snare drum", "snare", 62),
        41: ("low floor tom", "tom", 41), 42: ("closed hi-hat", "closed hat", 60),
        43: ("floor tom", "tom", 43), 44: ("pedal hi-hat", "closed hat", 58),
        45: ("low tom", "tom", 45), 46: ("open hi-hat", "open hat", 60),
        47: ("mid tom", "tom", 47), 48: ("high mid tom", "tom", 48),
        49: ("crash cymbal", "cymbal", 60), 50: ("high tom", "tom", 50),
        51: ("ride cymbal", "cymbal", 60), 52: ("china cymbal", "cymbal", 58),
        53: ("ride bell", "cymbal", 64), 54: ("tambourine", "percussion", 60),
        55: ("splash cymbal", "cymbal", 64), 56: ("cowbell", "percussion", 68),
        57: ("crash cymbal", "cymbal", 62), 58: ("vibraslap", "percussion", 60),
        59: ("ride cymbal", "cymbal", 62), 60: ("high bongo", "percussion", 72),
        61: ("low bongo", "percussion", 67), 62: ("muted conga", "percussion", 67),
        63: ("open conga", "percussion", 67), 64: ("low conga", "percussion", 62),
        65: ("high timbale", "percussion", 69), 66: ("low timbale", "percussion", 64),
        67: ("high agogo", "percussion", 79), 68: ("low agogo", "percussion", 74),
        69: ("cabasa", "percussion", 60), 70: ("maracas shaker", "percussion", 60),
        71: ("whistle", "percussion", 84), 72: ("long whistle", "percussion", 79),
        73: ("short guiro", "percussion", 60), 74: ("long guiro", "percussion", 60),
        75: ("claves", "percussion", 79), 76: ("high wood block", "percussion", 77),
        77: ("low wood block", "percussion", 72), 78: ("mute cuica", "percussion", 67),
        79: ("open cuica", "percussion", 67), 80: ("mute triangle", "percussion", 84),
        81: ("open triangle", "percussion", 84),
    }  # fmt: skip
    return {note: DrumSound(*row) for note, row in rows.items()}


#: General MIDI drum note -> its sound.
GM_DRUMS: Mapping[int, DrumSound] = MappingProxyType(_table())
#: What a note outside the map plays.
UNKNOWN_DRUM = DrumSound("percussion hit", "percussion", 60)


def drum_sound(note: int) -> DrumSound:
    """The sound of a General MIDI drum note; a percussion hit outside the map."""
    return GM_DRUMS.get(int(note), UNKNOWN_DRUM)
