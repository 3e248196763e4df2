"""The calls of lowering: ops, layers, `grad` and `identity` called with arguments bound to
their signatures. Functions of the lowering `lw` (compiler.lower.GraphLowering), whose scopes
and builder they use."""

from __future__ import annotations

from ..errors import NamingError, ProgramError, ShapeError, did_you_mean
from ..frontend import syntax as S
from ..ir.graph import Node
from ..ir.opdef import REQUIRED
from ..ir.types import DTYPES
from ..ops import REGISTRY
from ..transforms.autodiff import gradients
from . import static as C
from .binding import bind
from .layers import apply_again, instantiate
from .scan import scan

BUILTIN_FUNCS = ("identity", "grad", "scan")


def call(lw, e: S.Call, name: str | None = None):
    f = lw.value(e.func) if not isinstance(e.func, S.Name) else callee(lw, e.func)
    if not isinstance(f, C.Func):
        raise ProgramError(f"{C.describe(f)} is not a function", e.func.span)
    if f.instance is not None:
        return apply_again(lw, f.instance, e.args, e.kwargs, e.span, name)
    return apply(lw, f.name, e.args, e.kwargs, e.span, name)


def callee(lw, e: S.Name):
    for sc in reversed(lw.scopes):
        v = sc.locals.get(e.id)
        if isinstance(v, C.Func):
            return v
        if sc.is_layer:
            break
    if e.id in lw.layers or e.id in BUILTIN_FUNCS or (
            e.id in REGISTRY and not REGISTRY[e.id].internal):
        return C.Func(e.id, e.span)
    instance = lw.scope.qualify(e.id)
    if instance in lw.instances:  # `enc(b)`: the layer instance enc applied to new inputs
        return C.Func(e.id, e.span, instance=instance)
    value = lw.lookup_value(e.id)
    if value is not None:
        what = f"a tensor ({value.type})" if isinstance(value, Node) else C.describe(value)
        raise ProgramError(f'cannot call "{e.id}": it is {what}, not an op or a layer',
                           e.span)
    hint = did_you_mean(e.id, [n for n, op in REGISTRY.items() if not op.internal]
                        + list(lw.layers) + list(BUILTIN_FUNCS))
    kind = "layer" if e.id[:1].isupper() else "op"
    raise NamingError(f'unknown {kind} "{e.id}"', e.span, hint=hint)


def apply(lw, fname: str, args, kwargs, span, name=None):
    """Call an op, a layer, `grad` or `identity` with syntax arguments."""
    if fname == "identity":
        if len(args) != 1 or kwargs:
            raise ProgramError("identity(x) takes exactly one argument", span)
        return lw.value(args[0])
    if fname == "grad":
        return grad(lw, args, kwargs, span)
    if fname == "scan":
        return scan(lw, args, kwargs, span, name)
    if fname in lw.layers:
        return instantiate(lw, lw.layers[fname], args, kwargs, span, name)
    return call_op(lw, fname, args, kwargs, span)


def call_op(lw, opname: str, args, kwargs, span) -> Node:
    """`op(args, k = v)`: arguments bound to the op's signature, tensors and attributes."""
    op = REGISTRY[opname]
    params = [p for p in op.params if p.kind != "key"]  # a random op's key is the Builder's
    bound = _bound(op, params, args, kwargs, span)
    inputs, attrs = [], {}
    for p in params:
        e = bound.get(p.name)
        if e is None:
            if p.default is REQUIRED:
                raise ProgramError(f'{op.signature()}: missing argument "{p.name}"', span)
            if not p.is_tensor:
                attrs[p.name] = p.default
        elif p.kind == "tensor":
            inputs.append(lw.as_node(lw.value(e), e.span))
        elif p.kind == "tensors":
            inputs.extend(_tensor_list(lw, opname, p, e))
        else:
            attrs[p.name] = _attribute(lw, opname, p, e)
    if op.inference_identity and not lw.training:
        lw.b.check(opname, inputs, attrs, span=span)  # the same mistakes are found in both modes
        return lw.tensor(inputs[0], span)  # a Node even for a literal (`dropout([1.0], 0.5)`)
    return lw.b.add(opname, inputs, attrs, span=span)


def _bound(op, params, args, kwargs, span) -> dict:
    """{param: argument}; a `*operands` parameter takes the positional arguments left over."""
    star = next((k for k, p in enumerate(params) if p.star), None)
    rest = ()
    if star is not None:  # einsum(spec, a, b, ...): the operands are the remaining arguments
        args, rest = args[:star], args[star:]
    bound = bind(op.signature(), [p.name for p in params], args, kwargs, span)
    if star is not None and params[star].name not in bound:
        if not rest:
            raise ProgramError(f"{op.signature()}: needs at least one operand", span)
        bound[params[star].name] = S.ListExpr(tuple(rest), rest[0].span.merge(rest[-1].span))
    return bound


def _tensor_list(lw, opname: str, p, e) -> list[Node]:
    v = lw.value(e)
    if not isinstance(v, tuple) or not v:
        raise ProgramError(f"{opname}: {p.name} must be a list of tensors like [a, b]", e.span)
    items = e.items if isinstance(e, S.ListExpr) else [e] * len(v)
    return [lw.as_node(x, s.span) for x, s in zip(v, items)]


def _attribute(lw, opname: str, p, e):
    """A compile-time argument, converted to its parameter's kind."""
    if p.kind == "dtype" and isinstance(e, S.Name) and e.id not in DTYPES \
            and lw.lookup_value(e.id) is None:
        raise ProgramError(f'{opname}: unknown dtype "{e.id}"', e.span,
                           hint=did_you_mean(e.id, DTYPES) or f"dtypes: {', '.join(DTYPES)}")
    v = C.dtype_name(e) if p.kind == "dtype" else None
    v = v if v is not None else lw.value(e)
    if isinstance(v, Node):
        raise ProgramError(f"{opname}: {p.name} is a compile-time value, not a tensor", e.span)
    return C.CONVERT[p.kind](v, e.span, f"{opname}'s {p.name}")


def grad(lw, args, kwargs, span) -> Node:
    bound = bind("grad(y, x)", ["y", "x"], args, kwargs, span)
    if len(bound) != 2:
        raise ProgramError("grad(y, x) needs y and x", span)
    y, x = lw.node(bound["y"]), lw.node(bound["x"])
    lw.b.span = span
    if y.rank != 0:
        raise ShapeError(f"grad(y, x): y must be a float scalar, not {y.type}",
                         bound["y"].span, hint="differentiate a scalar such as sum(y) or "
                                               "mean(y)")
    return gradients(lw.b, y, [x])[0]
