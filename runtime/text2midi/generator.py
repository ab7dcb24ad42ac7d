"""Text-to-MIDI generation: the trained step network plus constrained sampling.

The network proposes, step by step and for every part at once, which pitches start and
which keep sounding. The sampler enforces what the prompt fixed and what each role needs:
exact length and meter, per-role pitch ranges, scale and chord-tone masks, monophony for
bass, melody and arp, full chords (with the symbol's required tones) at chord changes.
Steps of an existing clip can be *forced* (kept as they are while the network listens),
which is how variation, continuation and regeneration of one part or bar range work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from promptdaw.core.clip import Clip, ClipNote, ClipTrack
from promptdaw.core.music.spec import MusicSpec
from promptdaw.core.music.theory import key_profile, scale_pitch_classes
from promptdaw.runtime.onnx import OnnxModel
from promptdaw.runtime.text2midi.features import (
    N_PITCHES,
    ROLE_BASE,
    Context,
    beat_steps,
    static_features,
    tonic_shift,
)
from promptdaw.runtime.text2midi.harmony import StepChord, chords_per_step, sample_progression

__all__ = ["MidiGenerator", "RoleRules"]

Progress = Callable[[float], None]


@dataclass(frozen=True)
class RoleRules:
    low: int  # lowest MIDI pitch allowed
    high: int  # highest MIDI pitch allowed
    monophonic: bool
    pitches: str  # "drums", "chord" (chord tones only), "scale" (scale + chord tones), "bass"
    temperature: float = 0.85


RULES = {
    "drums": RoleRules(35, 83, False, "drums", 1.0),
    "bass": RoleRules(28, 54, True, "bass"),
    "chords": RoleRules(48, 79, False, "chord"),
    "pad": RoleRules(48, 81, False, "chord"),
    "melody": RoleRules(60, 88, True, "scale"),
    "arp": RoleRules(55, 86, True, "chord"),
}
MIN_CHORD_VOICES, MAX_CHORD_VOICES = 3, 5
DRUM_FLOOR = 0.04  # drum probabilities below this are noise, not grooves
ARP_EIGHTH_FLOOR = 1.0  # an arpeggiator plays every 8th (16ths are the network's choice)
KICK = 36  # GM bass drum 1
#: How strongly lines lean towards the key's stable tones (tonic, fifth, third).
KEY_BIAS_POWER = 1.0
SOLO_KEY_BIAS_POWER = 2.5


@dataclass
class Forced:
    """Steps of one part taken from an existing clip instead of sampled."""

    mask: np.ndarray  # [T] bool
    notes: list[ClipNote]


class MidiGenerator:
    """Generates clips with the ``text2midi`` model; ``config`` is the model's config.json."""

    def __init__(self, model: OnnxModel, config: dict) -> None:
        self.model = model
        stats = config["stats"]
        self.genres: list[str] = stats["genres"]
        self.harmony: dict = stats["harmony"]
        self.layers = int(config["model"]["layers"])
        self.hidden = int(config["model"]["hidden"])

    # ------------------------------------------------------------------ operations

    def generate(self, spec: MusicSpec, progress: Progress | None = None) -> Clip:
        """A new clip for ``spec`` (deterministic for its seed)."""
        rng = np.random.default_rng(spec.seed)
        return self._decode(spec, self._chords(spec, rng), {}, rng, progress)

    def vary(self, clip: Clip, keep: float, seed: int, progress: Progress | None = None) -> Clip:
        """Same spec, new seed; each (part, bar) of ``clip`` is kept with probability ``keep``."""
        spec = replace(clip.spec, seed=seed)
        rng = np.random.default_rng(seed)
        spb = spec.steps_per_bar
        forced = {}
        for track in clip.tracks:
            kept_bars = rng.random(spec.bars) < keep
            forced[track.role] = Forced(np.repeat(kept_bars, spb), track.notes)
        return self._decode(spec, self._chords(spec, rng, clip), forced, rng, progress)

    def extend(self, clip: Clip, bars: int, seed: int, progress: Progress | None = None) -> Clip:
        """``clip`` followed by ``bars`` new bars in its style, key and meter."""
        old_steps = clip.steps
        spec = replace(clip.spec, bars=clip.spec.bars + bars, seed=seed)
        rng = np.random.default_rng(seed)
        mask = np.arange(spec.bars * spec.steps_per_bar) < old_steps
        forced = {t.role: Forced(mask, t.notes) for t in clip.tracks}
        return self._decode(spec, self._chords(spec, rng, clip), forced, rng, progress)

    def regenerate(
        self, clip: Clip, roles: Sequence[str], bar_range: tuple[int, int], seed: int, progress: Progress | None = None
    ) -> Clip:
        """New notes for ``roles`` in bars ``[start, stop)``; everything else stays exactly as it was."""
        spec = replace(clip.spec, seed=seed)
        rng = np.random.default_rng(seed)
        steps = np.arange(clip.steps)
        start, stop = bar_range[0] * spec.steps_per_bar, bar_range[1] * spec.steps_per_bar
        redo = (steps >= start) & (steps < stop)
        forced = {t.role: Forced(~redo if t.role in roles else np.ones_like(redo), t.notes) for t in clip.tracks}
        return self._decode(spec, self._chords(spec, rng, clip), forced, rng, progress)

    # ------------------------------------------------------------------ decoding

    def _chords(self, spec: MusicSpec, rng: np.random.Generator, clip: Clip | None = None) -> list[StepChord]:
        if spec.chords:
            return chords_per_step(spec)
        symbols = sample_progression(spec, self.harmony, rng)
        if clip is not None and clip.spec.chords:
            return chords_per_step(replace(spec, chords=clip.spec.chords))
        return chords_per_step(spec, symbols)

    def _static(self, spec: MusicSpec, role: str, chords: list[StepChord]) -> np.ndarray:
        tonic = spec.key_tonic
        rel = [((root - tonic) % 12, tuple(sorted({(pc - tonic) % 12 for pc in pcs}))) for root, pcs, _ in chords]
        ctx = Context(
            role=role,
            meter=spec.meter,
            bars=spec.bars,
            mode=spec.key_mode,
            genre_index=self.genres.index(spec.genre) if spec.genre in self.genres else None,
            n_genres=len(self.genres),
            density=spec.density,
            bpm=spec.bpm,
            chords=rel,
        )
        return static_features(ctx)

    def _decode(
        self,
        spec: MusicSpec,
        chords: list[StepChord],
        forced: dict[str, Forced],
        rng: np.random.Generator,
        progress: Progress | None,
    ) -> Clip:
        parts = list(spec.parts)
        roles = [p.role for p in parts]
        total = spec.bars * spec.steps_per_bar
        static = np.stack([self._static(spec, role, chords) for role in roles], axis=1)  # [T, B, S]
        pitches = [self._window_pitches(spec, role) for role in roles]
        allowed = self._allowed(spec, roles, chords, pitches)  # [T, B, P]
        forced_rolls = {role: self._forced_roll(f, pitches[roles.index(role)], total) for role, f in forced.items()
                        if role in roles}  # fmt: skip
        change = np.array([t == 0 or chords[t][:2] != chords[t - 1][:2] for t in range(total)])
        accents = self._accents(spec)

        state = np.zeros((self.layers, len(parts), self.hidden), np.float32)
        prev = np.zeros((len(parts), 2 * N_PITCHES), np.float32)
        active: list[dict[int, tuple[int, int]]] = [{} for _ in parts]  # window index -> (start, velocity)
        notes: list[list[ClipNote]] = [[] for _ in parts]
        drums = np.array([RULES[r].pitches == "drums" for r in roles])
        last_pc: list[int | None] = [None] * len(parts)
        # A line heard alone (no other pitched part) must state the key by itself: lean harder.
        solo = sum(RULES[r].pitches != "drums" for r in roles) == 1
        power = SOLO_KEY_BIAS_POWER if solo else KEY_BIAS_POWER
        bias = np.stack([self._key_bias(spec, role, pitches[b], power) for b, role in enumerate(roles)])
        kick_steps = set(beat_steps(spec.meter)) if "four_on_the_floor" in spec.idioms else set()
        for t in range(total):
            out = self.model.run({"static": static[t], "prev_roll": prev, "state": state})
            onset_p, sustain_p, state = out["onset"], out["sustain"], out["state"]
            # Everything random for this step, for all parts at once: numpy per part is slow.
            p = onset_p * allowed[t] * bias
            # Drums: sharpen (temperature 0.5) so a groove's strong hits always land; drop noise.
            sharp = p[drums] ** 2 / (p[drums] ** 2 + (1 - p[drums]) ** 2)
            p[drums] = np.where(p[drums] >= DRUM_FLOOR, sharp, 0.0)
            p_any = 1 - np.prod(1 - np.minimum(p, 0.999), axis=1)
            uniform = rng.random((len(parts), 2 * N_PITCHES + 2))
            jitter = rng.integers(-4, 5, (len(parts), N_PITCHES))
            velocity = np.clip(48 + 55 * onset_p + accents[t % spec.steps_per_bar] + jitter, 1, 127).astype(int)
            prev = np.zeros_like(prev)
            for b, role in enumerate(roles):
                if role in forced_rolls and forced_rolls[role][0][t]:
                    _, onset_roll, sounding_roll, velocity_roll = forced_rolls[role]
                    starts = np.flatnonzero(onset_roll[t])
                    holds = np.flatnonzero(sounding_roll[t] & ~onset_roll[t])
                    self._apply(active[b], notes[b], pitches[b], t, starts, holds, velocity_roll[t])
                else:
                    chance = float(p_any[b])
                    if role == "arp" and t % 2 == 0:
                        chance = max(chance, ARP_EIGHTH_FLOOR)  # an arpeggiator keeps its rate
                    starts, holds = self._sample(
                        role, p[b], chance, sustain_p[b], allowed[t, b], chords[t], pitches[b], active[b],
                        bool(change[t]), uniform[b], rng, last_pc[b],
                    )  # fmt: skip
                    if len(starts):
                        last_pc[b] = int(pitches[b][starts[-1]]) % 12
                    if role == "drums" and t % spec.steps_per_bar in kick_steps:
                        starts = np.union1d(starts, [KICK - ROLE_BASE["drums"]])
                    self._apply(active[b], notes[b], pitches[b], t, starts, holds, velocity[b])
                # What the network hears next step: this step's onsets, then everything sounding.
                for i, (start, _) in active[b].items():
                    prev[b, N_PITCHES + i] = 1.0
                    if start == t:
                        prev[b, i] = 1.0
            if progress is not None and (t + 1) % spec.steps_per_bar == 0:
                progress((t + 1) / total)
        for b in range(len(parts)):
            self._apply(active[b], notes[b], pitches[b], total, np.array([], int), np.array([], int), None)
        tracks = [ClipTrack(p.role, p.program, p.name, sorted(n, key=lambda x: (x.start, x.pitch)))
                  for p, n in zip(parts, notes, strict=True)]  # fmt: skip
        return Clip(spec, tracks)

    @staticmethod
    def _apply(
        active: dict[int, tuple[int, int]],
        notes: list[ClipNote],
        pitches: np.ndarray,
        t: int,
        starts: np.ndarray,
        holds: np.ndarray,
        velocity: np.ndarray | None,
    ) -> None:
        """End notes that neither hold nor restart at step ``t``; start the new ones."""
        keep = set(holds.tolist()) - set(starts.tolist())
        for index in list(active):
            if index not in keep:
                start, vel = active.pop(index)
                notes.append(ClipNote(start, t - start, int(pitches[index]), vel))
        for index in starts.tolist():
            active[index] = (t, int(velocity[index]) if velocity is not None else 90)

    # ------------------------------------------------------------------ sampling

    def _sample(
        self,
        role: str,
        p: np.ndarray,
        p_any: float,
        sustain_p: np.ndarray,
        allowed: np.ndarray,
        chord: StepChord,
        pitches: np.ndarray,
        active: dict[int, tuple[int, int]],
        chord_change: bool,
        uniform: np.ndarray,
        rng: np.random.Generator,
        last_pc: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Onsets and held notes of one part at one step.

        ``p`` is the onset probability already masked to what the role may play here,
        ``p_any`` the chance that at least one of them starts, ``uniform`` this part's draws.
        """
        rules = RULES[role]
        none = np.array([], int)
        if rules.pitches == "drums":
            return np.flatnonzero(uniform[:N_PITCHES] < p), none
        hold_draws = uniform[N_PITCHES : 2 * N_PITCHES]
        holds = np.array([i for i in active if allowed[i] and hold_draws[i] < sustain_p[i]], dtype=int)
        decide = uniform[-1]
        if rules.monophonic:
            if role == "arp" and last_pc is not None:
                # A broken chord moves on: never the pitch class just played, in any octave.
                moved = np.where(pitches % 12 == last_pc, 0.0, p)
                p = moved if moved.sum() > 0 else p
            if role == "bass" and chord_change:
                p = p * np.where(pitches % 12 == chord[0], 4.0, 1.0)  # land on the root at a change
                p_any = 1 - float(np.prod(1 - np.minimum(p, 0.999)))
            if decide < p_any:
                weights = p ** (1 / rules.temperature)
                total = weights.sum()
                if total > 0:
                    return np.array([int(np.searchsorted(np.cumsum(weights), uniform[-2] * total))]), none
            return none, holds[:1]
        if not (chord_change or decide < p_any):
            return none, holds
        return self._voicing(p, allowed, chord, pitches, rng), none

    @staticmethod
    def _voicing(p: np.ndarray, allowed: np.ndarray, chord: StepChord, pitches: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:  # fmt: skip
        """Pitches struck together: the network's choice, completed to a full chord."""
        peak = p.max() if p.max() > 0 else 1.0
        chosen = set(np.flatnonzero(rng.random(N_PITCHES) < (p / peak) ** 1.5).tolist())
        candidates = np.flatnonzero(allowed)
        for pc in chord[2]:  # every required tone sounds
            if not any(pitches[i] % 12 == pc for i in chosen):
                of_pc = [i for i in candidates if pitches[i] % 12 == pc]
                if of_pc:
                    chosen.add(max(of_pc, key=lambda i: (p[i], -abs(int(pitches[i]) - 62))))
        by_probability = sorted(candidates, key=lambda i: (-p[i], abs(int(pitches[i]) - 62)))
        for i in by_probability:
            if len(chosen) >= MIN_CHORD_VOICES:
                break
            chosen.add(int(i))
        if len(chosen) > MAX_CHORD_VOICES:
            required = {i for i in chosen if pitches[i] % 12 in chord[2]}
            rest = sorted(chosen - required, key=lambda i: -p[i])
            chosen = required | set(rest[: max(MAX_CHORD_VOICES - len(required), 0)])
        return np.array(sorted(chosen), dtype=int)

    # ------------------------------------------------------------------ masks and helpers

    @staticmethod
    def _key_bias(spec: MusicSpec, role: str, pitches: np.ndarray, power: float) -> np.ndarray:
        """Weights that make single lines (bass, melody, arp) favour the key's stable tones, so
        a line heard alone still states its key; chords and drums are left as they are."""
        if role not in ("bass", "melody", "arp"):
            return np.ones(N_PITCHES, np.float32)
        # Aarden-Essen rates describe how often degrees sound in real lines (fifth and third
        # nearly as often as the tonic), which is what makes a key audible in a single line.
        profile = np.asarray(key_profile(spec.key_tonic, spec.key_mode, "aarden"))
        weights = (profile / profile.mean()) ** power
        return weights[pitches % 12].astype(np.float32)

    @staticmethod
    def _window_pitches(spec: MusicSpec, role: str) -> np.ndarray:
        shift = 0 if role == "drums" else tonic_shift(spec.key_tonic)
        return ROLE_BASE[role] + shift + np.arange(N_PITCHES)

    @staticmethod
    def _allowed(spec: MusicSpec, roles: list[str], chords: list[StepChord], pitches: list[np.ndarray]) -> np.ndarray:
        total = len(chords)
        out = np.zeros((total, len(roles), N_PITCHES), np.float32)
        scale = np.array(scale_pitch_classes(spec.key_tonic, spec.key_mode))
        cache: dict[tuple, np.ndarray] = {}
        for b, role in enumerate(roles):
            rules = RULES[role]
            in_range = (pitches[b] >= rules.low) & (pitches[b] <= rules.high)
            for t, (root, pcs, _) in enumerate(chords):
                key = (b, root, pcs)
                if key not in cache:
                    pc = pitches[b] % 12
                    in_chord = np.isin(pc, pcs)
                    if rules.pitches == "drums":
                        mask = in_range.astype(np.float32)
                    elif rules.pitches == "chord":
                        mask = (in_range & in_chord).astype(np.float32)
                    else:  # scale tones (chord tones count double), bass adds nothing foreign either
                        mask = (in_range & (np.isin(pc, scale) | in_chord)) * np.where(in_chord, 1.0, 0.6)
                    cache[key] = mask
                out[t, b] = cache[key]
        return out

    @staticmethod
    def _forced_roll(forced: Forced, pitches: np.ndarray, total: int) -> tuple[np.ndarray, ...]:
        onset = np.zeros((total, N_PITCHES), bool)
        sounding = np.zeros((total, N_PITCHES), bool)
        velocity = np.zeros((total, N_PITCHES), int)
        lookup = {int(p): i for i, p in enumerate(pitches)}
        for note in forced.notes:
            index = lookup.get(note.pitch)
            if index is None or note.start >= total:
                continue
            onset[note.start, index] = True
            sounding[note.start : min(note.start + note.duration, total), index] = True
            velocity[note.start, index] = note.velocity
        mask = np.zeros(total, bool)
        mask[: min(total, len(forced.mask))] = forced.mask[:total]
        return mask, onset, sounding, velocity

    @staticmethod
    def _accents(spec: MusicSpec) -> np.ndarray:
        accents = np.zeros(spec.steps_per_bar)
        accents[beat_steps(spec.meter)] = 6.0
        accents[0] = 12.0
        return accents
