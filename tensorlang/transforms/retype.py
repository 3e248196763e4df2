"""Graph -> Graph dtype change: `retype(graph, {"f32": "f64"})` rebuilds every node through the
Builder with the mapped dtypes, so each node is typed again by its op's shape rule. Gradient
checks use it to run an f32 model in f64, where finite differences are meaningful."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..ir.cell import Cell
from ..ir.graph import Builder, Graph, Node
from ..ir.opdef import REQUIRED
from ..ir.types import TensorType, np_dtype
from .cells import make_cell


def retype(graph: Graph, mapping: Mapping[str, str]) -> Graph:
    """The same graph (names, spans, scopes, gradient nodes) with dtypes renamed by `mapping`:
    placeholders, variables, constants and dtype attributes (`cast(x, f32)`) change, and every
    other node takes whatever its shape rule now gives (a scan's cell is retyped too)."""
    return retype_map(graph, mapping)[0]


def retype_map(graph: Graph, mapping: Mapping[str, str]) -> tuple[Graph, dict[int, Node]]:
    """retype, and the map old node id -> new node."""
    b = Builder.rewriting(graph)
    new: dict[int, Node] = {}
    for n in graph.nodes:
        if n.is_source:
            dtype = mapping.get(n.dtype, n.dtype)
            m = b.add(n.op, (), _source_attrs(n, dtype), span=n.span, scope=n.scope,
                      name=n.name, type=TensorType(dtype, n.type.shape, n.type.weak))
        else:
            attrs = dict(n.attrs)
            for p in n.opdef.params:  # dtype attributes, defaults included (`eye(3)` is f32)
                v = attrs.get(p.name, None if p.default is REQUIRED else p.default)
                if p.kind == "dtype" and v in mapping:
                    attrs[p.name] = mapping[v]
            if isinstance(attrs.get("cell"), Cell):
                attrs["cell"] = retype_cell(attrs["cell"], mapping)
            m = b.add(n.op, [new[i.id] for i in n.inputs], attrs, span=n.span, scope=n.scope,
                      name=n.name)
        new[n.id] = m
    names = {k: new[v.id] for k, v in graph.names.items()}
    return graph.with_nodes(b.nodes, names, new), new


def retype_cell(cell: Cell, mapping: Mapping[str, str]) -> Cell:
    """A scan's cell with its graph retyped (and its backward graph made anew)."""
    forward, new = retype_map(cell.forward, mapping)
    return make_cell(cell.layer, forward, new[cell.x.id], new[cell.h.id],
                     tuple(new[v.id] for v in cell.variables), new[cell.out.id],
                     new[cell.key.id] if cell.key is not None else None)


def _source_attrs(n: Node, dtype: str) -> dict:
    attrs = dict(n.attrs)
    key = {"constant": "value", "placeholder": "default"}.get(n.op)
    if key and attrs.get(key) is not None:
        arr = np.asarray(attrs[key]).astype(np_dtype(dtype))
        arr.flags.writeable = False
        attrs[key] = arr
    return attrs
