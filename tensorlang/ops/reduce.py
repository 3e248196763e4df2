"""Reductions: sum mean max min prod argmax argmin logsumexp var std, and the internal size_of.

Each reduction takes `axis` (None = all, an int or a list) and `keepdims`; `prepare` turns the
axis into a sorted tuple of non-negative axes, so kernels and gradient rules see one form.
Gradient rules put the reduced axes back (`expand_dims`) and broadcast to the input's shape.
Counts that depend on symbolic dims (the N of a mean over a batch) are `size_of` nodes.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import defop
from ..ir.types import (
    DEFAULT_FLOAT,
    DTYPES,
    NUMPY,
    TensorType,
    from_numpy,
    is_float,
    normalize_axes,
    normalize_axis,
    np_dtype,
)
from .common import mask

# ------------------------------------------------------------------ shape rules


def _prepare(types, axis=None, keepdims=False):
    return {"axis": normalize_axes(axis, types[0].rank), "keepdims": bool(keepdims)}


def _shape(t: TensorType, axes, keepdims) -> tuple:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(t.shape))
    return tuple(d for i, d in enumerate(t.shape) if i not in axes)


def _rule(dtype_of):
    """A shape rule for a reduction whose output dtype is dtype_of(input dtype)."""
    def infer(types, axis=None, keepdims=False):
        t = types[0]
        axes = normalize_axes(axis, t.rank)
        return TensorType(dtype_of(t.dtype), _shape(t, axes, keepdims))
    return infer


def _accumulate(dtype: str) -> str:
    """sum and prod keep floats and count bools and integers in i64 (like NumPy's int_)."""
    return dtype if is_float(dtype) else "i64"


def _float(dtype: str) -> str:
    return dtype if is_float(dtype) else DEFAULT_FLOAT


def _arg_prepare(types, axis=None, keepdims=False):
    rank = types[0].rank
    return {"axis": None if axis is None else normalize_axis(axis, rank),
            "keepdims": bool(keepdims)}


def _arg_infer(types, axis=None, keepdims=False):
    t = types[0]
    if axis is None:
        return TensorType("i64", (1,) * t.rank if keepdims else ())
    return TensorType("i64", _shape(t, (normalize_axis(axis, t.rank),), keepdims))


# ------------------------------------------------------------------ kernels


def _as(value, dtype) -> np.ndarray:
    return np.asarray(value, dtype=dtype)


def _out(x: np.ndarray, rule) -> np.dtype:
    return np_dtype(rule(from_numpy(x.dtype)))


def _k_sum(x, axis, keepdims=False):
    return _as(np.sum(x, axis=axis, keepdims=keepdims, dtype=_out(x, _accumulate)),
               _out(x, _accumulate))


def _k_prod(x, axis, keepdims=False):
    return _as(np.prod(x, axis=axis, keepdims=keepdims, dtype=_out(x, _accumulate)),
               _out(x, _accumulate))


def _k_float(fn):
    """A float-valued reduction: floats in their own dtype, ints and bools computed in f64 and
    returned as the default float."""
    def kernel(x, axis, keepdims=False):
        out = _out(x, _float)
        work = x if x.dtype.kind == "f" else x.astype(np.float64)
        if x.size == 0:  # NaN, as asked: without NumPy's "Mean of empty slice" warning
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return _as(fn(work, axis=axis, keepdims=keepdims), out)
        return _as(fn(work, axis=axis, keepdims=keepdims), out)
    return kernel


_NP_MEAN = _k_float(np.mean)


def _k_mean(x, axis, keepdims=False):
    """np.mean's result (f32 and f64 summed in their dtype, divided in f64), without its
    Python-level dispatch, which costs more than a batch loss's whole mean."""
    if x.dtype.kind != "f" or x.dtype.itemsize < 4:
        return _NP_MEAN(x, axis, keepdims)
    count = 1
    for a in range(x.ndim) if axis is None else axis:
        count *= x.shape[a]
    total = np.add.reduce(x, axis=axis, keepdims=keepdims)
    return np.asarray(np.true_divide(total, count, dtype=np.float64), x.dtype)


def _k_extreme(fn):
    def kernel(x, axis, keepdims=False):
        return _as(fn(x, axis=axis, keepdims=keepdims), x.dtype)
    return kernel


def _k_arg(fn):
    def kernel(x, axis=None, keepdims=False):
        return _as(fn(x, axis=axis, keepdims=keepdims), np.int64)
    return kernel


def _logsumexp(x, axis, keepdims=False):
    """max + log(sum(exp(x - max))): exp never overflows, and the sum is >= 1."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, np.zeros((), x.dtype))
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _k_size_of(x, axis=None, dtype=DEFAULT_FLOAT):
    count = 1  # plain ints: np.prod costs more than this whole op
    for a in axis if type(axis) is tuple else normalize_axes(axis, x.ndim):
        count *= x.shape[a]
    return np.asarray(count, NUMPY[dtype])


# ------------------------------------------------------------------ gradient rules


def _keep(b, v, n):
    """v (shaped like n's output) with n's reduced axes put back as size-1 dims."""
    if n.attrs["keepdims"] or not n.attrs["axis"]:
        return v
    return b.op("expand_dims", v, axis=n.attrs["axis"])


def _spread(b, g, n):
    """g broadcast back over the reduced axes to the input's shape."""
    return b.op("broadcast_to", _keep(b, g, n), shape=tuple(n.inputs[0].type.shape))


def _count(b, n):
    """The number of elements each output reduces, as a scalar node of n's dtype."""
    x = n.inputs[0]
    count = D.volume([x.type.shape[a] for a in n.attrs["axis"]])
    if D.is_const(count):
        return b.constant(count, n.dtype)
    return b.op("size_of", x, axis=n.attrs["axis"], dtype=n.dtype)


def _c(b, v, n):
    return b.constant(v, n.dtype)


def _g_sum(b, n, g):
    return (_spread(b, g, n),)


def _g_mean(b, n, g):
    return (b.op("divide", _spread(b, g, n), _count(b, n)),)


def _g_extreme(b, n, g):
    """To the positions that attain the max (min); ties share the gradient evenly."""
    x = n.inputs[0]
    hit = mask(b, b.op("equal", x, _keep(b, n, n)), x)
    ties = b.op("sum", hit, axis=n.attrs["axis"], keepdims=True)
    return (b.op("multiply", _keep(b, g, n), b.op("divide", hit, ties)),)


def _g_prod(b, n, g):
    """d prod / d x_i = product of the others, exact with zeros: with no zero it is prod / x_i,
    with one zero only the zero's entry is nonzero (the product of the rest), with more all 0.
    Limitation: the cases are chosen by `where`, so this gradient's own derivative (second
    order) is exact only where x has no zeros."""
    x, axes = n.inputs[0], n.attrs["axis"]
    zero, one = _c(b, 0, n), _c(b, 1, n)
    is_zero = b.op("equal", x, zero)
    safe = b.op("where", is_zero, one, x)
    rest = b.op("prod", safe, axis=axes, keepdims=True)  # the product of the nonzero entries
    zeros = b.op("sum", mask(b, is_zero, x), axis=axes, keepdims=True)
    at_zero = b.op("where", b.op("equal", zeros, one), rest, zero)
    elsewhere = b.op("where", b.op("equal", zeros, zero), b.op("divide", rest, safe), zero)
    return (b.op("multiply", _keep(b, g, n), b.op("where", is_zero, at_zero, elsewhere)),)


def _g_logsumexp(b, n, g):
    softmax = b.op("exp", b.op("subtract", n.inputs[0], _keep(b, n, n)))
    return (b.op("multiply", _keep(b, g, n), softmax),)


def _centered(b, n):
    x = n.inputs[0]
    return b.op("subtract", x, b.op("mean", x, axis=n.attrs["axis"], keepdims=True))


def _g_var(b, n, g):
    scale = b.op("divide", _c(b, 2, n), _count(b, n))
    return (b.op("multiply", _keep(b, g, n), b.op("multiply", _centered(b, n), scale)),)


def _g_std(b, n, g):
    # where every value equals the mean (one element, or a constant), std is 0 around x and
    # its gradient is 0, not 0 / 0
    y = _keep(b, n, n)
    positive = b.op("greater", y, _c(b, 0, n))
    denom = b.op("multiply", _count(b, n), b.op("where", positive, y, _c(b, 1, n)))
    grad = b.op("where", positive, b.op("divide", _centered(b, n), denom), _c(b, 0, n))
    return (b.op("multiply", _keep(b, g, n), grad),)


# ------------------------------------------------------------------ cases


def _cases(ties=False, scalar=True):
    def cases(rng):
        def x(*shape):
            v = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
            return np.asarray(v)
        out = [([x(3)], {}),
               ([x(2, 3)], {"axis": -1}),
               ([x(2, 1, 4)], {"axis": [0, 2], "keepdims": True}),
               ([x(2, 3, 2)], {"axis": 1})] + [([x()], {})] * scalar
        if ties:
            out.append(([np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]])], {"axis": 1}))
        return out
    return cases


