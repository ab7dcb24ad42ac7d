"""Text-to-MIDI generation: the trained step network plus constrained sampling.

The network proposes, step by step and for every part at once, which pitches start and
which keep sounding. The sampler enforces what the prompt fixed and what each role needs:
exact length and meter, per-role pitch ranges, scale and chord-tone masks, monophony for
bass, melody and arp, full chords (with the symbol's required tones) at chord changes, and
what each role does in the music a producer knows: a part's random draws come round again
every bar (two for a melody), so a groove, riff or motif repeats wherever the network's
probabilities do and changes where they change (fills, cadences); pads hold their chord;
melodies move mostly by step within a singer's range; the prompt's and genre's idioms
(four on the floor, a snare or clap on the backbeat, open hats on the off-beats, the dembow,
hi-hat rolls, a bass locked to the kick, a walking bass, an arpeggiator's steady rate).
A key finder hears each new clip, and redraws pitched parts that do not state the asked key.
Steps of an existing clip can be *forced* (kept as they are while the network listens),
which is how variation, continuation and regeneration of one part or bar range work.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from promptdaw.core.clip import Clip, ClipNote, ClipTrack
from promptdaw.core.music.gm import GM_DRUMS
from promptdaw.core.music.lexicon import (
    BACKBEAT,
    BASS_FOLLOWS_KICK,
    DEMBOW,
    EIGHTH_NOTES,
    FOUR_ON_THE_FLOOR,
    HAT_ROLLS,
    OFFBEAT_OPEN_HAT,
    SIXTEENTH_NOTES,
    SUSTAINED_PROGRAMS,
    WALKING_BASS,
)
from promptdaw.core.music.spec import MusicSpec
from promptdaw.core.music.theory import key_margin, key_profile, scale_pitch_classes
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

__all__ = ["Line", "MidiGenerator", "RoleRules", "Step"]

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
GROOVE_CANDIDATES = 32  # first drum bars weighed against each other (see MidiGenerator._groove_draws)
GROOVE_TOP = 4  # seeds walk through this many likeliest distinct first bars: typical, yet each differs
GROOVE_KEEP = 0.25  # how firmly the first bar's hits repeat: their draws are scaled by this
#: Steps between an arpeggiator's notes when the prompt names its rate; otherwise 16ths where the
#: network more likely than not plays the first off-8th step, else 8ths, and the arp keeps that rate.
ARP_RATES = {EIGHTH_NOTES: 2, SIXTEENTH_NOTES: 1}
#: An arp's chance of going back to the note before its last after a b a, as a share of the network's.
ARP_TRILL_SHARE = 0.15
KICK = 36  # GM bass drum 1
KICK_INDEX = KICK - ROLE_BASE["drums"]
OPEN_HAT = 46
SNARE = 38
#: What may play a backbeat: the GM snares and the hand clap.
BACKBEAT_DRUMS = tuple(note for note, sound in GM_DRUMS.items() if sound.category in ("snare", "clap"))
#: The dembow's snare in a 4/4 bar of sixteenths: 3 + 3 + 2, twice (beats 0.75, 1.5, 2.75, 3.5).
DEMBOW_STEPS = frozenset({3, 6, 11, 14})
FOUR_FOUR_BEATS = {0, 4, 8, 12}
CLOSED_HATS = tuple(note for note, sound in GM_DRUMS.items() if sound.category == "closed hat")
#: A hi-hat roll closes every this many bars, as 32nds or a 32nd triplet (strokes per step).
ROLL_EVERY_BARS = 2
ROLL_STROKES = (2, 3)
#: Bars after which a part's random draws repeat (see the module docstring).
DRAW_CYCLE_BARS = {"drums": 1, "bass": 1, "chords": 1, "pad": 1, "arp": 1, "melody": 2}
#: A melody's widest span in semitones: a singer's or a lead's comfortable range (under 19).
MELODY_RANGE = 16
#: Weight of a melodic interval by its size in semitones (index), then 0.04 beyond an octave:
#: steps first, thirds, then fourths and fifths; tritones and sevenths rarely.
INTERVAL_WEIGHTS = np.array([0.6, 1.0, 1.0, 0.55, 0.55, 0.35, 0.08, 0.3, 0.1, 0.1, 0.06, 0.06, 0.15])
LEAP = 4  # semitones: a larger interval wants to resolve by step the other way
RESOLVE_BOOST = 2.5
#: An 808 locked to the kick: its chance to play with a kick, and the share of its chance without one.
KICK_LOCK_CHANCE = 0.9
OFF_KICK_SHARE = 0.1
#: How strongly lines lean towards the key's stable tones (tonic, fifth, third).
KEY_BIAS_POWER = 1.0
SOLO_KEY_BIAS_POWER = 4.0
#: A solo line's chance of the chord's third, as a share of its likeliest note's.
SOLO_THIRD_SHARE = 1.0
#: Takes of the pitched parts a clip may get until one states its key (see MidiGenerator.generate).
KEY_TAKES = 4


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
        """A new clip for ``spec`` (deterministic for its seed).

        A key finder listens to each take's pitched parts: when it names another key than the
        spec's (a bassline on the roots of i-VI-III-VII can read as the relative major's IV),
        the pitched parts are drawn again over the same drums, and the take that states the
        key most clearly is kept.
        """
        rng = np.random.default_rng(spec.seed)
        clip = self._decode(spec, self._chords(spec, rng), {}, rng, progress)
        best, best_margin = clip, _key_margin(clip)
        every_step = np.ones(clip.steps, bool)
        same_drums = {t.role: Forced(every_step, t.notes) for t in clip.tracks if t.role == "drums"}
        for _ in range(KEY_TAKES - 1):
            if best_margin is None or best_margin > 0:
                break
            take = self._decode(spec, self._chords(spec, rng), same_drums, rng, None)
            margin = _key_margin(take)
            if margin is not None and margin > best_margin:
                best, best_margin = take, margin
        return best

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
        lines = [Line() for _ in parts]
        # Pads, and chords on a sustaining instrument, hold their chord until the harmony moves.
        holding = [p.role == "pad" or (p.role == "chords" and p.program in SUSTAINED_PROGRAMS) for p in parts]
        drums = np.array([RULES[r].pitches == "drums" for r in roles])
        # A line heard alone (no other pitched part) must state the key by itself: lean harder.
        solo = sum(RULES[r].pitches != "drums" for r in roles) == 1
        # An arp plays chord tones only: it needs no more than the usual lean.
        powers = [SOLO_KEY_BIAS_POWER if solo and role != "arp" else KEY_BIAS_POWER for role in roles]
        bias = np.stack([self._key_bias(spec, role, pitches[b], powers[b]) for b, role in enumerate(roles)])
        spb = spec.steps_per_bar
        scale = tuple(scale_pitch_classes(spec.key_tonic, spec.key_mode))
        beats = set(beat_steps(spec.meter))
        offbeats = _offbeat_steps(spec.meter)
        backbeats = _backbeat_steps(spec.meter, spec.feel) if BACKBEAT in spec.idioms else set()
        idioms = set(spec.idioms)
        arp_rate = next((rate for idiom, rate in ARP_RATES.items() if idiom in idioms), None)
        # The draws each part reuses every cycle, and the order parts are played in within a step:
        # drums first, so that a bass can follow this step's kick.
        cycles = [DRAW_CYCLE_BARS[role] * spb for role in roles]
        # Consecutive seeds take the likeliest grooves in turn, so "another one" is another groove.
        groove_rank = (spec.seed - 1) % GROOVE_TOP
        cycle_draws = rng.random((max(cycles), len(parts), 2 * N_PITCHES + 2))
        for b in np.flatnonzero(drums):
            if roles[b] not in forced:
                cycle_draws[:spb, b, :N_PITCHES] = self._groove_draws(static[:spb, b], rng, groove_rank)
        order = sorted(range(len(parts)), key=lambda b: not drums[b])
        for t in range(total):
            out = self.model.run({"static": static[t], "prev_roll": prev, "state": state})
            onset_p, sustain_p, state = out["onset"], out["sustain"], out["state"]
            # Everything random for this step, for all parts at once: numpy per part is slow.
            p = onset_p * allowed[t] * bias
            p[drums] = _drum_chance(p[drums])
            p_any = 1 - np.prod(1 - np.minimum(p, 0.999), axis=1)
            uniform = np.stack([cycle_draws[t % cycles[b], b] for b in range(len(parts))])
            uniform[:, -2] = rng.random(len(parts))  # which pitch a line plays: fresh, so a riff's notes vary
            jitter = rng.integers(-4, 5, (len(parts), N_PITCHES))
            velocity = np.clip(40 + 62 * onset_p + accents[t % spb] + jitter, 1, 127).astype(int)
            prev = np.zeros_like(prev)
            step = Step(chords[t], bool(change[t]), t % spb in beats, kick=False, solo=solo, scale=scale)
            for b in order:
                role = roles[b]
                if role in forced_rolls and forced_rolls[role][0][t]:
                    _, onset_roll, sounding_roll, velocity_roll = forced_rolls[role]
                    starts = np.flatnonzero(onset_roll[t])
                    holds = np.flatnonzero(sounding_roll[t] & ~onset_roll[t])
                    self._apply(active[b], notes[b], pitches[b], t, starts, holds, velocity_roll[t])
                else:
                    chance = float(p_any[b])
                    if role == "arp":
                        if arp_rate is None and t % 2:  # the rate the network likes at the first off-8th
                            arp_rate = 1 if chance >= 0.5 else 2
                        chance = float(t % (arp_rate or 2) == 0)  # an arpeggiator keeps its rate
                    starts, holds = self._sample(
                        role, p[b], chance, sustain_p[b], allowed[t, b], step, pitches[b], active[b], uniform[b],
                        rng, lines[b], idioms, holding[b],
                    )  # fmt: skip
                    if role == "drums":
                        starts = _drum_idioms(starts, t % spb, beats, offbeats, backbeats, idioms, onset_p[b])
                    if len(starts):
                        lines[b].played(int(pitches[b][starts[-1]]))
                    self._apply(active[b], notes[b], pitches[b], t, starts, holds, velocity[b])
                if role == "drums" and active[b].get(KICK_INDEX, (-1, 0))[0] == t:
                    step = replace(step, kick=True)  # the bass may follow it
                # What the network hears next step: this step's onsets, then everything sounding.
                for i, (start, _) in active[b].items():
                    prev[b, N_PITCHES + i] = 1.0
                    if start == t:
                        prev[b, i] = 1.0
            if progress is not None and (t + 1) % spb == 0:
                progress((t + 1) / total)
        for b in range(len(parts)):
            self._apply(active[b], notes[b], pitches[b], total, np.array([], int), np.array([], int), None)
            if roles[b] in forced:
                notes[b] = _keep_strokes(notes[b], forced[roles[b]])
            if roles[b] == "drums" and HAT_ROLLS in idioms:
                free = ~forced_rolls[roles[b]][0] if roles[b] in forced_rolls else np.ones(total, bool)
                notes[b] = _roll_hats(notes[b], spb, spec.bars, free, rng)
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

    def _groove_draws(self, static: np.ndarray, rng: np.random.Generator, rank: int) -> np.ndarray:
        """A drum part's draws for one bar: of :data:`GROOVE_CANDIDATES`, the distinct bar the
        network ranks ``rank``-th likeliest. The first bar decides the groove the draws then
        repeat; a likely one is the genre's typical groove rather than a rare variant."""
        draws = rng.random((GROOVE_CANDIDATES, len(static), N_PITCHES))
        state = np.zeros((self.layers, GROOVE_CANDIDATES, self.hidden), np.float32)
        prev = np.zeros((GROOVE_CANDIDATES, 2 * N_PITCHES), np.float32)
        log_likelihood = np.zeros(GROOVE_CANDIDATES)
        played = np.zeros(draws.shape, bool)
        for t in range(len(static)):
            batch = np.repeat(static[t][None], GROOVE_CANDIDATES, axis=0)
            out = self.model.run({"static": batch, "prev_roll": prev, "state": state})
            onset_p, state = np.clip(out["onset"], 1e-6, 1 - 1e-6), out["state"]
            hits = played[:, t] = draws[:, t] < _drum_chance(onset_p)
            log_likelihood += np.where(hits, np.log(onset_p), np.log1p(-onset_p)).sum(axis=1)
            prev = np.concatenate([hits, hits], axis=1).astype(np.float32)
        # The likeliest *distinct* bars: in a genre whose hats run every 16th many candidates are
        # the same bar, and seeds would all get it.
        distinct = {played[i].tobytes(): i for i in np.argsort(log_likelihood)}  # the likeliest copy wins
        ranked = sorted(distinct.values(), key=lambda i: -log_likelihood[i])
        best = int(ranked[min(rank, len(ranked) - 1)])
        # The chosen bar comes round again unless the network turns well away from it: its hits
        # stay unless their chance falls far, its rests stay unless a hit becomes likely (a fill).
        chosen = draws[best]
        return np.where(played[best], chosen * GROOVE_KEEP, 1 - (1 - chosen) * GROOVE_KEEP)

    def _sample(
        self,
        role: str,
        p: np.ndarray,
        p_any: float,
        sustain_p: np.ndarray,
        allowed: np.ndarray,
        step: Step,
        pitches: np.ndarray,
        active: dict[int, tuple[int, int]],
        uniform: np.ndarray,
        rng: np.random.Generator,
        line: Line,
        idioms: set[str],
        holding: bool = False,
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
        sounding = np.array([i for i in active if allowed[i]], dtype=int)
        decide = uniform[-1]
        if holding:
            return (
                (self._voicing(p, allowed, step.chord, pitches, rng), none) if step.chord_change else (none, sounding)
            )
        if rules.monophonic:
            if role == "arp" and line.last_pitch is not None:
                # A broken chord moves on: never the pitch class just played, in any octave, and
                # rarely back to the one before it after a b a (a b a b is a trill, not a chord).
                moved = np.where(pitches % 12 == line.last_pitch % 12, 0.0, p)
                if line.trilling():
                    moved = np.where(pitches % 12 == line.recent[-2] % 12, moved * ARP_TRILL_SHARE, moved)
                p = moved if moved.sum() > 0 else p
            if step.solo and role in ("bass", "melody"):
                # Heard alone, a line that never plays the chord's third leaves the key open
                # (A, E and D fit A minor, A major and D major alike): give the third a share
                # when it belongs to the key (a borrowed chord's third would mislead).
                third = [pc for pc in step.chord[2] if pc != step.chord[0] and pc in step.scale]
                thirds = np.isin(pitches % 12, third)
                p = p + SOLO_THIRD_SHARE * p.max() * thirds * (allowed > 0)
            if role == "melody" or (role == "bass" and WALKING_BASS in idioms):
                shaped = p * line.interval_weights(pitches, MELODY_RANGE if role == "melody" else 24)
                p = shaped if shaped.sum() > 0 else p
            if role == "bass":
                if WALKING_BASS in idioms:  # one note a beat, held to the next
                    if not step.on_beat:
                        return none, sounding[:1]
                    p_any = 1.0
                elif BASS_FOLLOWS_KICK in idioms:
                    p_any = max(p_any, KICK_LOCK_CHANCE) if step.kick else p_any * OFF_KICK_SHARE
                if step.chord_change:
                    p = p * np.where(pitches % 12 == step.chord[0], 4.0, 1.0)  # land on the root
                    if WALKING_BASS not in idioms and BASS_FOLLOWS_KICK not in idioms:
                        p_any = 1 - float(np.prod(1 - np.minimum(p, 0.999)))
            if decide < p_any:
                weights = p ** (1 / rules.temperature)
                total = weights.sum()
                if total > 0:
                    return np.array([int(np.searchsorted(np.cumsum(weights), uniform[-2] * total))]), none
            return none, holds[:1]
        if not (step.chord_change or decide < p_any):
            return none, holds
        return self._voicing(p, allowed, step.chord, pitches, rng), none

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
        """Velocity added by metric position: the one, the beats, the eighths, softer sixteenths.
        With the network's confidence (doubtful hits play soft: ghost notes) it gives a part
        its dynamics."""
        accents = np.full(spec.steps_per_bar, -10.0)
        accents[::2] = 0.0
        accents[beat_steps(spec.meter)] = 6.0
        accents[0] = 12.0
        return accents


@dataclass(frozen=True)
class Step:
    """What every part may know of the step being played."""

    chord: StepChord
    chord_change: bool
    on_beat: bool
    kick: bool  # the drums started a kick at this step
    solo: bool = False  # the only pitched part: it must state the key by itself
    scale: tuple[int, ...] = ()  # the key's pitch classes


@dataclass
class Line:
    """A single line's memory: its last pitches and interval and the range it has covered."""

    recent: tuple[int, ...] = ()  # the last three pitches, oldest first
    last_step: int = 0
    low: int | None = None
    high: int | None = None

    @property
    def last_pitch(self) -> int | None:
        return self.recent[-1] if self.recent else None

    def played(self, pitch: int) -> None:
        if self.recent:
            self.last_step = pitch - self.recent[-1]
        self.recent = (*self.recent[-2:], pitch)
        self.low = pitch if self.low is None else min(self.low, pitch)
        self.high = pitch if self.high is None else max(self.high, pitch)

    def trilling(self) -> bool:
        """The last three pitch classes go a b a: a fourth note b would make a trill."""
        return len(self.recent) == 3 and self.recent[0] % 12 == self.recent[2] % 12

    def interval_weights(self, pitches: np.ndarray, span: int) -> np.ndarray:
        """Weights for the next pitch: steps before leaps, a leap resolved by step the other way,
        nothing that would stretch the line past ``span`` semitones."""
        if self.last_pitch is None or self.low is None or self.high is None:
            return np.ones(len(pitches))
        step = pitches - self.last_pitch
        size = np.abs(step)
        weights = np.where(
            size < len(INTERVAL_WEIGHTS), INTERVAL_WEIGHTS[np.minimum(size, len(INTERVAL_WEIGHTS) - 1)], 0.04
        )
        if abs(self.last_step) > LEAP:
            resolves = (np.sign(step) == -np.sign(self.last_step)) & (size > 0) & (size <= 2)
            weights = np.where(resolves, weights * RESOLVE_BOOST, weights)
        within = (np.maximum(self.high, pitches) - np.minimum(self.low, pitches)) <= span
        return weights * within


def _key_margin(clip: Clip) -> float | None:
    """``key_margin`` of the clip's pitched notes weighed by length (``None``: drums only), with
    the Aarden-Essen profiles most key finders (music21's default among them) use."""
    weights = np.zeros(12)
    for track in clip.tracks:
        if track.role != "drums":
            for note in track.notes:
                weights[note.pitch % 12] += note.duration
    if not weights.any():
        return None
    return key_margin(weights.tolist(), clip.spec.key_tonic, clip.spec.key_mode, "aarden")


def _drum_chance(p: np.ndarray) -> np.ndarray:
    """A drum hit's chance from the network's: sharpened (temperature 0.5) so a groove's strong
    hits always land, and nothing below :data:`DRUM_FLOOR`, which is noise, not groove."""
    return np.where(p >= DRUM_FLOOR, p**2 / (p**2 + (1 - p) ** 2), 0.0)


def _offbeat_steps(meter: tuple[int, int]) -> set[int]:
    """Steps halfway between beats (the "and"s), where an off-beat open hat goes."""
    beats = beat_steps(meter)
    steps = meter[0] * 16 // meter[1]
    bounds = [*beats, steps]
    return {(a + b) // 2 for a, b in itertools.pairwise(bounds) if b - a >= 2}


def _backbeat_steps(meter: tuple[int, int], feel: str) -> set[int]:
    """Steps of the backbeat: beats 2 and 4 (of 4/4, or 12/8's dotted quarters), beat 3 in a
    half-time feel; none in meters without one."""
    beats = beat_steps(meter)
    if len(beats) != 4:
        return set()
    return {beats[2]} if feel == "half-time" else {beats[1], beats[3]}


def _drum_idioms(
    starts: np.ndarray,
    position: int,
    beats: set[int],
    offbeats: set[int],
    backbeats: set[int],
    idioms: set[str],
    onset_p: np.ndarray,
) -> np.ndarray:
    """The drum hits an idiom requires at this position of the bar, added to the sampled ones.

    ``backbeats`` are the backbeat steps (empty without the idiom): one keeps the snare or clap
    the network played, else gets the one the network (``onset_p``) finds likeliest there."""
    if position in backbeats:
        backbeat = [d - ROLE_BASE["drums"] for d in BACKBEAT_DRUMS]
        if not np.isin(starts, backbeat).any():
            starts = np.union1d(starts, [max(backbeat, key=lambda i: onset_p[i])])
    if FOUR_ON_THE_FLOOR in idioms and position in beats:
        starts = np.union1d(starts, [KICK_INDEX])
    if DEMBOW in idioms and beats == FOUR_FOUR_BEATS and position in DEMBOW_STEPS:
        starts = np.union1d(starts, [SNARE - ROLE_BASE["drums"]])
    if OFFBEAT_OPEN_HAT in idioms and position in offbeats:
        closed = [h - ROLE_BASE["drums"] for h in CLOSED_HATS]
        starts = np.union1d(np.setdiff1d(starts, closed), [OPEN_HAT - ROLE_BASE["drums"]])
    return starts


def _roll_hats(
    notes: list[ClipNote], steps_per_bar: int, bars: int, free: np.ndarray, rng: np.random.Generator
) -> list[ClipNote]:
    """Hi-hat rolls on the network's own hats: every :data:`ROLL_EVERY_BARS` bars, one closed hat
    in the bar's second half breaks into a roll, and the hat after it too when the network
    played the next step (a roll runs into the groove). Only ``free`` steps change."""
    out = list(notes)
    for bar in range(min(ROLL_EVERY_BARS, bars) - 1, bars, ROLL_EVERY_BARS):
        low, high = bar * steps_per_bar + steps_per_bar // 2, (bar + 1) * steps_per_bar
        hats = {out[i].start: i for i in range(len(out))
                if out[i].pitch in CLOSED_HATS and low <= out[i].start < high and free[out[i].start]}  # fmt: skip
        if not hats:
            continue
        start = sorted(hats)[int(rng.integers(len(hats)))]
        followed = start + 1 in hats
        # Two strokes leave a 32nd gap to the next hat only when one follows; three always roll.
        strokes = int(rng.choice(ROLL_STROKES)) if followed else ROLL_STROKES[-1]
        out[hats[start]] = replace(out[hats[start]], strokes=strokes)
        if followed and rng.random() < 0.5:
            out[hats[start + 1]] = replace(out[hats[start + 1]], strokes=strokes)
    return out


def _keep_strokes(notes: list[ClipNote], forced: Forced) -> list[ClipNote]:
    """Kept steps keep their rolls: the step decoder knows onsets, not strokes."""
    strokes = {(n.start, n.pitch): n.strokes for n in forced.notes if n.strokes > 1}
    if not strokes:
        return notes
    mask = forced.mask
    return [replace(n, strokes=strokes[(n.start, n.pitch)])
            if (n.start, n.pitch) in strokes and n.start < len(mask) and mask[n.start] else n
            for n in notes]  # fmt: skip
