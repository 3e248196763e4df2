"""broadcast_to and its adjoint sum_to: the one place where broadcasting is done and undone."""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import defop
from ..ir.types import TensorType, broadcasts_to


def _broadcast_infer(types, shape):
    shape = tuple(shape)
    if not broadcasts_to(types[0].shape, shape):
        raise OpError(f"cannot broadcast {D.shape_str(types[0].shape)} to {D.shape_str(shape)}")
    return TensorType(types[0].dtype, shape)


def _sum_to_infer(types, shape):
    shape = tuple(shape)
    if not broadcasts_to(shape, types[0].shape):
        raise OpError(f"cannot sum {D.shape_str(types[0].shape)} down to {D.shape_str(shape)}")
    return TensorType(types[0].dtype, shape)


def sum_to(x: np.ndarray, shape) -> np.ndarray:
    """x summed over the axes that broadcasting to x.shape added or stretched from `shape`."""
    shape = tuple(shape)
    lead = x.ndim - len(shape)
    if lead and x.shape[lead:] == shape:  # only leading axes were added (a bias's gradient)
        return x.sum(axis=tuple(range(lead)))
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and x.shape[lead + i] != 1)
    out = x.sum(axis=axes, keepdims=True) if axes else x
    return out.reshape(shape) if lead or out.shape != shape else out


defop("broadcast_to", "x, shape: shape", infer=_broadcast_infer,
      kernel=lambda x, shape: np.broadcast_to(x, shape),
      grad=lambda b, n, g: (b.op("sum_to", g, shape=tuple(n.inputs[0].type.shape)),),
      doc="x repeated along new or size-1 dims to `shape`", family="shape",
      cases=lambda rng: [([rng.normal(size=(3,))], {"shape": (2, 3)}),
                         ([rng.normal(size=(2, 1))], {"shape": (4, 2, 5)})],
      preserves_values=True)

defop("sum_to", "x, shape: shape", infer=_sum_to_infer, kernel=sum_to,
      grad=lambda b, n, g: (b.op("broadcast_to", g, shape=tuple(n.inputs[0].type.shape)),),
      doc="sum of x back to a shape it was broadcast from (the adjoint of broadcast_to)",
      family="shape", internal=True,
      cases=lambda rng: [([rng.normal(size=(2, 3))], {"shape": (3,)}),
                         ([rng.normal(size=(4, 2, 5))], {"shape": (2, 1)}),
                         ([rng.normal(size=(2, 3))], {"shape": (1, 3)})])
