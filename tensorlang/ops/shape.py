"""Shape ops: reshape squeeze expand_dims transpose flatten concat stack hstack vstack and basic
indexing (`index`), with the internal adjoints concat_part and index_grad. (take and one_hot, which
read by integer tensors, live in sorting.py with the other gathers.)

Shape rules compute with symbolic dims: reshape proves that the element count is kept, concat
adds dims as polynomials. `prepare` puts every attribute in one canonical form (axes made
non-negative, `-1` and `...` resolved), so kernels and gradient rules see only that form.

Basic-index items (the `items` attribute of `index`) are a tuple of: an int (negative counts from
the end), `("slice", start, stop, step)` with None parts, `"..."` and None (a new axis). A slice
of a symbolic dim N has a symbolic length when its bounds count from the same end (`x[:3]` is 3,
`x[-3:]` is 3, `x[2:-1]` is N - 3, `x[::2]` is (N + 1)//2), assuming N is at least as large as
the constant bounds (a smaller N fails at run time, not silently); a slice whose length would
shrink as N grows (`x[-3:5]`) is a compile error. An int index is range-checked at compile time
on a concrete dim and at run time on a symbolic one.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import FRESH, defop
from ..ir.types import TensorType, normalize_axes, normalize_axis, promote

ALL = ("slice", None, None, None)

# ------------------------------------------------------------------ reshape, flatten


def _reshape_prepare(types, shape, order="C"):
    if order not in ("C", "F"):
        raise OpError(f'order must be "C" or "F", not "{order}"')
    x, shape = types[0], tuple(d if isinstance(d, D.Dim) else int(d) for d in shape)
    free = [i for i, d in enumerate(shape) if D.is_const(d) and d == -1]
    if len(free) > 1 or any(D.is_const(d) and d < -1 for d in shape):
        raise OpError(f"bad shape {D.shape_str(shape)}: dims are sizes, with at most one -1")
    if free:
        i = free[0]
        known = D.volume(shape[:i] + shape[i + 1:])
        d = D.divide_exact(x.volume, known)
        if d is None:
            raise OpError(f"cannot reshape {D.shape_str(x.shape)} to {D.shape_str(shape)}: "
                          f"{D.dim_str(x.volume)} elements are not a multiple of "
                          f"{D.dim_str(known)}")
        shape = shape[:i] + (d,) + shape[i + 1:]
    return {"shape": shape, "order": order}


def _reshape_infer(types, shape, order="C"):
    x, shape = types[0], _reshape_prepare(types, shape, order)["shape"]
    if not D.equal(x.volume, D.volume(shape)):
        raise OpError(f"cannot reshape {D.shape_str(x.shape)} ({D.dim_str(x.volume)} elements) "
                      f"to {D.shape_str(shape)} ({D.dim_str(D.volume(shape))} elements)")
    return TensorType(x.dtype, shape)


def _flatten_infer(types):
    x = types[0]
    if x.rank == 0:
        raise OpError("flatten keeps dim 0, so it needs a tensor of rank 1 or more")
    return TensorType(x.dtype, (x.shape[0], D.volume(x.shape[1:])))


def _back_to(b, g, x):
    """g reshaped to x's shape (the gradient of any op that only reshapes)."""
    return b.op("reshape", g, shape=tuple(x.type.shape))


defop("reshape", 'x, shape: shape, order: str = "C"', infer=_reshape_infer,
      prepare=_reshape_prepare,
      kernel=lambda x, shape, order="C": np.reshape(x, shape, order=order),
      grad=lambda b, n, g: (b.op("reshape", g, shape=tuple(n.inputs[0].type.shape),
                                 order=n.attrs["order"]),),
      doc='x with a new shape of the same element count (-1 inferred; order "C" or "F")',
      family="shape",
      cases=lambda rng: [([rng.normal(size=(2, 6))], {"shape": [3, -1]}),
                         ([rng.normal(size=(2, 3, 2))], {"shape": [6, 2], "order": "F"}),
                         ([rng.normal(size=(4,))], {"shape": [1, 2, 2, 1]})],
      preserves_values=True)
