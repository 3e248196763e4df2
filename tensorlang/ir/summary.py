"""`tensorlang check`'s table of a graph: every named node with op, dtype, shape and parameter
count; a layer instance is one row (its layer, its value, its parameters) with its own nodes
indented under it; then the parameter totals and the outputs with rank and volume. Given the
graph compiled in training mode too, rows that differ there are marked `*` and explained."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import dims as D
from .printing import format_attr, outputs, param_count, variable_kind

if TYPE_CHECKING:
    from .graph import Graph, Node

HEADER = ("node", "op", "dtype", "shape", "params")
MARK = " *"


def summary(graph: Graph, training: Graph | None = None) -> str:
    """The table (see the module doc); `training`: the same graph in training mode."""
    differs = mode_differences(graph, training) if training is not None else {}
    rows = _rows(graph, differs)
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    bar = "-" * (sum(widths) + 8)
    out = [f"graph {graph.name}", bar]
    for k, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) if i < 4 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0:
            out.append(bar)
    out.append(bar)
    out.append(_totals(graph))
    if differs:
        out.append("* differs in training mode:")
        out += [f"  {name}: {why}" for name, why in differs.items()]
    out += _outputs(graph)
    return "\n".join(out)


def _rows(graph: Graph, differs: dict) -> list[tuple]:
    rows = [HEADER]
    shown: set[str] = set()  # layer scopes that have their row already
    layer_out: dict[int, set] = {}
    for scope, (_, out) in graph.layers.items():
        layer_out.setdefault(out, set()).add(scope)
    by_id = {n.id: n for n in graph.nodes}
    aliases: dict[int, list[str]] = {}
    for name, node in graph.names.items():
        if node.name and name != node.name and "." not in name and name not in graph.layers:
            aliases.setdefault(node.id, []).append(name)
    bodiless = _bodiless_layers(graph)  # layers with no node of their own (Dropout, outside
    for n in graph.nodes:              # training): their row follows the value they return
        if n.is_backward:
            continue
        for scope in _layer_scopes(graph, n.scope):
            if scope not in shown:  # a layer's row comes before its first node
                shown.add(scope)
                rows.append(_layer_row(graph, scope, by_id, differs))
        if n.name and n.name not in layer_out.get(n.id, ()):  # a layer's value: on its row
            rows.append(_node_row(graph, n, differs))
        for alias in aliases.get(n.id, ()):  # `d = x`: another name for the same value
            rows.append((alias, f"= {n.name}" + (MARK if alias in differs else ""), n.dtype,
                         D.shape_str(n.type.shape), ""))
        for scope in bodiless.get(n.id, ()):
            shown.add(scope)
            rows.append(_layer_row(graph, scope, by_id, differs))
    return rows


def _layer_row(graph: Graph, scope: str, by_id: dict, differs: dict) -> tuple:
    layer, out = graph.layers[scope]
    t = by_id[out].type if out in by_id else None
    shared = graph.shared.get(scope)
    params = f"(shares {shared})" if shared else f"{param_count(graph, scope):,}"
    return (_indent(scope, graph)[2:] + scope, layer + (MARK if scope in differs else ""),
            t.dtype if t else "", D.shape_str(t.shape) if t else "", params)


def _node_row(graph: Graph, n: Node, differs: dict) -> tuple:
    params, op = "", n.op
    if n.op == "variable":
        params = f"{int(D.volume(n.type.shape)):,}"
        kind = variable_kind(n)
        op = "variable" if kind == "trainable" else f"variable ({kind})"
    if n.name in differs:
        op += MARK
    return (_indent(n.scope if n.scope in graph.layers else "", graph) + n.name, op, n.dtype,
            D.shape_str(n.type.shape), params)


def _totals(graph: Graph) -> str:
    tr, fz, st = (param_count(graph, kind=k) for k in ("trainable", "frozen", "state"))
    state = f", {st:,} state" if st else ""
    return f"parameters: {tr + fz + st:,} ({tr:,} trainable, {fz:,} frozen{state})"


def _outputs(graph: Graph) -> list[str]:
    outs = outputs(graph)
    if not outs:
        return []
    w = max(len(n.name) for n in outs)
    tw = max(len(str(n.type)) for n in outs)
    return ["outputs:"] + [f"  {n.name.ljust(w)}  {str(n.type).ljust(tw)}  rank {n.rank}  volume "
                           f"{D.dim_str(D.volume(n.type.shape))}" for n in outs]


def _bodiless_layers(graph: Graph) -> dict[int, list[str]]:
    """node id -> the layer scopes that returned it without making a node of their own."""
    with_nodes = {scope for n in graph.nodes for scope in _layer_scopes(graph, n.scope)}
    out: dict[int, list[str]] = {}
    for scope, (_, node_id) in graph.layers.items():
        if scope not in with_nodes:
            out.setdefault(node_id, []).append(scope)
    return out


def mode_differences(inference: Graph, training: Graph) -> dict[str, str]:
    """What the training-mode graph does differently, by layer scope or node name: the ops it
    adds (dropout, batch statistics) and the state it updates."""
    out: dict[str, str] = {}
    for scope in training.layers:
        extra = _ops_in(training, scope) - _ops_in(inference, scope)
        updated = sorted(v for v in training.updates if v.startswith(scope + "."))
        if extra or updated:
            parts = [f"computes {', '.join(sorted(extra))}"] if extra else []
            parts += [f"updates {', '.join(updated)}"] if updated else []
            out[scope] = "; ".join(parts)
    for name, n in training.names.items():
        other = inference.names.get(name)
        if any(name == s or name.startswith(s + ".") for s in out) or other is None:
            continue
        if other.op != n.op:
            out[name] = f"{n.op} (outside training: {other.op})"
        elif n.op == "constant" and not np.array_equal(n.attrs["value"], other.attrs["value"]):
            out[name] = (f"{format_attr(n.attrs['value'])} (outside training: "
                         f"{format_attr(other.attrs['value'])})")
    for name in training.updates:
        if not any(name.startswith(s + ".") for s in out):
            out[name] = "updated by every training step"
    return out


def _ops_in(graph: Graph, scope: str) -> set[str]:
    return {n.op for n in graph.nodes if n.op != "random_key" and
            (n.scope == scope or n.scope.startswith(scope + "."))}


def _layer_scopes(graph: Graph, scope: str) -> list[str]:
    """The layer instances a scope lies in, outermost first (`o`, `o.inner`)."""
    parts = scope.split(".") if scope else []
    cands = [".".join(parts[:k]) for k in range(1, len(parts) + 1)]
    return [c for c in cands if c in graph.layers]


def _indent(scope: str, graph: Graph) -> str:
    """Two spaces per layer instance the scope lies in."""
    return "  " * len(_layer_scopes(graph, scope))
