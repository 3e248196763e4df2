"""Linear algebra: matmul (`@`), dot, outer, inv, det, solve, trace, norm.

Matrix ops work on the last two dims and broadcast the leading (batch) dims like NumPy. Gradient
rules are graph nodes made of matmul, transpose, expand_dims, squeeze and the ops themselves, so
gradients of gradients work. NumPy's linalg has no f16: those kernels compute in f32 and cast back.
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import defop, writes_into
from ..ir.types import (
    TensorType,
    broadcast_shapes,
    broadcasts_to,
    is_float,
    normalize_axes,
    normalize_axis,
    promote,
)
from .common import float_of

# ------------------------------------------------------------------ shape rules


def _numeric(*types) -> str:
    dtype = promote(*types)
    if dtype == "bool":
        raise OpError("needs numeric tensors, not bool")
    return dtype


def _batch(a, b, what="batch dims"):
    try:
        return broadcast_shapes(a, b)
    except OpError as e:
        raise OpError(f"{what}: {e}") from None


def _matmul_infer(types, **_):
    """NumPy matmul: [..., M, K] @ [..., K, P] -> [..., M, P]; a 1-D operand loses its dim."""
    a, b = types
    if a.rank == 0 or b.rank == 0:
        raise OpError("operands must have rank >= 1 (use * to scale by a scalar)")
    sa = ((1,) if a.rank == 1 else ()) + a.shape
    sb = b.shape + ((1,) if b.rank == 1 else ())
    if not D.equal(sa[-1], sb[-2]):
        raise OpError(f"inner dims {D.dim_str(sa[-1])} and {D.dim_str(sb[-2])} differ")
    out = _batch(sa[:-2], sb[:-2])
    out += (sa[-2],) if a.rank > 1 else ()
    out += (sb[-1],) if b.rank > 1 else ()
    return TensorType(_numeric(a, b), out)


def _dot_infer(types, **_):
    if not all(t.rank in (1, 2) for t in types):
        raise OpError("operands must be 1-D or 2-D (matmul batches higher ranks)")
    return _matmul_infer(types)


def _outer_infer(types, **_):
    a, b = types
    return TensorType(_numeric(a, b), (a.volume, b.volume))


def _square(t, what="a"):
    if t.rank < 2:
        raise OpError(f"{what} must be a matrix or a batch of matrices, not rank {t.rank}")
    if not D.equal(t.shape[-1], t.shape[-2]):
        raise OpError(f"{what} must be square in its last two dims, not "
                      f"{D.dim_str(t.shape[-2])} x {D.dim_str(t.shape[-1])}")


def _inv_infer(types, **_):
    _square(types[0])
    return TensorType(float_of(types[0]), types[0].shape)


def _det_infer(types, **_):
    _square(types[0])
    return TensorType(float_of(types[0]), types[0].shape[:-2])


def _solve_infer(types, **_):
    """NumPy 2 solve: a [..., M, M]; b [M] (one vector) or [..., M, K] (batched matrices)."""
    a, b = types
    _square(a)
    m = a.shape[-1]
    if b.rank == 0:
        raise OpError("b must be a vector [M] or matrices [..., M, K], not a scalar")
    rows = b.shape[-1] if b.rank == 1 else b.shape[-2]
    if not D.equal(rows, m):
        raise OpError(f"a is {D.dim_str(m)} x {D.dim_str(m)} but b has {D.dim_str(rows)} rows")
    if b.rank == 1:
        shape = a.shape[:-1]
    else:
        shape = _batch(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]
    dtype = float_of(TensorType(promote(a, b), ()))
    return TensorType(dtype, shape)


def _trace_prepare(types, axis1=0, axis2=1):
    r = types[0].rank
    if r < 2:
        raise OpError(f"needs rank >= 2, not {r}")
    a1, a2 = normalize_axis(axis1, r), normalize_axis(axis2, r)
    if a1 == a2:
        raise OpError(f"axis1 and axis2 are the same axis ({a1})")
    return {"axis1": a1, "axis2": a2}


def _trace_infer(types, axis1, axis2):
    t = types[0]
    _numeric(t)
    dtype = t.dtype if is_float(t.dtype) else "i64"  # a sum: integers count in i64, as in sum
    return TensorType(dtype, tuple(d for i, d in enumerate(t.shape) if i not in (axis1, axis2)))


def _trace_grad_infer(types, shape, axis1, axis2):
    return TensorType(types[0].dtype, tuple(shape))


def _norm_prepare(types, axis=None, keepdims=False):
    return {"axis": normalize_axes(axis, types[0].rank), "keepdims": bool(keepdims)}


def _norm_infer(types, axis, keepdims):
    t = types[0]
    if t.dtype == "bool":
        raise OpError("needs a numeric tensor, not bool")
    shape = tuple(1 if i in axis else d for i, d in enumerate(t.shape) if keepdims or i not in axis)
    return TensorType(float_of(t), shape)


# ------------------------------------------------------------------ kernels


def _lin(fn):
    """A NumPy linalg function computed in f32 for f16 and int inputs, cast to the input float."""
    def kernel(*xs):
        dtype = np.result_type(*xs)
        out_dtype = dtype if dtype.kind == "f" else np.dtype(np.float32)
        work = np.float32 if out_dtype == np.float16 else out_dtype
        out = fn(*(x.astype(work, copy=False) for x in xs))
        return np.asarray(out).astype(out_dtype, copy=False)
    return kernel


def _solve(a, b):
    if b.ndim == 1:
        return np.linalg.solve(a, b[:, None])[..., 0]
    return np.linalg.solve(a, b)


def _trace(a, axis1, axis2):
    dtype = a.dtype if a.dtype.kind == "f" else np.int64
    return np.asarray(np.trace(a, axis1=axis1, axis2=axis2, dtype=dtype), dtype)


def _trace_grad(g, shape, axis1, axis2):
    """g placed on the diagonals of axes (axis1, axis2) of zeros of `shape`: trace's adjoint."""
    lo, hi = sorted((axis1, axis2))
    eye = np.eye(shape[lo], shape[hi], dtype=g.dtype)
    eye = eye.reshape([shape[i] if i in (lo, hi) else 1 for i in range(len(shape))])
    return np.expand_dims(g, (lo, hi)) * eye