defop("flatten", "x", infer=_flatten_infer,
      kernel=lambda x: x.reshape(x.shape[0], math.prod(x.shape[1:])),
      grad=lambda b, n, g: (_back_to(b, g, n.inputs[0]),),
      doc="x as [dim 0, everything else] ([N, 28, 28] -> [N, 784])", family="shape",
      cases=lambda rng: [([rng.normal(size=(2, 3, 2))], {}), ([rng.normal(size=(3,))], {})],
      preserves_values=True)

# ------------------------------------------------------------------ squeeze, expand_dims, transpose


def _squeeze_prepare(types, axis=None):
    shape = types[0].shape
    if axis is None:
        return {"axis": tuple(i for i, d in enumerate(shape) if D.equal(d, 1))}
    axes = normalize_axes(axis, len(shape))
    for a in axes:
        if not D.equal(shape[a], 1):
            why = "" if D.is_const(shape[a]) else " (not provably 1)"
            raise OpError(f"cannot squeeze axis {a} of size {D.dim_str(shape[a])}{why}")
    return {"axis": axes}


def _squeeze_infer(types, axis=None):
    axes = _squeeze_prepare(types, axis)["axis"]
    return types[0].with_shape(d for i, d in enumerate(types[0].shape) if i not in axes)


def _expand_prepare(types, axis):
    k = 1 if isinstance(axis, int) else len(axis)
    return {"axis": normalize_axes(axis, types[0].rank + k)}


def _expand_infer(types, axis):
    axes = _expand_prepare(types, axis)["axis"]
    rest = iter(types[0].shape)
    return types[0].with_shape(1 if i in axes else next(rest)
                               for i in range(types[0].rank + len(axes)))


def _transpose_prepare(types, axes=None):
    rank = types[0].rank
    if axes is None:
        return {"axes": tuple(reversed(range(rank)))}
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    perm = tuple(normalize_axis(a, rank) for a in axes)
    if sorted(perm) != list(range(rank)):
        raise OpError(f"axes {list(axes)} are not a permutation of the {rank} axes")
    return {"axes": perm}


def _transpose_infer(types, axes=None):
    perm = _transpose_prepare(types, axes)["axes"]
    return types[0].with_shape(types[0].shape[a] for a in perm)


def _inverse(perm):
    return tuple(int(i) for i in np.argsort(perm))


def _expand_dims(x, axis):
    """np.expand_dims as one reshape (a view): a fraction of np.expand_dims's cost, which
    matters in gradient graphs full of small expand_dims."""
    if not isinstance(axis, tuple) or any(a < 0 for a in axis):  # not through prepare
        return np.expand_dims(x, axis)
    shape = list(np.shape(x))
    for a in sorted(axis):  # positions in the result
        shape.insert(a, 1)
    return np.asarray(x).reshape(shape)


defop("squeeze", "x, axis: axes = None", infer=_squeeze_infer, prepare=_squeeze_prepare,
      kernel=lambda x, axis=(): np.squeeze(x, axis=axis),
      grad=lambda b, n, g: (b.op("expand_dims", g, axis=n.attrs["axis"]),),
      doc="x without size-1 axes (all provably-1 axes when axis is None)", family="shape",
      cases=lambda rng: [([rng.normal(size=(2, 1, 3, 1))], {}),
                         ([rng.normal(size=(1, 3))], {"axis": -2}),
                         ([rng.normal(size=(1, 1))], {"axis": [0, 1]})],
      preserves_values=True)
