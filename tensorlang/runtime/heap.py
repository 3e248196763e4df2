"""Freed memory kept for the next run. A plan run again and again (a training loop, inference
over a data set) allocates the same arrays every time. glibc's malloc serves a block above its
mmap threshold with fresh pages and unmaps them when it is freed, and gives the heap's top back
to the system once more than its trim threshold is free there; either way the next run faults
every page in again and the kernel zeroes it. glibc raises both thresholds by itself, but only
to the largest single block freed so far (the trim threshold to twice that), while a run frees
many blocks at once: a 2-layer LSTM step's tapes and gradients (~8 MB, 2.4 MB the largest)
were given back every step, and Keras's MNIST convnet at batch 128 faulted 4,324 pages a step,
13 ms of system time in a 70 ms step (/proc's minor fault count, `getrusage`).

`keep(peak)` sets the thresholds where glibc's own raising ends (an mmap threshold of
MMAP_MAX, the most glibc takes, and a trim threshold of twice it) and the trim threshold at
least twice the run's peak (memory.py's prediction), so that a run's arrays come from the heap
and stay there for the next run: the process holds on to what its next run needs anyway. Both
are process-wide settings, raised only, never lowered; where the C library is not glibc this
does nothing."""

from __future__ import annotations

import ctypes

from .memory import predict
from .plan import Plan

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_MAX = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit machines
SMALL = 128 << 10  # glibc's first mmap threshold: a run whose peak is below it is left alone

_kept = {"trim": 0}
_libc: list = []  # [the C library's handle or None], looked up once


def _glibc():
    """glibc's handle, or None where the C library is another one (musl, macOS, Windows)."""
    if not _libc:
        try:  # the process's own symbols: the C library it runs on
            lib = ctypes.CDLL(None)
        except (OSError, TypeError):  # Windows has no such handle
            lib = None
        if lib is None or not hasattr(lib, "gnu_get_libc_version"):
            lib = None
        else:
            lib.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        _libc.append(lib)
    return _libc[0]


def keep(peak: int) -> bool:
    """Keep freed memory for a run whose arrays reach `peak` bytes at once (see the module
    doc); True when the thresholds were raised by this call."""
    trim = max(2 * MMAP_MAX, 2 * int(peak))
    if peak < SMALL or trim <= _kept["trim"]:
        return False
    lib = _glibc()
    if lib is None:
        return False
    trim = min(trim, 2**31 - 1)  # mallopt takes an int
    if not (lib.mallopt(M_MMAP_THRESHOLD, MMAP_MAX) and lib.mallopt(M_TRIM_THRESHOLD, trim)):
        return False
    _kept["trim"] = trim
    return True


def kept() -> int:
    """The trim threshold keep() set (bytes), 0 when it has set none."""
    return _kept["trim"]


def keep_for(plan: Plan, env: dict) -> bool:
    """keep() for runs of plan at these dim sizes (the peak memory.py predicts for them)."""
    return keep(predict(plan, env).peak)
