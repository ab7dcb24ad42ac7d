"""The project's own stem-separation model: data rendering, architecture, training and export.

Training-side only (``arrange``/``render`` need music21 and FluidSynth; ``model``/``train``/
``export`` need torch). The daemon runs the exported ONNX through
``promptdaw.runtime.separation`` and never imports this package.
"""
