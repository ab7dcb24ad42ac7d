"""The sample critic: an audio classifier that hears the generator's candidate patches (training and export)."""