def _prod_cases(rng):
    out = _cases()(rng)[:3]
    out.append(([np.array([[1.5, 0.0, -2.0], [0.0, 0.0, 3.0], [0.5, -1.2, 2.0]])], {"axis": 1}))
    out.append(([np.array([[1.5, 0.0], [2.0, 0.7]])], {}))
    return out


def _arg_cases(rng):
    return [([rng.permutation(6).astype(np.float64)], {}),
            ([rng.normal(size=(3, 4))], {"axis": -1}),
            ([rng.normal(size=(3, 4))], {"axis": 0, "keepdims": True}),
            ([rng.normal(size=(2, 3))], {})]


def _bool_cases(rng):
    return _cases()(rng) + [([rng.uniform(size=(3, 4)) > 0.5], {"axis": 0})]


# ------------------------------------------------------------------ the table

SIG = "x, axis: axes = None, keepdims: bool = false"

REDUCTIONS = [
    # name, output dtype, kernel, gradient, cases, doc
    ("sum", _accumulate, _k_sum, _g_sum, _bool_cases,
     "sum over axes (bool and integer sums are i64)"),
    ("mean", _float, _k_mean, _g_mean, _bool_cases,
     "arithmetic mean over axes (integers and bools give f32)"),
    ("max", lambda d: d, _k_extreme(np.max), _g_extreme, _cases(ties=True),
     "largest element over axes (ties share the gradient)"),
    ("min", lambda d: d, _k_extreme(np.min), _g_extreme, _cases(ties=True),
     "smallest element over axes (ties share the gradient)"),
    ("prod", _accumulate, _k_prod, _g_prod, _prod_cases,
     "product over axes (exact gradient at zeros)"),
    ("logsumexp", _float, _k_float(_logsumexp), _g_logsumexp, _cases(),
     "log(sum(exp(x))) over axes, computed without overflow"),
    ("var", _float, _k_float(np.var), _g_var, _cases(),
     "population variance over axes (ddof 0)"),
    ("std", _float, _k_float(np.std), _g_std, _cases(scalar=False),  # std' is infinite at 0
     "population standard deviation over axes (ddof 0)"),
]

