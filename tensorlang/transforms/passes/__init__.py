"""The optimization passes, run in a fixed pipeline with verify() after each: constant folding,
simplification, fusion, common subexpressions, then dead-code removal. Each pass is a set of
small named rules keyed by op (rules.py); `optimize(graph, skip=...)` leaves passes or single
rules out by name (`tensorlang ir --optimized --no-pass NAME`)."""

from __future__ import annotations

from ...errors import UsageError, did_you_mean
from ...ir.graph import Graph, Node
from ...ir.rewrite import prune
from .cse import CSE
from .fold import FOLD
from .fuse import FUSE
from .rules import Pass, Rule
from .simplify import SIMPLIFY

PIPELINE: tuple[Pass, ...] = (FOLD, SIMPLIFY, FUSE, CSE)
RULES: dict[str, Rule] = {r.name: r for p in PIPELINE for r in p.rules}


def fold_constants(graph: Graph, skip=frozenset()) -> tuple[Graph, dict[int, Node]]:
    """The constant-folding pass alone."""
    return FOLD.run(graph, skip)


def simplify(graph: Graph, skip=frozenset()) -> tuple[Graph, dict[int, Node]]:
    """The simplification pass alone."""
    return SIMPLIFY.run(graph, skip)


def fuse(graph: Graph, skip=frozenset()) -> tuple[Graph, dict[int, Node]]:
    """The fusion pass alone."""
    return FUSE.run(graph, skip)


def cse(graph: Graph, skip=frozenset()) -> tuple[Graph, dict[int, Node]]:
    """The common-subexpression pass alone."""
    return CSE.run(graph, skip)


def check_names(names) -> frozenset[str]:
    """The names of passes or rules to leave out; UsageError for one that is neither."""
    known = [p.name for p in PIPELINE] + list(RULES)
    for name in names:
        if name not in known:
            raise UsageError(f'--no-pass: no pass or rule is named "{name}"',
                             hint=did_you_mean(name, known) or
                             f"passes: {', '.join(p.name for p in PIPELINE)}; rules: "
                             f"{', '.join(RULES)}")
    return frozenset(names)


def optimize(graph: Graph, keep=(), skip=frozenset()) -> Graph:
    """The graph after the whole pipeline (see optimize_map to follow nodes)."""
    return optimize_map(graph, keep, skip)[0]


def optimize_map(graph: Graph, keep=(), skip=frozenset()) -> tuple[Graph, dict[int, Node]]:
    """Run the pipeline (but the passes and rules named in `skip`) with verify() after each
    pass, then remove dead code keeping `keep`; returns the graph and the map old id -> new
    node."""
    mapping = {n.id: n for n in graph.nodes}
    g = graph
    for p in PIPELINE:
        if p.name in skip:
            continue
        g, m = p.run(g, skip)
        g.verify()
        mapping = {k: m[v.id] for k, v in mapping.items() if v.id in m}
    kept = [mapping[n.id] for n in keep if n.id in mapping]
    g = prune(g, kept)
    g.verify()
    return g, mapping
