"""`hs = scan(Cell, xs, h0)`: the layer Cell(x: [N, D], h: [N, H]) lowered once, as a graph of
its own, into one `scan` node that applies it along axis 1 of xs (ops/scan.py). The cell's
variables are made once, in the outer graph, under the scope of the assignment (`hs.W`), and
every step shares them."""

from __future__ import annotations

from ..errors import ProgramError, ShapeError, TensorlangError
from ..frontend import syntax as S
from ..ir import dims as D
from ..ir.graph import Node
from ..ir.types import TensorType
from ..transforms.cells import make_cell
from . import static as C
from .binding import bind
from .layers import _at_call_site, _default, _lower, _match, fresh_scope

SIGNATURE = "scan(Cell, xs, h0)"


def scan(lw, args, kwargs, span, name: str | None) -> Node:
    """The scan node, its cell lowered and its variables made in the graph."""
    bound = bind(SIGNATURE, ["Cell", "xs", "h0"], args, kwargs, span)
    for k in ("Cell", "xs", "h0"):
        if k not in bound:
            raise ProgramError(f'{SIGNATURE}: missing argument "{k}"', span)
    layer = _cell_layer(lw, bound["Cell"])
    xs, h0 = lw.node(bound["xs"]), lw.node(bound["h0"])
    if xs.rank != 3:
        raise ShapeError(f"scan: xs must be a sequence [N, T, D], not {xs.type}",
                         bound["xs"].span)
    if h0.rank != 2 or not D.equal(h0.type.shape[0], xs.type.shape[0]):
        raise ShapeError(f"scan: h0 must be the first state [N, H] of xs {xs.type}'s N "
                         f"sequences, not {h0.type}", bound["h0"].span)
    scope = lw.scope.qualify(name) if name else fresh_scope(lw, layer.name)
    cell = _cell(lw, layer, xs, h0, scope, span)
    variables = [_outer_variable(lw, v, span) for v in cell.variables]
    key = [lw.b.random_key()] if cell.key is not None else []
    node = lw.b.add("scan", (xs, h0, *variables, *key), {"cell": cell}, span=span, scope=scope)
    lw.b.layers[scope] = (f"scan({layer.name})", node.id)
    return node


def _cell_layer(lw, e) -> S.LayerDef:
    f = lw.value(e)
    if not isinstance(f, C.Func) or f.instance is not None or f.name not in lw.layers:
        raise ProgramError(f"scan's first argument must be a layer like Cell(x: [N, D], "
                           f"h: [N, H]), not {C.describe(f)}", e.span,
                           hint="write the step as a layer and pass its name: scan(Cell, xs, h0)")
    return lw.layers[f.name]


def _cell(lw, layer: S.LayerDef, xs: Node, h0: Node, scope: str, span):
    """The Cell: the layer lowered alone on placeholders x [N, D] and h [N, H]."""
    tensors = [p for p in layer.params if p.pattern is not None]
    if len(tensors) != 2:
        raise ProgramError(f"scan: the cell {layer.name} must take two tensors, the step's x "
                           f"and the state h, not {len(tensors)}", span)
    # the same lowering, applied to the cell's own graph
    sub = type(lw)(S.GraphDef(scope, (), span), lw.lets, lw.layers, lw.training)
    n, d = xs.type.shape[0], xs.type.shape[2]
    x = sub.b.add("placeholder", (), {"default": None}, type=TensorType(xs.dtype, (n, d)),
                  name="x", span=span)
    h = sub.b.add("placeholder", (), {"default": None}, type=h0.type, name="h", span=span)
    values: dict = {}
    try:
        for p in layer.params:
            if p.pattern is None:
                if p.default is None:
                    raise ProgramError(f'scan: the cell {layer.name}\'s parameter "{p.name}" '
                                       "needs a default (a scan passes only x and h)", span)
                values[p.name] = _default(sub, p)
            else:
                node = x if p is tensors[0] else h
                _match(layer, p, node, values, span, lw.lets)
                values[p.name] = node
    except TensorlangError as e:
        raise _at_call_site(e, layer, span) from None
    out = _lower(sub, layer, values, scope, span, None)
    graph = sub.b.finish()
    if out.dtype != h.dtype or not all(D.equal(a, c) for a, c in zip(out.type.shape,
                                                                      h.type.shape)) \
            or out.rank != h.rank:
        raise ShapeError(f"scan: the cell {layer.name} must return a state of h's type "
                         f"{h.type}, but it returns {out.type} (the state may not change its type)",
                         span)
    if graph.updates:
        raise ProgramError(f"scan: the cell {layer.name} updates state "
                           f"({', '.join(graph.updates)}), which a scan step cannot", span)
    key = next((m for m in graph.nodes if m.op == "random_key"), None)
    return make_cell(layer.name, graph, x, h, graph.variables, out, key)


def _outer_variable(lw, v: Node, span) -> Node:
    """The graph's variable for a cell variable: the same name, type and initializer."""
    node = lw.b.add("variable", (), dict(v.attrs), type=v.type, span=v.span, scope=v.scope,
                    name=v.name)
    return lw.b.bind(v.name, node, span)
