"""Rewrite rules and the pass driver. A rule is a small named function registered for the ops it
matches; a pass is an ordered set of rules that the driver dispatches on each node's op (the
first rule that returns a node wins, in the order the rules are written in their file). A rule
sees the rewritten inputs and a Context that knows the old graph and the nodes made so far."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from ...ir.graph import Builder, Graph, Node
from ...ir.rewrite import rewrite
from ...records import field, record

ANY = "*"  # a rule registered for every op


@record
class Rule:
    """One rewrite: `fn(b, node, inputs, ctx) -> Node | None` for nodes of `ops`."""

    name: str
    ops: tuple[str, ...]
    fn: Callable
    doc: str


def attrs_key(v):
    """A hashable key for attribute values (small arrays by their bytes)."""
    if isinstance(v, np.ndarray):
        return ("array", v.dtype.str, v.shape, v.tobytes() if v.size <= 4096 else id(v))
    if isinstance(v, tuple):
        return tuple(attrs_key(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, attrs_key(x)) for k, x in v.items()))
    return (type(v).__name__, v)


@record(frozen=False)
class Context:
    """What a rule may ask besides its node: the graph being rewritten (`uses` of its nodes) and
    the new graph's nodes so far (`existing`)."""

    graph: Graph
    uses: Counter = field(init=False)
    _b: Builder | None = None
    _index: dict = field(default_factory=dict)
    _scanned: int = 0

    def __post_init__(self):
        self.uses = Counter(i.id for n in self.graph.nodes for i in n.inputs)

    def existing(self, op: str, inputs, attrs=None) -> Node | None:
        """A node of the new graph that computes op(inputs) with these attributes, or None."""
        b = self._b
        for k in range(self._scanned, len(b.nodes)):
            n = b.nodes[k]
            self._index.setdefault((n.op, tuple(i.id for i in n.inputs),
                                    attrs_key(dict(n.attrs))), k)
        self._scanned = len(b.nodes)
        k = self._index.get((op, tuple(i.id for i in inputs), attrs_key(dict(attrs or {}))))
        return None if k is None else b.nodes[k]


class Pass:
    """A named set of rules; `run(graph)` rewrites every node with the first rule that fires.
    With `fixpoint`, a node a rule has just made is offered to the rules again."""

    def __init__(self, name: str, doc: str, fixpoint: bool = False):
        self.name, self.doc, self.fixpoint = name, doc, fixpoint
        self.rules: list[Rule] = []

    def rule(self, *ops: str):
        """Decorator: register the function as a rule for `ops` (ANY for every op)."""
        def register(fn):
            self.rules.append(Rule(fn.__name__, ops, fn, (fn.__doc__ or "").strip()))
            return fn
        return register

    def run(self, graph: Graph, skip=frozenset()) -> tuple[Graph, dict[int, Node]]:
        """The rewritten graph and the map old node id -> new node; rules named in `skip` are
        left out."""
        table: dict[str, list[Rule]] = {}
        rules = [r for r in self.rules if r.name not in skip]
        for r in rules:
            for op in r.ops:
                table.setdefault(op, []).append(r)
        everywhere = table.pop(ANY, [])
        ctx = Context(graph)

        def first(b: Builder, n: Node, ins) -> Node | None:
            for r in table.get(n.op, []) + everywhere:
                out = r.fn(b, n, ins, ctx)
                if out is not None:
                    return out
            return None

        def apply(b: Builder, n: Node, ins) -> Node | None:
            ctx._b = b
            out = first(b, n, ins)
            while self.fixpoint and out is not None and b.nodes and out is b.nodes[-1] \
                    and out.op != "constant":
                again = first(b, out, out.inputs)  # a fresh node may simplify further
                if again is None:
                    break
                out = again
            return out

        return rewrite(graph, apply)


def same_type(a: Node, b: Node) -> bool:
    """Same dtype and shape (weakness aside)."""
    return a.dtype == b.dtype and a.type.shape == b.type.shape


def all_equal(n: Node, v: float) -> bool:
    """n is a non-empty constant whose every element equals v."""
    c = n.attrs["value"] if n.op == "constant" else None
    return c is not None and c.size > 0 and bool(np.all(c == v))
