"""Go to definition and the outline: where a node, layer (the prelude's in prelude.tl), let, data
block, graph, layer parameter or data field is defined; and the document's symbols (graphs,
layers, data and run blocks, lets, with their statements and the types the compiler gave)."""

from __future__ import annotations

from lsprotocol import types as T

from ...frontend import syntax as S
from ...frontend.fmt import format_expr
from ...source import Span
from .analysis import Analysis
from .hover import layer_signature, show_value
from .locate import Target, layers, name_span, top_items
from .positions import Doc


def definition(t: Target, a: Analysis, program: S.Program | None) -> Span | None:
    """Where what a word names is defined, or None (ops, dtypes and keys have no place)."""
    if t.kind == "node":
        return _node_definition(t, program)
    if t.kind == "field":
        return _field_definition(t, a, program)
    if t.kind in ("layer", "let", "data", "graph", "param", "local") and t.item is not None:
        return name_span(t.item)
    return None


def _statement(body, name: str):
    return next((s for s in body if getattr(s, "name", None) == name), None)


def _node_definition(t: Target, program) -> Span | None:
    """A graph's own name: its statement; `h.W`: the statement W of h's layer (the prelude's
    too), else the statement that made h; else the node's own place."""
    gdef, graph, name = t.item, t.graph, t.name
    stmt = _statement(gdef.body, name) if gdef is not None else None
    if stmt is not None:
        return name_span(stmt)
    scope, _, local = name.rpartition(".")
    if scope in graph.layers:
        layer = layers(program).get(graph.layers[scope][0])
        inner = _statement(layer.body, local) if layer is not None else None
        if inner is not None:
            return name_span(inner)
    top = _statement(gdef.body, name.split(".")[0]) if gdef is not None else None
    if top is not None:
        return name_span(top)
    node = t.value
    return node.span if node.span.line else None


def _field_definition(t: Target, a: Analysis, program) -> Span | None:
    """A data field: the placeholder it feeds, in a graph whose run block reads the block."""
    block = t.value
    graphs = [r.graph for r in (program.items if program else ()) if isinstance(r, S.RunBlock)
              and any(isinstance(e.value, S.Name) and e.value.id == block.name for e in r.entries)]
    defs = top_items(program, S.GraphDef)
    for name in graphs + list(defs):
        gdef = defs.get(name)
        stmt = _statement(gdef.body, t.name) if gdef is not None else None
        if isinstance(stmt, S.Placeholder):
            return name_span(stmt)
    return None


# ------------------------------------------------------------------ the outline
_STATEMENT_KINDS = {S.Placeholder: T.SymbolKind.Field, S.Variable: T.SymbolKind.Property,
                    S.Constant: T.SymbolKind.Constant, S.Let: T.SymbolKind.Constant,
                    S.Assign: T.SymbolKind.Variable}


def symbols(doc: Doc, a: Analysis, program: S.Program | None) -> list[T.DocumentSymbol]:
    """The outline of a program: one symbol an item, its statements or keys inside."""
    out = []
    for item in program.items if program is not None else ():
        if item.span.file != doc.file:
            continue
        make = _ITEMS.get(type(item))
        if make is not None:
            out.append(make(doc, a, item))
    return out


def _symbol(doc: Doc, name: str, kind, span: Span, select: Span, detail: str | None = None,
            children=None) -> T.DocumentSymbol:
    whole = doc.range(span)
    pick = doc.range(select)
    if not (_le(whole.start, pick.start) and _le(pick.end, whole.end)):
        pick = whole  # the selection must lie inside the symbol's range
    return T.DocumentSymbol(name=name or "?", kind=kind, range=whole, selection_range=pick,
                            detail=detail, children=children)


def _le(p: T.Position, q: T.Position) -> bool:
    return (p.line, p.character) <= (q.line, q.character)


def _let(doc, a, item: S.Let):
    value = a.lets.get(item.name)
    detail = show_value(value) if value is not None else format_expr(item.value)
    return _symbol(doc, item.name, T.SymbolKind.Constant, item.span, name_span(item), detail)


def _graph(doc, a, item: S.GraphDef):
    graph = a.graphs.get(item.name)
    kids = []
    for s in item.body:
        if not hasattr(s, "name") or isinstance(s, S.Update):  # an update defines nothing
            continue
        node = graph.names.get(s.name) if graph is not None else None
        kids.append(_symbol(doc, s.name, _STATEMENT_KINDS.get(type(s), T.SymbolKind.Variable),
                            s.span, name_span(s), str(node.type) if node is not None else None))
    return _symbol(doc, item.name, T.SymbolKind.Namespace, item.span, name_span(item), "graph",
                   kids)


def _layer(doc, a, item: S.LayerDef):
    kids = [_symbol(doc, p.name, T.SymbolKind.TypeParameter, p.span, name_span(p))
            for p in item.params]
    kids += [_symbol(doc, s.name, _STATEMENT_KINDS.get(type(s), T.SymbolKind.Variable), s.span,
                     name_span(s)) for s in item.body
             if hasattr(s, "name") and not isinstance(s, S.Update)]
    return _symbol(doc, item.name, T.SymbolKind.Function, item.span, name_span(item),
                   layer_signature(item), kids)


def _data(doc, a, item: S.DataDef):
    kids = [_symbol(doc, f.name, T.SymbolKind.Field, f.span, name_span(f)) for f in item.fields]
    return _symbol(doc, item.name, T.SymbolKind.Struct, item.span, name_span(item), "data", kids)


def _run(doc, a, item: S.RunBlock):
    kids = [_symbol(doc, e.name, T.SymbolKind.Property, e.span, name_span(e),
                    format_expr(e.value)) for e in item.entries]
    return _symbol(doc, f"{item.kind} {item.graph}", T.SymbolKind.Event, item.span,
                   name_span(item), item.kind, kids)


_ITEMS = {S.Let: _let, S.GraphDef: _graph, S.LayerDef: _layer, S.DataDef: _data,
          S.RunBlock: _run}
