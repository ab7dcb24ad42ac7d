"""Fixed geometry of the Basic Pitch (ICASSP 2022) ONNX model and post-processing defaults.

Everything derivable is derived, so the numbers cannot drift apart from each other. The model
itself fixes ``AUDIO_SAMPLE_RATE``, ``FFT_HOP``, ``WINDOW_SAMPLES``, ``WINDOW_FRAMES`` and the
bin counts; the overlap is the value the model was designed to be run with.
"""

from __future__ import annotations

# --- Model input -------------------------------------------------------------------------------
AUDIO_SAMPLE_RATE = 22050  # Hz, mono
FFT_HOP = 256  # samples between consecutive model frames
FRAMES_PER_SECOND = AUDIO_SAMPLE_RATE / FFT_HOP  # frames/s (86.1328125)
WINDOW_SECONDS = 2  # s, nominal length of one model window
WINDOW_SAMPLES = WINDOW_SECONDS * AUDIO_SAMPLE_RATE - FFT_HOP  # samples per window (43,844)

# The model's CQT is centred, so it emits one frame per hop plus one: 43,844 // 256 + 1 = 172.
# Note that 172 * 256 = 44,032 > 43,844, i.e. a window holds slightly more frames than its
# audio spans at the nominal rate; see WINDOW_DRIFT_SAMPLES.
WINDOW_FRAMES = WINDOW_SAMPLES // FFT_HOP + 1  # frames per window (172)

# --- Overlap between windows ----------------------------------------------------------------
OVERLAP_FRAMES = 30  # frames shared by consecutive windows
OVERLAP_SAMPLES = OVERLAP_FRAMES * FFT_HOP  # samples shared by consecutive windows (7,680)
HALF_OVERLAP_FRAMES = OVERLAP_FRAMES // 2  # frames dropped at each edge of a window (15)
HALF_OVERLAP_SAMPLES = HALF_OVERLAP_FRAMES * FFT_HOP  # samples of left padding (3,840)
WINDOW_HOP_SAMPLES = WINDOW_SAMPLES - OVERLAP_SAMPLES  # samples between window starts (36,164)
KEPT_FRAMES_PER_WINDOW = WINDOW_FRAMES - OVERLAP_FRAMES  # frames each window contributes (142)

# After unwrapping, each window contributes 142 frames (36,352 samples at the nominal hop) but
# the windows only advance by 36,164 samples. Treating the unwrapped frames as evenly spaced
# would therefore make every later window 188 samples (~8.5 ms) late, ~0.3 s after a minute.
WINDOW_DRIFT_SAMPLES = KEPT_FRAMES_PER_WINDOW * FFT_HOP - WINDOW_HOP_SAMPLES  # samples (188)

# --- Model output -------------------------------------------------------------------------------
MIDI_OFFSET = 21  # MIDI note number of pitch bin 0 (A0)
N_PITCH_BINS = 88  # piano range A0..C8
CONTOUR_BINS_PER_SEMITONE = 3
N_CONTOUR_BINS = N_PITCH_BINS * CONTOUR_BINS_PER_SEMITONE  # 264

# --- Note creation defaults ----------------------------------------------------------------------
DEFAULT_ONSET_THRESHOLD = 0.5  # onset posterior needed to start a note
DEFAULT_FRAME_THRESHOLD = 0.3  # frame posterior needed to sustain a note
DEFAULT_MIN_NOTE_MS = 127.7  # ms; notes must be longer than this (11 frames)
# Frames a note may dip below the frame threshold and still continue (~128 ms), so vibrato or
# a brief dropout in the posteriorgram does not split one note into two.
ENERGY_TOLERANCE_FRAMES = 11
# Frame-difference lags used to infer onsets the onset head missed (a re-attacked note).
INFERRED_ONSET_LAGS = 2

# --- Harmonic ghost suppression ------------------------------------------------------------------
# The model answers the upper partials of a harmonic-rich tone with weak extra notes an octave, a
# twelfth, two octaves ... above it. A note is dropped as such a ghost when its pitch is harmonic
# 2..DEFAULT_GHOST_MAX_HARMONIC of a much stronger note that starts with it and outlasts it.
# Thresholds come from 72 synthetic 20-note pieces (5 timbres, pure and with noise floors 0, 0.002
# and 0.005, a quarter of the notes doubled +12/+19/+24 at 0.6-1.1 of their loudness): 204 of 205
# ghosts dropped, 4 of 241 doublings of harmonic-rich tones lost (8 of 41 of pure sines, which
# the model itself cannot tell apart from a single tone with a strong second partial). On 60
# held-out pieces (doublings at 0.8-1.2 of the loudness) note F1 on harmonic-rich tones rose from
# 0.929 to 0.994 and 248 of 252 doublings were kept.
# Harmonics 2..8 (+12, +19, +24, +28, +31, +34, +36 semitones); above the 8th they lie 2 semitones
# apart or closer, so nearly every wide interval would count as one.
DEFAULT_GHOST_MAX_HARMONIC = 8
# Strength = velocity x the onset activation at the note's start. Ghosts reached at most 0.51 of
# their fundamental's strength (velocity alone: 0.71, too close to real doublings, which went
# down to 0.54 in velocity but mostly stayed above 0.45 in strength), so 0.5 keeps a quieter but
# separately attacked doubling while dropping a partial's echo.
DEFAULT_GHOST_STRENGTH_RATIO = 0.5
# Ghost onsets came within -12..+46 ms (0..4 frames) of their fundamental's; 60 ms allows 5 frames
# and still treats a note entering later over a held one as a note of its own.
DEFAULT_GHOST_ONSET_TOLERANCE_S = 0.06
# A partial dies with its fundamental: every ghost ended >= 23 ms before it, so a quieter note
# still sounding 100 ms after the stronger one has ended is kept as real.
DEFAULT_GHOST_END_SLACK_S = 0.1
# Frames either side of a note's first frame searched for its onset activation (the peak may sit
# a frame or two off an inferred or recovered start).
ONSET_STRENGTH_FRAMES = 2
