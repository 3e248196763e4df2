"""Pooling over [N, C, H, W]: max_pool2d and avg_pool2d, their gradients, and the fused
gradient that reuses the forward pass's maxima."""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import FRESH, Memory, defop
from ..ir.types import TensorType, np_dtype
from . import conv_kernels as fast
from .common import float_of
from .conv import check_rank4, check_same, sizes, spatial_out


# ------------------------------------------------------------------ pooling
def _prepare_pool(types, size=2, stride=None, **attrs):
    stride = size if stride is None else stride
    for name, v in (("size", size), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise OpError(f"{name} must be a positive int, not {v!r}")
    return sizes({**attrs, "size": size, "stride": stride})


def _pool_out(t: TensorType, size, stride):
    check_rank4(t, "x")
    n, c, h, w = t.shape
    return (n, c, *spatial_out(h, w, size, size, stride, 0))


def _max_pool_infer(types, size, stride):
    if types[0].dtype == "bool":
        raise OpError("needs a numeric tensor, not bool")
    return TensorType(types[0].dtype, _pool_out(types[0], size, stride))


def _avg_pool_infer(types, size, stride):
    return TensorType(float_of(types[0]), _pool_out(types[0], size, stride))


def _pool_grad_infer(types, size, stride):
    x, g = types
    check_rank4(g, "the gradient")
    for a, b in zip(_pool_out(x, size, stride), g.shape):
        check_same("pooled sizes", a, b)
    return TensorType(g.dtype, x.shape)


def _pick_infer(types, size, stride):
    x, u = types
    check_rank4(u, "the gradient")
    for a, b in zip(x.shape, u.shape):
        check_same("sizes", a, b)
    return TensorType(u.dtype, _pool_out(x, size, stride))


def _avg_grad_infer(types, hw, size, stride):
    g = types[0]
    check_rank4(g, "the gradient")
    for a, b in zip(spatial_out(*hw, size, size, stride, 0), g.shape[2:]):
        check_same("pooled sizes", a, b)
    return TensorType(g.dtype, (*g.shape[:2], *hw))


def _at(x, i, j, stride, oh, ow):
    """[N, C, OH, OW]: the cell at offset (i, j) of every window (a strided view)."""
    return x[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]


def _offsets(x, size, stride=None):
    """(k, view) for each of the size*size window offsets, row-major. Pooling loops over these
    offsets only: NumPy reduces a few large strided slices far faster than many tiny windows."""
    stride = stride or size
    oh, ow = (x.shape[2] - size) // stride + 1, (x.shape[3] - size) // stride + 1
    for i in range(size):
        for j in range(size):
            yield i * size + j, _at(x, i, j, stride, oh, ow)


def _max_pool2d(x, size=2, stride=None):
    views = _offsets(x, size, stride)
    out = next(views)[1].copy()
    for _, v in views:
        np.maximum(out, v, out=out)
    return out


def _avg_pool2d(x, size=2, stride=None):
    x = x if x.dtype.kind == "f" else x.astype(np.float32)
    views = _offsets(x, size, stride)
    out = next(views)[1].copy()
    for _, v in views:
        out += v
    return out / np.asarray(size * size, x.dtype)


def _first_max(x, size, stride=None):
    """[N, C, OH, OW]: the offset of each window's first maximum (later ties do not win)."""
    top = _max_pool2d(x, size, stride)
    where = np.zeros(top.shape, np.intp)
    found = np.zeros(top.shape, bool)
    for k, v in _offsets(x, size, stride):
        hit = v == top
        hit &= ~found
        found |= hit
        if k:
            where += hit * k
    return where


def _spread(parts, shape, size, stride):
    """The adjoint of taking windows: parts(k) [N, C, OH, OW] added back at offset k."""
    out = None
    for i in range(size):
        for j in range(size):
            p = parts(i * size + j)
            if out is None:
                out = np.zeros(shape, p.dtype)
            _at(out, i, j, stride, *p.shape[2:])[...] += p
    return out


def _tiled_max_grad(x, g, size, top=None):
    """max_pool2d_grad of tiling windows (top: max_pool2d(x), made here when not given), a
    chunk of images at a time when x is big (conv_kernels.pool_grad_chunk): its cells are read
    once per window offset, and a chunk of them stays in cache for all the offsets."""
    oh, ow = g.shape[2:]

    def at(a, i, j):
        return _at(a, i, j, size, oh, ow)
    n = x.shape[0]
    step = fast.pool_grad_chunk(n, x[0].nbytes if n else 0)
    if step >= n:
        return fast.tiled_max_grad(x, g, size, _max_pool2d(x, size) if top is None else top, at)
    out = np.empty(x.shape, g.dtype)
    for a in range(0, n, step):
        part = x[a:a + step]
        fast.tiled_max_grad(part, g[a:a + step], size,
                            _max_pool2d(part, size) if top is None else top[a:a + step], at,
                            out=out[a:a + step])
    return out


def _max_pool2d_grad(x, g, size=2, stride=None):
    stride = stride or size
    if stride == size:  # windows that tile the image: no overlaps to add up
        return _tiled_max_grad(x, g, size)
    first = _first_max(x, size, stride)
    zero = np.zeros((), g.dtype)
    return _spread(lambda k: np.where(first == k, g, zero), x.shape, size, stride)


def _max_pool2d_pick(x, u, size=2, stride=None):
    first = _first_max(x, size, stride)
    out = np.zeros(first.shape, u.dtype)
    for k, v in _offsets(u, size, stride):
        np.copyto(out, v, where=first == k)
    return out


def _avg_pool2d_grad(g, hw, size=2, stride=None):
    stride = stride or size
    share = g / np.asarray(size * size, g.dtype)
    return _spread(lambda k: share, (*g.shape[:2], *hw), size, stride)


def _pool_attrs(n):
    return {"size": n.attrs["size"], "stride": n.attrs["stride"]}


# max_pool2d_grad(x, .) and max_pool2d_pick(x, .) are adjoint linear maps for a fixed x (routing
# and gathering at the first maximum); x only chooses the positions, so its gradient is zero.
def _g_max_pool2d(b, n, g):
    return (b.op("max_pool2d_grad", n.inputs[0], g, **_pool_attrs(n)),)


def _g_max_pool2d_grad(b, n, u):
    return None, b.op("max_pool2d_pick", n.inputs[0], u, **_pool_attrs(n))


def _g_max_pool2d_pick(b, n, u):
    return None, b.op("max_pool2d_grad", n.inputs[0], u, **_pool_attrs(n))


def _g_avg_pool2d(b, n, g):
    return (b.op("avg_pool2d_grad", g, hw=tuple(n.inputs[0].type.shape[2:]), **_pool_attrs(n)),)


def _g_avg_pool2d_grad(b, n, u):
    return (b.op("avg_pool2d", u, **_pool_attrs(n)),)


POOL_CASES = [  # x shape, size, stride (None: stride = size)
    ((2, 3, 4, 4), 2, None),
    ((1, 2, 5, 7), 3, 2),
    ((2, 1, 5, 5), 2, None),
    ((1, 1, 3, 3), 3, 1),
]


def _pool_cases(rng):
    return [([rng.normal(size=s)], {"size": k, "stride": st}) for s, k, st in POOL_CASES]


def _pooled(s, k, st):
    st = st or k
    return (*s[:2], (s[2] - k) // st + 1, (s[3] - k) // st + 1)


def _max_grad_cases(rng):
    return [([rng.normal(size=s), rng.normal(size=_pooled(s, k, st))], {"size": k, "stride": st})
            for s, k, st in POOL_CASES]


def _pick_cases(rng):
    return [([rng.normal(size=s), rng.normal(size=s)], {"size": k, "stride": st})
            for s, k, st in POOL_CASES]


def _avg_grad_cases(rng):
    return [([rng.normal(size=_pooled(s, k, st))], {"hw": s[2:], "size": k, "stride": st})
            for s, k, st in POOL_CASES]


def _max_grad_scratch(node, env) -> int:
    """max_pool2d_grad(_top): the tiled kernel's two masks the size of a chunk's g (and its
    maxima when they are not given); the general one's offsets and one spread part, about as
    much as the whole g's."""
    x, g = (D.evaluate_shape(i.type.shape, env) for i in (node.inputs[0], node.inputs[-1]))
    itemsize = np_dtype(node.dtype).itemsize
    n = g[0]
    per_image = int(np.prod(g[1:], dtype=np.int64))
    if n and node.attrs["stride"] == node.attrs["size"]:  # the tiled kernel
        n = min(n, fast.pool_grad_chunk(n, int(np.prod(x[1:], dtype=np.int64)) * itemsize))
    return n * per_image * itemsize * (3 if len(node.inputs) == 2 else 2)


MAX_GRAD_MEMORY = Memory((), scratch=_max_grad_scratch)


_POOL = "size: int = 2, stride: int = None"
defop("max_pool2d", f"x, {_POOL}", infer=_max_pool_infer, kernel=_max_pool2d,
      grad=_g_max_pool2d, prepare=_prepare_pool, family="conv", memory=FRESH, cases=_pool_cases,
      doc="the maximum of each size x size window of x [N, C, H, W] (stride = size)")
defop("avg_pool2d", f"x, {_POOL}", infer=_avg_pool_infer, kernel=_avg_pool2d,
      grad=_g_avg_pool2d, prepare=_prepare_pool, family="conv", memory=FRESH, cases=_pool_cases,
      doc="the mean of each size x size window of x [N, C, H, W] (stride = size)")
defop("max_pool2d_grad", f"x, g, {_POOL}", infer=_pool_grad_infer, kernel=_max_pool2d_grad,
      grad=_g_max_pool2d_grad, prepare=_prepare_pool, family="conv", memory=MAX_GRAD_MEMORY,
      internal=True, cases=_max_grad_cases,
      doc="g routed back to the first maximum of each window of x (max_pool2d's gradient)")
defop("max_pool2d_pick", f"x, u, {_POOL}", infer=_pick_infer, kernel=_max_pool2d_pick,
      grad=_g_max_pool2d_pick, prepare=_prepare_pool, family="conv", memory=FRESH, internal=True,
      cases=_pick_cases, doc="u at the first maximum of each window of x (max_pool2d_grad's "
                             "adjoint)")
defop("avg_pool2d_grad", f"g, hw: shape, {_POOL}", infer=_avg_grad_infer,
      kernel=_avg_pool2d_grad, grad=_g_avg_pool2d_grad, prepare=_prepare_pool, family="conv",
      memory=FRESH, internal=True, cases=_avg_grad_cases,
      doc="g spread evenly over each window (avg_pool2d's gradient)")




# ------------------------------------------------------------------ fused: max pooling's gradient
def _pool_top_infer(types, size, stride):
    x, top, g = types
    out = _pool_grad_infer((x, g), size=size, stride=stride)
    if top.dtype != x.dtype or tuple(top.shape) != tuple(g.shape):
        raise OpError("top must be max_pool2d(x)")
    return out


def _pool_grad_top(x, top, g, size=2, stride=None):
    """max_pool2d_grad(x, g) given top = max_pool2d(x), computed already by the forward pass."""
    stride = stride or size
    if stride != size or top.shape != g.shape:
        return _max_pool2d_grad(x, g, size, stride)
    return _tiled_max_grad(x, g, size, top)


def _pool_top_cases(rng):
    out = []
    for shape, size in (((2, 3, 4, 4), 2), ((1, 2, 5, 7), 2), ((1, 1, 6, 6), 3)):
        x = np.round(rng.normal(size=shape), 1)
        top = _max_pool2d(x, size)
        out.append(([x, top, rng.normal(size=top.shape)], {"size": size, "stride": size}))
    return out


defop("max_pool2d_grad_top", "x, top, g, size: int = 2, stride: int = None",
      infer=_pool_top_infer, kernel=_pool_grad_top, prepare=_prepare_pool, internal=True,
      memory=MAX_GRAD_MEMORY, family="conv", fused=True, cases=_pool_top_cases,
      grad=lambda b, n, u: (None, None, b.op("max_pool2d_pick", n.inputs[0], u,
                                             size=n.attrs["size"], stride=n.attrs["stride"])),
      doc="max_pool2d_grad(x, g) reusing top = max_pool2d(x) from the forward pass (made by "
          "the fusion pass)")
