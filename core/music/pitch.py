"""Pitch and frequency: equal temperament with A4 = MIDI note 69 = 440 Hz."""

from __future__ import annotations

import numpy as np

__all__ = ["A4_HZ", "A4_MIDI", "hz_to_midi", "midi_to_hz"]

A4_HZ = 440.0
A4_MIDI = 69


def midi_to_hz(note: float | np.ndarray) -> float | np.ndarray:
    """Frequency of a (fractional) MIDI note number; arrays map element-wise."""
    return A4_HZ * 2.0 ** ((np.asarray(note, dtype=np.float64) - A4_MIDI) / 12.0)


def hz_to_midi(hz: float | np.ndarray) -> float | np.ndarray:
    """Fractional MIDI note number of a frequency in Hz (> 0)."""
    return A4_MIDI + 12.0 * np.log2(np.asarray(hz, dtype=np.float64) / A4_HZ)
