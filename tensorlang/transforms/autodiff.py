"""Reverse-mode differentiation as a graph transformation: the gradient of a scalar is new nodes
in the same graph (made by each op's gradient rule), so it can be printed, drawn, optimized and
differentiated again. Every gradient node carries the span of the forward node it came from and
the scope `grad/<forward scope>`.

`disconnected_warnings` is the static side: without building any gradient, it finds trainable
variables that a train block's loss cannot reach through differentiable ops."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import CompileWarning, OpError, ShapeError
from ..ir import dims as D
from ..ir.graph import Builder, Graph, Node
from ..ir.traversal import ancestors
from ..ir.types import is_float
from ..ops.common import fit


def carries_gradient(n: Node) -> bool:
    """True when a gradient can flow back through n: a float value of a differentiable op
    (sources included). argmax, comparisons, floor, stop_gradient and integer values stop it."""
    return is_float(n.dtype) and n.opdef.differentiable and (
        n.opdef.grad is not None or not n.inputs or n.opdef.grad_missing is not None)


def gradient_ancestors(y: Node) -> set[int]:
    """Ids of the nodes a gradient of y can flow back to: y's ancestors reached through nodes
    that carry gradients (not through argmax, comparisons, casts to integers...)."""
    seen = {y.id}
    stack = [y]
    while stack:
        n = stack.pop()
        if not carries_gradient(n):
            continue
        for i in n.inputs:
            if i.id not in seen and is_float(i.dtype):
                seen.add(i.id)
                stack.append(i)
    return seen


def _descendants(nodes: Sequence[Node], sources: set[int], through_all: bool) -> set[int]:
    """Ids reachable forward from sources; with through_all=False, only through nodes that
    carry gradients."""
    out = set(sources)
    for n in nodes:
        if n.id in out:
            continue
        if not through_all and not carries_gradient(n):
            continue
        if any(i.id in out for i in n.inputs):
            out.add(n.id)
    return out


def where_path_breaks(nodes: Sequence[Node], y: Node, x: Node,
                      anc: set[int] | None = None) -> Node | None:
    """The first node (in graph order) on a path from x to y that stops the gradient, or None
    when y does not depend on x at all. Every path from x to y passes through such a node when
    x is disconnected, and the earliest one is where the user's intent most likely broke."""
    anc = ancestors([y]) if anc is None else anc
    if x.id not in anc:
        return None
    reach = _descendants(nodes, {x.id}, through_all=True)
    for n in nodes:
        if n.id in reach and n.id in anc and n is not x and not carries_gradient(n):
            return n
    return None


def describe(n: Node) -> str:
    """How a user knows a node (see Node.describe)."""
    return n.describe()


def gradients(b: Builder, y: Node, xs: Sequence[Node], *, warn_name=None) -> list[Node]:
    """d y / d x for each x, as nodes appended to the builder. y must be a float scalar.
    An x that y does not depend on (through differentiable ops) gets zeros and a warning."""
    if y.rank != 0 or not is_float(y.dtype):
        raise ShapeError(f"grad: the differentiated value must be a float scalar, not {y.type}",
                         b.span)
    anc = ancestors([y])
    live = _descendants(b.nodes, {x.id for x in xs if is_float(x.dtype)}, through_all=False) \
        & gradient_ancestors(y)
    saved_span, saved_scope = b.span, b.scope
    start = b.mark()
    grads: dict[int, Node] = {}
    try:
        b.span, b.scope = y.span, _grad_scope(y)
        grads[y.id] = b.constant(1, y.dtype)
        for n in reversed([n for n in b.nodes[:start] if n.id in live]):
            g = grads.get(n.id)
            if g is None or not n.inputs or not carries_gradient(n):
                continue
            b.span, b.scope = n.span, _grad_scope(n)
            if n.opdef.grad_missing is not None:
                raise ShapeError(f"no gradient through {n.op}: {n.opdef.grad_missing}", n.span)
            try:
                parts = n.opdef.grad(b, n, g)
            except OpError as e:  # a gradient rule that cannot differentiate this node
                raise ShapeError(f"the gradient of {n.op}: {e}", n.span) from None
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
        # gradient rules build a part for every input; drop the parts nobody asked for
        keep = ancestors(out)
        b.discard_unused(start, keep)
        return out
    finally:
        b.span, b.scope = saved_span, saved_scope


def _grad_scope(n: Node) -> str:
    return "grad/" + n.scope if n.scope else "grad"