defop("expand_dims", "x, axis: axes", infer=_expand_infer, prepare=_expand_prepare,
      kernel=_expand_dims,
      grad=lambda b, n, g: (b.op("squeeze", g, axis=n.attrs["axis"]),),
      doc="x with new size-1 axes at the given positions of the result", family="shape",
      cases=lambda rng: [([rng.normal(size=(2, 3))], {"axis": 1}),
                         ([rng.normal(size=(3,))], {"axis": [0, -1]}),
                         ([np.asarray(rng.normal())], {"axis": 0})],
      preserves_values=True)
defop("transpose", "x, axes: axes = None", infer=_transpose_infer, prepare=_transpose_prepare,
      kernel=lambda x, axes=None: np.asarray(x).transpose(axes),
      grad=lambda b, n, g: (b.op("transpose", g, axes=_inverse(n.attrs["axes"])),),
      doc="x with its axes permuted (reversed when axes is None; x.T)", family="shape",
      cases=lambda rng: [([rng.normal(size=(2, 3))], {}),
                         ([rng.normal(size=(2, 3, 4))], {"axes": [1, -1, 0]}),
                         ([rng.normal(size=(3,))], {})],
      preserves_values=True)

# ------------------------------------------------------------------ concat, stack, hstack, vstack


def _joined(shapes, axis: int) -> tuple:
    """The shape of shapes concatenated along axis: other dims must be provably equal."""
    first = shapes[0]
    for s in shapes[1:]:
        if len(s) != len(first):
            raise OpError(f"all inputs need the same rank: {D.shape_str(first)} and "
                          f"{D.shape_str(s)}")
        for i, (p, q) in enumerate(zip(first, s)):
            if i != axis and not D.equal(p, q):
                raise OpError(f"dim {i} differs: {D.shape_str(first)} and {D.shape_str(s)}")
    return first[:axis] + (sum(s[axis] for s in shapes),) + first[axis + 1:]


def _nonempty(types):
    if not types:
        raise OpError("needs at least one tensor")
    return types


def _concat_prepare(types, axis=0):
    return {"axis": normalize_axis(axis, _nonempty(types)[0].rank)}


def _concat_infer(types, axis=0):
    axis = _concat_prepare(types, axis)["axis"]
    return TensorType(promote(*types), _joined([t.shape for t in types], axis))


def _parts(b, n, g, axis, lifted):
    """The gradient of a concatenation: g cut back into the inputs' pieces along axis."""
    sizes = tuple(s[axis] for s in lifted)
    out = []
    for i, x in enumerate(n.inputs):
        part = b.op("concat_part", g, sizes=sizes, axis=axis, part=i)
        out.append(part if lifted[i] == tuple(x.type.shape) else _back_to(b, part, x))
    return tuple(out)


def _stack_prepare(types, axis=0):
    return {"axis": normalize_axis(axis, _nonempty(types)[0].rank + 1)}


def _stack_infer(types, axis=0):
    axis = _stack_prepare(types, axis)["axis"]
    first = types[0].shape
    for t in types[1:]:
        if len(t.shape) != len(first) or not all(D.equal(p, q) for p, q in zip(first, t.shape)):
            raise OpError(f"all inputs need the same shape: {D.shape_str(first)} and "
                          f"{D.shape_str(t.shape)}")
    return TensorType(promote(*types), first[:axis] + (len(types),) + first[axis:])


def _g_stack(b, n, g):
    lead = (ALL,) * n.attrs["axis"]
    return tuple(b.op("index", g, items=lead + (i,)) for i in range(len(n.inputs)))


def _lift(shape, rank):
    """NumPy's atleast_1d (rank 1) or atleast_2d (rank 2) on a shape."""
    return (1,) * max(rank - len(shape), 0) + tuple(shape)


