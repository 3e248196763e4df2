"""References for the linear-algebra ops: einsum over explicitly broadcast operands, inverses
through solve, determinants through slogdet, norms as square roots of sums of squares."""

import numpy as np


def _matmul(a, b):
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    a2 = np.broadcast_to(a2, batch + a2.shape[-2:])
    b2 = np.broadcast_to(b2, batch + b2.shape[-2:])
    out = np.einsum("...ij,...jk->...ik", a2, b2)
    if b.ndim == 1:
        out = out[..., 0]
    if a.ndim == 1:
        out = out[..., 0] if b.ndim == 1 else out[..., 0, :]
    return out


def _eye_like(a):
    return np.broadcast_to(np.eye(a.shape[-1]), a.shape)


def _det(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * np.exp(logdet)


def _solve(a, b):
    inv = np.linalg.solve(a, _eye_like(a))
    if b.ndim == 1:
        return np.einsum("...ij,j->...i", inv, b)
    return _matmul(inv, b)


def _trace(a, axis1=0, axis2=1):
    return np.diagonal(a, axis1=axis1, axis2=axis2).sum(axis=-1)


def _trace_grad(g, shape, axis1, axis2):
    out = np.zeros(shape)
    lo, hi = sorted((axis1 % len(shape), axis2 % len(shape)))
    for k in range(min(shape[lo], shape[hi])):
        idx = [slice(None)] * len(shape)
        idx[lo] = idx[hi] = k
        out[tuple(idx)] = g
    return out


def _norm(x, axis=None, keepdims=False):
    axis = tuple(axis) if isinstance(axis, list) else axis
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


REFERENCES = {
    "matmul": _matmul,
    "dot": _matmul,
    "outer": lambda a, b: a.reshape(-1)[:, None] * b.reshape(-1)[None, :],
    "inv": lambda a: np.linalg.solve(a, _eye_like(a)),
    "det": _det,
    # det(A) A^-T for the (invertible) cases, by another road than the kernel's SVD
    "cofactor": lambda a: _det(a)[..., None, None] * np.swapaxes(np.linalg.solve(
        a, _eye_like(a)), -1, -2),
    "solve": _solve,
    "trace": _trace,
    "trace_grad": _trace_grad,
    "norm": _norm,
}
