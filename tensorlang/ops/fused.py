"""Fused ops made by the optimization passes (not written by users): one kernel where the graph
had several nodes, with the same gradient."""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir.opdef import defop
from ..ir.types import INTS, TensorType, broadcasts_to, is_float, promote
from . import conv as C
from . import conv_kernels as fast
from .nn import check_ids, rows


def _linear_infer(types):
    x, w, b = types
    if x.rank != 2 or w.rank != 2:
        raise OpError("linear takes a matrix of rows and a weight matrix")
    from ..ir import dims as D
    if not D.equal(x.shape[1], w.shape[0]):
        raise OpError(f"inner dims {D.dim_str(x.shape[1])} and {D.dim_str(w.shape[0])} differ")
    out = (x.shape[0], w.shape[1])
    if not broadcasts_to(b.shape, out):
        raise OpError("the bias must broadcast to the product's shape")
    return TensorType(promote(x, w, b), out)


def _linear(x, w, b, out=None):
    out = np.matmul(x, w, out=out)
    out += b  # in place: one allocation instead of two
    return out


defop("linear", "x, w, b", infer=_linear_infer, kernel=_linear, internal=True, fresh=True,
      out=lambda n: all(i.dtype == n.dtype for i in n.inputs),
      grad=lambda b, n, g: (b.op("matmul", g, b.op("transpose", n.inputs[1], axes=(1, 0))),
                            b.op("matmul", b.op("transpose", n.inputs[0], axes=(1, 0)), g), g),
      doc="x @ w + b in one kernel (made by the matmul+bias fusion pass)", family="fused",
      cases=lambda rng: [([rng.normal(size=(4, 3)), rng.normal(size=(3, 2)),
                           rng.normal(size=(2,))], {})])


# ------------------------------------------------------------- softmax cross-entropy with class ids
def _check_logits_ids(z, ids):
    from ..ir import dims as D
    if not is_float(z.dtype) or z.rank == 0:
        raise OpError("needs float logits")
    if ids.dtype not in INTS or ids.rank != z.rank - 1 or not all(
            D.equal(a, b) for a, b in zip(ids.shape, z.shape)):
        raise OpError("needs integer class ids of the logits' batch shape")


def _sxe_grad_infer(types):
    z, ids, g = types
    _check_logits_ids(z, ids)
    if g.dtype != z.dtype or not broadcasts_to(g.shape, ids.shape):
        raise OpError("the gradient must have the logits' dtype and broadcast to their batch "
                      "shape")
    return TensorType(z.dtype, z.shape)


def _minus_one_hot(p, ids):
    """p[..., ids] -= 1 in place (p C-ordered); an id out of range is an IndexError."""
    c = p.shape[-1]
    flat = p.reshape(-1, c)
    ids = ids.reshape(-1)
    if ids.dtype.kind != "u" and ids.size and ids.min() < 0:  # would wrap around
        check_ids(ids, c)
    try:
        flat[rows(len(ids)), ids] -= 1
    except IndexError:
        check_ids(ids, c)
        raise


def _sxe_grad(z, ids, g, out=None):
    """(softmax(z) - one_hot(ids)) * g[..., None], written into one buffer (out may be z)."""
    p = np.subtract(z, z.max(axis=-1, keepdims=True), out=out)
    np.exp(p, out=p)
    p /= p.sum(axis=-1, keepdims=True)
    _minus_one_hot(p, ids)  # p is fresh and C-ordered, or out, which the planner owns
    p *= np.asarray(g)[..., None]
    return p


def _g_sxe_grad(b, n, u):
    """z: the softmax VJP of v = u * g, s * (v - sum(v * s)); g: sum(u * (s - one_hot))."""
    z, ids, g = n.inputs
    last = z.rank - 1
    s = b.op("softmax", z, axis=last)
    v = b.op("multiply", u, b.op("expand_dims", g, axis=g.rank))
    dot = b.op("sum", b.op("multiply", v, s), axis=last, keepdims=True)
    gz = b.op("multiply", s, b.op("subtract", v, dot))
    gg = b.op("sum", b.op("multiply", u, b.op("subtract", s, b.op("one_hot_like", ids, z))),
              axis=last)
    return gz, None, gg


def _sxe_cases(rng):
    return [([rng.normal(size=(4, 3)), rng.integers(0, 3, size=4), rng.normal(size=(4,))], {}),
            ([rng.normal(size=(2, 3, 5)), rng.integers(0, 5, size=(2, 3)).astype(np.uint8),
              rng.normal(size=(1,))], {})]


defop("softmax_cross_entropy_grad", "logits, labels, g", infer=_sxe_grad_infer, kernel=_sxe_grad,
      grad=_g_sxe_grad, internal=True, fresh=True, inplace=True, family="fused",
      out=lambda n: n.inputs[0].dtype == n.inputs[2].dtype == n.dtype, cases=_sxe_cases,
      doc="(softmax(logits) - one_hot(labels)) * g[..., None] in one kernel, g per example: the "
          "gradient of softmax_cross_entropy with class ids (made by the fusion pass)")


