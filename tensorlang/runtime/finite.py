"""The finite check of a step's results in one go: `first_nonfinite(values)` is the index of the
first value holding a NaN or an infinity, or None. It is exact and costs about one BLAS pass over
the float data plus a microsecond per value, about 1% of an MLP training step (checking each
value on its own costs twice that and more for many small ones).

How: a float array v is finite exactly when v . v is, unless the squares overflow. So each float
array is reduced to one scalar (v . v), all the scalars are tested together, and only an array
whose scalar is not finite is looked at element by element (a NaN/Inf, or finite values whose
squares overflow); a 0-d value (a loss) is tested as a Python float, exactly. Integer and bool
values are always finite. A float16 array is checked element by element (its dot would overflow
at values above 256)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .quiet import call_quietly

_DOT = (np.dtype(np.float32), np.dtype(np.float64))


def square_norm(v) -> np.floating:
    """A scalar that is finite when every element of v is (v . v for a float32/64 array, else
    0.0 or NaN from the exact test): a plan's finite probe (plan.make_plan's `probes`). A
    non-finite probe can still come from finite values whose squares overflow:
    `first_nonfinite` of the values then decides."""
    if type(v) is np.ndarray and v.dtype in _DOT:
        flat = v.reshape(-1)
        return np.dot(flat, flat)
    return np.float64(0.0 if _exact(v) else np.nan)


def probes_finite(probes: Sequence) -> bool:
    """True when every probe (a NumPy float scalar) is finite: a Python float test each, a
    tenth of what building an array of them for one np.isfinite costs."""
    return all(map(math.isfinite, probes))


def first_nonfinite(values: Sequence) -> int | None:
    """The index of the first value (arrays, NumPy or Python scalars) with a NaN or an infinity
    anywhere in it, or None when every value is finite."""
    return call_quietly(_first_nonfinite, values)  # an overflowing square warns nothing


def _first_nonfinite(values: Sequence) -> int | None:
    squares: list = []
    which: list[int] = []
    dot = np.dot
    for i, v in enumerate(values):
        if type(v) is np.ndarray and v.dtype in _DOT:
            if not v.ndim:  # a loss: one Python float test, exact
                if not math.isfinite(v):
                    return i
                continue
            flat = v.reshape(-1)  # a view when contiguous, else a copy
            squares.append(dot(flat, flat))
            which.append(i)
        elif isinstance(v, (float, np.floating, np.ndarray)) and not _exact(v):
            return i
    if not squares:
        return None
    ok = np.isfinite(np.array(squares))
    if ok.all():
        return None
    for k in np.flatnonzero(~ok):  # not finite, or finite values whose squares overflow
        if not _exact(values[which[k]]):
            return which[k]
    return None


def _exact(v) -> bool:
    """True when every element of v is finite (ints and bools always are)."""
    arr = np.asarray(v)
    return arr.dtype.kind not in "fc" or bool(np.isfinite(arr).all())
