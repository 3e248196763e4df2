"""Algebraic simplification: identities, no-op conversions, transposes and reshapes that cancel
or merge, and broadcasts that an elementwise op would do anyway. Run to a fixpoint: a node a
rule makes is offered to the rules again. For one op, the rules are tried in the order below."""

from __future__ import annotations

from ...errors import OpError
from ...ir import dims as D
from ...ir.types import broadcast_shapes
from .rules import Pass, all_equal, same_type

SIMPLIFY = Pass("simplify", "identities, no-op conversions, merged transposes and reshapes, "
                            "needless broadcasts", fixpoint=True)

IDENTITY = {  # op: (which input may be dropped, the value that makes it an identity)
    "multiply": ((0, 1.0), (1, 1.0)), "add": ((0, 0.0), (1, 0.0)), "subtract": ((1, 0.0),),
    "divide": ((1, 1.0),), "power": ((1, 1.0),),
}
ELEMENTWISE_BINARY = ("add", "subtract", "multiply", "divide", "maximum", "minimum", "power")


@SIMPLIFY.rule(*IDENTITY)
def drop_identity_operand(b, n, ins, ctx):
    """x * 1, 1 * x, x + 0, 0 + x, x - 0, x / 1, x ** 1 -> x (when x already has the result's
    type: no broadcast or promotion is lost)."""
    for drop, v in IDENTITY[n.op]:
        keep = ins[1 - drop]
        if all_equal(ins[drop], v) and same_type(keep, n):
            return keep
    return None


@SIMPLIFY.rule("reshape", "broadcast_to", "sum_to", "cast")
def drop_noop_conversion(b, n, ins, ctx):
    """reshape, broadcast_to, sum_to or cast to the type x already has -> x."""
    return ins[0] if same_type(ins[0], n) else None


def _axes(n) -> tuple:
    return tuple(n.attrs.get("axes") or reversed(range(n.inputs[0].rank)))


@SIMPLIFY.rule("transpose")
def drop_identity_transpose(b, n, ins, ctx):
    """transpose(x, [0, 1, ..., r-1]) -> x."""
    x = ins[0]
    axes = n.attrs.get("axes") or tuple(reversed(range(x.rank)))
    return x if tuple(axes) == tuple(range(x.rank)) else None


@SIMPLIFY.rule("transpose")
def merge_transposes(b, n, ins, ctx):
    """transpose(transpose(x, p), q) -> transpose(x, p[q]), or x when they cancel."""
    x = ins[0]
    if x.op != "transpose":
        return None
    axes = n.attrs.get("axes") or tuple(reversed(range(x.rank)))
    inner = x.attrs.get("axes") or tuple(reversed(range(x.rank)))
    composed = tuple(inner[a] for a in axes)
    src = x.inputs[0]
    if composed == tuple(range(src.rank)):
        return src
    return b.add("transpose", (src,), {"axes": composed}, span=n.span)


@SIMPLIFY.rule("reshape")
def merge_reshapes(b, n, ins, ctx):
    """reshape(reshape(x, s), t) -> reshape(x, t) (both in C order)."""
    x = ins[0]
    if x.op == "reshape" and n.attrs.get("order", "C") == "C" and \
            x.attrs.get("order", "C") == "C":
        return b.add("reshape", (x.inputs[0],), dict(n.attrs), span=n.span)
    return None


@SIMPLIFY.rule("neg")
def double_negation(b, n, ins, ctx):
    """-(-x) -> x."""
    return ins[0].inputs[0] if ins[0].op == "neg" else None


@SIMPLIFY.rule("size_of")
def count_dims_at_the_source(b, n, ins, ctx):
    """size_of(f(x), axes) -> size_of(x, axes) back to the furthest ancestor with those dims,
    ideally a placeholder: the count then no longer keeps f(x) alive (a mean's gradient)."""
    x = ins[0]
    if x.is_source:
        return None
    src = _same_dims_source(x, n.attrs["axis"])
    return b.add("size_of", (src,), dict(n.attrs), span=n.span) if src is not x else None


def _same_dims_source(x, axes):
    while not x.is_source:
        nxt = next((i for i in x.inputs if i.rank > max(axes, default=-1) and
                    all(D.equal(i.type.shape[a], x.type.shape[a]) for a in axes)), None)
        if nxt is None:
            break
        x = nxt
    return x


@SIMPLIFY.rule("expand_dims")
def expand_before_broadcast(b, n, ins, ctx):
    """expand_dims(broadcast_to(a, S)) -> broadcast_to(expand_dims(a)): the small value is
    expanded, and the broadcast may then be dropped by the elementwise op that uses it."""
    x = ins[0]
    if x.op != "broadcast_to" or x.inputs[0].rank != x.rank:
        return None
    small = b.add("expand_dims", (x.inputs[0],), dict(n.attrs), span=n.span)
    return b.add("broadcast_to", (small,), {"shape": tuple(n.type.shape)}, span=n.span)


def _broadcast(*shapes):
    try:
        return broadcast_shapes(*shapes)
    except OpError:
        return None


@SIMPLIFY.rule(*ELEMENTWISE_BINARY)
def broadcast_late(b, n, ins, ctx):
    """op(broadcast_to(a, S), o) -> broadcast_to(op(a, o), S) when a and o are small and fixed
    (a gradient seed spread over the batch, then divided by the batch size): the op runs on the
    small values, and the broadcast can then be dropped by the elementwise op that uses it."""
    for k, i in enumerate(ins):
        o = ins[1 - k]
        if i.op != "broadcast_to" or o.op == "broadcast_to":
            continue
        a = i.inputs[0]
        small = _broadcast(a.type.shape, o.type.shape)
        if small is None or _broadcast(small, n.type.shape) != n.type.shape:
            continue
        if not all(isinstance(d, int) for d in small) or D.volume(small) > 64 or \
                small == tuple(n.type.shape):
            continue
        inner = b.add(n.op, (a, o) if k == 0 else (o, a), dict(n.attrs), span=n.span)
        if inner.dtype != n.dtype:
            return None
        return b.add("broadcast_to", (inner,), {"shape": tuple(n.type.shape)}, span=n.span)
    return None


@SIMPLIFY.rule(*ELEMENTWISE_BINARY)
def drop_needless_broadcast(b, n, ins, ctx):
    """op(broadcast_to(a, S), o) -> op(a, o) when the op's own broadcasting gives S anyway."""
    new = list(ins)
    for k, i in enumerate(ins):
        if i.op == "broadcast_to" and i.inputs[0].dtype == i.dtype:
            shape = _broadcast(i.inputs[0].type.shape,
                               *(j.type.shape for m, j in enumerate(new) if m != k))
            if shape == n.type.shape:
                new[k] = i.inputs[0]
    if any(a is not c for a, c in zip(new, ins)):
        return b.add(n.op, tuple(new), dict(n.attrs), span=n.span)
    return None
