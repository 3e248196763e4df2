"""scan(Cell, xs, h0): a one-step layer Cell(x: [N, D], h: [N, H]) applied along axis 1 of xs
[N, T, D] from h0 [N, H]; every state [N, T, H]. The node's `cell` attribute (ir/cell.py) holds
the step's graph; its inputs are xs, h0, the cell's variables and, when the cell draws random
numbers, the key (step t draws with its own key). Its gradient runs the cell's
vector-Jacobian product backwards through time in one kernel (`scan_grad`, whose flat result
`scan_part` cuts into the gradient of each input); gradients of gradients through a scan are a
located error."""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.cell import STEP_KEY, Cell
from ..ir.opdef import FRESH, defop
from ..ir.types import TensorType, promote
from .gated import SECOND_ORDER

KEY_RANGE = 1 << 63


def _parts(cell: Cell, inputs):
    """(xs, h0, variables, key) of a scan node's inputs."""
    k = len(cell.variables)
    return inputs[0], inputs[1], inputs[2:2 + k], (inputs[2 + k] if cell.key is not None else None)


def _same(what: str, got: TensorType, want: TensorType) -> None:
    if got.dtype != want.dtype or got.rank != want.rank or not all(
            D.equal(a, c) for a, c in zip(got.shape, want.shape)):
        raise OpError(f"{what} is {got}, the cell takes {want}")


def _scan_infer(types, cell):
    xs, h0, variables, _ = _parts(cell, types)
    if xs.rank != 3:
        raise OpError(f"xs must be a sequence [N, T, D], not {D.shape_str(xs.shape)}")
    _same("a step of xs", xs.with_shape((xs.shape[0], xs.shape[2])), cell.x.type)
    _same("h0", h0, cell.h.type)
    for v, t in zip(cell.variables, variables):
        _same(f'variable "{v.name}"', t, v.type)
    return TensorType(h0.dtype, (xs.shape[0], xs.shape[1], h0.shape[1]))


def _step_key(key, t: int):
    return None if key is None else np.asarray((int(key) + STEP_KEY * (t + 1)) % KEY_RANGE,
                                               np.int64)


def _scan(*inputs, cell):
    xs, h, variables, key = _parts(cell, inputs)
    n, steps, _ = xs.shape
    env = cell.env((n, xs.shape[2]), h.shape)
    hs = np.empty((n, steps, h.shape[1]), h.dtype)
    for t in range(steps):
        h = cell.step(xs[:, t], h, variables, _step_key(key, t), env)
        hs[:, t] = h
    return hs


def _scan_grad_infer(types, cell):
    *ins, hs, g = types
    xs, h0, variables, _ = _parts(cell, ins)
    size = D.volume(xs.shape) + D.volume(h0.shape) + sum(D.volume(v.shape) for v in variables)
    return TensorType(promote(xs, h0, *variables, g), (size,))


def _scan_grad(*inputs, cell):
    """The gradients of xs, h0 and each variable, flattened one after another."""
    *ins, hs, g = inputs
    xs, h0, variables, key = _parts(cell, ins)
    n, steps, _ = xs.shape
    env = cell.env((n, xs.shape[2]), h0.shape)
    gxs = np.zeros(xs.shape, np.result_type(xs, g))
    carry = np.zeros(h0.shape, g.dtype)
    sums = [np.zeros(v.shape, g.dtype) for v in variables]
    for t in reversed(range(steps)):
        h_prev = hs[:, t - 1] if t else h0
        gx, carry, *gv = cell.vjp(xs[:, t], h_prev, variables, _step_key(key, t),
                                  g[:, t] + carry, env)
        gxs[:, t] = gx
        for acc, v in zip(sums, gv):
            acc += v
    parts = [gxs, carry, *sums]
    return np.concatenate([np.asarray(p, g.dtype).ravel() for p in parts])


def _g_scan(b, n, g):
    cell = n.attrs["cell"]
    if cell.no_gradient is not None:
        raise OpError(f"no gradient through the scan of {cell.layer}: {cell.no_gradient}")
    xs, h0, variables, key = _parts(cell, n.inputs)
    packed = b.add("scan_grad", (*n.inputs, n, g), {"cell": cell})
    grads, start = [], 0
    for x in (xs, h0, *variables):
        shape = tuple(x.type.shape)
        grads.append(b.op("scan_part", packed, start=start, shape=shape))
        start = start + D.volume(shape)
    return (*grads, *((None,) if key is not None else ()))


def _part_infer(types, start, shape):
    return TensorType(types[0].dtype, tuple(shape))


def _part(packed, start, shape):
    size = int(np.prod(shape, dtype=np.int64))
    return packed[start:start + size].reshape(shape).copy()


defop("scan", "xs, h0, *captured: tensors, cell: any", infer=_scan_infer, kernel=_scan,
      grad=_g_scan, family="scan", internal=True, memory=FRESH,
      doc="a layer's one step applied along axis 1 of xs from h0 (written scan(Cell, xs, h0))")
defop("scan_grad", "inputs: tensors, cell: any", infer=_scan_grad_infer, kernel=_scan_grad,
      grad_missing=SECOND_ORDER, family="scan", internal=True, memory=FRESH,
      doc="a scan's gradients of xs, h0 and the cell's variables, back through time, flattened")
defop("scan_part", "packed, start: dim, shape: shape", infer=_part_infer, kernel=_part,
      grad_missing=SECOND_ORDER, family="scan", internal=True, memory=FRESH,
      doc="one input's gradient cut out of scan_grad's flat result")