def _norm(x, axis, keepdims):
    x = x if x.dtype.kind == "f" else x.astype(np.float32)
    if not axis:
        return np.asarray(np.abs(x))
    # scaled by the largest magnitude so squares never overflow (f16 overflows at 256)
    m = np.max(np.abs(x), axis=axis, keepdims=True)
    m = np.where(m > 0, m, np.ones((), x.dtype))
    out = m * np.sqrt(np.sum(np.square(x / m), axis=axis, keepdims=True))
    return out if keepdims else out.reshape([d for i, d in enumerate(x.shape) if i not in axis])


def _same_dtypes(n) -> bool:
    return all(i.dtype == n.dtype for i in n.inputs)


def _matmul(a, b, out=None):
    return np.asarray(np.matmul(a, b, out=out))


def _dot(a, b):
    return np.asarray(np.dot(a, b))


# ------------------------------------------------------------------ gradient rules (graph nodes)


def _mT(b, x):
    """x with its last two dims swapped."""
    r = x.rank
    return b.op("transpose", x, axes=tuple(range(r - 2)) + (r - 1, r - 2))


def _neg_mm(b, *xs):
    out = xs[0]
    for x in xs[1:]:
        out = b.op("matmul", out, x)
    return b.op("neg", out)


def _g_matmul(b, n, g):
    """dA = g @ B^T, dB = A^T @ g; 1-D operands are made matrices, their dim squeezed after."""
    a, c = n.inputs
    a2 = b.op("expand_dims", a, axis=0) if a.rank == 1 else a
    c2 = b.op("expand_dims", c, axis=1) if c.rank == 1 else c
    if c.rank == 1:
        g = b.op("expand_dims", g, axis=g.rank)
    if a.rank == 1:
        g = b.op("expand_dims", g, axis=g.rank - 1)
    ga = b.op("matmul", g, _mT(b, c2))
    gc = b.op("matmul", _mT(b, a2), g)
    if a.rank == 1:
        ga = b.op("squeeze", ga, axis=ga.rank - 2)
    if c.rank == 1:
        gc = b.op("squeeze", gc, axis=gc.rank - 1)
    return ga, gc


def _g_outer(b, n, g):
    a, c = n.inputs
    af = b.op("reshape", a, shape=(a.type.volume,)) if a.rank != 1 else a
    cf = b.op("reshape", c, shape=(c.type.volume,)) if c.rank != 1 else c
    ga, gc = b.op("matmul", g, cf), b.op("matmul", af, g)
    ga = b.op("reshape", ga, shape=tuple(a.type.shape)) if a.rank != 1 else ga
    gc = b.op("reshape", gc, shape=tuple(c.type.shape)) if c.rank != 1 else gc
    return ga, gc


def _g_inv(b, n, g):
    """d inv(A) = -inv(A) dA inv(A), so dA = -inv(A)^T g inv(A)^T."""
    t = _mT(b, n)
    return (_neg_mm(b, t, g, t),)


def _g_det(b, n, g):
    """d det(A) / dA = cofactor(A) (= det(A) inv(A)^T where A is invertible; also right, the
    adjugate's transpose, where A is singular)."""
    g = b.op("expand_dims", b.op("expand_dims", g, axis=g.rank), axis=g.rank + 1)
    return (b.op("multiply", g, b.op("cofactor", n.inputs[0])),)


