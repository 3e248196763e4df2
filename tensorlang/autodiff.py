"""Reverse-mode differentiation as a graph transformation: the gradient of a scalar is new nodes
in the same graph (made by each op's gradient rule), so it can be printed, drawn, optimized and
differentiated again. Every gradient node carries the span of the forward node it came from and
the scope `grad/<forward scope>`."""

from __future__ import annotations

from collections.abc import Sequence

from . import dims as D
from .errors import ShapeError, Warning_
from .graph import Builder, Graph, Node
from .ops.common import fit
from .types import is_float


def ancestors(outputs: Sequence[Node]) -> set[int]:
    """Ids of every node the outputs depend on, the outputs included."""
    seen: set[int] = set()
    stack = list(outputs)
    while stack:
        n = stack.pop()
        if n.id not in seen:
            seen.add(n.id)
            stack.extend(n.inputs)
    return seen


def _descendants(nodes: Sequence[Node], sources: set[int], through_all: bool) -> set[int]:
    """Ids reachable forward from sources; with through_all=False, not through ops that stop
    gradients or through integer values."""
    out = set(sources)
    for n in nodes:
        if n.id in out:
            continue
        if not through_all and not (n.opdef.differentiable and is_float(n.dtype)):
            continue
        if any(i.id in out for i in n.inputs):
            out.add(n.id)
    return out


def _where_path_breaks(b: Builder, y: Node, x: Node, anc: set[int]) -> Node | None:
    """The first op on a path from x to y that stops the gradient (argmax, a cast to int...)."""
    reach = _descendants(b.nodes, {x.id}, through_all=True)
    for n in b.nodes:
        if n.id in reach and n.id in anc and n is not x and (
                not n.opdef.differentiable or not is_float(n.dtype)):
            return n
    return None


def gradients(b: Builder, y: Node, xs: Sequence[Node], *, warn_name=None) -> list[Node]:
    """d y / d x for each x, as nodes appended to the builder. y must be a float scalar.
    An x that y does not depend on (through differentiable ops) gets zeros and a warning."""
    if y.rank != 0 or not is_float(y.dtype):
        raise ShapeError(f"grad: the differentiated value must be a float scalar, not {y.type}",
                         b.span)
    anc = ancestors([y])
    live = _descendants(b.nodes, {x.id for x in xs}, through_all=False) & anc
    saved_span, saved_scope = b.span, b.scope
    grads: dict[int, Node] = {}
    try:
        b.span, b.scope = y.span, _grad_scope(y)
        grads[y.id] = b.constant(1, y.dtype)
        for n in reversed([n for n in b.nodes if n.id in live]):
            g = grads.get(n.id)
            if g is None or not n.inputs or not n.opdef.differentiable or n.opdef.grad is None:
                continue
            b.span, b.scope = n.span, _grad_scope(n)
            parts = n.opdef.grad(b, n, g)
            for inp, gi in zip(n.inputs, parts):
                if gi is None or inp.id not in live:
                    continue
                gi = fit(b, gi, inp)
                if not all(D.equal(p, q) for p, q in zip(gi.type.shape, inp.type.shape)):
                    raise AssertionError(f"gradient rule of {n.op} gave {gi.type} for {inp.type}")
                prev = grads.get(inp.id)
                grads[inp.id] = gi if prev is None else b.op("add", prev, gi)
        out = []
        for x in xs:
            g = grads.get(x.id)
            if g is None:
                b.span, b.scope = x.span, _grad_scope(x)
                g = b.op("broadcast_to", b.constant(0, x.dtype), shape=tuple(x.type.shape))
                _warn_disconnected(b, y, x, anc, warn_name)
            out.append(g)
        return out
    finally:
        b.span, b.scope = saved_span, saved_scope


def _grad_scope(n: Node) -> str:
    return "grad/" + n.scope if n.scope else "grad"


def _warn_disconnected(b: Builder, y: Node, x: Node, anc: set[int], name=None) -> None:
    yname, xname = y.label(), name(x) if name else x.label()
    brk = _where_path_breaks(b, y, x, anc)
    if brk is not None:
        why = "stops the gradient" if not brk.opdef.differentiable else f"gives {brk.dtype}"
        b.warnings.append(Warning_(
            f'"{yname}" does not depend differentiably on "{xname}": the path breaks at '
            f"{brk.op} ({brk.op} {why}); its gradient is zero", brk.span,
            notes=((f'"{xname}" is defined here', x.span),)))
    else:
        b.warnings.append(Warning_(
            f'"{yname}" does not depend on "{xname}"; its gradient is zero', x.span))


def backward(graph: Graph, y: str | Node, xs: Sequence[Node] | None = None) -> Graph:
    """The graph with the gradient of y with respect to xs (default: the trainable variables)
    appended; each gradient is named `grad(y)/x`."""
    b = Builder(graph.name, graph)
    y = graph.node(y) if isinstance(y, str) else y
    xs = list(graph.trainable if xs is None else xs)
    b.span = y.span
    for x, g in zip(xs, gradients(b, y, xs, warn_name=lambda n: n.name or n.label())):
        b.bind(f"grad({y.label()})/{x.label()}", g, x.span)
    return b.finish()


def training_graph(program, graph: Graph) -> Graph:
    """The graph with the gradient of its (first) train block's loss, for `ir/graph --backward`."""
    from .errors import UsageError
    for spec in program.runs:
        if spec.kind == "train" and spec.graph == graph.name:
            return backward(graph, spec.minimize)
    raise UsageError(f'--backward: no train block trains graph "{graph.name}", so there is no '
                     "loss to differentiate")
