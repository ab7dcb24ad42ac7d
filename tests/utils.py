"""Test helpers live in the package (the demo and benchmarks use them too); re-exported here."""

from promptdaw.core.music.pitch import midi_to_hz
from promptdaw.note_metrics import NoteScores, note_f1
from promptdaw.signals import SAMPLE_RATE, RefNote, synth_notes

__all__ = ["SAMPLE_RATE", "NoteScores", "RefNote", "midi_to_hz", "note_f1", "synth_notes"]
