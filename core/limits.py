"""The ranges every entry point (prompt reader, daemon parameters, CLI) accepts: one home."""

from __future__ import annotations

from promptdaw.core.errors import InvalidInput

__all__ = [
    "BPM_RANGE",
    "KEPT_RESULTS_BYTES",
    "KEPT_RESULT_TTL_S",
    "MAX_BARS",
    "MAX_LOOP_S",
    "MAX_METER_NUMERATOR",
    "MAX_OUTPUT_BYTES",
    "MAX_PROMPT_CHARS",
    "METER_DENOMINATORS",
    "SAMPLE_RATE_RANGE",
    "SEED_MAX",
    "TARGET_LUFS_RANGE",
    "check_output_size",
    "output_bytes",
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
#: Largest reply a loop or render may make: the mix and every stem, float32 stereo. As large as the
#: largest request the daemon accepts; a render takes several times its output while it runs
#: (issue 20: an 808 MB reply peaked at 4.6 GB), so this bounds the daemon's memory too.
MAX_OUTPUT_BYTES = 512 * 2**20
#: Results finished just as their client left are kept (for ``result``) within this many bytes...
KEPT_RESULTS_BYTES = 512 * 2**20
#: ...and for this long, in seconds.
KEPT_RESULT_TTL_S = 600.0


def output_bytes(seconds: float, sample_rate: int, tracks: int, channels: int = 2) -> int:
    """Bytes of ``tracks`` float32 buffers of ``seconds`` at ``sample_rate`` (a mix and its stems)."""
    return round(seconds * sample_rate) * channels * 4 * tracks


def check_output_size(seconds: float, sample_rate: int, tracks: int) -> None:
    """Refuse, before any work, a render whose reply would pass :data:`MAX_OUTPUT_BYTES`.

    Raises:
        InvalidInput: naming the size, the limit and what would fit.
    """
    size = output_bytes(seconds, sample_rate, tracks)
    if size > MAX_OUTPUT_BYTES:
        fits_s = MAX_OUTPUT_BYTES / output_bytes(1.0, sample_rate, tracks)
        raise InvalidInput(
            f"output: {seconds:.0f} s of stereo audio at {sample_rate} Hz in {tracks} buffers (the mix and "
            f"{tracks - 1} stems) is {size / 2**20:.0f} MiB; the limit is {MAX_OUTPUT_BYTES / 2**20:.0f} MiB "
            f"(at most {fits_s:.0f} s at this rate with these parts)"
        )
