"""Creation ops: zeros ones full eye arange (no tensor inputs) and zeros_like ones_like.

Their `shape` (and `n`) attributes may hold symbolic dims; the executor makes them concrete
before the kernel runs. None of them carries a gradient.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import defop
from ..ir.types import DTYPES, TensorType, np_dtype


def _dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise OpError(f'unknown dtype "{dtype}"')
    return dtype


def _size(d, what="dim"):
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, (numbers.Integral, D.Dim)):
        raise OpError(f"a {what} must be an int or a dim, not {d!r}")
    d = d if isinstance(d, D.Dim) else int(d)
    if D.is_const(d) and d < 0:
        raise OpError(f"a {what} cannot be negative ({d})")
    return d


def _filled(types, shape, dtype="f32", value=None):
    return TensorType(_dtype(dtype), tuple(_size(d) for d in shape))


def _shaped(types, shape, dtype="f32", **value):
    """Canonical attributes: the shape as a tuple of ints and dims."""
    return {"shape": tuple(_size(d) for d in shape), "dtype": dtype, **value}


def _square(types, n, dtype="f32"):
    return TensorType(_dtype(dtype), (_size(n, "size"),) * 2)


def _range(types, n, dtype="i64"):
    return TensorType(_dtype(dtype), (_size(n, "size"),))


def _like(types):
    return TensorType(types[0].dtype, types[0].shape)


def _cases(**attrs):
    return lambda rng: [([], {"shape": (2, 3), **attrs}), ([], {"shape": (), **attrs}),
                        ([], {"shape": [4], "dtype": "i32", **attrs})]


def _like_cases(rng):
    return [([rng.normal(size=(2, 3))], {}), ([np.asarray(rng.normal())], {}),
            ([np.arange(4)], {})]


SHAPED = 'shape: shape, dtype: dtype = "f32"'
TABLE = [
    # name, signature, shape rule, kernel, cases, doc
    ("zeros", SHAPED, _filled,
     lambda shape, dtype="f32": np.zeros(shape, np_dtype(dtype)), _cases(), "a tensor of 0s"),
    ("ones", SHAPED, _filled,
     lambda shape, dtype="f32": np.ones(shape, np_dtype(dtype)), _cases(), "a tensor of 1s"),
    ("full", 'shape: shape, value: number, dtype: dtype = "f32"', _filled,
     lambda shape, value, dtype="f32": np.full(shape, value, np_dtype(dtype)),
     _cases(value=2.5), "a tensor with every element `value`"),
    ("eye", 'n: dim, dtype: dtype = "f32"', _square,
     lambda n, dtype="f32": np.eye(n, dtype=np_dtype(dtype)),
     lambda rng: [([], {"n": 3}), ([], {"n": 1, "dtype": "f64"})], "the n x n identity"),
    ("arange", 'n: dim, dtype: dtype = "i64"', _range,
     lambda n, dtype="i64": np.arange(n, dtype=np_dtype(dtype)),
     lambda rng: [([], {"n": 5}), ([], {"n": 3, "dtype": "f32"})], "0, 1, ..., n - 1"),
    ("zeros_like", "x", _like, np.zeros_like, _like_cases, "0s of x's dtype and shape"),
    ("ones_like", "x", _like, np.ones_like, _like_cases, "1s of x's dtype and shape"),
]

for _name, _sig, _infer, _kernel, _cases_fn, _doc in TABLE:
    defop(_name, _sig, infer=_infer, kernel=_kernel, differentiable=False, family="creation",
          doc=_doc, cases=_cases_fn, prepare=_shaped if _infer is _filled else None)
