"""Evaluating a constant subgraph at compile time: the one evaluator, used by lowering (a
`constant` declared by an expression) and by constant folding. It calls each needed op's NumPy
kernel in graph order; symbolic dims cannot occur (a constant has a concrete shape)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import TensorlangError
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
    with np.errstate(all="ignore"):
        return np.asarray(node.opdef.kernel(*arrays, **node.attrs))
