"""Give freed heap memory back to the operating system between days.

Why: a day's API responses are decoded in the fetch threads, so glibc spreads them over several
malloc arenas; once freed, that memory stays mapped, and a long run's RSS creeps upward with the
range (measured: 55 -> 128 MB over 12 months, while Python's own live objects stayed under 4 MB).
``malloc_trim(0)`` returns the free pages of every arena, which keeps peak memory bounded by the
largest day rather than by the length of the range. On a C library without it this is a no-op.
"""
from __future__ import annotations

import ctypes
import ctypes.util

_TRIM = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _TRIM = getattr(_libc, "malloc_trim", None)
except OSError:
    pass


def release_freed_memory() -> bool:
    """Return free heap pages to the OS; True when the C library supports it."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
