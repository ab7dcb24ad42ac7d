"""Render arranged clips to per-stem audio with FluidSynth, augment, and store a data set.

Rendering: every part of a batch of clips is laid out one after another on a single "render
sheet" MIDI file (one slot per part, with a silent tail so releases never leak into the next
slot) and rendered by one ``fluidsynth`` process, so the soundfont is loaded once per batch.
The sheet uses 22,050 ticks per beat at 120 bpm, so one tick is exactly one sample at 44.1 kHz
and slots cut out at sample-exact offsets. FluidSynth's own reverb and chorus are off: effects
come from the augmentation, per part, where they belong to that part's stem.

Augmentation per part (pedalboard): random level, EQ (high-pass, shelves, a peak), compression,
occasional drive, reverb, and a random pan position. Tempo and pitch changes and part dropout
happen in the arrangement (``arrange.py``), at the MIDI level, where they cost nothing and add
no artefacts. The mixture is always the exact sum of its stems.

A data set is a folder with ``stems.npy`` (float16, ``[clips, 4, samples, 2]``, stems in
``ROLES`` order) and ``clips.jsonl`` (one line per clip: piece, parts, programs, tempo, ...).
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

import mido
import numpy as np
from pedalboard import (
    Compressor,
    Distortion,
    Gain,
    HighpassFilter,
    HighShelfFilter,
    LowShelfFilter,
    PeakFilter,
    Pedalboard,
    Reverb,
)

from promptdaw.core.music.gm import DRUM_CHANNEL
from training.stems.arrange import ROLES, Clip, Part

__all__ = [
    "FLUIDR3_GM",
    "SAMPLE_RATE",
    "TIMGM6MB",
    "augment_part",
    "dataset_files",
    "load_dataset",
    "render_clips",
    "render_parts",
    "set_mix_peak",
    "soundfont_presets",
    "write_dataset",
]

SAMPLE_RATE = 44100
FLUIDR3_GM = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
TIMGM6MB = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
#: Silence after each slot so releases die out before the next part starts.
TAIL_S = 1.5
#: FluidSynth's master gain: loud enough for quiet parts, float output so nothing clips.
FLUIDSYNTH_GAIN = 0.5
_TICKS_PER_BEAT = SAMPLE_RATE // 2  # at 120 bpm (500,000 us per beat) a tick is one sample
_TEMPO_US = 500_000
_MELODIC_CHANNELS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15)


def soundfont_presets(path: Path) -> list[tuple[int, int, str]]:
    """``(bank, program, name)`` of every preset in an SF2 file (read from its ``phdr`` chunk).

    Raises:
        ValueError: the file is not a SoundFont 2 file.
    """
    data = Path(path).read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        raise ValueError(f"{path} is not a SoundFont 2 file")
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"LIST" and data[pos + 8 : pos + 12] == b"pdta":
            sub = pos + 12
            while sub < pos + 8 + size:
                name, sub_size = data[sub : sub + 4], struct.unpack("<I", data[sub + 4 : sub + 8])[0]
                if name == b"phdr":
                    records = [data[sub + 8 + 38 * i : sub + 8 + 38 * (i + 1)] for i in range(sub_size // 38 - 1)]
                    return sorted(
                        (struct.unpack("<H", r[22:24])[0], struct.unpack("<H", r[20:22])[0],
                         r[:20].split(b"\0")[0].decode("latin-1"))
                        for r in records
                    )  # fmt: skip
                sub += 8 + sub_size + (sub_size & 1)
        pos += 8 + size + (size & 1)
    raise ValueError(f"{path} has no preset headers")


def _sheet(parts: Sequence[Part], slot_samples: int, clip_samples: int) -> mido.MidiFile:
    """One MIDI file playing ``parts`` one per slot, ticks = samples."""
    events: list[tuple[int, int, mido.Message]] = []  # (time, order, message); note-offs first
    for index, part in enumerate(parts):
        base = index * slot_samples
        channel = DRUM_CHANNEL if part.is_drum else _MELODIC_CHANNELS[index % len(_MELODIC_CHANNELS)]
        setup = [
            mido.Message("control_change", channel=channel, control=121, value=0),
            mido.Message("control_change", channel=channel, control=7, value=100),
            mido.Message("control_change", channel=channel, control=10, value=64),
            mido.Message("control_change", channel=channel, control=91, value=0),
            mido.Message("control_change", channel=channel, control=93, value=0),
            mido.Message("program_change", channel=channel, program=part.program),
        ]
        events += [(base, 0, m) for m in setup]
        for note in part.notes:
            on = base + min(round(note.start_s * SAMPLE_RATE), clip_samples - 2)
            off = base + min(max(round(note.end_s * SAMPLE_RATE), on - base + 1), clip_samples - 1)
            events.append((on, 2, mido.Message("note_on", channel=channel, note=note.pitch, velocity=note.velocity)))
            events.append((off, 1, mido.Message("note_off", channel=channel, note=note.pitch, velocity=0)))
        events.append((base + clip_samples, 1, mido.Message("control_change", channel=channel, control=123, value=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    midi = mido.MidiFile(ticks_per_beat=_TICKS_PER_BEAT)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=_TEMPO_US, time=0))
    now = 0
    for time, _, message in events:
        track.append(message.copy(time=time - now))
        now = time
    track.append(mido.MetaMessage("end_of_track", time=len(parts) * slot_samples - now))
    return midi


def render_parts(parts: Sequence[Part], soundfont: Path, duration_s: float) -> np.ndarray:
    """Render each part alone: float32 ``[len(parts), samples, 2]`` at 44.1 kHz.

    Raises:
        RuntimeError: ``fluidsynth`` is missing or failed (its last line of output is quoted).
    """
    if shutil.which("fluidsynth") is None:
        raise RuntimeError("fluidsynth is not installed (Debian: apt-get install fluidsynth)")
    clip_samples = round(duration_s * SAMPLE_RATE)
    slot_samples = -(-(clip_samples + int(TAIL_S * SAMPLE_RATE)) // 64) * 64
    with tempfile.TemporaryDirectory(prefix="promptdaw-render-") as tmp:
        sheet, raw = Path(tmp) / "sheet.mid", Path(tmp) / "out.raw"
        _sheet(parts, slot_samples, clip_samples).save(str(sheet))
        command = ["fluidsynth", "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", str(FLUIDSYNTH_GAIN),
                   "-r", str(SAMPLE_RATE), "-O", "float", "-T", "raw", "-E", "little",
                   "-o", "synth.cpu-cores=1", "-F", str(raw), str(soundfont), str(sheet)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not raw.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"fluidsynth failed ({done.returncode}): {tail[0]}")
        audio = np.fromfile(raw, dtype="<f4").reshape(-1, 2)
    out = np.zeros((len(parts), clip_samples, 2), np.float32)
    for index in range(len(parts)):
        piece = audio[index * slot_samples : index * slot_samples + clip_samples]
        out[index, : len(piece)] = piece
    return out


def augment_part(audio: np.ndarray, part: Part, rng: np.random.Generator) -> np.ndarray:
    """A random effects chain, level and pan for one rendered part ``[samples, 2]``."""
    effects = []
    if rng.random() < 0.3:
        effects.append(HighpassFilter(float(rng.uniform(20, 45 if part.role == "bass" else 150))))
    if rng.random() < 0.5:
        effects.append(LowShelfFilter(float(rng.uniform(60, 300)), float(rng.uniform(-6, 6)), 0.7))
    if rng.random() < 0.5:
        effects.append(PeakFilter(float(np.exp(rng.uniform(np.log(150), np.log(6000)))), float(rng.uniform(-8, 8)),
                                  float(rng.uniform(0.5, 2.0))))  # fmt: skip
    if rng.random() < 0.5:
        effects.append(HighShelfFilter(float(rng.uniform(2500, 10000)), float(rng.uniform(-9, 6)), 0.7))
    if rng.random() < 0.4:
        effects.append(Compressor(float(rng.uniform(-30, -10)), float(rng.uniform(2, 8)), float(rng.uniform(1, 30)),
                                  float(rng.uniform(50, 300))))  # fmt: skip
    if part.role in ("bass", "other") and rng.random() < 0.1:
        effects.append(Distortion(float(rng.uniform(4, 18))))
    if rng.random() < 0.5:
        wet = float(rng.uniform(0.05, 0.35))
        effects.append(Reverb(room_size=float(rng.uniform(0.1, 0.9)), damping=float(rng.uniform(0.2, 0.8)),
                              wet_level=wet, dry_level=1.0 - wet, width=float(rng.uniform(0.5, 1.0))))  # fmt: skip
    effects.append(Gain(float(rng.uniform(-10, 3))))
    processed = Pedalboard(effects)(np.ascontiguousarray(audio.T), SAMPLE_RATE).T
    if not part.is_drum and part.role != "bass":
        angle = float(np.clip(rng.normal(0.5, 0.18), 0.05, 0.95)) * np.pi / 2
        processed = processed * np.array([np.cos(angle), np.sin(angle)], np.float32) * np.sqrt(2)
    return processed.astype(np.float32)


def render_clips(
    clips: Sequence[Clip], soundfont: Path, rng: np.random.Generator, *, augment: bool = True
) -> np.ndarray:
    """Stems of each clip: float32 ``[len(clips), 4, samples, 2]``, mixture peak at -1..-7 dBFS."""
    duration_s = clips[0].duration_s
    parts = [part for clip in clips for part in clip.parts]
    rendered = render_parts(parts, soundfont, duration_s)
    stems = np.zeros((len(clips), len(ROLES), rendered.shape[1], 2), np.float32)
    index = 0
    for c, clip in enumerate(clips):
        for part in clip.parts:
            audio = augment_part(rendered[index], part, rng) if augment else rendered[index]
            stems[c, ROLES.index(part.role)] += audio
            index += 1
        set_mix_peak(stems[c], rng)
    return stems


def set_mix_peak(stems: np.ndarray, rng: np.random.Generator) -> None:
    """Scale one clip's stems ``[sources, n, 2]`` so their sum peaks at a random -7..-1 dBFS."""
    peak = float(np.abs(stems.sum(axis=0)).max())
    if peak > 0:
        stems *= 10 ** (rng.uniform(-7, -1) / 20) / peak


