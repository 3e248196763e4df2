"""Optimization passes, each a Graph -> Graph function, run in a fixed pipeline with verify()
after each: dead-code removal, common subexpressions, constant folding, algebraic
simplification and fusion. `optimize(graph, keep)` returns the graph and the map from old nodes
to new ones (so a caller holding nodes, like the training step's updates, can follow them)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..ir import constant
from ..ir import dims as D
from ..ir.graph import Builder, Graph, Node
from ..ir.rewrite import prune, rewrite
from ..ir.types import broadcast_shapes, broadcasts_to, is_float

FOLD_LIMIT = 1 << 16  # fold constants up to this many elements; bigger ones stay computed
SOURCES = ("placeholder", "variable", "constant")


# ------------------------------------------------------------------ common subexpressions
def _key(v):
    if isinstance(v, np.ndarray):
        return ("array", v.dtype.str, v.shape, v.tobytes() if v.size <= 4096 else id(v))
    if isinstance(v, tuple):
        return tuple(_key(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _key(x)) for k, x in v.items()))
    return (type(v).__name__, v)


def cse(graph: Graph) -> tuple[Graph, dict]:
    """Merge nodes that compute the same op over the same inputs with the same attributes."""
    seen: dict = {}

    def rule(b: Builder, n: Node, ins):
        if n.op in ("placeholder", "variable"):
            return None
        key = (n.op, tuple(i.id for i in ins), _key(dict(n.attrs)), n.type)
        if key not in seen:
            seen[key] = b.with_inputs(n, ins)
        return seen[key]

    return rewrite(graph, rule)


# ------------------------------------------------------------------ constant folding
def fold_constants(graph: Graph) -> tuple[Graph, dict]:
    """Evaluate at compile time every small node whose inputs are all constants."""
    def rule(b: Builder, n: Node, ins):
        if n.op in SOURCES or not ins or not all(i.op == "constant" for i in ins):
            return None
        if any(isinstance(d, D.Dim) for d in n.type.shape) or D.volume(n.type.shape) > FOLD_LIMIT:
            return None
        value = constant.apply(n, [i.attrs["value"] for i in ins])
        return b.constant(value, n.dtype, span=n.span, name=n.name)
    return rewrite(graph, rule)


# ------------------------------------------------------------------ algebraic simplification
def _const_value(n: Node):
    return n.attrs["value"] if n.op == "constant" else None


def _all_equal(n: Node, v: float) -> bool:
    c = _const_value(n)
    return c is not None and c.size > 0 and bool(np.all(c == v))


def _same_type(a: Node, b: Node) -> bool:
    return a.dtype == b.dtype and a.type.shape == b.type.shape


IDENTITY = {  # op: (which input may be dropped, the value that makes it an identity)
    "multiply": ((0, 1.0), (1, 1.0)), "add": ((0, 0.0), (1, 0.0)), "subtract": ((1, 0.0),),
    "divide": ((1, 1.0),), "power": ((1, 1.0),),
}
ELEMENTWISE_BINARY = ("add", "subtract", "multiply", "divide", "maximum", "minimum", "power")


def simplify(graph: Graph) -> tuple[Graph, dict]:
    """x*1, x+0, x-0, x/1, x**1, double transpose, reshape chains, no-op reshapes/casts/
    broadcasts, neg(neg(x)), and broadcasts of a value an elementwise op would broadcast anyway."""
    def rule(b: Builder, n: Node, ins):
        op = n.op
        for drop, v in IDENTITY.get(op, ()):
            keep = ins[1 - drop]
            if _all_equal(ins[drop], v) and _same_type(keep, n):
                return keep
        x = ins[0] if ins else None
        if op in ("reshape", "broadcast_to", "sum_to", "cast", "transpose", "stop_gradient") \
                and _same_type(x, n) and op != "transpose" and op != "stop_gradient":
            return x
        if op == "transpose":
            axes = n.attrs.get("axes") or tuple(reversed(range(x.rank)))
            if tuple(axes) == tuple(range(x.rank)):
                return x
            if x.op == "transpose":
                inner = x.attrs.get("axes") or tuple(reversed(range(x.rank)))
                composed = tuple(inner[a] for a in axes)
                src = x.inputs[0]
                if composed == tuple(range(src.rank)):
                    return src
                return b.add("transpose", (src,), {"axes": composed}, span=n.span)
        if op == "reshape" and x.op == "reshape" and n.attrs.get("order", "C") == "C" \
                and x.attrs.get("order", "C") == "C":
            return b.add("reshape", (x.inputs[0],), dict(n.attrs), span=n.span)
        if op == "neg" and x.op == "neg":
            return x.inputs[0]
        if op == "size_of" and x.op not in SOURCES:
            src = _same_dims_source(x, n.attrs["axis"])
            if src is not x:
                return b.add("size_of", (src,), dict(n.attrs), span=n.span)
        if op == "expand_dims" and x.op == "broadcast_to" and x.inputs[0].rank == x.rank:
            # expand the small value, broadcast after: the broadcast may then be dropped
            small = b.add("expand_dims", (x.inputs[0],), dict(n.attrs), span=n.span)
            return b.add("broadcast_to", (small,), {"shape": tuple(n.type.shape)}, span=n.span)
        if op in ELEMENTWISE_BINARY:
            early = _broadcast_late(b, n, ins)
            if early is not None:
                return early
            new = list(ins)
            for k, i in enumerate(ins):
                if i.op == "broadcast_to":
                    others = [j.type.shape for m, j in enumerate(new) if m != k]
                    try:
                        shape = broadcast_shapes(i.inputs[0].type.shape, *others)
                    except Exception:
                        continue
                    if shape == n.type.shape and i.inputs[0].dtype == i.dtype:
                        new[k] = i.inputs[0]
            if any(a is not b_ for a, b_ in zip(new, ins)):
                return b.add(op, tuple(new), dict(n.attrs), span=n.span)
        return None

    def to_fixpoint(b: Builder, n: Node, ins):
        out = rule(b, n, ins)
        while out is not None and b.nodes and out is b.nodes[-1] and out.op != "constant":
            again = rule(b, out, out.inputs)  # a fresh node may simplify further
            if again is None:
                break
            out = again
        return out
    return rewrite(graph, to_fixpoint)


def _same_dims_source(x: Node, axes) -> Node:
    """The furthest ancestor of x, through inputs with x's dims at `axes`, ideally a placeholder:
    a count of those dims (size_of, a mean's gradient) then no longer needs x's value."""
    while x.op not in SOURCES:
        nxt = next((i for i in x.inputs if i.rank > max(axes, default=-1) and
                    all(D.equal(i.type.shape[a], x.type.shape[a]) for a in axes)), None)
        if nxt is None:
            break
        x = nxt
    return x


def _broadcast_late(b: Builder, n: Node, ins) -> Node | None:
    """op(broadcast_to(a, S), o) -> broadcast_to(op(a, o), S) when a and o are small and fixed
    (a gradient seed spread over the batch, then divided by the batch size): the op runs on
    the small values, and a broadcast can then be dropped by the elementwise op that uses it."""
    for k, i in enumerate(ins):
        o = ins[1 - k]
        if i.op != "broadcast_to" or o.op == "broadcast_to":
            continue
        a = i.inputs[0]
        try:
            small = broadcast_shapes(a.type.shape, o.type.shape)
            fits = broadcast_shapes(small, n.type.shape) == n.type.shape
        except Exception:
            continue
        if not fits or not all(isinstance(d, int) for d in small) or \
                D.volume(small) > 64 or small == tuple(n.type.shape):
            continue
        pair = (a, o) if k == 0 else (o, a)
        inner = b.add(n.op, pair, dict(n.attrs), span=n.span)
        if inner.dtype != n.dtype:
            return None
        return b.add("broadcast_to", (inner,), {"shape": tuple(n.type.shape)}, span=n.span)
    return None


# ------------------------------------------------------------------ fusion
def fuse(graph: Graph) -> tuple[Graph, dict]:
    """cross_entropy(softmax(z)) -> softmax_cross_entropy(z); log(softmax(z)) -> log_softmax(z);
    matmul(x, W) + b -> linear(x, W, b) (one allocation, bias added in place); the gradient
    of softmax_cross_entropy with class ids -> softmax_cross_entropy_grad, and its mean ->
    softmax_cross_entropy_mean (no per-example losses in between); where(x > 0, g, 0)
    -> relu_grad(relu(x), g) when relu(x) is computed anyway (x > 0 exactly where relu(x) > 0,
    NaN included), so that x dies at relu, which can then overwrite it; conv2d(x, k) + b (one
    bias per filter) -> conv2d_bias; max_pool2d_grad(x, g) -> max_pool2d_grad_top(x, top, g)
    when top = max_pool2d(x) is in the graph (the gradient does not recompute the maxima);
    matmul(transpose(a), b) and the like -> matmul_t (no transpose step)."""
    relu_of: dict[int, Node] = {}  # new x id -> the new relu(x) node
    pooled: dict[tuple, Node] = {}  # (new x id, size, stride) -> the new max_pool2d(x) node
    uses = Counter(i.id for m in graph.nodes for i in m.inputs)

    def rule(b: Builder, n: Node, ins):
        if n.op == "max_pool2d":
            out = b.with_inputs(n, ins)
            pooled.setdefault((ins[0].id, n.attrs["size"], n.attrs["stride"]), out)
            return out
        if n.op == "max_pool2d_grad":
            top = pooled.get((ins[0].id, n.attrs["size"], n.attrs["stride"]))
            if top is not None:
                return b.add("max_pool2d_grad_top", (ins[0], top, ins[1]), dict(n.attrs),
                             span=n.span)
            return None
        if n.op == "mean" and uses[n.inputs[0].id] == 1:
            fused = _sxe_mean(b, n, ins)
            if fused is not None:
                return fused
        if n.op == "relu":
            out = b.with_inputs(n, ins)
            relu_of.setdefault(ins[0].id, out)
            return out
        if n.op == "cross_entropy" and ins[0].op == "softmax" and \
                ins[0].attrs["axis"] == ins[0].rank - 1:
            return b.add("softmax_cross_entropy", (ins[0].inputs[0], ins[1]), {}, span=n.span)
        if n.op == "log" and ins[0].op == "softmax":
            return b.add("log_softmax", (ins[0].inputs[0],), dict(ins[0].attrs), span=n.span)
        if n.op == "add":
            for k in (0, 1):
                conv, bias = ins[k], ins[1 - k]
                if conv.op == "conv2d" and bias.rank in (3, 4) and _same_type(conv, n) and \
                        bias.dtype == n.dtype and _conv_bias_shape(bias, conv):
                    return b.add("conv2d_bias", (*conv.inputs, bias), dict(conv.attrs),
                                 span=n.span)
            for k in (0, 1):
                mm, bias = ins[k], ins[1 - k]
                if mm.op == "matmul" and mm.rank == 2 and all(i.rank == 2 for i in mm.inputs) \
                        and bias.rank <= 2 and _same_type(mm, n) and bias.dtype == n.dtype:
                    return b.add("linear", (*mm.inputs, bias), {}, span=n.span)
        if n.op == "matmul" and all(i.rank == 2 for i in ins) and \
                any(_is_t(i) for i in ins) and all(i.dtype == n.dtype for i in ins):
            (a, ta), (c, tc) = ((i.inputs[0], True) if _is_t(i) else (i, False) for i in ins)
            return b.add("matmul_t", (a, c), {"ta": ta, "tb": tc}, span=n.span)
        if n.op == "where" and _relu_mask(n, ins):
            x = ins[0].inputs[0]
            return b.add("relu_grad", (relu_of.get(x.id, x), ins[1]), {}, span=n.span)
        if n.op == "multiply":
            for k in (0, 1):
                fused = _sxe_grad(b, n, ins[k], ins[1 - k])
                if fused is not None:
                    return fused
        return None
    return rewrite(graph, rule)


def _is_t(n: Node) -> bool:
    """A transpose of a matrix."""
    return n.op == "transpose" and n.rank == 2 and tuple(n.attrs["axes"]) == (1, 0)


def _conv_bias_shape(bias: Node, conv: Node) -> bool:
    """bias is [F, 1, 1] (or [1, F, 1, 1]) for conv's F filters: a bias per output channel."""
    shape = tuple(bias.type.shape)
    return shape[-3:] == (conv.type.shape[1], 1, 1) and all(d == 1 for d in shape[:-3])


def _relu_mask(n: Node, ins) -> bool:
    """where(x > 0, g, +0.0) with x, g and the result of one dtype and shape: relu's gradient."""
    cond, g, zero = ins
    return (cond.op == "greater" and _all_equal(cond.inputs[1], 0.0) and
            cond.inputs[1].rank == 0 and zero.op == "constant" and zero.rank == 0 and
            not np.signbit(zero.attrs["value"]) and _all_equal(zero, 0.0) and
            _same_type(cond.inputs[0], n) and _same_type(g, n))


def _sxe_grad(b: Builder, n: Node, diff: Node, g: Node) -> Node | None:
    """(softmax(z) - one_hot_like(ids, z)) * expand_dims(g, -1), softmax_cross_entropy's
    gradient for class ids (g per example), as one softmax_cross_entropy_grad node (one buffer
    instead of four)."""
    if diff.op != "subtract" or not _same_type(diff, n) or g.op != "expand_dims" or \
            g.attrs["axis"] != (g.rank - 1,) or g.dtype != n.dtype:
        return None
    s, hot = diff.inputs
    if s.op != "softmax" or hot.op != "one_hot_like" or s.attrs["axis"] != s.rank - 1:
        return None
    z, ids, per_example = s.inputs[0], hot.inputs[0], g.inputs[0]
    if hot.inputs[1] is not z or z.dtype != n.dtype or ids.rank != z.rank - 1:
        return None
    if not broadcasts_to(per_example.type.shape, ids.type.shape):
        return None
    return b.add("softmax_cross_entropy_grad", (z, ids, per_example), {}, span=n.span)


def _sxe_mean(b: Builder, n: Node, ins) -> Node | None:
    """mean(softmax_cross_entropy(z, ids)) over every example -> softmax_cross_entropy_mean,
    when nothing else reads the per-example losses."""
    sxe = ins[0]
    if sxe.op != "softmax_cross_entropy" or sxe.inputs[1].rank != sxe.inputs[0].rank - 1 or \
            tuple(n.attrs["axis"]) != tuple(range(sxe.rank)) or n.attrs["keepdims"] or \
            n.dtype != sxe.dtype or not is_float(sxe.inputs[0].dtype) or \
            sxe.inputs[0].dtype != n.dtype:
        return None
    return b.add("softmax_cross_entropy_mean", sxe.inputs, {}, span=n.span)


PIPELINE = (fold_constants, simplify, fuse, cse)


def optimize(graph: Graph, keep=(), passes=PIPELINE) -> Graph:
    """The graph after the whole pipeline (see optimize_map to follow nodes)."""
    return optimize_map(graph, keep, passes)[0]


def optimize_map(graph: Graph, keep=(), passes=PIPELINE) -> tuple[Graph, dict[int, Node]]:
    """Run the pipeline with verify() after each pass; returns the map old id -> new node."""
    mapping = {n.id: n for n in graph.nodes}
    g = graph
    for p in passes:
        g, m = p(g)
        g.verify()
        mapping = {k: m[v.id] for k, v in mapping.items() if v.id in m}
    kept = [mapping[n.id] for n in keep if n.id in mapping]
    g = prune(g, kept)
    g.verify()
    return g, mapping
