"""Layer instantiation: bind a call's arguments to a layer's parameters, match shape patterns
(`x: [..., In]`) at the call site, and lower the body under the instance's scope (`h.W`)."""

from __future__ import annotations

from ..errors import ProgramError, ShapeError, TensorlangError
from ..frontend import syntax as S
from ..ir import dims as D
from ..ir.graph import Node
from ..records import field, record
from ..source import name_span
from .binding import bind
from .scope import Scope

MAX_DEPTH = 64


@record(frozen=False)
class Instance:
    """What a layer instance's name stands for when it is called again (`enc(b)`): its layer,
    its compile-time arguments and pattern sizes, and the scopes of its nested layer calls."""

    layer: S.LayerDef
    values: dict
    nested: list = field(default_factory=list)


def instantiate(lw, layer: S.LayerDef, args, kwargs, span, name: str | None):
    """Lower one call of `layer` inside GraphLowering `lw`; returns the layer's value."""
    values = _arguments(lw, layer, args, kwargs, span)
    # numbered after the arguments, so in `Dense(Dense(x, 4), 1)` the inner call is Dense_1
    scope_name = lw.scope.qualify(name) if name else fresh_scope(lw, layer.name)
    parent = lw.scope
    shared_from = None
    if parent.shared_from is not None and parent.nested_from:
        shared_from = parent.nested_from.pop(0)  # this call repeats one of the original's
    parent.nested.append(scope_name)
    return _lower(lw, layer, values, scope_name, span, shared_from)


def apply_again(lw, instance: str, args, kwargs, span, name: str | None):
    """`e2 = enc(b)`: the layer of instance `enc`, with its compile-time arguments and its
    variables, applied to new tensor inputs (which must fit its patterns with the same sizes)."""
    inst = lw.instances[instance]
    layer = inst.layer
    tensors = [p for p in layer.params if p.pattern is not None]
    what = f"{instance.rsplit('.', 1)[-1]}({', '.join(p.name for p in tensors)})"
    bound = bind(what, [p.name for p in tensors], args, kwargs, span)
    tensor_names = {p.name for p in tensors}
    values = {k: v for k, v in inst.values.items() if k not in tensor_names}
    for p in tensors:
        if p.name not in bound:
            raise ProgramError(f'{what}: missing argument "{p.name}"', span,
                               hint=f"a layer instance applied again takes its tensor "
                                    f"inputs only; the rest is {instance}'s")
        where = bound[p.name].span
        node = lw.tensor(lw.value(bound[p.name]), where)
        _match(layer, p, node, values, where, lw.lets)
        values[p.name] = node
    scope_name = lw.scope.qualify(name) if name else fresh_scope(lw, layer.name)
    lw.scope.nested.append(scope_name)
    return _lower(lw, layer, values, scope_name, span, instance)


def _lower(lw, layer: S.LayerDef, values: dict, scope_name: str, span, shared_from):
    """The layer's body lowered under `scope_name` (with `shared_from`'s variables when it
    applies an instance again); the instance is recorded for later calls by name."""
    if lw.depth >= MAX_DEPTH:
        raise ProgramError(f"layers nest deeper than {MAX_DEPTH} (is {layer.name} recursive?)",
                           span)
    saved = lw.b.scope, lw.b.span, lw.b.pin
    if layer.span.file == "<prelude>" and lw.b.pin is None:
        lw.b.pin = span  # the standard layers' nodes point at the user's call
    nested_from = list(lw.instances[shared_from].nested) if shared_from else []
    scope = Scope(scope_name, dict(values), is_layer=True, body=layer.body,
                  shared_from=shared_from, nested_from=nested_from)
    lw.scopes.append(scope)
    lw.b.scope = scope_name
    lw.depth += 1
    try:
        result = lw.tensor(_body(lw, layer), span)
        lw.b.layers[scope_name] = (layer.name, result.id)
        if shared_from is not None:
            lw.b.shared[scope_name] = shared_from
        lw.instances[scope_name] = Instance(layer, values, scope.nested)
        return result
    except TensorlangError as e:
        raise _at_call_site(e, layer, span) from None
    finally:
        lw.depth -= 1
        lw.scopes.pop()
        lw.b.scope, lw.b.span, lw.b.pin = saved


