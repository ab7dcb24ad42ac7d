"""The text-to-sample training set: FluidR3_GM one-shots, the project's presets, and texts.

:func:`build_dataset` renders every :mod:`.sounds` one-shot from FluidR3_GM at
``TRAIN_RATE``, measures each (attack, decay, brightness, the drum's pitch), draws the
presets, writes a pool of descriptive texts per sound and embeds them all with MiniLM. The
result is a :class:`TrainingSet` of plain arrays, saved to and loaded from one ``.npz``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from promptdaw.core.music.pitch import hz_to_midi
from promptdaw.runtime.embedding import Embedder
from promptdaw.runtime.synthesis.constants import CATEGORIES, DRUM_CATEGORIES
from promptdaw.runtime.synthesis.patch import PARAM_BY_NAME
from training.stems.render import FLUIDR3_GM
from training.text2sample.presets import draw_presets
from training.text2sample.sounds import (
    DEFAULT_GATE_S,
    DRUM_KITS,
    GATE_S,
    OneShot,
    drum_shots,
    melodic_shots,
    render_one_shots,
)
from training.text2sample.texts import make_texts

__all__ = ["DEFAULT_HOLD_S", "TRAIN_DURATION_S", "TRAIN_RATE", "TrainingSet", "build_dataset", "measure"]

#: Rate and length of the training renders (and of the synthesiser in the training loss).
TRAIN_RATE = 22050
TRAIN_DURATION_S = 1.0
#: How long a one-shot without a duration is held, by category: the target of ``hold_s`` for
#: rendered sounds. For instruments it is their render gate: the envelope the network fits to a
#: render is only right for the gate it was rendered with (a piano fitted on a 0.5 s note may
#: use the release for its decay; held 1.2 s it would sound like a sustained horn).
DEFAULT_HOLD_S = {
    "kick": 0.2, "snare": 0.15, "clap": 0.15, "closed hat": 0.05, "open hat": 0.3, "cymbal": 0.2, "tom": 0.2,
    "percussion": 0.1, "808": 0.8, "sub bass": 0.8, "riser": 4.0, "downlifter": 2.5, "impact": 0.5,
    "noise sweep": 3.0, **{category: GATE_S.get(category, DEFAULT_GATE_S) for category in (
        "bass", "piano", "keys", "pluck", "pad", "lead", "brass", "strings", "bell", "mallet")},
}  # fmt: skip
_PITCH_SEARCH_HZ = {"low": (30.0, 1500.0), "high": (200.0, 8000.0)}
_HIGH_DRUMS = {"closed hat", "open hat", "cymbal", "clap", "riser", "downlifter", "noise sweep"}


@dataclass
class TrainingSet:
    audio: np.ndarray  # float32 [sounds, samples] at TRAIN_RATE
    category: np.ndarray  # int64 [sounds + presets]
    root: np.ndarray  # float32 [sounds + presets] MIDI note played (or measured, for drums)
    velocity: np.ndarray  # float32 [sounds + presets]
    gate_s: np.ndarray  # float32 [sounds] render gate
    hold_s: np.ndarray  # float32 [sounds] hold target
    preset_unit: np.ndarray  # float32 [presets, PARAM_SIZE]
    text_owner: np.ndarray  # int64 [texts] -> sound (0..sounds-1) or preset (sounds..)
    embeddings: np.ndarray  # float16 [texts, 384]
    texts: list[str]
    meta: list[dict]  # one record per sound and preset

    @property
    def sounds(self) -> int:
        return self.audio.shape[0]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part.npz")
        np.savez(tmp, audio=self.audio, category=self.category, root=self.root, velocity=self.velocity,
                 gate_s=self.gate_s, hold_s=self.hold_s, preset_unit=self.preset_unit, text_owner=self.text_owner,
                 embeddings=self.embeddings, texts=np.array(json.dumps(self.texts)),
                 meta=np.array(json.dumps(self.meta)))  # fmt: skip
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> TrainingSet:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        texts, meta = json.loads(str(arrays.pop("texts"))), json.loads(str(arrays.pop("meta")))
        return cls(**arrays, texts=texts, meta=meta)


def measure(audio: np.ndarray, sample_rate: int, category: str) -> dict[str, float]:
    """Attack, decay (to -30 dB), spectral centroid, and the dominant pitch of one mono sound."""
    hop = 256
    frames = len(audio) // hop
    env = np.sqrt(np.mean(audio[: frames * hop].reshape(frames, hop) ** 2, axis=1) + 1e-12)
    env_db = 20 * np.log10(env / env.max())
    peak = int(np.argmax(env_db))
    below = np.flatnonzero(env_db[peak:] < -30)
    decay_s = (below[0] if below.size else frames - peak) * hop / sample_rate
    window = audio[: min(len(audio), sample_rate // 2)]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    freqs = np.fft.rfftfreq(len(window), 1 / sample_rate)
    centroid = float((spectrum * freqs).sum() / (spectrum.sum() + 1e-12))
    lo, hi = _PITCH_SEARCH_HZ["high" if category in _HIGH_DRUMS else "low"]
    band = (freqs >= lo) & (freqs <= hi)
    pitch_hz = float(freqs[band][np.argmax(spectrum[band])])
    return {"attack_s": peak * hop / sample_rate, "decay_s": decay_s, "centroid_hz": centroid,
            "pitch_midi": float(np.clip(hz_to_midi(pitch_hz), 12, 108))}  # fmt: skip


def _words(m: dict[str, float], medians: dict[str, float], velocity: int, category: str) -> list[str]:
    words = []
    if m["centroid_hz"] > 1.35 * medians["centroid_hz"]:
        words += ["bright", "crisp", "sharp"]
    elif m["centroid_hz"] < 0.75 * medians["centroid_hz"]:
        words += ["dark", "warm", "mellow"]
    if m["decay_s"] < 0.6 * medians["decay_s"]:
        words += ["short", "tight", "snappy"]
    elif m["decay_s"] > 1.5 * medians["decay_s"]:
        words += ["long", "ringing", "long tail"]
    if velocity <= 75:
        words += ["soft", "gentle", "quiet"]
    elif velocity >= 110:
        words += ["hard", "loud", "punchy" if category in DRUM_CATEGORIES else "strong"]
    if category not in DRUM_CATEGORIES and m["attack_s"] > 0.12:
        words += ["slow attack", "swelling"]
    return words


def build_dataset(
    embedder: Embedder,
    *,
    notes_per_program: int = 4,
    velocities: tuple[int, ...] = (70, 115),
    presets_per_family: int = 60,
    texts_per_sound: int = 12,
    seed: int = 1234,
    soundfont: Path = FLUIDR3_GM,
    log: Callable[[str], None] = print,
    limit: int | None = None,
) -> TrainingSet:
    """Render, measure, describe and embed everything (a few minutes on 2 cores)."""
    rng = np.random.default_rng(seed)
    shots: list[OneShot] = melodic_shots(notes_per_program, velocities) + drum_shots(velocities)
    if limit is not None:
        shots = [shots[i] for i in np.random.default_rng(seed).permutation(len(shots))[:limit]]
    audio = render_one_shots(shots, soundfont, duration_s=TRAIN_DURATION_S, sample_rate=TRAIN_RATE, log=log)
    keep = np.abs(audio).max(axis=1) > 1e-4  # a kit may lack a key: silence
    shots = [s for s, k in zip(shots, keep, strict=True) if k]
    audio = audio[keep]
    measured = [measure(a, TRAIN_RATE, s.category) for a, s in zip(audio, shots, strict=True)]
    medians = {
        cat: {key: float(np.median([m[key] for m, s in zip(measured, shots, strict=True) if s.category == cat]))
              for key in ("centroid_hz", "decay_s")}
        for cat in {s.category for s in shots}
    }  # fmt: skip
    kit_words = {name: words for _, name, words in DRUM_KITS}

    texts: list[str] = []
    owner: list[int] = []
    meta: list[dict] = []
    category, root, velocity = [], [], []
    for index, (shot, m) in enumerate(zip(shots, measured, strict=True)):
        words = _words(m, medians[shot.category], shot.velocity, shot.category)
        pool = make_texts(shot.category, shot.names, words, "soundfont", rng, texts_per_sound,
                          kit_words.get(shot.kit, ()))  # fmt: skip
        texts += pool
        owner += [index] * len(pool)
        note = m["pitch_midi"] if shot.category in DRUM_CATEGORIES else float(shot.pitch)
        category.append(CATEGORIES.index(shot.category))
        root.append(note)
        velocity.append(shot.velocity)
        meta.append({"source": "fluidr3", "category": shot.category, "name": shot.names[0], "program": shot.program,
                     "pitch": shot.pitch, "velocity": shot.velocity, "kit": shot.kit, "words": words,
                     **{k: round(v, 4) for k, v in m.items()}})  # fmt: skip
    presets = draw_presets(presets_per_family, seed)
    for offset, preset in enumerate(presets):
        pool = make_texts(preset.category, preset.names, preset.words, "preset", rng, texts_per_sound)
        texts += pool
        owner += [len(shots) + offset] * len(pool)
        category.append(CATEGORIES.index(preset.category))
        root.append(float(preset.note))
        velocity.append(float(rng.integers(70, 127)))
        meta.append({"source": "preset", "category": preset.category, "name": preset.names[0],
                     "words": list(preset.words)})  # fmt: skip
    log(f"embedding {len(texts)} texts for {len(shots)} rendered sounds and {len(presets)} presets")
    embeddings = np.concatenate([embedder.embed(texts[i : i + 256]) for i in range(0, len(texts), 256)])
    hold = np.array([DEFAULT_HOLD_S[s.category] for s in shots], np.float32)
    hold_spec = PARAM_BY_NAME["hold_s"]
    hold = np.clip(hold, hold_spec.lo, hold_spec.hi)
    return TrainingSet(
        audio=audio.astype(np.float32),
        category=np.array(category, np.int64),
        root=np.array(root, np.float32),
        velocity=np.array(velocity, np.float32),
        gate_s=np.array([s.gate_s for s in shots], np.float32),
        hold_s=hold,
        preset_unit=np.stack([p.patch.unit for p in presets]).astype(np.float32),
        text_owner=np.array(owner, np.int64),
        embeddings=embeddings.astype(np.float16),
        texts=texts,
        meta=meta,
    )
