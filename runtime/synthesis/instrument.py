"""The built-in neural instrument: a prompt's patch played per MIDI note, for ``plugin_host``.

    instrument = NeuralInstrument(registry, "warm analog pad", seed=3)
    audio = instrument.render_note(pitch=57, velocity=96, duration_s=0.5, sample_rate=44100)  # [frames, 2]

The network runs once per instrument (per drum sound for kits); every note after that is only
the numpy synthesiser, and notes repeated at the same pitch, length and rate come from a
cache, so a 4-bar loop costs a few distinct renders. Notes peak at about -6 dBFS at velocity
127 and scale with velocity; mixing and loudness are the host's job.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

import numpy as np

from promptdaw.core.music.gm import drum_sound
from promptdaw.runtime.registry import ModelRegistry
from promptdaw.runtime.synthesis.constants import DRUM_CATEGORIES, MAX_DURATION_S
from promptdaw.runtime.synthesis.generator import DEFAULT_VELOCITY, SampleModel
from promptdaw.runtime.synthesis.patch import Patch
from promptdaw.runtime.synthesis.prompt import read_sample_prompt
from promptdaw.runtime.synthesis.synth import (
    T60,
    NoiseDraw,
    draw_noise,
    frame_layout,
    render_channels,
    sound_length_s,
    uses_noise,
)

__all__ = ["DEFAULT_MAX_TAIL_S", "NOTE_PEAK", "NeuralInstrument"]

#: Kit pieces: they play their own tuning and decay whatever the MIDI key and note length.
KIT_CATEGORIES = frozenset({"kick", "snare", "clap", "closed hat", "open hat", "cymbal", "tom", "percussion"})
#: Peak of a note at velocity 127 (before the host's mixing).
NOTE_PEAK = 0.5
#: Velocity to gain: (velocity / 127) ** VELOCITY_CURVE.
VELOCITY_CURVE = 1.5
#: Longest release tail rendered after a note's end.
DEFAULT_MAX_TAIL_S = 3.0
#: Seconds of noise drawn at once for an instrument's notes.
NOISE_BANK_S = 8.0
#: Distinct notes kept per instrument.
CACHE_NOTES = 256
#: Noise banks kept for all instruments together (a loop's instruments share one seed, so one bank).
SHARED_BANKS = 2


class NeuralInstrument:
    """A text-described instrument that renders MIDI notes offline.

    Args:
        registry: the model registry (``text2sample`` and ``minilm`` must be installed).
        prompt: the sound, e.g. "plucky bright synth" or, with ``drums=True``, "dusty lofi kit".
            A note or length in the prompt is ignored: notes come from ``render_note``.
        seed: picks a variation, as ``generate-sample``'s seed does.
        drums: play General MIDI percussion: each key selects a kit piece (36 kick, 38 snare,
            42 closed hat, ...) described by the prompt; note lengths are ignored, as drum
            machines do.
        model: a text2sample model name (default: the installed one).
        max_tail_s: longest release rendered after a note ends.
        warn: hears what is degraded (a broken sample critic), for the job's ``warnings``.

    Raises:
        InvalidInput: an empty or over-long prompt.
        ModelNotFound, ModelUnavailable: the models are not installed or fail to load.
    """

    def __init__(
        self,
        registry: ModelRegistry,
        prompt: str,
        *,
        seed: int = 0,
        drums: bool = False,
        model: str | None = None,
        max_tail_s: float = DEFAULT_MAX_TAIL_S,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        from promptdaw.runtime.catalog import sample_model  # the catalog imports this module's neighbours

        self.prompt = prompt
        self.seed = int(seed)
        self.drums = bool(drums)
        self.max_tail_s = float(max_tail_s)
        self._text = read_sample_prompt(prompt).text
        self._model: SampleModel = sample_model(registry, model, warn)
        self._patches: dict[int | None, Patch] = {}
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._per_patch: dict[int, tuple[Patch, Mapping[str, np.ndarray | float], dict]] = {}
        self._bank_lengths: dict[int, int] = {}
        self._lock = threading.Lock()
        if not self.drums:
            # The sample critic hears the instrument's candidates once (the loop budget allows
            # that for a few parts, not for every kit piece as well).
            self._patches[None] = self._predict(self._text, "quick")

    # ------------------------------------------------------------------ patches

    def _predict(self, text: str, listen: str) -> Patch:
        patch, _ = self._model.predict(text, note=None, velocity=DEFAULT_VELOCITY, seed=self.seed, listen=listen)
        return patch

    def patch_for(self, pitch: int) -> Patch:
        """The patch a note plays: the instrument's, or the kit piece's for drums."""
        key = int(pitch) if self.drums else None
        with self._lock:
            patch = self._patches.get(key)
        if patch is None:
            piece = drum_sound(pitch).name
            patch = self._predict(f"{piece}, {self._text}", "off")
            with self._lock:
                self._patches[key] = patch
        return patch

    @property
    def category(self) -> str:
        """The category the prompt reads as ("pad", "bass", ...); "drum kit" for kits."""
        return "drum kit" if self.drums else self._patches[None].category

    # ------------------------------------------------------------------ rendering

    def render_note(self, pitch: int, velocity: int, duration_s: float, sample_rate: int) -> np.ndarray:
        """One note, release tail included: float32 ``[frames, 2]``, a new array the caller may modify.

        Args:
            pitch: MIDI note 0..127 (for drums: the GM percussion key). A prompt that reads as a
                kit piece (kick, snare, hat, cymbal, tom, percussion) or an effect plays its
                own tuning instead, so "dusty lofi kick" sounds like a kick at any key.
            velocity: 1..127; scales the level.
            duration_s: how long the key is held (ignored by kit pieces, which ring out as
                drum machines do).
            sample_rate: output rate in Hz.

        Raises:
            ValueError: naming the argument, for a pitch, velocity, duration or rate out of range.
        """
        if not 0 <= int(pitch) <= 127:
            raise ValueError(f"pitch must be a MIDI note 0..127, got {pitch!r}")
        if not 1 <= int(velocity) <= 127:
            raise ValueError(f"velocity must be 1..127, got {velocity!r}")
        if not (math.isfinite(duration_s) and 0 <= duration_s <= MAX_DURATION_S):
            raise ValueError(f"duration_s must be in [0, {MAX_DURATION_S:g}], got {duration_s!r}")
        if not 8000 <= int(sample_rate) <= 192000:
            raise ValueError(f"sample_rate must be 8000..192000 Hz, got {sample_rate!r}")
        patch = self.patch_for(int(pitch))
        if self.drums or patch.category in KIT_CATEGORIES:
            # Drum-machine behaviour: the sound's own tuning and length, whatever key and note length.
            note, gate = round(patch["root_note"]), float(patch["hold_s"])
        elif patch.category in DRUM_CATEGORIES:  # effects: own tuning, held for the note (a riser spans it)
            note, gate = round(patch["root_note"]), max(float(duration_s), 0.005)
        else:
            note, gate = int(pitch), max(float(duration_s), 0.005)
        key = (id(patch), note, round(gate, 3), int(sample_rate))
        with self._lock:
            unit = self._cache.get(key)
            if unit is not None:
                self._cache.move_to_end(key)
        if unit is None:
            unit = self._render(patch, note, round(gate, 3), int(sample_rate))
            with self._lock:
                self._cache[key] = unit
                while len(self._cache) > CACHE_NOTES:
                    self._cache.popitem(last=False)
        return unit * np.float32(NOTE_PEAK * (int(velocity) / 127) ** VELOCITY_CURVE)

    def _bank_length(self, n_samples: int, sample_rate: int) -> int:
        """Samples of this instrument's noise bank at a rate once a note of ``n_samples`` is asked for:
        8 s, grown to the note when longer. Every note counts, noisy or not, so the bank (and the
        sound) does not depend on which notes happen to use noise."""
        with self._lock:
            length = self._bank_lengths.get(sample_rate)
            if length is None or frame_layout(length, sample_rate).count < frame_layout(n_samples, sample_rate).count:
                length = max(n_samples, round(NOISE_BANK_S * sample_rate))
                self._bank_lengths[sample_rate] = length
            return length

    def _patch_state(self, patch: Patch) -> tuple[Mapping[str, np.ndarray | float], dict]:
        """``patch.physical()`` and the synthesiser's memo for the patch, made once: every note of
        the patch reads them."""
        with self._lock:
            known = self._per_patch.get(id(patch))
            if known is None or known[0] is not patch:  # (the patch is kept, so its id is not reused)
                known = (patch, patch.physical(), {})
                self._per_patch[id(patch)] = known
            return known[1], known[2]

    def _render(self, patch: Patch, note: int, gate: float, sample_rate: int) -> np.ndarray:
        controls, memo = self._patch_state(patch)
        length = min(sound_length_s(controls, gate), gate + min(self.max_tail_s, T60 * float(controls["release_s"])),
                     MAX_DURATION_S)  # fmt: skip
        n = max(1, math.ceil(length * sample_rate))
        bank = self._bank_length(n, sample_rate)
        noise = _noise_bank(self.seed, sample_rate, bank) if uses_noise(controls) else None
        rows = render_channels(controls, note, gate, n, sample_rate, noise, fast=True, memo=memo)
        # DC off and peak to 1 on contiguous channels (numpy is slow over interleaved [n, 2]);
        # each mean is a running float32 sum, as numpy's mean over axis 0 of [n, 2] adds.
        rows -= np.array([np.add.accumulate(row)[-1] for row in rows], np.float32)[:, None] / np.float32(n)
        peak = float(np.abs(rows).max())
        if peak > 0:
            rows /= np.float32(peak)
        return np.ascontiguousarray(rows.T)


_banks: OrderedDict[tuple[int, int, int], NoiseDraw] = OrderedDict()
_banks_lock = threading.Lock()


def _noise_bank(seed: int, sample_rate: int, length: int) -> NoiseDraw:
    """The noise an instrument of ``seed`` plays at a rate, ``length`` samples of it, read-only.

    Every note starts the bank at its beginning, as a sampler replays its recording. Drawing
    8 s of noise costs about as much as rendering a dozen notes, and all of a loop's
    instruments share a seed, so the draw is shared (drawn under the lock: once, not per thread).
    """
    key = (int(seed), int(sample_rate), int(length))
    with _banks_lock:
        bank = _banks.get(key)
        if bank is None:
            bank = draw_noise(np.random.default_rng([key[0], key[1], 0x1E]), length, sample_rate)
            bank.spectra.flags.writeable = False
            bank.click.flags.writeable = False
            _banks[key] = bank
            while len(_banks) > SHARED_BANKS:
                _banks.popitem(last=False)
        _banks.move_to_end(key)
        return bank
