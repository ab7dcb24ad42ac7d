"""Text-to-MIDI: the training corpus (``corpus``, ``idioms``, ``music21_corpus``) and, later, the model.

Training only: nothing here is imported by the daemon.
"""