def _arguments(lw, layer: S.LayerDef, args, kwargs, span) -> dict:
    """The layer's parameters bound to the call's values (defaults filled in, tensor
    arguments matched against their patterns, which bind the pattern's names)."""
    params = [p.name for p in layer.params]
    bound = bind(f"{layer.name}({', '.join(params)})", params, args, kwargs, span)
    values: dict = {}
    for p in layer.params:
        if p.name in bound:
            v = lw.value(bound[p.name])
        elif p.default is not None:
            v = _default(lw, p)
        else:
            raise ProgramError(f'{layer.name}({", ".join(params)}): missing argument '
                               f'"{p.name}"', span,
                               notes=((f'"{p.name}" is declared here', p.span),))
        if p.pattern is not None:
            where = bound[p.name].span if p.name in bound else span
            node = lw.tensor(v, where)
            _match(layer, p, node, values, where, lw.lets)
            v = node
        values[p.name] = v
    return values


def _body(lw, layer: S.LayerDef):
    """The layer's statements lowered in the current scope; the value of its return."""
    for stmt in layer.body:
        out = lw.statement(stmt)
        if out is not None:
            return out
    raise ProgramError(f"layer {layer.name} has no return statement",
                       name_span(layer.span, "layer", layer.name),
                       hint="a layer ends with `return EXPR`, the value of the call")


def _at_call_site(e: TensorlangError, layer: S.LayerDef, call) -> TensorlangError:
    """An error inside a layer's body, placed at the user's call: a prelude layer's inner line
    becomes a note; a user layer's error keeps its line and notes the call."""
    if getattr(e, "_placed", False):
        return e
    if e.span is not None and e.span.file == "<prelude>":
        inner = e.span
        e.span = call
        e.notes = e.notes + ((f"inside the standard layer {layer.name}", inner),)
    else:
        e.notes = e.notes + ((f"in the call of {layer.name} here", call),)
    e._placed = True
    return e


def _default(lw, p: S.LayerParam):
    """A parameter's default, evaluated where the layer is defined (lets and functions only)."""
    saved = lw.scopes
    lw.scopes = [Scope("", {}, is_layer=True)]
    try:
        return lw.value(p.default)
    finally:
        lw.scopes = saved


def _match(layer: S.LayerDef, p: S.LayerParam, node: Node, values: dict, span,
           lets: dict) -> None:
    """Match a tensor argument against `[..., In]`: bind new names, check known ones."""
    pat = p.pattern
    shape = node.type.shape
    written = "[" + ", ".join(_show(d) for d in pat.dims) + "]"
    if pat.dtype and pat.dtype != node.dtype:
        raise ShapeError(f"{layer.name}: {p.name} must be {pat.dtype}{written}, got {node.type}",
                         span, notes=((f"the pattern of {p.name} is written here", p.span),))
    dims = list(pat.dims)
    ell = [i for i, d in enumerate(dims) if isinstance(d, S.EllipsisLit)]
    fixed = len(dims) - len(ell)
    if (not ell and len(shape) != fixed) or len(shape) < fixed:
        rank = f"rank {'at least ' if ell else ''}{fixed}"
        raise ShapeError(f"{layer.name}: {p.name} must match {written} ({rank}), got "
                         f"{node.type} (rank {len(shape)})", span,
                         notes=((f"the pattern of {p.name} is written here", p.span),))
    axes = list(range(len(shape)))
    if ell:
        k = ell[0]
        tail = len(dims) - k - 1
        pairs = list(zip(dims[:k], axes[:k])) + list(
            zip(dims[k + 1:], axes[len(shape) - tail:] if tail else ()))
    else:
        pairs = list(zip(dims, axes))
    for d, axis in pairs:
        actual = shape[axis]
        if isinstance(d, S.Name):
            known = values.get(d.id, lets.get(d.id))
            if known is None:
                values[d.id] = actual
                continue
            want, why = known, f", but {d.id} is {D.dim_str(known)}"
        elif isinstance(d, S.Number):
            want, why = d.value, f", not {d.value}"
        else:
            continue
        if not D.equal(want, actual):
            raise ShapeError(f"{layer.name}: {p.name} must match {written}, got {node.type}: "
                             f"dim {axis} is {D.dim_str(actual)}{why}", span,
                             notes=((f"the pattern of {p.name} is written here", p.span),))


def _show(d) -> str:
    if isinstance(d, S.EllipsisLit):
        return "..."
    if isinstance(d, S.Name):
        return d.id
    if isinstance(d, S.Number):
        return str(d.value)
    if isinstance(d, S.Unknown):
        return "?"
    return "_"


def fresh_scope(lw, layer: str) -> str:
    """`Dense_1`, `Dense_2`... for layer calls without a name of their own."""
    while True:
        lw.fresh[layer] += 1
        cand = lw.scope.qualify(f"{layer}_{lw.fresh[layer]}")
        if not any(n == cand or n.startswith(cand + ".") for n in lw.b.names):
            return cand
