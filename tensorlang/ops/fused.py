"""Fused ops made by the optimization passes (not written by users): one kernel where the graph
had several nodes, with the same gradient."""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..types import TensorType, broadcast_shapes, promote
from .registry import defop


def _linear_infer(types):
    x, w, b = types
    if x.rank != 2 or w.rank != 2:
        raise OpError("linear takes a matrix of rows and a weight matrix")
    from .. import dims as D
    if not D.equal(x.shape[1], w.shape[0]):
        raise OpError(f"inner dims {D.dim_str(x.shape[1])} and {D.dim_str(w.shape[0])} differ")
    out = (x.shape[0], w.shape[1])
    if broadcast_shapes(out, b.shape) != out:
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
