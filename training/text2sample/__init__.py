"""Text-to-sample: the training data (``sounds``, ``presets``, ``texts``, ``dataset``), the network
(``model``), the differentiable synthesiser (``synth_torch``) and the exporter.

Training only: nothing here is imported by the daemon, which runs ``model.onnx`` and the
numpy synthesiser in ``runtime/synthesis``.
"""
