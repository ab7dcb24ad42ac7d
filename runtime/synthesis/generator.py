"""Prompt to one-shot: the text2sample network picks a patch, the numpy synthesiser plays it.

:class:`SampleModel` wraps the loaded ONNX network and the MiniLM embedder; it turns
(description, note, velocity, seed) into a :class:`~.patch.Patch` and a category.
:func:`render_one_shot` plays a patch and finishes the audio the way producers expect a
one-shot: stereo, DC-free, silence trimmed, peak-normalised to -1 dBFS.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
from pedalboard import HighpassFilter

from promptdaw.core.errors import InferenceFailed, ModelUnavailable
from promptdaw.runtime.embedding import Embedder
from promptdaw.runtime.onnx import OnnxModel
from promptdaw.runtime.synthesis.constants import (
    CATEGORIES,
    CATEGORY_FAMILY,
    DEFAULT_SAMPLE_RATE,
    DRUM_CATEGORIES,
    MAX_DURATION_S,
    PEAK_DBFS,
)
from promptdaw.runtime.synthesis.critic import SampleCritic, listen_to_candidates
from promptdaw.runtime.synthesis.listening import Heard
from promptdaw.runtime.synthesis.patch import DEFAULT_SEED_STRENGTH, PARAM_BY_NAME, PARAMS, Patch
from promptdaw.runtime.synthesis.synth import T60, NoiseDraw, draw_noise, render, sound_length_s, uses_noise

__all__ = [
    "CANDIDATE_FLOOR",
    "DEFAULT_VELOCITY",
    "EMBEDDING_SEED_SPREAD",
    "LISTEN_MODES",
    "OneShot",
    "SampleModel",
    "choose_candidate",
    "finish_one_shot",
    "gate_for_length",
    "lengthened",
    "render_one_shot",
    "stretch_decays",
]

DEFAULT_VELOCITY = 100
#: How far a seed moves the prompt's embedding (a random unit vector this long is added), so
#: seeds pick other plausible sounds of the same description.
EMBEDDING_SEED_SPREAD = 0.3
#: Seeds choose among the network's candidate patches that are at least this likely relative to
#: the likeliest: other sounds the description plausibly means, never an unlikely one.
CANDIDATE_FLOOR = 0.3
#: The critic hears the network's likeliest candidates in rounds of this many (a round costs a
#: render per candidate, in parallel on the listening workers)...
LISTENING_ROUND = 4
#: ...and stops after a round in which one is more likely of the family than of all others together;
CONFIDENT = 0.5
#: when none of them reaches this, it also hears the prompt's own likeliest (seeded requests only).
HOPELESS = 0.1
LISTEN_MODES = ("thorough", "quick", "off")
#: A sound asked to last ``duration_s`` that ends sooner than this share of it gets longer decays...
LENGTH_TOLERANCE = 0.95
#: ...aiming this much past the length (a note already faded when released ends sooner than its
#: release says).
STRETCH_MARGIN = 1.15
#: Audio below this level relative to the peak is trimmed from both ends.
TRIM_DB = -60.0
#: DC blocker.
HIGHPASS_HZ = 12.0


class SampleModel:
    """The ``text2sample`` network plus the embedder that reads prompts for it. Thread-safe."""

    def __init__(self, model: OnnxModel, embedder: Embedder, critic: SampleCritic | None = None) -> None:
        self.model = model
        self.embedder = embedder
        self.critic = critic
        config = json.loads(model.manifest.path_of("config").read_text())
        expected = [{"name": p.name, "size": p.size, "lo": p.lo, "hi": p.hi, "scale": p.scale} for p in PARAMS]
        if config.get("patch_layout") != expected or config.get("categories") != list(CATEGORIES):
            raise ModelUnavailable(
                f"model {model.manifest.name!r} was trained for another synthesiser version "
                "(its patch layout or categories differ from this daemon's); retrain or update"
            )
        self.note_centre = float(config["note_centre"])
        self.note_scale = float(config["note_scale"])
        self.velocity_scale = float(config["velocity_scale"])

    def _run(self, embeddings: np.ndarray, notes: list[float | None], velocities: list[float]):
        """(candidate patches [B, heads, PARAM_SIZE], candidate logits [B, heads], category logits [B, C])."""
        note = np.array([0.0 if n is None else (n - self.note_centre) / self.note_scale for n in notes], np.float32)
        has_note = np.array([0.0 if n is None else 1.0 for n in notes], np.float32)
        velocity = np.array(velocities, np.float32) / self.velocity_scale
        condition = np.concatenate([embeddings, note[:, None], has_note[:, None], velocity[:, None]], axis=1)
        out = self.model.run({"condition": condition.astype(np.float32)}, ["patches", "candidates", "category"])
        return (out["patches"].astype(np.float64), out["candidates"].astype(np.float64),
                out["category"].astype(np.float64))  # fmt: skip

    def predict(
        self,
        text: str,
        *,
        note: int | None,
        velocity: float = DEFAULT_VELOCITY,
        seed: int | None = None,
        duration_s: float | None = None,
        listen: str = "thorough",
    ) -> tuple[Patch, dict[str, float]]:
        """The patch for a description, and the category probabilities.

        Args:
            text: the sound description (the prompt without note and length).
            note: the MIDI note to be played, or None to let the network pick the root note.
            seed: None reads ``text`` as it is; a seed moves its embedding by
                ``EMBEDDING_SEED_SPREAD`` and varies the candidates by a small ``vary`` step, for
                another plausible sound of the same category.
            duration_s: the sound's length, if asked for (the critic hears it held that long).
            listen: how the critic, if installed, chooses among the candidates: "thorough" (all
                of them as needed and, with a seed, the prompt's own when none of the seed's sounds
                like the family: one-shots), "quick" (the four likeliest: a loop's instruments) or
                "off" (the network's likeliest: a loop's kit pieces, each of which would be heard).

        With a critic, the candidate it hears likeliest as the category's family is played;
        without one, the network's likeliest (:func:`choose_candidate`).
        """
        embedding = self.embedder.embed([text])
        rows = [embedding[0]]
        if seed is not None:
            rng = np.random.default_rng([seed, 0x5A])
            direction = rng.standard_normal(embedding.shape[1]).astype(np.float32)
            moved = embedding[0] + EMBEDDING_SEED_SPREAD * direction / np.linalg.norm(direction)
            rows.append(moved / np.linalg.norm(moved))
        embeddings = np.stack(rows).astype(np.float32)
        patches, candidates, logits = self._run(embeddings, [note] * len(rows), [velocity] * len(rows))
        pick = choose_candidate(candidates[-1], seed)
        if note is None:
            # Second pass at the network's own root note: timbre depends on the note played.
            root = Patch(patches[-1, pick])["root_note"]
            patches, candidates, logits = self._run(embeddings, [float(round(root))] * len(rows),
                                                    [velocity] * len(rows))  # fmt: skip
            pick = choose_candidate(candidates[-1], seed)
        probs = _softmax(logits[0])
        category = CATEGORIES[int(np.argmax(probs))]
        proposals = [Patch(unit, category) for unit in patches[-1]]
        if seed is not None:
            proposals = [p.varied(DEFAULT_SEED_STRENGTH, seed) for p in proposals]
        proposals = [p.steady() for p in proposals]
        chosen = proposals[pick]
        if listen not in LISTEN_MODES:
            raise ValueError(f"listen must be one of {LISTEN_MODES}, got {listen!r}")
        if self.critic is not None and listen != "off":
            likeliest_first = [proposals[i] for i in np.argsort(-candidates[-1], kind="stable")]
            fallback: list[Patch] = []
            if seed is not None and listen == "thorough":  # the prompt's own likeliest, embedding not moved
                own = [Patch(unit, category).varied(DEFAULT_SEED_STRENGTH, seed).steady() for unit in patches[0]]
                fallback = [own[i] for i in np.argsort(-candidates[0], kind="stable")[:LISTENING_ROUND]]
            if listen == "quick":
                likeliest_first = likeliest_first[:LISTENING_ROUND]
            chosen, heard = _listen(self.critic, likeliest_first, category, note, duration_s, fallback)
            if duration_s is not None and heard is not None:
                chosen = lengthened(chosen, heard.audible_s, duration_s, exact=not heard.cut)
        return chosen, {c: float(p) for c, p in zip(CATEGORIES, probs, strict=True)}


def _listen(critic: SampleCritic, proposals: list[Patch], category: str, note: int | None,
            duration_s: float | None, fallback: list[Patch]) -> tuple[Patch, Heard | None]:  # fmt: skip
    """The proposal the critic hears likeliest as ``category``'s family, each played as it would be,
    and what the critic heard of it.

    ``proposals`` come likeliest first and are heard ``LISTENING_ROUND`` at a time, until one is
    ``CONFIDENT``ly of the family: most prompts are settled by the first round, at half the cost.
    When the best of them scores below ``HOPELESS`` (the seed led away from the family), one more
    round hears the ``fallback`` proposals.
    """
    family = CATEGORY_FAMILY[category]
    best: tuple[Patch, Heard | None] = (proposals[0], None)
    best_score = -1.0
    rounds = [proposals[i : i + LISTENING_ROUND] for i in range(0, len(proposals), LISTENING_ROUND)]
    for number, group in enumerate([*rounds, fallback]):
        if (number == len(rounds) and best_score >= HOPELESS) or not group:
            break
        plays = []
        for patch in group:
            played = note if note is not None else round(patch["root_note"])
            gate = float(patch["hold_s"]) if duration_s is None else gate_for_length(patch, duration_s)
            plays.append((patch, played, gate))
        scores, heard = listen_to_candidates(critic, plays, family)
        if scores.max() > best_score:
            k = int(np.argmax(scores))
            best, best_score = (plays[k][0], heard[k]), float(scores[k])
        if best_score >= CONFIDENT:
            break
    return best


def lengthened(patch: Patch, audible_s: float, duration_s: float, *, exact: bool = True) -> Patch:
    """``patch``, or a copy with decays long enough to sound for ``duration_s`` when it sounded only
    ``audible_s`` (``LENGTH_TOLERANCE``); unchanged when ``audible_s`` is not ``exact`` (a lower bound)."""
    if not exact or audible_s >= LENGTH_TOLERANCE * duration_s:
        return patch
    return Patch.from_dict(stretch_decays(patch, STRETCH_MARGIN * duration_s / max(audible_s, 1e-3)).to_dict())


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max())
    return e / e.sum()


def choose_candidate(logits: np.ndarray, seed: int | None) -> int:
    """Which of the network's candidate patches to play: the likeliest without a seed; with one, a
    draw (by likelihood) among those at least ``CANDIDATE_FLOOR`` times as likely as the likeliest."""
    probs = _softmax(logits)
    if seed is None:
        return int(np.argmax(probs))
    likely = np.flatnonzero(probs >= CANDIDATE_FLOOR * probs.max())
    weights = probs[likely] / probs[likely].sum()
    return int(np.random.default_rng([seed, 0xC4]).choice(likely, p=weights))


@dataclass(frozen=True)
class OneShot:
    audio: np.ndarray  # float32 [frames, 2]
    sample_rate: int
    note: int
    gate_s: float


def gate_for_length(patch: Patch, length_s: float) -> float:
    """How long to hold a note so that, release included, it lasts about ``length_s``."""
    release = min(T60 * patch["release_s"], 0.4 * length_s)
    return max(0.02, length_s - release)


def stretch_decays(patch: Patch, factor: float) -> Patch:
    """``patch`` with its decay and release times (tonal, noise, bell) multiplied by ``factor``, within range."""
    values = {}
    for name in ("amp_decay_s", "noise_decay_s", "bell_decay_s", "release_s"):
        spec = PARAM_BY_NAME[name]
        values[name] = float(min(spec.hi, max(spec.lo, patch[name] * factor)))
    return patch.replace(**values)


def finish_one_shot(audio: np.ndarray, sample_rate: int, *, trim_end: bool = True) -> np.ndarray:
    """DC-block, trim silence (below -60 dB of the peak), fade the cut, normalise to -1 dBFS.

    Raises:
        InferenceFailed: the synthesiser produced NaN, infinities or silence.
    """
    if not np.isfinite(audio).all():
        raise InferenceFailed("the synthesiser produced non-finite samples")
    audio = HighpassFilter(HIGHPASS_HZ)(np.ascontiguousarray(audio.T, dtype=np.float32), sample_rate).T
    audio = audio - audio.mean(axis=0, keepdims=True)
    level = np.abs(audio).max(axis=1)
    peak = float(level.max())
    if not peak > 1e-9:
        raise InferenceFailed("the patch renders silence; raise a layer's level (harm_level_db, noise_level_db, ...)")
    loud = np.flatnonzero(level > peak * 10 ** (TRIM_DB / 20))
    start = int(loud[0])
    stop = min(len(audio), int(loud[-1]) + 1 + round(0.01 * sample_rate)) if trim_end else len(audio)
    audio = np.ascontiguousarray(audio[start:stop], dtype=np.float32)
    fade = min(len(audio), round(0.005 * sample_rate))
    if trim_end and stop < len(level):
        audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    audio -= audio.mean(axis=0, keepdims=True)
    audio *= np.float32(10 ** (PEAK_DBFS / 20) / np.abs(audio).max())
    return audio


def render_one_shot(
    patch: Patch,
    *,
    note: int,
    duration_s: float | None = None,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    seed: int = 0,
    draws: dict[tuple, NoiseDraw] | None = None,
) -> OneShot:
    """Play ``patch`` at ``note``: for ``duration_s`` seconds in all, or held for its ``hold_s``.

    ``draws``, kept by a caller that renders the same note again (a longer decay, say), holds
    the noise drawn for ``seed``: drawing it again would give the same numbers, slowly.
    """
    controls = patch.physical()
    if duration_s is not None:
        gate = gate_for_length(patch, duration_s)
        length = duration_s
    else:
        gate = float(patch["hold_s"])
        length = min(sound_length_s(controls, gate), MAX_DURATION_S)
    n = max(1, math.ceil(length * sample_rate))
    noise = None
    if uses_noise(controls):
        key = (seed, note, n, sample_rate)
        noise = draws.get(key) if draws is not None else None
        if noise is None:
            noise = draw_noise(np.random.default_rng([seed, note, 0x0E]), n, sample_rate)
            if draws is not None:
                draws[key] = noise
    audio = render(controls, note, gate, n, sample_rate, noise)
    return OneShot(finish_one_shot(audio, sample_rate, trim_end=True), sample_rate, note, gate)


def is_drum(category: str) -> bool:
    return category in DRUM_CATEGORIES