def _cofactor(a):
    """The cofactor matrix adj(A)^T from the SVD A = U S V^T: det(U) det(V) U diag(prod of the
    other singular values) V^T, defined for singular A too (where det(A) inv(A)^T is not)."""
    u, sv, vt = np.linalg.svd(a)
    m = sv.shape[-1]
    others = np.where(np.eye(m, dtype=bool), 1, sv[..., None, :])  # row i: s with s_i set to 1
    adj = np.prod(others, axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vt)
    return (u * (adj * sign[..., None])[..., None, :]) @ vt


def _g_cofactor(b, n, g):
    """The VJP of C = det(A) A^-T (invertible A): <G, A^-T> C - C G^T A^-T."""
    a_it = _mT(b, b.op("inv", n.inputs[0]))
    inner = b.op("sum", b.op("multiply", g, a_it), axis=(n.rank - 2, n.rank - 1), keepdims=True)
    return (b.op("subtract", b.op("multiply", inner, n),
                 b.op("matmul", b.op("matmul", n, _mT(b, g)), a_it)),)


def _g_solve(b, n, g):
    """x = A^-1 B: dB = A^-T g, dA = -dB x^T (a vector b works as a one-column matrix)."""
    a, rhs = n.inputs
    x = n
    if rhs.rank == 1:
        g = b.op("expand_dims", g, axis=g.rank)
        x = b.op("expand_dims", x, axis=x.rank)
    gb = b.op("solve", _mT(b, a), g)
    ga = b.op("neg", b.op("matmul", gb, _mT(b, x)))
    if rhs.rank == 1:
        gb = b.op("squeeze", gb, axis=gb.rank - 1)
    return ga, gb


def _g_norm(b, n, g):
    """d |x| / dx = x / |x| (0 where |x| = 0)."""
    x = n.inputs[0]
    axis, keepdims = n.attrs["axis"], n.attrs["keepdims"]
    kept = tuple(1 if i in axis else d for i, d in enumerate(x.type.shape))
    if axis and not keepdims:
        g = b.op("reshape", g, shape=kept)
        n = b.op("reshape", n, shape=kept)
    zero, one = b.constant(0, n.dtype), b.constant(1, n.dtype)
    safe = b.op("where", b.op("greater", n, zero), n, one)
    return (b.op("multiply", g, b.op("divide", x, safe)),)


# ------------------------------------------------------------------ cases


def _well_conditioned(rng, shape):
    n = shape[-1]
    return rng.normal(size=shape) * 0.3 + 2 * np.eye(n)


def _pairs(pairs):
    return lambda rng: [([rng.normal(size=sa), rng.normal(size=sb)], {}) for sa, sb in pairs]


_MATMUL_SHAPES = [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((4,), (4,)),
                  ((2, 1, 2, 3), (3, 3, 2)), ((3,), (2, 3, 1))]

# ------------------------------------------------------------------ the records

defop("matmul", "a, b", infer=_matmul_infer, kernel=_matmul, grad=_g_matmul, symbol="@",
      promote=(), family="linalg", cases=_pairs(_MATMUL_SHAPES), memory=writes_into(_same_dtypes),
      doc="matrix product, batched over leading dims (broadcast); 1-D operands as in NumPy")
defop("dot", "a, b", infer=_dot_infer, kernel=_dot, grad=_g_matmul, promote=(), family="linalg",
      cases=_pairs([((2, 3), (3, 4)), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 1))]),
      doc="NumPy dot of 1-D or 2-D operands: inner product, matrix-vector or matrix product")
defop("outer", "a, b", infer=_outer_infer, kernel=lambda a, b: np.outer(a, b), grad=_g_outer,
      promote=(), family="linalg", cases=_pairs([((3,), (4,)), ((1,), (2,)), ((2, 2), (3,))]),
      doc="outer product of the flattened operands: [size(a), size(b)]")
defop("inv", "a", infer=_inv_infer, kernel=_lin(np.linalg.inv), grad=_g_inv, family="linalg",
      cases=lambda rng: [([_well_conditioned(rng, s)], {}) for s in [(1, 1), (3, 3), (2, 2, 2)]],
      doc="matrix inverse over the last two dims")
defop("det", "a", infer=_det_infer, kernel=_lin(np.linalg.det), grad=_g_det, family="linalg",
      cases=lambda rng: [([_well_conditioned(rng, s)], {}) for s in [(1, 1), (3, 3), (2, 2, 2)]],
      doc="determinant over the last two dims")
defop("cofactor", "a", infer=_inv_infer, kernel=_lin(_cofactor), grad=_g_cofactor,
      family="linalg", internal=True,
      cases=lambda rng: [([_well_conditioned(rng, s)], {}) for s in [(1, 1), (3, 3), (2, 2, 2)]],
      doc="the cofactor matrix adj(A)^T over the last two dims: det's gradient, singular A too")
