"""Shared pieces of shape rules and gradient rules, so each op's record stays one readable line."""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir.types import DEFAULT_FLOAT, TensorType, broadcast_shapes, is_float, np_dtype, promote


def float_of(t: TensorType) -> str:
    """The dtype of a float-valued function of t: t's own float dtype, else the default float."""
    return t.dtype if is_float(t.dtype) else DEFAULT_FLOAT


def same(types, **_) -> TensorType:
    """The type of the first input, unchanged (neg, abs, relu on any numeric dtype)."""
    t = types[0]
    if t.dtype == "bool":
        raise OpError("needs a numeric tensor, not bool")
    return TensorType(t.dtype, t.shape, t.weak)


def floating(types, **_) -> TensorType:
    """Same shape, float dtype (exp, log, tanh... of ints give f32)."""
    t = types[0]
    return TensorType(float_of(t), t.shape, t.weak)


def broadcast(types, **_) -> TensorType:
    """NumPy broadcasting and promotion over all inputs (add, multiply, maximum...)."""
    shape = broadcast_shapes(*(t.shape for t in types))
    dtype = promote(*types)
    if dtype == "bool":
        raise OpError("arithmetic on bool tensors: cast them first")
    return TensorType(dtype, shape, all(t.weak for t in types))


def broadcast_float(types, **_) -> TensorType:
    """Broadcasting; integer results become the default float (true division)."""
    t = broadcast(types)
    return TensorType(float_of(t), t.shape, t.weak)


def compare(types, **_) -> TensorType:
    """Broadcasting to a bool result (comparisons)."""
    return TensorType("bool", broadcast_shapes(*(t.shape for t in types)))


def as_dtype(x: np.ndarray, dtype: str) -> np.ndarray:
    """x in exactly `dtype`, without a copy when it already is."""
    return x.astype(np_dtype(dtype), copy=False)


def require_float(t: TensorType, what: str = "input") -> None:
    """OpError unless t is a float tensor."""
    if not is_float(t.dtype):
        raise OpError(f"the {what} must be a float tensor, not {t.dtype}")


# ------------------------------------------------------------------ gradient helpers
def fit(b, g, like):
    """g summed back to the shape of `like` (undoing broadcasting) and cast to its dtype.
    The one place where broadcasting is undone."""
    if tuple(g.type.shape) != tuple(like.type.shape):
        g = b.op("sum_to", g, shape=tuple(like.type.shape))
    if g.dtype != like.dtype:
        g = b.op("cast", g, dtype=like.dtype)
    return g


def product(b, *xs):
    """x0 * x1 * ... as multiply nodes (gradient rules multiply several factors)."""
    out = xs[0]
    for x in xs[1:]:
        out = b.op("multiply", out, x)
    return out


def mask(b, cond, like):
    """The bool node `cond` as 0/1 in like's dtype."""
    return b.op("cast", cond, dtype=like.dtype)