def _sxe_mean_infer(types):
    _check_logits_ids(*types)
    return TensorType(types[0].dtype, ())


def _sxe_mean(z, ids):
    """mean(softmax_cross_entropy(z, ids)) as one kernel: logsumexp(z) - z[id], averaged like
    np.mean (summed in z's dtype, divided in f64)."""
    z = z - z.max(axis=-1, keepdims=True)
    losses = np.log(np.exp(z).sum(axis=-1))
    c = z.shape[-1]
    flat, ids = z.reshape(-1, c), ids.reshape(-1)
    if ids.dtype.kind != "u" and ids.size and ids.min() < 0:
        check_ids(ids, c)
    try:
        picked = flat[rows(len(ids)), ids]
    except IndexError:
        check_ids(ids, c)
        raise
    losses = losses.reshape(-1)
    losses -= picked  # the per-example losses, exactly as softmax_cross_entropy computes them
    return np.asarray(np.true_divide(np.add.reduce(losses), ids.size, dtype=np.float64),
                      z.dtype)


def _g_sxe_mean(b, n, g):
    z, ids = n.inputs
    count = b.op("size_of", ids, axis=tuple(range(ids.rank)), dtype=n.dtype)
    return b.op("softmax_cross_entropy_grad", z, ids, b.op("divide", g, count)), None


defop("softmax_cross_entropy_mean", "logits, labels", infer=_sxe_mean_infer, kernel=_sxe_mean,
      grad=_g_sxe_mean, internal=True, family="fused", fresh=True,
      cases=lambda rng: [([rng.normal(size=(5, 4)) * 3, rng.integers(0, 4, size=5)], {}),
                         ([rng.normal(size=(2, 3, 6)), rng.integers(0, 6, size=(2, 3))], {})],
      doc="mean(softmax_cross_entropy(logits, labels)) with class ids in one kernel (made by "
          "the fusion pass)")


# ------------------------------------------------------------- relu's gradient
_BITS = {2: np.int16, 4: np.int32, 8: np.int64}


def _relu_grad(x, g, out=None):
    """g where x > 0, else +0.0: where(x > 0, g, 0) in two passes. The comparison writes 1/0
    straight into an integer mask, and g's bits times that mask are g's bits or +0.0 (exact for
    every value, NaN and infinities included; np.where would branch on a random mask)."""
    if np.ndim(g) == 0 or np.shape(x) != np.shape(g) or x.dtype.kind != "f" or \
            g.dtype.kind != "f":
        r = np.where(x > 0, g, np.zeros((), g.dtype))
        if out is None:
            return r
        out[...] = r
        return out
    bits = _BITS[g.itemsize]
    mask = np.greater(x, np.zeros((), x.dtype), out=np.empty(x.shape, bits))
    res = mask if out is None else out.view(bits)
    np.multiply(g.view(bits), mask, out=res)
    return res.view(g.dtype) if out is None else out


def _relu_grad_infer(types):
    x, g = types
    from ..ir import dims as D
    if not is_float(g.dtype) or x.rank != g.rank or not all(
            D.equal(a, b) for a, b in zip(x.shape, g.shape)):
        raise OpError("needs a float gradient of x's shape")
    return TensorType(g.dtype, g.shape)


defop("relu_grad", "x, g", infer=_relu_grad_infer, kernel=_relu_grad, internal=True, fresh=True,
      inplace=True, family="fused", out=lambda n: n.inputs[0].dtype == n.inputs[1].dtype == n.dtype,
      grad=lambda b, n, u: (None, b.op("relu_grad", n.inputs[0], u)),
      cases=lambda rng: [([rng.normal(size=(3, 4)), rng.normal(size=(3, 4))], {}),
                         ([rng.normal(size=(5,)), rng.normal(size=(5,))], {})],
      doc="g where x > 0, else 0: relu's gradient in one kernel (made by the fusion pass)")


# ------------------------------------------------------- conv2d + bias, max pooling's gradient
def _conv_bias_infer(types, stride, padding):
    x, k, bias = types
    out = C._conv_infer((x, k), stride=stride, padding=padding)
    if bias.dtype != out.dtype or tuple(bias.shape)[-3:] != (k.shape[0], 1, 1) or \
            any(d != 1 for d in tuple(bias.shape)[:-3]) or bias.rank > 4:
        raise OpError("the bias must be [F, 1, 1] of the result's dtype")
    return out


def _conv_bias(x, k, bias, stride=1, padding=0):
    """conv2d(x, k) + bias, the bias added to each chunk while it is in cache."""
    if stride == 1 and x.dtype == k.dtype == bias.dtype:
        kh, kw = k.shape[2:]
        return fast.conv2d(x, k, (C.pads(padding, x.shape[2], kh, 1),
                                  C.pads(padding, x.shape[3], kw, 1)), bias.reshape(-1, 1))
    out = C._conv2d(x, k, stride, padding)
    out += bias
    return out


