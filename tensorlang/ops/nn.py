"""Neural-network ops: softmax, log_softmax and the losses.

Every kernel is the fused, stable formulation (max subtraction, log1p of exp(-|x|)), never a
composition through log(softmax): no overflow and no inf/nan for finite inputs of any size.
Losses on probabilities (cross_entropy, binary_cross_entropy) clip p to [eps, 1 - eps] of its
dtype (eps = machine epsilon), so log(0) never happens; the gradient is zero where p is clipped.

Categorical labels are integer class ids of the batch shape (`[N]` for `[N, C]` logits, any int
dtype, u8 included) or rows of the logits' shape (one-hot or soft probabilities; float rows get a
gradient). The binary losses take targets that broadcast to the predictions' shape.
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir.opdef import FRESH, defop
from ..ir.types import TensorType, normalize_axis
from .common import float_of, product

# ------------------------------------------------------------------ shape rules


def _axis_prepare(types, axis=-1):
    return {"axis": normalize_axis(axis, types[0].rank)}


def _float_same(types, axis):
    t = types[0]
    if t.dtype == "bool":
        raise OpError("needs a numeric tensor, not bool")
    return TensorType(float_of(t), t.shape)


# ------------------------------------------------------------------ kernels


def _f(x):
    """x as a float array: ints and bools become the default float (f32)."""
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _shifted(x, axis):
    """x - max(x): every exponent is <= 0, so exp never overflows and the sum is >= 1."""
    return x - np.max(x, axis=axis, keepdims=True)


def _softmax(x, axis):
    e = np.exp(_shifted(_f(x), axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis):
    z = _shifted(_f(x), axis)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def check_ids(ids, c: int) -> None:
    """IndexError unless every class id is in [0, c): an id out of range is an error, not a
    wrap-around (unsigned ids need only the max checked)."""
    if ids.size and ((ids.dtype.kind != "u" and ids.min() < 0) or ids.max() >= c):
        bad = ids[(ids < 0) | (ids >= c)].flat[0]
        raise IndexError(f"class id {bad} is out of range for {c} classes")


_ROWS: dict[int, np.ndarray] = {}  # np.arange(n) per batch size n, made once


def rows(n: int) -> np.ndarray:
    """np.arange(n), cached: the row index of a batch's fancy indexing."""
    r = _ROWS.get(n)
    if r is None:
        if len(_ROWS) > 64:
            _ROWS.clear()
        r = _ROWS[n] = np.arange(n)
        r.flags.writeable = False
    return r


def take_ids(x, ids):
    """x[i, ids[i]] for a batch of rows x [N, C]; an id outside [0, C) is an IndexError naming
    it (NumPy's own check catches ids >= C; negative ids, which would wrap, are checked here)."""
    if ids.dtype.kind != "u" and ids.size and ids.min() < 0:
        check_ids(ids, x.shape[-1])
    try:
        return x[rows(len(ids)), ids]
    except IndexError:
        check_ids(ids, x.shape[-1])
        raise


# ------------------------------------------------------------------ gradient rules (graph nodes)


def _as(b, x, dtype):
    """x cast to dtype (a no-op when it already is)."""
    return x if x.dtype == dtype else b.op("cast", x, dtype=dtype)


def _g_softmax(b, n, g):
    """s * (g - sum(g * s))."""
    ax = n.attrs["axis"]
    dot = b.op("sum", product(b, g, n), axis=ax, keepdims=True)
    return (product(b, n, b.op("subtract", g, dot)),)


def _g_log_softmax(b, n, g):
    """g - softmax(x) * sum(g)."""
    x, ax = n.inputs[0], n.attrs["axis"]
    total = b.op("sum", g, axis=ax, keepdims=True)
    return (b.op("subtract", g, product(b, b.op("softmax", x, axis=ax), total)),)


# ------------------------------------------------------------------ cases


def _axis_cases(rng):
    return [([rng.normal(size=s)], {"axis": ax}) for s, ax in
            [((3,), -1), ((2, 4), -1), ((2, 3, 2), 1), ((1, 3), 0)]]


# ------------------------------------------------------------------ the records

defop("softmax", "x, axis: axis = -1", prepare=_axis_prepare, infer=_float_same, kernel=_softmax,
      grad=_g_softmax, family="nn", memory=FRESH, cases=_axis_cases,
      doc="exp(x) / sum(exp(x)) along axis, computed with the max subtracted")
defop("log_softmax", "x, axis: axis = -1", prepare=_axis_prepare, infer=_float_same,
      kernel=_log_softmax, grad=_g_log_softmax, family="nn", memory=FRESH, cases=_axis_cases,
      doc="x - logsumexp(x) along axis, stable")