@contextmanager
def dataset_files(out_dir: Path, shape: tuple[int, ...]) -> Iterator[tuple[np.ndarray, TextIO]]:
    """A data set's ``stems.npy`` (float16 memmap of ``shape``) and ``clips.jsonl`` (one JSON record
    per clip) to fill; both appear under their names only once the block completes."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / "stems.npy.part"
    stems = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float16, shape=shape)
    with open(out_dir / "clips.jsonl.part", "w") as meta:
        yield stems, meta
    stems.flush()
    del stems
    partial.replace(out_dir / "stems.npy")
    (out_dir / "clips.jsonl.part").replace(out_dir / "clips.jsonl")


def write_dataset(
    clips: Sequence[Clip],
    soundfont: Path,
    out_dir: Path,
    *,
    seed: int,
    batch_clips: int = 8,
    augment: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Render ``clips`` (all of one duration) into ``out_dir`` as ``stems.npy`` + ``clips.jsonl``."""
    rng = np.random.default_rng(seed)
    n_samples = round(clips[0].duration_s * SAMPLE_RATE)
    with dataset_files(out_dir, (len(clips), 4, n_samples, 2)) as (stems, meta):
        for first in range(0, len(clips), batch_clips):
            batch = clips[first : first + batch_clips]
            stems[first : first + len(batch)] = render_clips(batch, soundfont, rng, augment=augment)
            for clip in batch:
                record = {"name": clip.name, "piece": clip.piece, "duration_s": clip.duration_s,
                          "soundfont": Path(soundfont).name, **clip.meta,
                          "parts": [{k: v for k, v in asdict(p).items() if k != "notes"} | {"notes": len(p.notes)}
                                    for p in clip.parts]}  # fmt: skip
                meta.write(json.dumps(record) + "\n")
            log(f"rendered {min(first + batch_clips, len(clips))}/{len(clips)} clips")
    return Path(out_dir)


def load_dataset(directory: Path) -> tuple[np.ndarray, list[dict]]:
    """``(stems memmap [clips, 4, samples, 2] float16, clip records)`` of a rendered data set."""
    directory = Path(directory)
    stems = np.load(directory / "stems.npy", mmap_mode="r")
    records = [json.loads(line) for line in (directory / "clips.jsonl").read_text().splitlines() if line]
    return stems, records
