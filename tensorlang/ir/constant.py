"""Evaluating nodes directly with their NumPy kernels, in graph order: a constant subgraph at
compile time (lowering's `constant` declared by an expression, constant folding) and a scan
cell's graph for one step (`run`). No plan, no buffer reuse: for small graphs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import TensorlangError, quiet_numpy
from . import dims as D
from .traversal import needed

if TYPE_CHECKING:
    from ..source import Span
    from .graph import Node


def evaluate(node: Node, span: Span | None = None) -> np.ndarray:
    """The value of a node that depends on constants only, as a read-only array; a located
    TensorlangError names the placeholder or variable it depends on otherwise."""
    values: dict[int, np.ndarray] = {}
    for n in needed([node]):
        if n.op == "constant":
            values[n.id] = n.attrs["value"]
        elif n.is_input:
            raise TensorlangError(f'not a constant expression: it depends on "{n.label()}"',
                                  span or node.span)
        else:
            values[n.id] = apply(n, [values[i.id] for i in n.inputs])
    value = np.array(values[node.id])
    value.flags.writeable = False
    return value


def apply(node: Node, arrays: list[np.ndarray]) -> np.ndarray:
    """node's kernel on concrete input arrays (floating-point warnings silenced: a folded NaN is
    the value the program asked for)."""
    with quiet_numpy():
        return np.asarray(node.opdef.kernel(*arrays, **node.attrs))


def run(nodes, values: dict, env: dict) -> dict:
    """The values of `nodes` (in graph order) given `values` for their sources by node id;
    symbolic dims in attributes are made concrete from `env`. Returns the values dict."""
    for n in nodes:
        if n.id in values:
            continue
        if n.op == "constant":
            values[n.id] = n.attrs["value"]
            continue
        attrs = {k: D.resolve(v, env) for k, v in n.attrs.items()}
        values[n.id] = np.asarray(n.opdef.kernel(*[values[i.id] for i in n.inputs], **attrs))
    return values
