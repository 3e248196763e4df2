"""Sorting and reading by integer indices: sort, argsort, take, one_hot, and the internal
scatters that are their adjoints (take_grad; take_along_axis / scatter_along_axis, which sort's
gradient is made of). Repeated indices accumulate in every scatter (np.add.at)."""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import FRESH, IdBound, defop
from ..ir.types import INTS, TensorType, normalize_axis, np_dtype


def _axis_prepare(types, axis=-1):
    # a scalar passes here (as rank 1) so that the shape rule can say what is wrong with it
    return {"axis": normalize_axis(axis, max(types[0].rank, 1))}


def _sort_infer(types, axis=-1):
    t = types[0]
    if t.rank == 0:
        raise OpError("cannot sort a scalar")
    normalize_axis(axis, t.rank)
    return t


def _argsort_infer(types, axis=-1):
    return _sort_infer(types, axis).with_dtype("i64")


def _g_sort(b, n, g):
    """Each sorted element's gradient goes back to where it came from."""
    x, axis = n.inputs[0], n.attrs["axis"]
    perm = b.op("argsort", x, axis=axis)
    return (b.op("scatter_along_axis", g, perm, shape=tuple(x.type.shape), axis=axis),)


def _sort_cases(rng):
    return [([rng.normal(size=(5,))], {}),
            ([rng.normal(size=(3, 4))], {"axis": 0}),
            ([rng.normal(size=(2, 1, 3))], {"axis": -1})]


defop("sort", "x, axis: axis = -1", infer=_sort_infer, prepare=_axis_prepare,
      kernel=lambda x, axis=-1: np.sort(x, axis=axis, kind="stable"), grad=_g_sort,
      doc="x sorted ascending along axis", family="sorting", cases=_sort_cases)
defop("argsort", "x, axis: axis = -1", infer=_argsort_infer, prepare=_axis_prepare,
      kernel=lambda x, axis=-1: np.argsort(x, axis=axis, kind="stable").astype(np.int64),
      differentiable=False, doc="the indices that sort x along axis (stable), as i64",
      family="sorting", cases=_sort_cases)


# ------------------------------------------------------------------ gather / scatter along an axis
def _along(x: TensorType, ind: TensorType, axis: int, what: str):
    _int_indices(ind)
    if x.rank != ind.rank or not all(
            D.equal(p, q) for i, (p, q) in enumerate(zip(x.shape, ind.shape)) if i != axis):
        raise OpError(f"indices {D.shape_str(ind.shape)} do not fit {what} "
                      f"{D.shape_str(x.shape)} off axis {axis}")


def _take_along_infer(types, axis):
    x, ind = types
    axis = normalize_axis(axis, x.rank)
    _along(x, ind, axis, "x")
    return x.with_shape(ind.shape)


def _scatter_infer(types, shape, axis):
    g, ind = types
    shape = tuple(shape)
    axis = normalize_axis(axis, len(shape))
    _along(TensorType(g.dtype, shape), ind, axis, "shape")
    if g.rank != ind.rank or not all(D.equal(p, q) for p, q in zip(g.shape, ind.shape)):
        raise OpError(f"g {D.shape_str(g.shape)} and indices {D.shape_str(ind.shape)} differ")
    return g.with_shape(shape)


def _k_scatter(g, indices, shape, axis):
    out = np.zeros(shape, g.dtype)
    where = list(np.indices(indices.shape, sparse=True))
    where[axis] = indices
    np.add.at(out, tuple(where), g)  # repeated indices accumulate
    return out


def _along_cases(rng):
    return [([rng.normal(size=(3, 4)), rng.integers(0, 4, size=(3, 2))], {"axis": 1}),
            ([rng.normal(size=(3, 2)), rng.integers(0, 3, size=(5, 2))], {"axis": 0})]


def _scatter_cases(rng):
    return [([rng.normal(size=(3, 2)), rng.integers(0, 4, size=(3, 2))],
             {"shape": (3, 4), "axis": 1}),
            ([rng.normal(size=(5, 2)), rng.integers(0, 3, size=(5, 2))],
             {"shape": (3, 2), "axis": -2})]


def _gathered_axis(n):
    """The size of the axis take gathers from: the bound of its indices."""
    x = n.inputs[0]
    axis = n.attrs["axis"]
    return x.type.volume if axis is None else x.type.shape[axis]


defop("take_along_axis", "x, indices, axis: axis", infer=_take_along_infer,
      prepare=lambda types, axis: {"axis": normalize_axis(axis, types[0].rank)},
      kernel=lambda x, indices, axis: np.take_along_axis(x, indices, axis=axis),
      grad=lambda b, n, g: (b.op("scatter_along_axis", g, n.inputs[1],
                                 shape=tuple(n.inputs[0].type.shape), axis=n.attrs["axis"]),
                            None),
      internal=True, doc="x[..., indices[..., j, ...], ...] along axis (np.take_along_axis)",
      family="sorting", cases=_along_cases,
      ids={1: IdBound(_gathered_axis, "size of the axis take gathers from")})
