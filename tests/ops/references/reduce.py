"""References for the reductions: each one moves the reduced axes to the end, flattens them into
one row per output element and applies a plain-Python formula to every row (float64 math)."""

import math

import numpy as np


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axis = [axis] if isinstance(axis, int) else list(axis)
    return tuple(sorted(a % ndim for a in axis))


def _rows(x, axis, keepdims, fn, dtype=np.float64):
    """fn applied to each row of the reduced elements, shaped as the reduction's output."""
    axes = _axes(axis, x.ndim)
    kept = [i for i in range(x.ndim) if i not in axes]
    moved = np.transpose(x, kept + list(axes))
    out_shape = tuple(x.shape[i] for i in kept)
    rows = moved.reshape(out_shape + (-1,)).reshape(-1, math.prod(x.shape[a] for a in axes))
    out = np.array([fn([v.item() for v in row]) for row in rows], dtype=dtype).reshape(out_shape)
    if keepdims:
        out = out.reshape(tuple(1 if i in axes else d for i, d in enumerate(x.shape)))
    return out


def _reduction(fn):
    return lambda x, axis=None, keepdims=False: _rows(x, axis, keepdims, fn)


def _mean(r):
    return math.fsum(r) / len(r)


def _var(r):
    m = _mean(r)
    return math.fsum((v - m) ** 2 for v in r) / len(r)


def _logsumexp(r):
    return math.log(math.fsum(math.exp(v) for v in r))


def _arg(pick):
    def ref(x, axis=None, keepdims=False):
        if axis is None:
            flat = [v.item() for v in x.reshape(-1)]
            i = flat.index(pick(flat))
            return np.array(i).reshape((1,) * x.ndim if keepdims else ())
        return _rows(x, axis, keepdims, lambda r: r.index(pick(r)), np.int64)
    return ref


REFERENCES = {
    "sum": _reduction(math.fsum),
    "mean": _reduction(_mean),
    "max": _reduction(max),
    "min": _reduction(min),
    "prod": _reduction(math.prod),
    "logsumexp": _reduction(_logsumexp),
    "var": _reduction(_var),
    "std": _reduction(lambda r: math.sqrt(_var(r))),
    "argmax": _arg(max),
    "argmin": _arg(min),
    "size_of": lambda x, axis=None, dtype="f32": np.array(
        math.prod(x.shape[a] for a in _axes(axis, x.ndim))),
}
