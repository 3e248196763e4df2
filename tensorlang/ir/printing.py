"""The one text form of a Graph (like a jaxpr): deterministic names, types, attributes and the
source line of every node. Used by `tensorlang ir`, by `check`'s table, by errors and by golden
tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import dims as D

if TYPE_CHECKING:
    from .graph import Graph, Node


class Namer:
    """Deterministic names: a node's user name, else `%k` numbered in graph order."""

    def __init__(self, graph: Graph):
        self.names: dict[int, str] = {}
        given: dict[int, str] = {}
        for name, n in graph.names.items():
            given.setdefault(n.id, name)
        k = 0
        for n in graph.nodes:
            if n.name or n.id in given:
                self.names[n.id] = n.name or given[n.id]
            else:
                self.names[n.id] = f"%{k}"
                k += 1

    def __call__(self, n: Node) -> str:
        return self.names.get(n.id, f"%?{n.id}")


def format_attr(v) -> str:
    """An attribute value as the language would write it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, D.Dim):
        return D.dim_str(v)
    if isinstance(v, tuple):
        return "[" + ", ".join(format_attr(x) for x in v) + "]"
    if isinstance(v, np.ndarray):
        if v.size <= 8:
            return np.array2string(v, separator=", ", threshold=8).replace("\n", "")
        return f"<{v.dtype}{list(v.shape)}>"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return f'"{v}"'
    if v is None:
        return "none"
    return str(v)


def format_init(init: tuple) -> str:
    """`glorot_uniform()`, `normal(mean = 0.0, std = 0.1)`, or a literal."""
    kind, arg = init
    if kind == "literal":
        return format_attr(np.asarray(arg))
    return f"{kind}(" + ", ".join(f"{k} = {format_attr(v)}" for k, v in arg) + ")"


def format_node(n: Node, name: Namer, file: str | None = None) -> str:
    """One line: `h: f32[N, 4] = tanh %4    # line 7 [h]`."""
    t = str(n.type)
    if n.op == "placeholder":
        rhs = "placeholder" + (f" = {format_attr(n.attrs['default'])}"
                               if n.attrs.get("default") is not None else "")
    elif n.op == "variable":
        rhs = f"variable {format_init(n.attrs['init'])}" + (
            "" if n.attrs.get("trainable", True) else " frozen")
    elif n.op == "constant":
        rhs = f"constant {format_attr(n.attrs['value'])}"
    else:
        args = " ".join(name(i) for i in n.inputs)
        attrs = " ".join(f"{k}={format_attr(v)}" for k, v in n.attrs.items())
        rhs = " ".join(p for p in (n.op, args, attrs) if p)
    where = ""
    if n.span.line:
        where = f"line {n.span.line}" if n.span.file == file else \
            f"{n.span.file}:{n.span.line}"
    scope = f"[{n.scope}]" if n.scope else ""
    tail = " ".join(p for p in (where, scope) if p)
    line = f"{name(n)}: {t} = {rhs}"
    return f"{line:<60}  # {tail}" if tail else line


def format_graph(graph: Graph, nodes=None, backward: bool = True) -> str:
    """The whole graph, one node a line, inputs before their users."""
    name = Namer(graph)
    lines = [f"graph {graph.name} {{"]
    for n in nodes if nodes is not None else graph.nodes:
        if not backward and n.is_backward:
            continue
        lines.append("    " + format_node(n, name, graph.span.file))
    lines.append("}")
    return "\n".join(lines)


def param_count(graph: Graph, scope: str | None = None, trainable: bool | None = None) -> int:
    """Number of variable elements (in a scope, or all; trainable, frozen, or both)."""
    total = 0
    for v in graph.variables:
        if scope is not None and not (v.name.startswith(scope + ".")):
            continue
        if trainable is not None and v.attrs.get("trainable", True) != trainable:
            continue
        total += int(D.volume(v.type.shape))
    return total


def outputs(graph: Graph) -> list[Node]:
    """Named nodes that no other forward node uses: what a graph computes."""
    used = {i.id for n in graph.nodes if not n.is_backward for i in n.inputs}
    return [n for n in graph.nodes if n.name and n.id not in used
            and not n.is_source]


def summary(graph: Graph) -> str:
    """`check`'s table: every named node with op, dtype, shape and parameter count; a layer
    instance is one row (its layer, its value, its parameters) with its own nodes indented under
    it; then the parameter totals and the outputs with rank and volume."""
    rows = [("node", "op", "dtype", "shape", "params")]
    shown: set[str] = set()  # layer scopes that have their row already
    layer_out = {out: scope for scope, (_, out) in graph.layers.items()}
    by_id = {n.id: n for n in graph.nodes}
    for n in graph.nodes:
        if n.is_backward:
            continue
        for scope in _layer_scopes(graph, n.scope):
            if scope not in shown:  # a layer's row comes before its first node
                shown.add(scope)
                layer, out = graph.layers[scope]
                t = by_id[out].type if out in by_id else None
                rows.append((_indent(scope, graph)[2:] + scope, layer, t.dtype if t else "",
                             D.shape_str(t.shape) if t else "",
                             f"{param_count(graph, scope):,}"))
        if not n.name or layer_out.get(n.id) == n.name:
            continue  # unnamed, or the value of a layer shown on the layer's row
        params = ""
        op = n.op
        if n.op == "variable":
            params = f"{int(D.volume(n.type.shape)):,}"
            op = "variable" if n.attrs.get("trainable", True) else "variable (frozen)"
        rows.append((_indent(n.scope if n.scope in graph.layers else "", graph) + n.name, op,
                     n.dtype, D.shape_str(n.type.shape), params))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    bar = "-" * (sum(widths) + 8)
    out = [f"graph {graph.name}", bar]
    for k, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) if i < 4 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0:
            out.append(bar)
    out.append(bar)
    tr, fz = param_count(graph, trainable=True), param_count(graph, trainable=False)
    out.append(f"parameters: {tr + fz:,} ({tr:,} trainable, {fz:,} frozen)")
    outs = outputs(graph)
    if outs:
        out.append("outputs:")
        w = max(len(n.name) for n in outs)
        tw = max(len(str(n.type)) for n in outs)
        for n in outs:
            out.append(f"  {n.name.ljust(w)}  {str(n.type).ljust(tw)}  rank {n.rank}  volume "
                       f"{D.dim_str(D.volume(n.type.shape))}")
    return "\n".join(out)


def _layer_scopes(graph: Graph, scope: str) -> list[str]:
    """The layer instances a scope lies in, outermost first (`o`, `o.inner`)."""
    parts = scope.split(".") if scope else []
    cands = [".".join(parts[:k]) for k in range(1, len(parts) + 1)]
    return [c for c in cands if c in graph.layers]


def _indent(scope: str, graph: Graph) -> str:
    """Two spaces per layer instance the scope lies in."""
    return "  " * len(_layer_scopes(graph, scope))
