"""Graph -> Graph rewriting: walk the nodes in order, let a rule replace each one (seeing the
already rewritten inputs), and rebuild the rest unchanged. The one mechanism every pass uses;
rules make nodes only through the Builder they are given."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .graph import Builder, Graph, Node
from .traversal import ancestors

Rule = Callable[[Builder, Node, tuple], "Node | None"]


def rewrite(graph: Graph, rule: Rule) -> tuple[Graph, dict[int, Node]]:
    """Apply `rule(b, node, new_inputs)` to every node in order; None keeps the node (over the
    rewritten inputs). A rule returns a node it made with `b`, or one already in the new graph.
    Returns the new graph and the map old node id -> new node."""
    b = Builder.rewriting(graph)
    new: dict[int, Node] = {}
    for n in graph.nodes:
        ins = tuple(new[i.id] for i in n.inputs)
        b.span, b.scope = n.span, n.scope
        mark = b.mark()
        out = rule(b, n, ins)
        if out is None:
            out = b.with_inputs(n, ins)
        else:
            fresh = b.mark() > mark and b.nodes[-1] is out
            b.adopt(out)
            if fresh and n.name and out.name is None:
                out = b.rename(out, n.name)  # a fresh replacement keeps the name
        new[n.id] = out
    names = {k: new[v.id] for k, v in graph.names.items()}
    return graph.with_nodes(b.nodes, names, new), new


def prune(graph: Graph, keep: Iterable[Node] = ()) -> Graph:
    """Dead-code removal: keep named nodes, state updates, inputs, `keep`, and what they
    depend on."""
    roots = list(graph.names.values()) + list(graph.updates.values()) + list(keep) + [
        n for n in graph.nodes if n.is_input]
    live = ancestors(roots)
    return graph.with_nodes(tuple(n for n in graph.nodes if n.id in live))
