"""MusicSpec: what a prompt asks for, fully resolved. Every generator takes one.

The prompt parser (``music.prompt``) is the only producer; ``explicit`` records which
fields the prompt (or a CLI flag) set, so results can show the user how they were read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["PART_ROLES", "ChordChange", "MusicSpec", "PartSpec"]

#: Roles a part can play. Drums always go to MIDI channel 10.
PART_ROLES = ("drums", "bass", "chords", "melody", "arp", "pad")


@dataclass(frozen=True)
class PartSpec:
    role: str  # one of PART_ROLES
    program: int  # General MIDI program 0..127 (0-based); ignored for drums
    name: str  # track name shown in the DAW, e.g. "808 Bass"


@dataclass(frozen=True)
class ChordChange:
    symbol: str  # a chord symbol in the spec's key, e.g. "Am7", "F#m7b5", "E5", "Gsus4"
    bar: int  # 0-based bar where it starts
    beat: float = 0.0  # quarter-note beats into the bar
    duration_beats: float = 0.0  # 0 = until the next change (or the end)


@dataclass(frozen=True)
class MusicSpec:
    bpm: float
    key_tonic: int  # pitch class, C = 0
    key_mode: str  # "major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian"
    meter: tuple[int, int]  # (numerator, denominator)
    bars: int
    genre: str
    parts: tuple[PartSpec, ...]
    mood: str | None = None
    #: Explicit harmony (expanded over all bars, repeating if shorter); empty = the model chooses.
    chords: tuple[ChordChange, ...] = ()
    swing: float = 0.0  # 0 straight .. 1 full triplet swing of off-beat 16ths (or 8ths)
    density: float = 0.5  # 0 sparse .. 1 busy
    feel: str = "normal"  # "normal", "half-time", "double-time"
    seed: int = 0
    #: Named patterns the music must keep, e.g. "four_on_the_floor" (a kick on every beat).
    idioms: tuple[str, ...] = ()
    explicit: frozenset[str] = field(default_factory=frozenset)

    @property
    def beats_per_bar(self) -> float:
        """Quarter-note beats in one bar: numerator * 4 / denominator."""
        return self.meter[0] * 4 / self.meter[1]

    @property
    def steps_per_bar(self) -> int:
        """16th-note grid steps in one bar."""
        return self.meter[0] * 16 // self.meter[1]

    def part(self, role: str) -> PartSpec | None:
        return next((p for p in self.parts if p.role == role), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["meter"] = f"{self.meter[0]}/{self.meter[1]}"
        data["explicit"] = sorted(self.explicit)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MusicSpec:
        numerator, denominator = (int(x) for x in str(data["meter"]).split("/"))
        return cls(
            bpm=float(data["bpm"]),
            key_tonic=int(data["key_tonic"]),
            key_mode=str(data["key_mode"]),
            meter=(numerator, denominator),
            bars=int(data["bars"]),
            genre=str(data["genre"]),
            parts=tuple(PartSpec(**p) for p in data["parts"]),
            mood=data.get("mood"),
            chords=tuple(ChordChange(**c) for c in data.get("chords", ())),
            swing=float(data.get("swing", 0.0)),
            density=float(data.get("density", 0.5)),
            feel=str(data.get("feel", "normal")),
            seed=int(data.get("seed", 0)),
            idioms=tuple(data.get("idioms", ())),
            explicit=frozenset(data.get("explicit", ())),
        )
