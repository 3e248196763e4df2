"""References for the shape ops: explicit element loops, transposes and fancy indexing rather
than the calls the kernels make."""

import math

import numpy as np


def _reshape(x, shape, order="C"):
    shape = list(shape)
    if -1 in shape:
        i = shape.index(-1)
        shape[i] = x.size // math.prod(d for d in shape if d != -1)
    if order == "F":  # column-major is row-major on the reversed axes
        return np.array(x.T.ravel().tolist()).reshape(shape[::-1]).T
    return np.array(x.ravel().tolist()).reshape(shape)


def _axes(axis, ndim):
    axis = [axis] if isinstance(axis, int) else list(axis)
    return sorted(a % ndim for a in axis)


def _squeeze(x, axis=None):
    drop = [i for i, d in enumerate(x.shape) if d == 1] if axis is None else _axes(axis, x.ndim)
    return x.reshape([d for i, d in enumerate(x.shape) if i not in drop])


def _expand_dims(x, axis):
    k = 1 if isinstance(axis, int) else len(axis)
    new = _axes(axis, x.ndim + k)
    rest = iter(x.shape)
    return x.reshape([1 if i in new else next(rest) for i in range(x.ndim + k)])


def _transpose(x, axes=None):
    perm = list(range(x.ndim))[::-1] if axes is None else [a % x.ndim for a in axes]
    out = np.empty([x.shape[a] for a in perm], x.dtype)
    for idx in np.ndindex(*out.shape):
        src = [0] * x.ndim
        for k, a in enumerate(perm):
            src[a] = idx[k]
        out[idx] = x[tuple(src)]
    return out


def _concat(*xs, axis=0):
    axis = axis % xs[0].ndim
    rows = [row for x in xs for row in np.moveaxis(x, axis, 0)]
    return np.moveaxis(np.array(rows), 0, axis)


def _stack(*xs, axis=0):
    return np.moveaxis(np.array(xs), 0, axis % (xs[0].ndim + 1))


def _lift(x, rank):
    return x.reshape((1,) * max(rank - x.ndim, 0) + x.shape)


def _hstack(*xs):
    xs = [_lift(x, 1) for x in xs]
    return _concat(*xs, axis=0 if xs[0].ndim == 1 else 1)


def _concat_part(g, sizes, axis, part):
    start = sum(sizes[:part])
    rows = [np.moveaxis(g, axis, 0)[i] for i in range(start, start + sizes[part])]
    return np.moveaxis(np.array(rows), 0, axis)


def _take(x, indices, axis=None):
    if axis is None:
        flat = x.ravel()
        return np.array([flat[i] for i in indices.ravel()]).reshape(indices.shape)
    axis = axis % x.ndim
    picked = np.moveaxis(x, axis, 0)[indices]
    lead = list(range(indices.ndim))
    return np.moveaxis(picked, lead, [axis + k for k in lead])


def _take_grad(g, indices, shape, axis=None):
    out = np.zeros(shape)
    if axis is None:
        flat = out.reshape(-1)
        for i, v in zip(indices.ravel(), g.ravel()):
            flat[i] += v
        return out
    for idx in np.ndindex(*g.shape):
        k = idx[axis:axis + indices.ndim]
        dst = idx[:axis] + (indices[k],) + idx[axis + indices.ndim:]
        out[dst] += g[idx]
    return out


def _one_hot(i, depth, dtype="f32"):
    out = np.array([[float(c == v) for c in range(depth)] for v in i.ravel().tolist()])
    return out.reshape(i.shape + (depth,))


def _key(items):
    items = items if isinstance(items, tuple) else (items,)
    return tuple(slice(*it[1:]) if isinstance(it, tuple) else
                 Ellipsis if it == "..." else it for it in items)


def _index_grad(g, shape, items):
    where = np.arange(math.prod(shape)).reshape(shape)[_key(items)]
    out = np.zeros(math.prod(shape))
    out[np.asarray(where).ravel()] = np.asarray(g).ravel()
    return out.reshape(shape)


REFERENCES = {
    "reshape": _reshape,
    "flatten": lambda x: _reshape(x, [x.shape[0], -1]),
    "squeeze": _squeeze,
    "expand_dims": _expand_dims,
    "transpose": _transpose,
    "concat": _concat,
    "stack": _stack,
    "hstack": _hstack,
    "vstack": lambda *xs: _concat(*[_lift(x, 2) for x in xs], axis=0),
    "concat_part": _concat_part,
    "take": _take,
    "take_grad": _take_grad,
    "one_hot": _one_hot,
    "index": lambda x, items: np.asarray(x[_key(items)]),
    "index_grad": _index_grad,
}
