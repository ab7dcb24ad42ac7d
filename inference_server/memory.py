"""The daemon's memory: what it uses (for ``status``) and giving freed memory back to the OS.

CPython and numpy allocate through the C library's ``malloc``. glibc serves large blocks with
``mmap`` (returned to the OS at once when freed) but raises that threshold each time such a
block is freed, up to 32 MiB, after which audio buffers come from the heap; a heap freed in the
middle keeps its pages, so the RSS of a daemon that held a burst of results stayed at its peak
(issue 20: 648 MB -> 1.6 GB, for good). :func:`release_memory` asks glibc to hand back free
heap pages, wherever they are (``malloc_trim``), once results are dropped, and
:func:`configure_allocator` pins the threshold at 32 MiB, so that only the largest buffers
(minutes of audio) are mapped. The threshold was 1 MiB before: every note and stem buffer then
came from a fresh mapping, whose page faults cost a 4-bar loop about 100 ms (generate-loop p50
570-621 ms against 511-512 ms at 32 MiB; RSS after the issue's burst still within 10 % of idle,
and a 1,200-request soak settles at 1.29x idle). Elsewhere both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import resource
from functools import cache

__all__ = ["configure_allocator", "process_memory", "release_memory"]

#: glibc's mallopt parameter number for the mmap threshold (malloc.h: M_MMAP_THRESHOLD).
_M_MMAP_THRESHOLD = -3
#: Blocks at least this big are mmapped, so freeing them returns them to the OS at once; smaller
#: ones come from the heap, which a loop's many note-sized buffers reuse.
MMAP_THRESHOLD_BYTES = 32 << 20


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not hasattr(libc, "malloc_trim") or not hasattr(libc, "mallopt"):
        return None  # not glibc (musl, macOS): nothing to tune
    return libc


def configure_allocator() -> bool:
    """Serve every block of :data:`MMAP_THRESHOLD_BYTES` or more with ``mmap``; True on glibc."""
    libc = _libc()
    return bool(libc and libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def release_memory() -> None:
    """Collect garbage and return free heap memory to the OS (after dropping large buffers)."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def process_memory() -> dict[str, int]:
    """``rss_bytes`` (now) and ``peak_rss_bytes`` of this process."""
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    try:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: report the peak as the best estimate
        rss = peak_kib * 1024
    return {"rss_bytes": rss, "peak_rss_bytes": peak_kib * 1024}
