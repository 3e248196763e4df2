"""Running kernels with NumPy's floating-point warnings off (a NaN is found by the finite checks,
not by a RuntimeWarning printed mid-run), cheaply: `np.errstate(all="ignore")` builds its state
anew on every entry (about 3 us, a tenth of a batch-1 inference); setting NumPy's context
variable to a state built once costs a tenth of that. Where NumPy keeps that state elsewhere
(another version), np.errstate does the same job."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

# The RuntimeWarnings NumPy raises through `warnings` rather than its error state (a mean or a
# variance of no elements: the NaN is the value asked for, and --check-numerics names its node)
# are silenced once here, not per run: catching warnings per run costs more than a batch-1 step.
warnings.filterwarnings("ignore", message="(Mean of empty slice|Degrees of freedom <= 0)",
                        category=RuntimeWarning)

try:  # NumPy 2: the floating-point error state is one context variable
    from numpy._core._ufunc_config import _extobj_contextvar as _STATE

    with np.errstate(all="ignore"):
        _IGNORE = _STATE.get()
except (ImportError, AttributeError):  # pragma: no cover - other NumPy versions
    _STATE = None


def call_quietly(fn: Callable, arg):
    """fn(arg) with every floating-point warning ignored, the caller's state restored after."""
    if _STATE is None:  # pragma: no cover
        with np.errstate(all="ignore"):
            return fn(arg)
    token = _STATE.set(_IGNORE)
    try:
        return fn(arg)
    finally:
        _STATE.reset(token)