defop("scatter_along_axis", "g, indices, shape: shape, axis: axis", infer=_scatter_infer,
      prepare=lambda types, shape, axis: {"shape": tuple(shape),
                                          "axis": normalize_axis(axis, len(tuple(shape)))},
      kernel=_k_scatter,
      grad=lambda b, n, g: (b.op("take_along_axis", g, n.inputs[1], axis=n.attrs["axis"]), None),
      internal=True, family="sorting", cases=_scatter_cases,
      doc="g added into zeros of `shape` at indices along axis (the adjoint of take_along_axis)")


# ------------------------------------------------------------------ take, one_hot


def _int_indices(t: TensorType, what="indices"):
    if t.dtype not in INTS:
        raise OpError(f"{what} must be an integer tensor, not {t.dtype}")


def _take_prepare(types, axis=None):
    return {"axis": None if axis is None else normalize_axis(axis, types[0].rank)}


def _take_shape(shape, ind_shape, axis):
    if axis is None:
        return tuple(ind_shape)
    return tuple(shape[:axis]) + tuple(ind_shape) + tuple(shape[axis + 1:])


def _take_infer(types, axis=None):
    x, ind = types
    _int_indices(ind)
    axis = _take_prepare(types, axis)["axis"]
    return x.with_shape(_take_shape(x.shape, ind.shape, axis))


def _k_take_grad(g, indices, shape, axis=None):
    out = np.zeros(shape, g.dtype)
    if axis is None:
        np.add.at(out.reshape(-1), indices.reshape(-1), g.reshape(-1))
        return out
    rows = g.reshape(tuple(shape[:axis]) + (indices.size,) + tuple(shape[axis + 1:]))
    np.add.at(np.moveaxis(out, axis, 0), indices.reshape(-1), np.moveaxis(rows, axis, 0))
    return out


def _take_grad_infer(types, shape, axis=None):
    g, ind = types
    _int_indices(ind)
    want = _take_shape(shape, ind.shape, axis)
    if len(want) != g.rank or not all(D.equal(p, q) for p, q in zip(want, g.shape)):
        raise OpError(f"expected a gradient of shape {D.shape_str(want)}")
    return g.with_shape(shape)


def _take_cases(rng):
    x = rng.normal(size=(4, 3))
    return [([x, np.array([3, 0, 0, 2])], {"axis": 0}),
            ([x, np.array([[2, -1], [0, 2]])], {"axis": -1}),
            ([x, np.array([5, 11, 5])], {}),
            ([rng.normal(size=(2, 3, 2)), np.array(1)], {"axis": 1})]


defop("take", "x, indices, axis: axis = None", infer=_take_infer, prepare=_take_prepare,
      kernel=lambda x, indices, axis=None: np.asarray(np.take(x, indices, axis=axis)),
      grad=lambda b, n, g: (b.op("take_grad", g, n.inputs[1], shape=tuple(n.inputs[0].type.shape),
                                 axis=n.attrs["axis"]), None),
      doc="elements of x at integer indices along axis (of the flattened x when None)",
      family="shape", cases=_take_cases,
      ids={1: IdBound(_gathered_axis, "size of the axis take gathers from")})
defop("take_grad", "g, indices, shape: shape, axis: axis = None", infer=_take_grad_infer,
      prepare=lambda types, shape, axis=None: {"shape": tuple(shape),
                                               "axis": _take_prepare([TensorType("f32", shape)],
                                                                     axis)["axis"]},
      kernel=_k_take_grad, internal=True, family="shape",
      grad=lambda b, n, g: (b.op("take", g, n.inputs[1], axis=n.attrs["axis"]), None),
      doc="g added into zeros of `shape` at the indices take read (repeats accumulate)",
      cases=lambda rng: [([rng.normal(size=(4, 3)), np.array([3, 0, 0, 2])],
                          {"shape": (4, 3), "axis": 0}),
                         ([rng.normal(size=(3,)), np.array([5, 11, 5])], {"shape": (4, 3)})])


def _one_hot_infer(types, depth, dtype="f32"):
    _int_indices(types[0], "class ids")
    if not isinstance(depth, int) or depth < 0:
        raise OpError(f"depth must be a non-negative int, not {depth}")
    return TensorType(dtype, tuple(types[0].shape) + (depth,))


def _one_hot(i, depth, dtype="f32"):
    """Rows of the identity; an id outside [0, depth) is an error (as in the losses), never a
    silent row of zeros."""
    if i.size and ((i.dtype.kind != "u" and i.min() < 0) or i.max() >= depth):
        bad = i[(i < 0) | (i >= depth)].flat[0]
        raise IndexError(f"class id {bad} is out of range for depth {depth} (0 to {depth - 1})")
    return (i[..., None] == np.arange(depth)).astype(np_dtype(dtype))


defop("one_hot", 'i, depth: int, dtype: dtype = "f32"', infer=_one_hot_infer, kernel=_one_hot,
      differentiable=False, family="shape", memory=FRESH,
      doc="rows of the identity picked by integer class ids in [0, depth) (others: an error)",
      cases=lambda rng: [([np.array([0, 2, 1, 2])], {"depth": 3}),
                         ([np.array([[1], [0]])], {"depth": 2, "dtype": "f64"})],
      ids={0: IdBound(lambda n: n.attrs["depth"], "depth of one_hot")})
