"""Test-only instruments and clips for the plugin_host and loop tests.

``ToneInstrument`` and ``test_voices`` stand in for the built-in neural instrument: small,
deterministic (the same note always sounds the same), with release tails so folding and the
loop seam are exercised. They live here, never in the package.
"""

from __future__ import annotations

import zlib

import numpy as np

from promptdaw.core.clip import Clip, ClipNote, ClipTrack
from promptdaw.core.music.spec import MusicSpec, PartSpec

RELEASE_S = 0.25


class ToneInstrument:
    """A few decaying harmonics at the note's pitch, held for the duration, then released."""

    def __init__(self, brightness: float = 0.5, release_s: float = RELEASE_S) -> None:
        self.brightness = brightness
        self.release_s = release_s
        self.calls = 0

    def render_note(self, pitch: int, velocity: int, duration_s: float, sample_rate: int) -> np.ndarray:
        self.calls += 1
        n = round((duration_s + self.release_s) * sample_rate)
        t = np.arange(n) / sample_rate
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        tone = sum(self.brightness**k * np.sin(2 * np.pi * f0 * (k + 1) * t) for k in range(4) if f0 * (k + 1) < 18000)
        gate = np.where(t < duration_s, 1.0, np.exp(-(t - duration_s) * 8 / self.release_s))
        mono = 0.3 * velocity / 127 * tone * gate * np.exp(-t * 1.5)
        return np.stack([mono, 0.9 * mono], axis=1).astype(np.float32)


class DrumVoice:
    """A drum sound chosen by its prompt: a pitch-dropping sine for kicks, seeded noise otherwise."""

    def __init__(self, prompt: str) -> None:
        self.prompt = prompt
        self.seed = zlib.crc32(prompt.encode())

    def render_note(self, pitch: int, velocity: int, duration_s: float, sample_rate: int) -> np.ndarray:
        n = round(0.35 * sample_rate)
        t = np.arange(n) / sample_rate
        if "kick" in self.prompt:
            phase = 2 * np.pi * (45 * t + 80 * (1 - np.exp(-t * 30)) / 30)
            mono = np.sin(phase) * np.exp(-t * 9)
        else:
            noise = np.random.default_rng(self.seed).standard_normal(n)
            decay = 40 if "closed" in self.prompt or "pedal" in self.prompt else 12
            mono = 0.5 * noise * np.exp(-t * decay)
        mono *= velocity / 127
        return np.stack([mono, mono], axis=1).astype(np.float32)


def test_voices(prompt: str) -> DrumVoice | ToneInstrument:
    """A voice factory like the built-in one: drum words get a drum voice, the rest a tone."""
    drum_words = ("kick", "snare", "clap", "hat", "cymbal", "tom", "percussion", "rim", "shaker", "conga")
    return DrumVoice(prompt) if any(w in prompt for w in drum_words) else ToneInstrument()


test_voices.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def make_clip(
    *,
    bars: int = 2,
    meter: tuple[int, int] = (4, 4),
    bpm: float = 120.0,
    swing: float = 0.0,
    roles: tuple[str, ...] = ("drums", "bass", "chords", "melody"),
    seed: int = 0,
) -> Clip:
    """A busy, deterministic clip: a kick on every beat, hats on 8ths, a bass, chords and a melody.

    Notes run up to the very last step so tails cross the loop seam.
    """
    parts = {
        "drums": PartSpec("drums", 0, "Drums"),
        "bass": PartSpec("bass", 38, "Synth Bass"),
        "chords": PartSpec("chords", 0, "Piano"),
        "melody": PartSpec("melody", 80, "Lead"),
    }
    spec = MusicSpec(bpm=bpm, key_tonic=9, key_mode="minor", meter=meter, bars=bars, genre="house",
                     parts=tuple(parts[r] for r in roles), swing=swing, seed=seed)  # fmt: skip
    steps = bars * spec.steps_per_bar
    beat = 16 // meter[1]  # steps per beat of the meter
    rng = np.random.default_rng(seed)
    tracks = []
    for role in roles:
        notes: list[ClipNote] = []
        if role == "drums":
            notes += [ClipNote(s, 1, 36, 110) for s in range(0, steps, beat)]
            notes += [ClipNote(s, 1, 42, 70 + 20 * (s % 4 == 0)) for s in range(0, steps, 2)]
            notes += [ClipNote(s, 1, 38, 100) for s in range(beat, steps, 2 * beat)]
        elif role == "bass":
            notes += [ClipNote(s, 3, 33 + int(rng.integers(0, 5)), 100) for s in range(0, steps, 4)]
        elif role == "chords":
            for s in range(0, steps, spec.steps_per_bar):
                notes += [ClipNote(s, spec.steps_per_bar, p, 80) for p in (57, 60, 64)]
        else:
            notes += [ClipNote(s, 1, 69 + int(rng.integers(0, 8)), 90) for s in range(1, steps, 3)]
            notes.append(ClipNote(steps - 1, 1, 76, 100))  # rings over the seam
        tracks.append(ClipTrack(role, parts[role].program, parts[role].name, sorted(notes, key=lambda n: n.start)))
    return Clip(spec, tracks)


def seam_ok(audio: np.ndarray) -> tuple[bool, np.ndarray, np.ndarray]:
    """shared/eval/README.md: ``|x[0] - x[N-1]| <= max(0.01, 4 * median(|x[n] - x[n-1]|))`` per channel."""
    jump = np.abs(audio[0].astype(np.float64) - audio[-1])
    limit = np.maximum(0.01, 4 * np.median(np.abs(np.diff(audio.astype(np.float64), axis=0)), axis=0))
    return bool(np.all(jump <= limit)), jump, limit


def clip_for_spec(spec: MusicSpec) -> Clip:
    """A clip with the spec's parts, meter and length (what a text-to-MIDI model would return)."""
    roles = tuple(p.role for p in spec.parts)
    generic = make_clip(bars=spec.bars, meter=spec.meter, bpm=spec.bpm, swing=spec.swing,
                        roles=tuple(r if r in ("drums", "bass", "chords") else "melody" for r in roles),
                        seed=spec.seed)  # fmt: skip
    tracks = [ClipTrack(p.role, p.program, p.name, t.notes) for p, t in zip(spec.parts, generic.tracks, strict=True)]
    return Clip(spec, tracks)


class StubModel:
    class manifest:  # mimics OnnxModel.manifest
        name = "stub-text2midi"
        version = "test"


class StubGenerator:
    """Stands in for MidiGenerator in in-process task tests: ``generate(spec)`` -> clip_for_spec."""

    model = StubModel()

    def generate(self, spec: MusicSpec, progress=None) -> Clip:
        if progress is not None:
            progress(1.0)
        return clip_for_spec(spec)
