"""Drum clips from the idiom library's grooves, rendered per sub-stem through several kits.

A clip is a few seconds of one groove (``training.text2midi.idioms.GROOVES``, played with its
variations, fills and crashes by ``drum_track``) at a random tempo, with more variety at the
MIDI level so every class is heard often enough: rides instead of closed hats, tom fills,
crashes on downbeats, the GM alternatives of each piece (35/36 kicks, 38/40 snares, all six
toms, crash/splash/china, ride/bell), swing and timing jitter. Each hit goes to the sub-stem
:func:`~promptdaw.runtime.separation.drums.drum_class` names (hand percussion in no class is
dropped), and each sub-stem is rendered alone:

- **SoundFont kits** through FluidSynth (``training.stems.render.render_parts``): the GM drum
  kits of a soundfont (bank 128 on the drum channel), or a single-preset kit such as the
  avldrums.lv2 acoustic kits on a melodic channel, where keys the kit maps differently from GM
  are moved to a same-class key it does map;
- **the project's synthesised kits**: ``NeuralInstrument(..., drums=True)`` (the kit
  ``generate-loop`` plays), one-shots placed at the hit times.

Each rendered sub-stem gets its own random level, EQ, compression and reverb
(``training.stems.render.augment_part``); the clip is scaled to a random peak. The drum stem
is the exact sum of the five. A data set is ``stems.npy`` (float16 ``[clips, 5, samples, 2]``)
and ``clips.jsonl``, as ``training.stems.render.load_dataset`` reads it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from promptdaw.runtime.separation.drums import DRUM_SOURCES, drum_class
from training.stems.arrange import Note, Part
from training.stems.render import SAMPLE_RATE, augment_part, dataset_files, render_parts, set_mix_peak
from training.text2midi.idioms import GROOVES, drum_track

__all__ = ["DrumClip", "Kit", "heldout_kits", "make_clip", "render_kit", "train_kits", "write_drum_dataset"]

SF2 = Path("/usr/share/sounds/sf2")
SF3 = Path("/usr/share/sounds/sf3")
#: The GM drum kits (bank 128 programs) of the General MIDI soundfonts used here. Not the
#: Orchestra kit (48): it plays timpani on keys 41..53, which the GM map calls hats and toms.
GM_KIT_PROGRAMS = (0, 8, 16, 24, 25, 32, 40)
#: avldrums.lv2's kits sound on keys 36..63 and map some of them unlike GM (a hi-hat swirl,
#: chokes): hits on those keys, and on keys they lack, move to a same-class key they map as GM does.
AVL_REMAP = {35: 36, 48: 47, 50: 45, 52: 51, 54: 42, 69: 42, 70: 42, 60: 47, 61: 45, 62: 43, 63: 41, 64: 41,
             65: 47, 66: 45}  # fmt: skip
#: Style words for the synthesised kits (each played with several seeds).
SYNTH_STYLES = (
    "punchy techno kit", "dusty lofi kit", "808 trap kit", "acoustic rock kit", "tight funk kit",
    "soft jazz kit", "hard house kit", "vintage drum machine", "boom bap kit", "industrial kit",
    "indie pop kit", "breakbeat kit",
)  # fmt: skip

_TOMS = (41, 43, 45, 47, 48, 50)
_CRASHES = (49, 57, 55, 52)
_RIDES = (51, 59, 53)


@dataclass(frozen=True)
class Kit:
    """A kit to render with: a soundfont preset (``program`` on the drum channel, or a single
    melodic preset when ``drum_channel`` is False), or a synthesised kit (``style``, ``seed``)."""

    name: str
    soundfont: Path | None = None
    program: int = 0
    drum_channel: bool = True
    remap: dict[int, int] = field(default_factory=dict)
    style: str = ""
    seed: int = 0


@dataclass
class DrumClip:
    name: str
    duration_s: float
    hits: list[Note]  # GM keys, all in a class
    meta: dict


def train_kits(synth_seeds: int = 2) -> list[Kit]:
    """FluidR3_GM's GM kits, the avldrums.lv2 acoustic kits (when installed), the synthesised kits."""
    kits = [Kit(f"FluidR3_GM:{p}", SF2 / "FluidR3_GM.sf2", p) for p in GM_KIT_PROGRAMS]
    for avl in ("Black_Pearl_4_LV2.sf2", "Red_Zeppelin_4_LV2.sf2"):
        if (SF2 / avl).exists():
            kits.append(Kit(f"avldrums:{avl.split('_4_')[0]}", SF2 / avl, 0, False, dict(AVL_REMAP)))
    kits += [Kit(f"synth:{style}:{seed}", style=style, seed=seed)
             for style in SYNTH_STYLES for seed in range(synth_seeds)]  # fmt: skip
    return kits