for _name, _dtype, _kernel, _grad, _cases_fn, _doc in REDUCTIONS:
    defop(_name, SIG, infer=_rule(_dtype), kernel=_kernel, grad=_grad, prepare=_prepare,
          doc=_doc, family="reduce", cases=_cases_fn)

for _name, _fn in (("argmax", np.argmax), ("argmin", np.argmin)):
    defop(_name, "x, axis: axis = None, keepdims: bool = false", infer=_arg_infer,
          kernel=_k_arg(_fn), prepare=_arg_prepare, differentiable=False, family="reduce",
          doc=f"index of the {_name[3:]}imum along axis (of the flattened x when axis is None), "
              "as i64", cases=_arg_cases)


def _size_of_infer(types, axis=None, dtype=DEFAULT_FLOAT):
    if dtype not in DTYPES:
        raise OpError(f'unknown dtype "{dtype}"')
    normalize_axes(axis, types[0].rank)
    return TensorType(dtype, ())


# size_of only reads x's shape, so it has no gradient (the count is constant in x's values).
defop("size_of", 'x, axis: axes = None, dtype: dtype = "f32"', infer=_size_of_infer,
      kernel=_k_size_of, differentiable=False, internal=True, family="reduce",
      prepare=lambda types, axis=None, dtype=DEFAULT_FLOAT: {
          "axis": normalize_axes(axis, types[0].rank), "dtype": dtype},
      doc="the number of elements of x over axes, as a scalar (counts under symbolic dims)",
      cases=lambda rng: [([rng.normal(size=(2, 3))], {"axis": [0, 1]}),
                         ([rng.normal(size=(2, 3, 4))], {"axis": -1, "dtype": "f64"})])