defop("solve", "a, b", infer=_solve_infer, kernel=_lin(_solve), grad=_g_solve, promote=(),
      family="linalg",
      cases=lambda rng: [([_well_conditioned(rng, sa), rng.normal(size=sb)], {})
                         for sa, sb in [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (3,)),
                                        ((2, 2, 2), (3, 1, 2, 1))]],
      doc="x with a @ x = b; b is one vector [M] or matrices [..., M, K] (NumPy 2 rule)")
defop("trace", "a, axis1: int = 0, axis2: int = 1", prepare=_trace_prepare, infer=_trace_infer,
      kernel=_trace, grad=lambda b, n, g: (b.op("trace_grad", g, shape=tuple(
          n.inputs[0].type.shape), axis1=n.attrs["axis1"], axis2=n.attrs["axis2"]),),
      family="linalg",
      cases=lambda rng: [([rng.normal(size=(3, 3))], {}), ([rng.normal(size=(2, 3))], {}),
                         ([rng.normal(size=(2, 3, 3))], {"axis1": -2, "axis2": -1}),
                         ([rng.normal(size=(3, 2, 4))], {"axis1": 2, "axis2": 0})],
      doc="sum of the diagonal over axes axis1 and axis2 (NumPy: the first two by default)")
defop("trace_grad", "g, shape: shape, axis1: int, axis2: int", infer=_trace_grad_infer,
      kernel=_trace_grad, internal=True, family="linalg",
      grad=lambda b, n, g: (b.op("trace", g, axis1=n.attrs["axis1"], axis2=n.attrs["axis2"]),),
      cases=lambda rng: [([rng.normal(size=(2,))], {"shape": (3, 2, 4), "axis1": 2,
                                                    "axis2": 0})],
      doc="g on the diagonals of zeros of `shape` (the adjoint of trace)")
defop("norm", "x, axis: axes = None, keepdims: bool = false", prepare=_norm_prepare,
      infer=_norm_infer, kernel=_norm, grad=_g_norm, family="linalg",
      cases=lambda rng: [([rng.normal(size=(4,))], {}), ([rng.normal(size=(2, 3))], {"axis": -1}),
                         ([rng.normal(size=(2, 3, 2))], {"axis": [0, 2], "keepdims": True}),
                         ([rng.normal(size=(3, 1))], {"axis": 1})],
      doc="Frobenius / L2 norm over axis (all by default), without overflow of the squares")


# ------------------------------------------------------------------ fused: matmul + bias, matmul_t
def _matrices(what, *types):
    if any(t.rank != 2 for t in types):
        raise OpError(f"{what} takes matrices")


def _linear_infer(types):
    """matmul's rule for the matrices x @ w; the bias broadcasts to the product."""
    x, w, b = types
    _matrices("linear", x, w)
    out = _matmul_infer((x, w)).shape
    if not broadcasts_to(b.shape, out):
        raise OpError("the bias must broadcast to the product's shape")
    return TensorType(promote(x, w, b), out)


def _linear(x, w, b, out=None):
    out = np.matmul(x, w, out=out)
    out += b  # in place: one allocation instead of two
    return out


defop("linear", "x, w, b", infer=_linear_infer, kernel=_linear, internal=True,
      memory=writes_into(_same_dtypes),
      grad=lambda b, n, g: (b.op("matmul", g, b.op("transpose", n.inputs[1], axes=(1, 0))),
                            b.op("matmul", b.op("transpose", n.inputs[0], axes=(1, 0)), g), g),
      doc="x @ w + b in one kernel (made by the matmul+bias fusion pass)", family="linalg",
      fused=True,
      cases=lambda rng: [([rng.normal(size=(4, 3)), rng.normal(size=(3, 2)),
                           rng.normal(size=(2,))], {})])


def _mt_infer(types, ta, tb):
    """matmul's rule for op(a) @ op(b), op transposing where asked."""
    a, b = types
    _matrices("matmul_t", a, b)
    return _matmul_infer(tuple(t.with_shape(t.shape[::-1]) if flip else t
                               for t, flip in ((a, ta), (b, tb))))


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
      grad=_g_mt, promote=(), internal=True, memory=writes_into(_same_dtypes), family="linalg",
      fused=True,
      cases=lambda rng: [([rng.normal(size=s), rng.normal(size=t)], {"ta": ta, "tb": tb})
                         for s, t, ta, tb in (((3, 2), (3, 4), True, False),
                                              ((2, 3), (4, 3), False, True),
                                              ((3, 2), (4, 3), True, True))],
      doc="matmul of matrices either of which is read transposed (made by the fusion pass "
          "from matmul(transpose(a), b) and the like: no transpose step)")
