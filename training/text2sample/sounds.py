"""One-shot sounds rendered from General MIDI soundfonts: what to render and how.

``SOUNDFONT_PROGRAMS`` and ``DRUM_NOTES`` list the GM programs and percussion keys behind each
category, with the words people use for them. :func:`render_one_shots` plays each
:class:`OneShot` alone through FluidSynth (``training/stems/render.py``'s ``render_parts``) and
returns mono audio at the requested rate.

Training renders FluidR3_GM only; ``scripts/eval_sample.py`` renders the held-out soundfonts
(TimGM6mb, MuseScore General) with the same tables to train its judge. Nothing here imports
torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import soxr

from training.stems.arrange import Note, Part
from training.stems.render import SAMPLE_RATE as RENDER_RATE
from training.stems.render import render_parts

__all__ = ["DRUM_KITS", "DRUM_NOTES", "FX_PROGRAMS", "SOUNDFONT_PROGRAMS", "OneShot", "drum_shots", "fade_out",
           "family_shots", "melodic_shots", "render_family_shots", "render_one_shots"]  # fmt: skip


@dataclass(frozen=True)
class OneShot:
    """One note of one GM program (or drum kit) to render."""

    category: str
    names: tuple[str, ...]  # words for the sound, most specific first
    program: int
    pitch: int
    velocity: int
    gate_s: float
    is_drum: bool = False
    kit: str = ""


# (category, program, (low note, high note), names)
SOUNDFONT_PROGRAMS: tuple[tuple[str, int, tuple[int, int], tuple[str, ...]], ...] = (
    ("piano", 0, (36, 84), ("grand piano", "acoustic piano", "piano", "concert grand")),
    ("piano", 1, (40, 84), ("bright piano", "bright acoustic piano", "pop piano")),
    ("piano", 2, (40, 80), ("electric grand piano", "stage piano")),
    ("piano", 3, (45, 80), ("honky tonk piano", "saloon piano", "detuned piano")),
    ("keys", 4, (40, 80), ("electric piano", "rhodes", "e-piano", "ep keys")),
    ("keys", 5, (40, 84), ("fm electric piano", "dx7 piano", "fm keys")),
    ("keys", 6, (45, 84), ("harpsichord", "baroque keys")),
    ("keys", 7, (40, 76), ("clavinet", "clav", "funky clav")),
    ("keys", 16, (40, 76), ("drawbar organ", "hammond organ", "organ")),
    ("keys", 17, (40, 76), ("percussive organ", "organ stab")),
    ("keys", 18, (40, 76), ("rock organ", "overdriven organ")),
    ("keys", 19, (36, 72), ("church organ", "pipe organ", "cathedral organ")),
    ("bell", 8, (60, 96), ("celesta", "celeste", "twinkly celesta")),
    ("bell", 9, (72, 100), ("glockenspiel", "glock", "bell")),
    ("bell", 10, (60, 96), ("music box", "music box bell")),
    ("bell", 14, (55, 79), ("tubular bell", "chime", "church bell")),
    ("bell", 112, (67, 96), ("tinkle bell", "small bell")),
    ("mallet", 11, (53, 89), ("vibraphone", "vibes", "vibraphone mallet")),
    ("mallet", 12, (45, 84), ("marimba", "wooden marimba", "mallet")),
    ("mallet", 13, (60, 96), ("xylophone", "xylo")),
    ("mallet", 108, (55, 84), ("kalimba", "thumb piano", "mbira")),
    ("mallet", 114, (55, 84), ("steel drum", "steel pan", "caribbean steel drum")),
    ("pluck", 24, (40, 76), ("nylon guitar", "classical guitar", "acoustic guitar pluck")),
    ("pluck", 25, (40, 76), ("steel string guitar", "acoustic guitar", "folk guitar")),
    ("pluck", 27, (40, 79), ("clean electric guitar", "clean guitar pluck")),
    ("pluck", 45, (40, 84), ("pizzicato strings", "pizzicato", "plucked strings")),
    ("pluck", 46, (36, 88), ("harp", "concert harp", "harp pluck")),
    ("pluck", 105, (48, 79), ("banjo", "banjo pluck")),
    ("pluck", 107, (48, 84), ("koto", "japanese koto")),
    ("bass", 32, (28, 52), ("upright bass", "acoustic bass", "double bass")),
    ("bass", 33, (28, 55), ("finger bass", "electric bass", "bass guitar")),
    ("bass", 34, (28, 55), ("picked bass", "pick bass", "rock bass")),
    ("bass", 35, (28, 55), ("fretless bass", "fretless")),
    ("bass", 36, (28, 55), ("slap bass", "funk slap bass")),
    ("bass", 38, (28, 55), ("synth bass", "analog synth bass", "moog bass")),
    ("bass", 39, (28, 55), ("synth bass 2", "resonant synth bass", "electro bass")),
    ("strings", 40, (55, 88), ("violin", "solo violin", "fiddle")),
    ("strings", 41, (48, 79), ("viola", "solo viola")),
    ("strings", 42, (36, 69), ("cello", "solo cello", "violoncello")),
    ("strings", 44, (40, 79), ("tremolo strings", "string tremolo")),
    ("strings", 48, (36, 84), ("string ensemble", "string section", "orchestral strings", "strings")),
    ("strings", 49, (36, 84), ("slow strings", "legato strings", "soft string section")),
    ("strings", 50, (36, 84), ("synth strings", "string machine", "analog strings")),
    ("brass", 56, (55, 82), ("trumpet", "solo trumpet")),
    ("brass", 57, (40, 72), ("trombone", "tenor trombone")),
    ("brass", 58, (28, 55), ("tuba", "low brass")),
    ("brass", 59, (55, 79), ("muted trumpet", "harmon mute trumpet")),
    ("brass", 60, (41, 72), ("french horn", "horn", "orchestral horn")),
    ("brass", 61, (40, 79), ("brass section", "brass ensemble", "horn section", "brass stab")),
    ("brass", 62, (40, 79), ("synth brass", "analog brass", "brass synth")),
    ("brass", 63, (40, 79), ("synth brass 2", "jump brass", "80s brass")),
    ("lead", 80, (55, 88), ("square lead", "square wave lead", "chiptune lead")),
    ("lead", 81, (55, 88), ("saw lead", "sawtooth lead", "synth lead")),
    ("lead", 82, (60, 88), ("calliope lead", "whistle lead")),
    ("lead", 83, (60, 88), ("chiff lead", "breathy lead")),
    ("lead", 84, (50, 84), ("charang lead", "distorted lead", "guitar-like lead")),
    ("lead", 87, (40, 76), ("bass and lead", "fat lead")),
    ("pad", 88, (43, 79), ("new age pad", "fantasia pad")),
    ("pad", 89, (43, 79), ("warm pad", "analog pad", "soft pad")),
    ("pad", 90, (43, 79), ("polysynth pad", "poly synth")),
    ("pad", 91, (48, 79), ("choir pad", "vocal pad", "aahs pad")),
    ("pad", 92, (43, 79), ("bowed pad", "glass pad")),
    ("pad", 94, (43, 79), ("halo pad", "airy pad")),
    ("pad", 95, (43, 79), ("sweep pad", "swept pad")),
    ("riser", 119, (48, 72), ("reverse cymbal", "reversed cymbal swell", "cymbal riser")),
    ("impact", 127, (48, 72), ("gunshot", "shot impact", "hit impact")),
    ("noise sweep", 122, (48, 72), ("seashore", "ocean wash noise", "noise wash")),
    ("tom", 117, (36, 60), ("melodic tom", "electronic tom")),
    ("tom", 116, (36, 60), ("taiko drum", "taiko")),
)  # fmt: skip

# (category, GM percussion key, names)
DRUM_NOTES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("kick", 35, ("acoustic kick", "bass drum", "kick drum")),
    ("kick", 36, ("kick", "kick drum", "bass drum")),
    ("snare", 38, ("snare", "snare drum", "acoustic snare")),
    ("snare", 40, ("electric snare", "snare", "snare hit")),
    ("clap", 39, ("clap", "hand clap", "handclap")),
    ("closed hat", 42, ("closed hi-hat", "closed hat", "hi-hat")),
    ("closed hat", 44, ("pedal hi-hat", "closed hat", "hat chick")),
    ("open hat", 46, ("open hi-hat", "open hat", "open hihat")),
    ("cymbal", 49, ("crash cymbal", "crash", "cymbal crash")),
    ("cymbal", 57, ("crash cymbal", "crash", "cymbal")),
    ("cymbal", 51, ("ride cymbal", "ride", "ride hit")),
    ("cymbal", 52, ("china cymbal", "china crash", "trashy cymbal")),
    ("cymbal", 55, ("splash cymbal", "splash", "cymbal splash")),
    ("tom", 41, ("low floor tom", "floor tom", "low tom")),
    ("tom", 43, ("high floor tom", "floor tom", "tom")),
    ("tom", 45, ("low tom", "tom", "rack tom")),
    ("tom", 47, ("low mid tom", "mid tom", "tom")),
    ("tom", 48, ("high mid tom", "mid tom", "rack tom")),
    ("tom", 50, ("high tom", "tom", "rack tom")),
    ("percussion", 37, ("side stick", "rimshot", "rim click")),
    ("percussion", 54, ("tambourine", "tamb", "tambourine hit")),
    ("percussion", 56, ("cowbell", "cow bell")),
    ("percussion", 60, ("high bongo", "bongo")),
    ("percussion", 61, ("low bongo", "bongo")),
    ("percussion", 62, ("muted conga", "conga slap", "conga")),
    ("percussion", 63, ("open conga", "high conga", "conga")),
    ("percussion", 64, ("low conga", "conga")),
    ("percussion", 65, ("high timbale", "timbale")),
    ("percussion", 69, ("cabasa", "shaker")),
    ("percussion", 70, ("maracas", "shaker", "maraca")),
    ("percussion", 75, ("claves", "clave")),
    ("percussion", 76, ("high wood block", "woodblock", "wood block")),
    ("percussion", 77, ("low wood block", "woodblock")),
    ("percussion", 80, ("mute triangle", "triangle")),
    ("percussion", 81, ("open triangle", "triangle", "triangle ring")),
)  # fmt: skip

#: Drum kits (bank 128 programs) with words for them; the percussion keys only from the first.
DRUM_KITS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (0, "standard", ("acoustic", "studio", "live")),
    (8, "room", ("roomy", "live room", "ambient")),
    (16, "power", ("big", "rock", "powerful")),
    (24, "electronic", ("electronic", "drum machine", "synth")),
    (25, "tr-808", ("808", "tr-808", "drum machine", "trap")),
    (32, "jazz", ("jazz", "vintage", "soft")),
    (40, "brush", ("brushed", "brush", "jazz brush")),
)  # fmt: skip

#: Seconds a note is held, by category (drums get a short trigger).
GATE_S = {"pad": 0.75, "strings": 0.7, "brass": 0.6, "lead": 0.6, "riser": 0.9, "noise sweep": 0.9}
DEFAULT_GATE_S = 0.5
DRUM_GATE_S = 0.15


def _spread(low: int, high: int, count: int) -> list[int]:
    return sorted({round(float(x)) for x in np.linspace(low, high, count)})


def melodic_shots(notes_per_program: int, velocities: Sequence[int],
                  programs: Sequence[tuple[str, int, tuple[int, int], tuple[str, ...]]] = SOUNDFONT_PROGRAMS,
                  ) -> list[OneShot]:  # fmt: skip
    shots = []
    for category, program, (low, high), names in programs:
        for pitch in _spread(low, high, notes_per_program):
            for velocity in velocities:
                gate = GATE_S.get(category, DEFAULT_GATE_S)
                shots.append(OneShot(category, names, program, pitch, velocity, gate))
    return shots


def drum_shots(velocities: Sequence[int], kits: Sequence[tuple[int, str, tuple[str, ...]]] = DRUM_KITS,
               available_kits: set[int] | None = None) -> list[OneShot]:  # fmt: skip
    """Every kit piece of every kit; percussion (one sound for all kits) from the first kit only."""
    shots = []
    for index, (program, kit, _) in enumerate(kits):
        if available_kits is not None and program not in available_kits:
            continue
        for category, key, names in DRUM_NOTES:
            if category == "percussion" and index > 0:
                continue
            for velocity in velocities:
                shots.append(OneShot(category, names, program, key, velocity, DRUM_GATE_S, True, kit))
    return shots


def render_one_shots(
    shots: Sequence[OneShot],
    soundfont,
    *,
    duration_s: float,
    sample_rate: int,
    batch: int = 48,
    log: Callable[[str], None] = lambda line: None,
) -> np.ndarray:
    """Mono float32 ``[len(shots), duration_s * sample_rate]``, each shot alone from t = 0."""
    n = round(duration_s * sample_rate)
    out = np.zeros((len(shots), n), np.float32)
    for first in range(0, len(shots), batch):
        chunk = shots[first : first + batch]
        parts = [Part("other", s.program, [Note(0.0, s.gate_s, s.pitch, s.velocity)], is_drum=s.is_drum)
                 for s in chunk]  # fmt: skip
        audio = render_parts(parts, soundfont, duration_s).mean(axis=2)
        if sample_rate != RENDER_RATE:
            audio = soxr.resample(audio.T, RENDER_RATE, sample_rate).T
        out[first : first + len(chunk)] = audio[:, :n]
        log(f"rendered {min(first + batch, len(shots))}/{len(shots)} one-shots")
    return out


# ------------------------------------------------------------------------ listening sets

#: More sound-effect programs for the "fx" family of listening sets (GM 96-103 synth effects,
#: 119-127 sound effects): the generator's own few effects are risers, impacts and sweeps.
FX_PROGRAMS = (
    ("fx", 96, (48, 72), ("rain",)), ("fx", 97, (48, 72), ("soundtrack",)), ("fx", 99, (48, 72), ("atmosphere",)),
    ("fx", 101, (48, 72), ("goblins",)), ("fx", 102, (48, 72), ("echoes",)), ("fx", 103, (48, 72), ("sci-fi",)),
    ("fx", 119, (36, 72), ("reverse cymbal",)), ("fx", 120, (40, 70), ("fret noise",)),
    ("fx", 121, (48, 72), ("breath noise",)), ("fx", 122, (36, 72), ("seashore",)),
    ("fx", 125, (36, 72), ("helicopter",)), ("fx", 126, (48, 72), ("applause",)), ("fx", 127, (36, 72), ("gunshot",)),
)  # fmt: skip


def family_shots(*, smoke: bool = False) -> tuple[list[OneShot], list[str]]:
    """What a listener (the evaluation judge, the sample critic) learns families from, and their families.

    Each family's GM programs at five notes and three velocities held for 0.3-2.2 s, the GM
    sound effects for ``fx``, and every kit piece: the same list every time (fixed seed), so
    a listener trained on another soundfont hears the same notes. A ``smoke`` list (for CI
    runs) has three programs and one kit.
    """
    from promptdaw.runtime.synthesis.constants import CATEGORY_FAMILY

    rng = np.random.default_rng(7)
    programs = [(c, p, r, n) for c, p, r, n in SOUNDFONT_PROGRAMS if c not in ("riser", "impact", "noise sweep")]
    fx = melodic_shots(3, (100,), FX_PROGRAMS)
    if smoke:
        programs, fx = programs[:3], []
    shots: list[OneShot] = []
    for shot in melodic_shots(5, (60, 100, 120), programs) + fx:
        gate = shot.gate_s if shot.category == "fx" else float(rng.choice((0.3, 0.8, 1.6, 2.2)))
        shots.append(OneShot(shot.category, shot.names, shot.program, shot.pitch, shot.velocity, gate))
    shots += drum_shots((60, 100, 127), DRUM_KITS[:1] if smoke else DRUM_KITS)
    families = [s.category if s.category == "fx" else CATEGORY_FAMILY[s.category] for s in shots]
    return shots, families


def render_family_shots(
    soundfont,
    shots: Sequence[OneShot],
    families: Sequence[str],
    *,
    duration_s: float,
    sample_rate: int,
    log: Callable[[str], None] = lambda line: None,
) -> tuple[np.ndarray, list[str]]:
    """Render a listening set with ``soundfont``: (mono audio of the audible renders, their families).

    Kit pieces of kits the soundfont lacks are left out (FluidSynth would play the standard kit)."""
    from training.stems.render import soundfont_presets

    try:
        kits: set[int] | None = {program for bank, program, _ in soundfont_presets(soundfont) if bank == 128}
    except ValueError:
        kits = None
    keep = [i for i, s in enumerate(shots) if not s.is_drum or kits is None or s.program in kits]
    log(f"rendering {len(keep)} one-shots from {getattr(soundfont, 'name', soundfont)}")
    audio = render_one_shots([shots[i] for i in keep], soundfont, duration_s=duration_s, sample_rate=sample_rate,
                             batch=150, log=log)  # fmt: skip
    loud = [j for j in range(len(keep)) if np.abs(audio[j]).max() > 1e-4]
    return audio[loud], [families[keep[j]] for j in loud]


def fade_out(audio: np.ndarray, length: int, sample_rate: int) -> np.ndarray:
    """The first ``length`` samples, faded out over the last 20 ms (a one-shot cut short)."""
    cut = audio[:length].copy()
    fade = min(len(cut), round(0.02 * sample_rate))
    cut[len(cut) - fade :] *= np.linspace(1.0, 0.0, fade, dtype=cut.dtype)
    return cut
