"""The ranges every entry point (prompt reader, daemon parameters, CLI) accepts: one home."""

from __future__ import annotations

__all__ = [
    "BPM_RANGE",
    "MAX_BARS",
    "MAX_LOOP_S",
    "MAX_METER_NUMERATOR",
    "MAX_PROMPT_CHARS",
    "METER_DENOMINATORS",
    "SAMPLE_RATE_RANGE",
    "SEED_MAX",
    "TARGET_LUFS_RANGE",
]

#: Seeds are non-negative 31-bit integers: the same in every language a client is written in.
SEED_MAX = 2**31 - 1
#: Output sample rates in Hz; above 192 kHz nothing audible is gained and memory grows.
SAMPLE_RATE_RANGE = (8000, 192_000)
#: Integrated loudness targets in LUFS for mastered output.
TARGET_LUFS_RANGE = (-40.0, -6.0)
BPM_RANGE = (20.0, 400.0)
MAX_BARS = 256
MAX_METER_NUMERATOR = 16
METER_DENOMINATORS = (1, 2, 4, 8, 16)
MAX_PROMPT_CHARS = 2000
#: Longest loop (or render) the daemon makes: ten minutes.
MAX_LOOP_S = 600.0
