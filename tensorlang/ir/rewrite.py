"""Graph -> Graph rewriting: walk the nodes in order, let a rule replace each one (seeing the
already rewritten inputs), and rebuild the rest unchanged. The one mechanism every pass uses."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from types import MappingProxyType

from . import graph as G
from .graph import Builder, Graph, Node
from .traversal import ancestors

Rule = Callable[[Builder, Node, tuple], "Node | None"]


def with_inputs(node: Node, inputs: tuple) -> Node:
    """The same node over new inputs (a new identity), or the node itself when nothing changed."""
    if len(inputs) == len(node.inputs) and all(a is b for a, b in zip(inputs, node.inputs)):
        return node
    return dataclasses.replace(node, inputs=tuple(inputs), id=next(G._ids))


def rewrite(graph: Graph, rule: Rule) -> tuple[Graph, dict[int, Node]]:
    """Apply `rule(b, node, new_inputs)` to every node in order; None keeps the node (over the
    rewritten inputs). Returns the new graph and the map old node id -> new node."""
    b = Builder(graph.name)
    b.graph_span = graph.span
    new: dict[int, Node] = {}
    for n in graph.nodes:
        ins = tuple(new[i.id] for i in n.inputs)
        b.span, b.scope = n.span, n.scope
        before = len(b.nodes)
        out = rule(b, n, ins)
        if out is None:
            out = with_inputs(n, ins)
            b.nodes.append(out)
        elif n.name and out.name is None and len(b.nodes) > before and b.nodes[-1] is out:
            out = dataclasses.replace(out, name=n.name)  # a fresh replacement keeps the name
            b.nodes[-1] = out
        new[n.id] = out
    names = {k: new[v.id] for k, v in graph.names.items()}
    return Graph(graph.name, tuple(b.nodes), MappingProxyType(names), graph.span,
                 graph.warnings, graph.dims), new


def prune(graph: Graph, keep: Iterable[Node] = ()) -> Graph:
    """Dead-code removal: keep named nodes, sources, `keep`, and what they depend on."""
    roots = list(graph.names.values()) + list(keep) + [
        n for n in graph.nodes if n.op in ("placeholder", "variable")]
    live = ancestors(roots)
    return Graph(graph.name, tuple(n for n in graph.nodes if n.id in live), graph.names,
                 graph.span, graph.warnings, graph.dims)