def _stacker(rank):
    """Shape rule and gradient of hstack (rank 1) or vstack (rank 2): like NumPy, each input is
    lifted with atleast_1d / atleast_2d, then all are concatenated (hstack along axis 1 unless
    the lifted inputs are 1-D)."""
    def lifted(types):
        shapes = [_lift(t.shape, rank) for t in _nonempty(types)]
        return shapes, 0 if rank == 2 or len(shapes[0]) == 1 else 1

    def infer(types):
        shapes, axis = lifted(types)
        return TensorType(promote(*types), _joined(shapes, axis))

    def grad(b, n, g):
        shapes, axis = lifted([x.type for x in n.inputs])
        return _parts(b, n, g, axis, shapes)
    return infer, grad


def _join_cases(rng):
    return [([rng.normal(size=(2, 3)), rng.normal(size=(1, 3))], {}),
            ([rng.normal(size=(2, 1)), rng.normal(size=(2, 3)), rng.normal(size=(2, 2))],
             {"axis": -1}),
            ([rng.normal(size=(3,)), rng.normal(size=(2,))], {})]


defop("concat", "xs: tensors, axis: axis = 0", infer=_concat_infer, prepare=_concat_prepare,
      kernel=lambda *xs, axis=0: np.concatenate(xs, axis=axis),
      grad=lambda b, n, g: _parts(b, n, g, n.attrs["axis"],
                                  [tuple(x.type.shape) for x in n.inputs]),
      promote=(), doc="the tensors joined along an existing axis", family="shape",
      cases=_join_cases,
      preserves_values=True)
defop("stack", "xs: tensors, axis: axis = 0", infer=_stack_infer, prepare=_stack_prepare,
      kernel=lambda *xs, axis=0: np.stack(xs, axis=axis), grad=_g_stack, promote=(),
      doc="tensors of one shape joined along a new axis", family="shape",
      cases=lambda rng: [([rng.normal(size=(2, 3)), rng.normal(size=(2, 3))], {}),
                         ([rng.normal(size=(3,)), rng.normal(size=(3,)), rng.normal(size=(3,))],
                          {"axis": -1}),
                         ([np.asarray(rng.normal())], {})],
      preserves_values=True)
_hinfer, _hgrad = _stacker(1)
_vinfer, _vgrad = _stacker(2)
defop("hstack", "xs: tensors", infer=_hinfer, kernel=lambda *xs: np.hstack(xs), grad=_hgrad,
      promote=(), doc="tensors joined column-wise (1-D: end to end), like np.hstack",
      family="shape",
      cases=lambda rng: [([rng.normal(size=(2, 3)), rng.normal(size=(2, 1))], {}),
                         ([rng.normal(size=(3,)), rng.normal(size=(2,)), np.asarray(rng.normal())],
                          {})],
      preserves_values=True)
defop("vstack", "xs: tensors", infer=_vinfer, kernel=lambda *xs: np.vstack(xs), grad=_vgrad,
      promote=(), doc="tensors joined row-wise (1-D tensors are rows), like np.vstack",
      family="shape",
      cases=lambda rng: [([rng.normal(size=(2, 3)), rng.normal(size=(1, 3))], {}),
                         ([rng.normal(size=(3,)), rng.normal(size=(2, 3)), rng.normal(size=(3,))],
                          {})],
      preserves_values=True)


def _concat_part_infer(types, sizes, axis, part):
    g = types[0]
    if not D.equal(sum(sizes), g.shape[axis]):
        raise OpError(f"parts {D.shape_str(sizes)} do not add up to dim {axis} of "
                      f"{D.shape_str(g.shape)}")
    return g.with_shape(g.shape[:axis] + (sizes[part],) + g.shape[axis + 1:])


def _k_concat_part(g, sizes, axis, part):
    start = sum(sizes[:part])
    return g[(slice(None),) * axis + (slice(start, start + sizes[part]),)]


def _g_concat_part(b, n, g):
    sizes, axis, part = n.attrs["sizes"], n.attrs["axis"], n.attrs["part"]
    shape = tuple(n.inputs[0].type.shape)
    pieces = [g if i == part else b.op("zeros", shape=shape[:axis] + (s,) + shape[axis + 1:],
                                       dtype=g.dtype) for i, s in enumerate(sizes)]
    return (b.op("concat", *pieces, axis=axis),)


