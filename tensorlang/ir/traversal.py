"""Walking a graph back from its roots: the one place that knows how (autodiff's reachability,
the planner's needed nodes, dead-code removal and the run-block checks all ask here)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .graph import Node


def ancestors(roots: Iterable[Node]) -> set[int]:
    """Ids of every node the roots depend on, the roots included."""
    return {n.id for n in _reached(roots)}


def needed(roots: Iterable[Node]) -> list[Node]:
    """The nodes the roots depend on (the roots included), in topological (creation) order."""
    return sorted(_reached(roots), key=lambda n: n.id)


def _reached(roots: Iterable[Node]) -> list[Node]:
    seen: dict[int, Node] = {}
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n.id not in seen:
            seen[n.id] = n
            stack.extend(n.inputs)
    return list(seen.values())


def users(nodes: Iterable[Node]) -> dict[int, list[Node]]:
    """node id -> the nodes that read it, in graph order."""
    out: dict[int, list[Node]] = {}
    for n in nodes:
        for i in n.inputs:
            out.setdefault(i.id, []).append(n)
    return out
