"""Fixed geometry of the stem-separation model and its chunked inference; derived values derived.

The model (``models/stems``) sees magnitudes of a 44.1 kHz stereo STFT (periodic Hann window,
``N_FFT`` 2048, ``HOP`` 512, centred with zero padding) and returns one soft mask per source,
bin and frame. Inference cuts the signal into overlapping segments of ``CHUNK_FRAMES`` frames
and cross-fades them; a manifest's ``window`` section may override the chunk geometry.
"""

from __future__ import annotations

#: Stem order of the model's output, the wire reply and the CLI's files.
SOURCES = ("drums", "bass", "vocals", "other")

# --- STFT -----------------------------------------------------------------------------------
SAMPLE_RATE = 44100  # Hz; inputs at other rates are resampled in and back out
CHANNELS = 2  # stereo: mono is duplicated, more than two channels are averaged first
N_FFT = 2048  # samples per STFT frame (46 ms)
HOP = 512  # samples between frames (11.6 ms), a quarter of N_FFT
N_BINS = N_FFT // 2 + 1  # 1025 frequency bins, 21.5 Hz apart

# --- Chunked inference ------------------------------------------------------------------------
#: The model down-samples time three times, so a chunk's frame count must be a multiple of 8.
FRAME_MULTIPLE = 8
CHUNK_FRAMES = 1024  # frames per model call (11.9 s)
OVERLAP_FRAMES = 128  # frames shared by consecutive chunks (1.5 s), cross-faded linearly
#: Samples per chunk: a centred STFT of (frames - 1) * HOP samples has exactly `frames` frames.
CHUNK_SAMPLES = (CHUNK_FRAMES - 1) * HOP  # 523,776 samples
OVERLAP_SAMPLES = OVERLAP_FRAMES * HOP  # 65,536 samples
