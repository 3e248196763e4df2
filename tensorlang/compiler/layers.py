"""Layer instantiation: bind a call's arguments to a layer's parameters, match shape patterns
(`x: [..., In]`) at the call site, and lower the body under the instance's scope (`h.W`)."""

from __future__ import annotations

from ..errors import ProgramError, ShapeError, TensorlangError
from ..frontend import syntax as S
from ..ir import dims as D
from ..ir.graph import Node
from ..source import name_span
from .binding import bind
from .scope import Scope

MAX_DEPTH = 64


def instantiate(lw, layer: S.LayerDef, args, kwargs, span, name: str | None):
    """Lower one call of `layer` inside GraphLowering `lw`; returns the layer's value."""
    values = _arguments(lw, layer, args, kwargs, span)
    # numbered after the arguments, so in `Dense(Dense(x, 4), 1)` the inner call is Dense_1
    scope_name = lw.scope.qualify(name) if name else fresh_scope(lw, layer.name)
    if lw.depth >= MAX_DEPTH:
        raise ProgramError(f"layers nest deeper than {MAX_DEPTH} (is {layer.name} recursive?)",
                           span)
    saved = lw.b.scope, lw.b.span, lw.b.pin
    if layer.span.file == "<prelude>" and lw.b.pin is None:
        lw.b.pin = span  # the standard layers' nodes point at the user's call
    lw.scopes.append(Scope(scope_name, dict(values), is_layer=True, body=layer.body))
    lw.b.scope = scope_name
    lw.depth += 1
    try:
        result = lw.tensor(_body(lw, layer), span)
        lw.b.layers[scope_name] = (layer.name, result.id)
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