def _g_conv_bias(b, n, g):
    x, k, _ = n.inputs
    a = {"stride": n.attrs["stride"], "padding": n.attrs["padding"]}
    return (b.op("conv2d_grad_input", g, k, hw=tuple(x.type.shape[2:]), **a),
            b.op("conv2d_grad_kernel", x, g, khw=tuple(k.type.shape[2:]), **a), g)


def _conv_bias_cases(rng):
    return [([rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3)),
              rng.normal(size=(3, 1, 1))], {"stride": 1, "padding": 1}),
            ([rng.normal(size=(1, 1, 6, 5)), rng.normal(size=(2, 1, 2, 3)),
              rng.normal(size=(2, 1, 1))], {"stride": 2, "padding": "same"})]


defop("conv2d_bias", "x, k, b, stride: int = 1, padding: any = 0", infer=_conv_bias_infer,
      kernel=_conv_bias, grad=_g_conv_bias, prepare=C._prepare_conv, promote=(), internal=True,
      fresh=True, family="fused", cases=_conv_bias_cases,
      doc="conv2d(x, k) + b with b [F, 1, 1], the bias added while each chunk is in cache (made "
          "by the fusion pass)")


def _pool_top_infer(types, size, stride):
    x, top, g = types
    out = C._pool_grad_infer((x, g), size=size, stride=stride)
    if top.dtype != x.dtype or tuple(top.shape) != tuple(g.shape):
        raise OpError("top must be max_pool2d(x)")
    return out


def _pool_grad_top(x, top, g, size=2, stride=None):
    """max_pool2d_grad(x, g) given top = max_pool2d(x), computed already by the forward pass."""
    stride = stride or size
    if stride != size or top.shape != g.shape:
        return C._max_pool2d_grad(x, g, size, stride)
    oh, ow = g.shape[2:]
    return fast.tiled_max_grad(x, g, size, top, lambda a, i, j: C._at(a, i, j, size, oh, ow))


def _pool_top_cases(rng):
    out = []
    for shape, size in (((2, 3, 4, 4), 2), ((1, 2, 5, 7), 2), ((1, 1, 6, 6), 3)):
        x = np.round(rng.normal(size=shape), 1)
        top = C._max_pool2d(x, size)
        out.append(([x, top, rng.normal(size=top.shape)], {"size": size, "stride": size}))
    return out


defop("max_pool2d_grad_top", "x, top, g, size: int = 2, stride: int = None",
      infer=_pool_top_infer, kernel=_pool_grad_top, prepare=C._prepare_pool, internal=True,
      fresh=True, family="fused", cases=_pool_top_cases,
      grad=lambda b, n, u: (None, None, b.op("max_pool2d_pick", n.inputs[0], u,
                                             size=n.attrs["size"], stride=n.attrs["stride"])),
      doc="max_pool2d_grad(x, g) reusing top = max_pool2d(x) from the forward pass (made by "
          "the fusion pass)")


# ------------------------------------------------------------- matmul of transposed matrices
def _mt_infer(types, ta, tb):
    from ..ir import dims as D
    a, b = types
    if a.rank != 2 or b.rank != 2:
        raise OpError("matmul_t takes two matrices")
    (m, k1), (k2, n) = (a.shape[::-1] if ta else a.shape), (b.shape[::-1] if tb else b.shape)
    if not D.equal(k1, k2):
        raise OpError(f"inner dims {D.dim_str(k1)} and {D.dim_str(k2)} differ")
    return TensorType(promote(a, b), (m, n))


def _mt(a, b, ta=False, tb=False, out=None):
    return np.matmul(a.T if ta else a, b.T if tb else b, out=out)


def _g_mt(b, n, g):
    """C = op(A) @ op(B): dA = g @ op(B)^T (transposed back when ta), dB likewise."""
    a, c = n.inputs
    ta, tb = n.attrs["ta"], n.attrs["tb"]
    ga = b.op("matmul_t", c, g, ta=tb, tb=True) if ta else b.op("matmul_t", g, c, ta=False,
                                                                 tb=not tb)
    gc = b.op("matmul_t", g, a, ta=True, tb=ta) if tb else b.op("matmul_t", a, g, ta=not ta,
                                                                 tb=False)
    return ga, gc


defop("matmul_t", "a, b, ta: bool = false, tb: bool = false", infer=_mt_infer, kernel=_mt,
      grad=_g_mt, promote=(), internal=True, fresh=True, family="fused",
      out=lambda n: all(i.dtype == n.dtype for i in n.inputs),
      cases=lambda rng: [([rng.normal(size=s), rng.normal(size=t)], {"ta": ta, "tb": tb})
                         for s, t, ta, tb in (((3, 2), (3, 4), True, False),
                                              ((2, 3), (4, 3), False, True),
                                              ((3, 2), (4, 3), True, True))],
      doc="matmul of matrices either of which is read transposed (made by the fusion pass "
          "from matmul(transpose(a), b) and the like: no transpose step)")
