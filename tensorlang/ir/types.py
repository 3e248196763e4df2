"""Dtypes, tensor types, NumPy promotion with weakly typed literals, and broadcasting of dims."""

from __future__ import annotations

import functools

import numpy as np

from ..errors import OpError
from ..records import record
from . import dims as D

DTYPES = ("f16", "f32", "f64", "i32", "i64", "u8", "bool")
NUMPY = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "i32": np.int32,
         "i64": np.int64, "u8": np.uint8, "bool": np.bool_}
_FROM_NUMPY = {np.dtype(v): k for k, v in NUMPY.items()}
FLOATS = ("f16", "f32", "f64")
INTS = ("i32", "i64", "u8")
DEFAULT_FLOAT = "f32"


def np_dtype(dtype: str) -> np.dtype:
    """The NumPy dtype of a tensorlang dtype name."""
    return np.dtype(NUMPY[dtype])


def from_numpy(dt) -> str:
    """The tensorlang dtype name of a NumPy dtype (OpError when there is none)."""
    dt = np.dtype(dt)
    if dt in _FROM_NUMPY:
        return _FROM_NUMPY[dt]
    kinds = {"f": "f64", "i": "i64", "u": "i64", "b": "bool"}
    if dt.kind in kinds:
        return kinds[dt.kind]
    raise OpError(f"arrays of dtype {dt} have no tensorlang dtype")


def is_float(dtype: str) -> bool:
    """True for f16, f32, f64."""
    return dtype in FLOATS


@record(slots=True)
class TensorType:
    """dtype and shape (ints and symbolic Dims); weak marks an untyped number literal."""

    dtype: str
    shape: tuple
    weak: bool = False

    @property
    def rank(self) -> int:
        """Number of dims."""
        return len(self.shape)

    @property
    def volume(self):
        """Number of elements, an int or a symbolic Dim."""
        return D.volume(self.shape)

    def with_dtype(self, dtype: str) -> TensorType:
        """The same shape with another dtype (and strong)."""
        return TensorType(dtype, self.shape)

    def with_shape(self, shape) -> TensorType:
        """The same dtype with another shape."""
        return TensorType(self.dtype, tuple(shape), self.weak)

    def __str__(self) -> str:
        return f"{self.dtype}{D.shape_str(self.shape)}"


def scalar(dtype: str) -> TensorType:
    """A rank-0 type."""
    return TensorType(dtype, ())


def promote(*types: TensorType) -> str:
    """NumPy's promotion for strong operands; weak literals take the strong operands' dtype,
    except that a float literal with integer tensors gives the default float (f32)."""
    return _promote(tuple((t.dtype, t.weak) for t in types))


@functools.cache
def _promote(types: tuple[tuple[str, bool], ...]) -> str:
    # cached: there are few dtype combinations, and every binary node asks
    strong = [d for d, weak in types if not weak]
    weak = [d for d, w in types if w]
    if strong:
        out = strong[0]
        for d in strong[1:]:
            out = from_numpy(np.promote_types(NUMPY[out], NUMPY[d]))
        if any(is_float(w) for w in weak) and not is_float(out):
            out = DEFAULT_FLOAT
        return out
    if any(is_float(w) for w in weak):
        return DEFAULT_FLOAT  # literals only: `[1.5] * 2` is f32, not NumPy's f64
    out = weak[0]
    for d in weak[1:]:
        out = from_numpy(np.promote_types(NUMPY[out], NUMPY[d]))
    return out


def broadcast_shapes(*shapes) -> tuple:
    """NumPy broadcasting over symbolic dims; OpError when sizes cannot be proved to fit."""
    if shapes and all(s == shapes[0] for s in shapes[1:]):
        return tuple(shapes[0])  # the common case, and equal shapes always fit
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(-rank, 0):
        dim = 1
        for s in shapes:
            if len(s) < -i:
                continue
            d = s[i]
            if D.equal(dim, 1):
                dim = d
            elif D.equal(d, 1) or D.equal(d, dim):
                continue
            else:
                raise OpError(f"dims {D.dim_str(dim)} and {D.dim_str(d)} do not broadcast")
        out.append(dim)
    return tuple(out)


def broadcasts_to(src, dst) -> bool:
    """True when shape src provably broadcasts to exactly shape dst."""
    if len(src) > len(dst):
        return False
    try:
        out = broadcast_shapes(src, dst)
    except OpError:
        return False
    return all(D.equal(a, b) for a, b in zip(out, dst))


def normalize_axis(axis: int, rank: int) -> int:
    """A non-negative axis; OpError when out of range."""
    if not -rank <= axis < rank:
        raise OpError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def normalize_axes(axis, rank: int) -> tuple[int, ...]:
    """None (all), an int or a list of ints, as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(rank))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = tuple(sorted(normalize_axis(a, rank) for a in axes))
    if len(set(out)) != len(out):
        raise OpError(f"repeated axis in {list(axes)}")
    return out