defop("concat_part", "g, sizes: shape, axis: axis, part: int", infer=_concat_part_infer,
      kernel=_k_concat_part, grad=_g_concat_part, internal=True, family="shape",
      doc="piece `part` of g cut along axis into pieces of `sizes` (the adjoint of concat)",
      cases=lambda rng: [([rng.normal(size=(2, 5))], {"sizes": (2, 3), "axis": 1, "part": 1}),
                         ([rng.normal(size=(4,))], {"sizes": (1, 1, 2), "axis": 0, "part": 0})])

# ------------------------------------------------------------------ basic indexing


def _is_int(v) -> bool:
    return isinstance(v, D.Dim) or (isinstance(v, int) and not isinstance(v, bool))


def _item(it):
    """One index item, checked (Python slices and Ellipsis accepted for convenience)."""
    if isinstance(it, slice):
        it = ("slice", it.start, it.stop, it.step)
    it = "..." if it is Ellipsis else tuple(it) if isinstance(it, list) else it
    if not (it is None or it == "..." or _is_int(it) or (
            isinstance(it, tuple) and len(it) == 4 and it[0] == "slice"
            and all(v is None or _is_int(v) for v in it[1:]))):
        raise OpError(f"{it!r} is not an index: use ints, slices, ... and None")
    if isinstance(it, tuple) and it[3] == 0:
        raise OpError("slice step cannot be zero")
    return it


def _slice(d, start, stop, step):
    """(start, stop, step, length) of a slice of a dim d, with absolute bounds (stop None for a
    negative step that runs past index 0; stop = start for an empty slice). A Dim bound is
    already absolute; a negative int counts from the end."""
    written, s = (start, stop, step), 1 if step is None else step
    if D.is_const(d):
        start, stop, s = slice(start, stop, s).indices(d)
        stop = None if s < 0 and stop < 0 else stop
    else:
        def at(v, default):
            return default if v is None else v if isinstance(v, D.Dim) or v >= 0 else d + v
        start = at(start, 0 if s > 0 else d - 1)
        stop = at(stop, d) if s > 0 or stop is not None else None
    n = _span(start, stop, s)
    if D.is_const(n):
        return (start, stop, s, _length(start, stop, s)) if n > 0 else (start, start, s, 0)
    if not D.is_const(n - d):
        raise OpError(f"cannot size the slice {_text(*written)} of dim {D.dim_str(d)}: "
                      "its bounds count from different ends")
    return start, stop, s, _length(start, stop, s)


def _span(start, stop, s):
    return stop - start if s > 0 else start - (-1 if stop is None else stop)


