"""Synthetic test signals: harmonic notes with known pitches and times.

Used by the demo, the benchmarks and the tests wherever audio with a known answer is
needed (transcription must recover these notes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from promptdaw.core.music.pitch import midi_to_hz

__all__ = ["RefNote", "synth_notes"]

SAMPLE_RATE = 22050


@dataclass(frozen=True)
class RefNote:
    """A note to synthesise and later compare against."""

    start_s: float
    end_s: float
    pitch: int
    velocity: int = 100


def synth_notes(
    notes: Sequence[RefNote | tuple[float, float, int]],
    duration_s: float,
    *,
    sample_rate: int = SAMPLE_RATE,
    n_harmonics: int = 6,
    rolloff: float = 1.5,
    partial_damping: float = 3.0,
    attack_s: float = 0.01,
    decay_s: float = 1.0,
    release_s: float = 0.03,
    noise_level: float = 0.0,
    seed: int = 0,
    partials: Sequence[float] | None = None,
) -> np.ndarray:
    """Render notes as plucked-string-like harmonic tones.

    Each note is a sum of harmonics with amplitude ``1 / h**rolloff`` (or as ``partials`` gives
    them; those above Nyquist skipped) where higher partials die away faster, as on a real
    string, under a linear attack, an exponential decay and a short linear release after ``end_s``.

    Basic Pitch normalises each window's spectrogram, so perfectly clean synthetic partials
    decaying into digital silence get amplified into ghost notes at harmonic intervals; a low
    ``noise_level`` floor (as any real recording has) avoids that. Keep it 0 for long silent
    stretches, where the normalised noise would itself turn into ghost notes.

    Args:
        notes: ``RefNote`` objects or ``(start_s, end_s, pitch)`` tuples.
        duration_s: Length of the returned audio in seconds (notes past it are truncated).
        sample_rate: Output sample rate in Hz.
        n_harmonics: Harmonics per note, fundamental included.
        rolloff: Spectral slope: harmonic ``h`` has amplitude ``1 / h**rolloff``.
        partial_damping: Extra decay rate (1/s) of harmonic ``h``, times ``h - 1``.
        attack_s: Attack time in seconds.
        decay_s: Exponential decay time constant in seconds.
        release_s: Release time after the note end in seconds.
        noise_level: Standard deviation of white noise added after normalisation.
        seed: Seed of the noise generator.
        partials: Amplitudes of the overtones (harmonics 2, 3, 4, ...) relative to the
            fundamental's 1.0, replacing ``n_harmonics`` and ``rolloff`` when given: ``()``
            renders pure sines, ``(0.4, 0.2, 0.1)`` a rich tone. ``partial_damping`` still applies.

    Returns:
        float32 mono audio, notes peak-normalised to 0.5, plus the noise.
    """
    amplitudes = None if partials is None else [1.0, *map(float, partials)]  # harmonic h at [h - 1]
    n_partials = n_harmonics if amplitudes is None else len(amplitudes)
    n_total = round(duration_s * sample_rate)
    out = np.zeros(n_total, dtype=np.float64)
    for raw in notes:
        note = raw if isinstance(raw, RefNote) else RefNote(*raw)
        first = round(note.start_s * sample_rate)
        length = round((note.end_s - note.start_s + release_s) * sample_rate)
        last = min(first + length, n_total)
        if last <= first:
            continue
        t = np.arange(last - first) / sample_rate
        f0 = midi_to_hz(note.pitch)
        tone = np.zeros_like(t)
        for h in range(1, n_partials + 1):
            if h * f0 < sample_rate / 2:
                damping = np.exp(-t * partial_damping * (h - 1))
                if amplitudes is None:
                    tone += np.sin(2 * np.pi * h * f0 * t) * damping / h**rolloff
                else:
                    tone += np.sin(2 * np.pi * h * f0 * t) * damping * amplitudes[h - 1]
        sustain = note.end_s - note.start_s
        env = np.minimum(t / attack_s, 1.0) * np.exp(-t / decay_s)
        env *= np.clip(1.0 - (t - sustain) / release_s, 0.0, 1.0)
        out[first:last] += (note.velocity / 127.0) * env * tone
    peak = np.max(np.abs(out), initial=0.0)
    if peak > 0:
        out *= 0.5 / peak
    if noise_level > 0:
        out += noise_level * np.random.default_rng(seed).standard_normal(n_total)
    return out.astype(np.float32)
