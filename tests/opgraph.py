"""Build a one-op graph from concrete arrays, for the tests generated from the registry."""

from __future__ import annotations

import numpy as np

from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType, from_numpy
from tensorlang.ops import REGISTRY
from tensorlang.runtime.session import Session
from tensorlang.transforms.autodiff import gradients


def one_op(opname: str, arrays, attrs, dtype_override: str | None = None):
    """(builder, placeholder nodes, op node) for op applied to placeholders shaped like arrays."""
    op = REGISTRY[opname]
    b = Builder("t")
    phs = []
    for i, a in enumerate(arrays):
        dt = from_numpy(a.dtype)
        if dtype_override and a.dtype.kind == "f":
            dt = dtype_override
        ph = b.add("placeholder", (), {"default": None}, type=TensorType(dt, a.shape),
                   name=f"in{i}")
        b.bind(f"in{i}", ph, ph.span)
        phs.append(ph)
    if op.variadic:
        node = b.add(opname, phs, attrs)
    else:
        node = b.add(opname, phs, attrs)
    return b, phs, node


def check_gradient(opname: str, arrays, attrs, seed: int = 0, eps: float = 1e-6):
    """Max abs and relative error between autodiff and central differences, per float input."""
    rng = np.random.default_rng(seed)
    b, phs, node = one_op(opname, arrays, attrs)
    weights = rng.normal(size=tuple(int(d) for d in node.type.shape))
    w = b.constant(weights, node.dtype)
    y = b.op("sum_to", b.op("multiply", node, w), shape=())
    wrt = [p for p in phs if p.dtype in ("f64", "f32")]
    grads = gradients(b, y, wrt)
    graph = b.finish()
    graph.verify()
    sess = Session(graph)
    feed = {p.name: a for p, a in zip(phs, arrays)}
    symbolic = sess.run(grads, feed)
    results = []
    for p, g in zip(wrt, symbolic):
        num = fed_grad(sess, y, feed, p.name, eps).astype(np.float64)
        err = np.abs(np.asarray(g, np.float64) - num)
        scale = np.maximum(np.abs(num), 1.0)
        results.append((p.name, float(err.max(initial=0)), float((err / scale).max(initial=0))))
    return results


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar function f at x."""
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[idx] += eps
        lo[idx] -= eps
        out[idx] = (f(hi) - f(lo)) / (2 * eps)
    return out


def fed_grad(sess, y, feed: dict, name: str, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the fetched scalar y with respect to the fed array `name`."""
    return numeric_grad(lambda v: sess.run(y, {**feed, name: v}), feed[name], eps)