def heldout_kits() -> list[Kit]:
    """TimGM6mb's and MuseScore_General's GM kits: never trained on."""
    return [Kit(f"TimGM6mb:{p}", SF2 / "TimGM6mb.sf2", p) for p in GM_KIT_PROGRAMS] + [
        Kit(f"MuseScore_General:{p}", SF3 / "MuseScore_General.sf3", p) for p in GM_KIT_PROGRAMS
    ]


def _vary_key(key: int, rng: random.Random, ride_for_hats: bool, tom_order: Sequence[int]) -> int | None:
    """A GM alternative of ``key`` for variety; None drops the hit."""
    if key in (35, 36):
        return rng.choice((35, 36))
    if key == 38 and rng.random() < 0.2:
        return 40
    if key in (42, 44) and ride_for_hats:
        return 51
    if key in _TOMS:
        return tom_order[_TOMS.index(key)]
    if key in _CRASHES:
        return rng.choice(_CRASHES)
    if key in _RIDES and rng.random() < 0.15:
        return rng.choice(_RIDES)
    return key if drum_class(key) else None


def make_clip(name: str, duration_s: float, rng: random.Random) -> DrumClip:
    """A random groove at a random tempo with extra class variety (see the module docstring)."""
    groove = rng.choice(list(GROOVES.values()))
    bpm = rng.uniform(70, 175)
    step_s = 60.0 / bpm / 4  # a 16th
    steps_per_bar = groove.meter[0] * 16 // groove.meter[1]
    bars = int(duration_s / (step_s * steps_per_bar)) + 2
    notes = drum_track(groove, bars, rng, fill_every=rng.choice((2, 4, 8)), crash_start=rng.random() < 0.5)
    ride_for_hats = rng.random() < 0.2
    tom_order = list(_TOMS)
    if rng.random() < 0.5:
        rng.shuffle(tom_order)
    steps = {(n.start, n.pitch) for n in notes}
    extra: list[tuple[int, int, int]] = []
    if rng.random() < 0.4:  # a tom run in some bars
        for bar in range(bars):
            if rng.random() < 0.35:
                for s in range(rng.randrange(steps_per_bar // 2), steps_per_bar, rng.choice((1, 2))):
                    extra.append((bar * steps_per_bar + s, rng.choice(_TOMS), rng.randint(60, 120)))
    if rng.random() < 0.4:  # crashes on downbeats
        extra += [(bar * steps_per_bar, rng.choice(_CRASHES), rng.randint(80, 125))
                  for bar in range(bars) if rng.random() < 0.4]  # fmt: skip
    swing = rng.choice((0.0, 0.0, 0.0, 0.1, 0.2)) * step_s
    offset_steps = rng.randrange(steps_per_bar)  # start anywhere in the first bar
    hits: list[Note] = []
    for start, length, key, velocity in [(n.start, n.duration, n.pitch, n.velocity) for n in notes] + [
        (s, 1, k, v) for s, k, v in extra if (s, k) not in steps
    ]:
        key = _vary_key(key, rng, ride_for_hats, tom_order)
        if key is None:
            continue
        t = (start - offset_steps) * step_s + (swing if start % 2 else 0.0) + rng.gauss(0.0, 0.004)
        if not 0.0 <= t < duration_s - 0.01:
            continue
        hits.append(Note(t, min(t + max(length, 1) * step_s, duration_s), key, max(1, min(127, velocity))))
    meta = {"groove": groove.name, "bpm": round(bpm, 1), "ride_for_hats": ride_for_hats}
    return DrumClip(name, duration_s, hits, meta)


def _class_notes(clip: DrumClip, kit: Kit) -> list[list[Note]]:
    per_class: list[list[Note]] = [[] for _ in DRUM_SOURCES]
    for note in clip.hits:
        key = kit.remap.get(note.pitch, note.pitch)
        per_class[DRUM_SOURCES.index(drum_class(key) or "")].append(Note(note.start_s, note.end_s, key, note.velocity))
    return per_class


def _render_soundfont(clips: Sequence[DrumClip], kit: Kit) -> np.ndarray:
    parts = [Part("drums", kit.program, notes, is_drum=kit.drum_channel)
             for clip in clips for notes in _class_notes(clip, kit)]  # fmt: skip
    audio = render_parts(parts, kit.soundfont, clips[0].duration_s)
    return audio.reshape(len(clips), len(DRUM_SOURCES), *audio.shape[1:])


def _render_synth(clips: Sequence[DrumClip], kit: Kit, registry: object) -> np.ndarray:
    from promptdaw.runtime.synthesis.instrument import NeuralInstrument

    instrument = NeuralInstrument(registry, kit.style, seed=kit.seed, drums=True)  # type: ignore[arg-type]
    n = round(clips[0].duration_s * SAMPLE_RATE)
    out = np.zeros((len(clips), len(DRUM_SOURCES), n, 2), np.float32)
    for c, clip in enumerate(clips):
        for s, notes in enumerate(_class_notes(clip, kit)):
            for note in notes:
                start = round(note.start_s * SAMPLE_RATE)
                sound = instrument.render_note(note.pitch, note.velocity, note.end_s - note.start_s, SAMPLE_RATE)
                take = min(sound.shape[0], n - start)
                out[c, s, start : start + take] += sound[:take]
    return out


def render_kit(clips: Sequence[DrumClip], kit: Kit, rng: np.random.Generator, *, registry: object = None,
               augment: bool = True) -> np.ndarray:  # fmt: skip
    """Sub-stems of each clip through ``kit``: float32 ``[clips, 5, samples, 2]``, drum peak -1..-7 dBFS."""
    stems = _render_synth(clips, kit, registry) if kit.style else _render_soundfont(clips, kit)
    part = Part("drums", 0, [], is_drum=True)
    for c in range(stems.shape[0]):
        if augment:
            for s in range(stems.shape[1]):
                if np.abs(stems[c, s]).max() > 0:
                    stems[c, s] = augment_part(stems[c, s], part, rng)
        set_mix_peak(stems[c], rng)
    return stems


def write_drum_dataset(
    kits: Sequence[Kit],
    clips_per_kit: int,
    duration_s: float,
    out_dir: Path,
    *,
    seed: int,
    registry: object = None,
    augment: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Render ``clips_per_kit`` new clips through each kit into ``out_dir`` (``stems.npy`` + ``clips.jsonl``)."""
    rng, np_rng = random.Random(seed), np.random.default_rng(seed)
    n = round(duration_s * SAMPLE_RATE)
    total = len(kits) * clips_per_kit
    with dataset_files(out_dir, (total, len(DRUM_SOURCES), n, 2)) as (stems, meta):
        for k, kit in enumerate(kits):
            clips = [make_clip(f"{kit.name}/{i}", duration_s, rng) for i in range(clips_per_kit)]
            first = k * clips_per_kit
            stems[first : first + clips_per_kit] = render_kit(clips, kit, np_rng, registry=registry, augment=augment)
            for clip in clips:
                meta.write(json.dumps({"name": clip.name, "kit": kit.name, "duration_s": duration_s,
                                       "hits": len(clip.hits), **clip.meta}) + "\n")  # fmt: skip
            log(f"rendered {kit.name}: {first + clips_per_kit}/{total} clips")
    return Path(out_dir)