def _length(start, stop, s):
    """The length of a slice with absolute bounds, without NumPy's clamping."""
    n = _span(start, stop, s)
    if D.is_const(n):
        return -(-n // abs(s))
    exact = D.divide_exact(n, abs(s))
    return exact if exact is not None else D.floordiv(n + abs(s) - 1, abs(s))


def _text(start, stop, step=None) -> str:
    """A slice as written: `1:N`, `::2`."""
    bounds = (start, stop) if step in (None, 1) else (start, stop, step)
    return ":".join("" if v is None else D.dim_str(v) for v in bounds)


def _canonical(shape, items):
    """(items, result shape): ellipsis expanded, bounds made absolute and non-negative."""
    items = tuple(_item(it) for it in (items if isinstance(items, (tuple, list)) else (items,)))
    used = sum(1 for it in items if it is not None and it != "...")
    if sum(it == "..." for it in items) > 1:
        raise OpError("an index can have only one ...")
    if used > len(shape):
        raise OpError(f"too many indices ({used}) for a tensor of rank {len(shape)}")
    if "..." in items:
        k = items.index("...")
        items = items[:k] + (ALL,) * (len(shape) - used) + items[k + 1:]
    out, dims, canon = [], iter(enumerate(shape)), []
    for it in items:
        if it is None:
            out.append(1)
            canon.append(None)
            continue
        ax, d = next(dims)
        if isinstance(it, tuple):
            start, stop, step, n = _slice(d, *it[1:])
            canon.append(("slice", start, stop, step))
            out.append(n)
        elif D.is_const(d) and not isinstance(it, D.Dim):
            if not -d <= it < d:
                raise OpError(f"index {it} is out of range for axis {ax} of size {d}")
            canon.append(it % d)
        else:
            canon.append(it if isinstance(it, D.Dim) or it >= 0 else d + it)
    return tuple(canon), tuple(out) + tuple(d for _, d in dims)


def _index_prepare(types, items):
    return {"items": _canonical(types[0].shape, items)[0]}


def _index_infer(types, items):
    return types[0].with_shape(_canonical(types[0].shape, items)[1])


def _key(arr, items):
    """The NumPy index of canonical items on arr. IndexError where a symbolic dim turned out
    smaller than its slice or index assumed (where NumPy would clamp or wrap silently)."""
    key = tuple(slice(*it[1:]) if isinstance(it, tuple) else it for it in items)
    dims = iter(arr.shape)
    for it, k in zip(items, key):
        if it is None:
            continue
        d = next(dims)
        if not isinstance(it, tuple):
            if not 0 <= it < d:
                raise IndexError(f"index {it} is out of range for an axis of size {d}")
        elif len(range(*k.indices(d))) != _length(*it[1:]):
            raise IndexError(f"slice {_text(*it[1:])} does not fit an axis of size {d}")
    return key


def _k_index_grad(g, shape, items):
    out = np.zeros(shape, g.dtype)
    out[_key(out, items)] = g  # basic indexing picks each element at most once: no sums
    return out


def _index_grad_infer(types, shape, items):
    want = _canonical(tuple(shape), items)[1]
    g = types[0]
    if len(want) != g.rank or not all(D.equal(p, q) for p, q in zip(want, g.shape)):
        raise OpError(f"expected a gradient of shape {D.shape_str(want)}")
    return g.with_shape(shape)


defop("index", "x, items: index", infer=_index_infer, prepare=_index_prepare,
      kernel=lambda x, items: np.asarray(x[_key(x, items)]),
      grad=lambda b, n, g: (b.op("index_grad", g, shape=tuple(n.inputs[0].type.shape),
                                 items=n.attrs["items"]),),
      doc="basic indexing x[i, a:b:c, ..., None] with compile-time ints and slices",
      family="shape", internal=True,
      cases=lambda rng: [([rng.normal(size=(4, 5))], {"items": (1, ("slice", 1, 4, 2))}),
                         ([rng.normal(size=(3, 2, 4))], {"items": ("...", -1, None)}),
                         ([rng.normal(size=(5,))], {"items": (("slice", None, None, -2),)}),
                         ([rng.normal(size=(3, 4))], {"items": (("slice", -2, None, None),)})],
      preserves_values=True)
defop("index_grad", "g, shape: shape, items: index", infer=_index_grad_infer,
      prepare=lambda types, shape, items: {"shape": tuple(shape),
                                           "items": _canonical(tuple(shape), items)[0]},
      kernel=_k_index_grad, internal=True, family="shape", memory=FRESH,
      grad=lambda b, n, g: (b.op("index", g, items=n.attrs["items"]),),
      doc="g placed into zeros of `shape` where index read it (the adjoint of index)",
      cases=lambda rng: [([rng.normal(size=(2,))], {"shape": (4, 5),
                                                    "items": (1, ("slice", 1, 4, 2))}),
                         ([rng.normal(size=(3, 2, 1))], {"shape": (3, 2, 4),
                                                         "items": (ALL, ALL, -1, None)})])
