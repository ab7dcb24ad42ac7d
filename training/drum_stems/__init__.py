"""Drum sub-stems (issue 21): multi-kit drum renders, a five-source ``BandUNet``, training, export.

``data.py`` writes drum clips from the idiom library's grooves and renders each sub-stem alone
through several kits; ``train.py`` trains; ``export.py`` writes ``models/drum_stems``.
"""