def _warn_disconnected(b: Builder, y: Node, x: Node, anc: set[int], name=None) -> None:
    yname, xname = describe(y), name(x) if name else describe(x)
    if not is_float(x.dtype):
        b.warnings.append(CompileWarning(
            f'"{xname}" is {x.dtype}: integer and bool values have no gradient; the gradient '
            f'of "{yname}" with respect to it is zero', b.span,
            notes=((f'"{xname}" is defined here', x.span),)))
        return
    brk = where_path_breaks(b.nodes, y, x, anc)
    if brk is not None:
        b.warnings.append(CompileWarning(
            f'"{yname}" does not depend differentiably on "{xname}": the path breaks at '
            f"{brk.op} ({_why(brk)}); its gradient is zero", brk.span,
            notes=((f'"{xname}" is defined here', x.span),)))
    else:
        b.warnings.append(CompileWarning(
            f'"{yname}" does not depend on "{xname}"; its gradient is zero', x.span))


def _why(n: Node) -> str:
    if not n.opdef.differentiable or n.opdef.grad is None:
        return "it has no gradient"
    return f"it gives {n.dtype} values, which carry no gradient"


def backward(graph: Graph, y: str | Node, xs: Sequence[Node] | None = None) -> Graph:
    """The graph with the gradient of y with respect to xs (default: the float trainable
    variables) appended; each gradient is named `grad(y)/x`."""
    b = Builder(graph.name, graph)
    y = graph.node(y) if isinstance(y, str) else y
    xs = [v for v in graph.trainable if is_float(v.dtype)] if xs is None else list(xs)
    b.span = y.span
    grads = gradients(b, y, xs, warn_name=lambda n: n.name or n.label())
    for x, g in zip(xs, grads):
        _bind_gradient(b, f"grad({y.label()})/{x.label()}", g, x.span)
    return b.finish()


def _bind_gradient(b: Builder, name: str, g: Node, span) -> None:
    """Name a gradient node so the printer shows it: rename it in place when nothing refers to
    it yet, else alias it with a free cast (one node can be the gradient of two inputs)."""
    k = next(k for k in range(len(b.nodes) - 1, -1, -1) if b.nodes[k].id == g.id)
    g = b.nodes[k]
    used = any(i.id == g.id for n in b.nodes[k + 1:] for i in n.inputs)
    if g.name is None and not used and g.id not in {n.id for n in b.names.values()}:
        g = b.rename(g, name)
    else:
        g = b.add("cast", (g,), {"dtype": g.dtype}, span=g.span, scope=g.scope)
    b.bind(name, g, span)


def disconnected_warnings(graphs: dict[str, Graph], runs) -> list[CompileWarning]:
    """For each train block, a warning for the float trainable variables that its `minimize`
    cannot reach through differentiable ops, naming where the path breaks (variables that break
    at the same node, or that belong to the same unreached layer, share one warning). Static: no
    gradient nodes are built, so `tensorlang check` can afford it."""
    out: list[CompileWarning] = []
    done: set[tuple[str, str]] = set()
    for spec in runs:
        if spec.kind != "train" or (spec.graph, spec.minimize) in done:
            continue
        done.add((spec.graph, spec.minimize))
        g = graphs[spec.graph]
        y = g.node(spec.minimize)
        anc, live = ancestors([y]), gradient_ancestors(y)
        groups: dict = {}
        for v in g.trainable:
            if is_float(v.dtype) and v.id not in live:
                brk = where_path_breaks(g.nodes, y, v, anc)
                key = ("at", brk.id) if brk is not None else ("unreached", v.span)
                groups.setdefault(key, (brk, []))[1].append(v)
        where = spec.spans.get("minimize", spec.span)
        for brk, vs in groups.values():
            names = _and([f'"{v.name}"' for v in vs])
            what = f"trainable variable{'s' if len(vs) > 1 else ''} {names}"
            minimized = (f'train {spec.graph} minimizes "{spec.minimize}" here', where)
            spans: dict = {}
            for v in vs:
                spans.setdefault(v.span, []).append(f'"{v.name}"')
            defined = [(f"{_and(ns)} {'are' if len(ns) > 1 else 'is'} defined here", sp)
                       for sp, ns in spans.items()]
            if brk is None:
                out.append(CompileWarning(
                    f'"{spec.minimize}" does not depend on {what}: train will not change '
                    f"{'them' if len(vs) > 1 else 'it'}", vs[0].span, notes=(minimized,)))
            else:
                out.append(CompileWarning(
                    f'"{spec.minimize}" does not depend differentiably on {what}: the path '
                    f"breaks at {brk.op} (line {brk.span.line}; {_why(brk)}), so train will not "
                    f"change {'them' if len(vs) > 1 else 'it'}", brk.span,
                    notes=(*defined, minimized)))
    return out


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
