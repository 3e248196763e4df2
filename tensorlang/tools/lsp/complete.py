"""Completion: what may be written at the cursor, by the block it is in (found from the braces on
the lines above, so a half-typed block that does not parse still has a place): ops (the public
ones) and layers, the names in scope with their types, dtypes and initializers in graphs and
layers; keys, node names, data blocks and optimizers in run blocks; loaders in data blocks;
the words that start an item at the top level; `h.` lists the names of h's layer."""

from __future__ import annotations

import re

from lsprotocol import types as T

from ...compiler.blocks import EVALUATE_KEYS, TRAIN_KEYS
from ...compiler.calls import BUILTIN_FUNCS
from ...compiler.datablocks import LOADERS
from ...compiler.lower import MODE
from ...frontend import grammar
from ...frontend import syntax as S
from ...ops import REGISTRY
from ...ops.initializers import INITIALIZERS
from ...transforms.optimizers import OPTIMIZERS
from .analysis import Analysis
from .hover import layer_signature, show_value
from .locate import layers, line_tokens, top_items

K = T.CompletionItemKind
BLOCKS = {"GRAPH", "LAYER", "DATA", "TRAIN", "EVALUATE"}
SCAN = 5000  # lines looked back for the block around the cursor
_QUOTED_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#.*')
_DOTTED = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.(\w*)$")


def completions(a: Analysis, program: S.Program | None, lines: list[str], line: int,
                column: int) -> list[T.CompletionItem]:
    """The completion items at a 1-based place."""
    if not 1 <= line <= len(lines):
        return []
    prefix = lines[line - 1][:column - 1]
    if _in_comment_or_string(prefix):
        return []
    block = enclosing_block(lines, line, column)
    start = re.fullmatch(r"\s*\w*", prefix) is not None
    dotted = _DOTTED.search(prefix)
    if dotted:
        return _members(a, block, dotted.group(1))
    if block is None:
        return _top(program, prefix)
    kind, name = block
    if kind == "train" or kind == "evaluate":
        return _run(a, program, kind, name, prefix, start)
    if kind == "data":
        return _data(a, program, start)
    if start:
        return [_item(w, K.Keyword) for w in grammar.STMT_KEYWORDS]
    if re.search(r":\s*\w*$", prefix):  # a type: `placeholder x: f|`
        return [_item(d, K.TypeParameter, "dtype") for d in grammar.DTYPES]
    scope = _graph_names(a, program, name) if kind == "graph" else _layer_names(program, name)
    return scope + _lets(a, program) + _callables(program) + \
        [_item(d, K.TypeParameter, "dtype") for d in grammar.DTYPES]


def _in_comment_or_string(prefix: str) -> bool:
    for m in _QUOTED_OR_COMMENT.finditer(prefix):
        text = m.group()
        if text.startswith("#"):
            return True
        if m.end() == len(prefix) and (len(text) == 1 or not text.endswith('"')
                                       or text.endswith('\\"')):
            return True
    return False


def enclosing_block(lines: list[str], line: int, column: int) -> tuple[str, str] | None:
    """(keyword, name) of the innermost block open at the place (`("graph", "xor")`), or None."""
    depth = 0
    for k in range(line, max(0, line - SCAN), -1):
        text = lines[k - 1][:column - 1] if k == line else lines[k - 1]
        toks = line_tokens(text)
        for tok in reversed(toks):
            if tok.type == "RBRACE":
                depth += 1
            elif tok.type == "LBRACE":
                if depth == 0:
                    return _header(toks, lines, k)
                depth -= 1
    return None


def _header(toks: list, lines: list[str], k: int) -> tuple[str, str] | None:
    """The block keyword and name that open on line k (or, for `{` alone, the line above)."""
    if toks and toks[0].type == "LBRACE" and k > 1:
        toks = line_tokens(lines[k - 2])
    if len(toks) >= 2 and toks[0].type in BLOCKS and toks[1].type == "NAME":
        return str(toks[0]), str(toks[1])
    return None


def _item(label: str, kind, detail: str | None = None, doc: str | None = None,
          insert: str | None = None) -> T.CompletionItem:
    return T.CompletionItem(label=label, kind=kind, detail=detail, documentation=doc,
                            insert_text=insert)


def _callables(program) -> list[T.CompletionItem]:
    """The public ops, the layers, the initializers and the builtin functions."""
    out = [_item(op.name, K.Function, op.signature(), op.doc) for op in REGISTRY.values()
           if not op.internal and not op.fused]
    out += [_item(name, K.Class, layer_signature(ld)) for name, ld in layers(program).items()]
    out += [_item(name, K.Constructor, "initializer") for name in INITIALIZERS
            if name not in REGISTRY]
    out += [_item(name, K.Function, "builtin") for name in BUILTIN_FUNCS
            if name not in REGISTRY]
    return out + [_item(MODE, K.Constant, "compile-time mode: true in a train step")]


def _lets(a: Analysis, program) -> list[T.CompletionItem]:
    lets = dict.fromkeys(top_items(program, S.Let))
    lets.update(a.lets)
    return [_item(name, K.Constant, f"let {name} = {show_value(v)}" if v is not None else "let")
            for name, v in lets.items()]


def _graph_names(a: Analysis, program, name: str) -> list[T.CompletionItem]:
    """The top-level names of a graph, typed where it compiled."""
    graph = a.graphs.get(name)
    names = {k: str(n.type) for k, n in graph.names.items() if "." not in k} if graph else {}
    gdef = top_items(program, S.GraphDef).get(name)
    for s in gdef.body if gdef is not None else ():
        if hasattr(s, "name") and not isinstance(s, S.Update):
            names.setdefault(s.name, None)
    if graph is not None:
        names.update({d: "symbolic dim" for d in graph.dims if d not in names})
    return [_item(k, K.Variable, t) for k, t in names.items()]


def _layer_names(program, name: str) -> list[T.CompletionItem]:
    layer = layers(program).get(name)
    if layer is None:
        return []
    out = [_item(p.name, K.Variable, f"parameter of {name}") for p in layer.params]
    return out + [_item(s.name, K.Variable, f"in {name}") for s in layer.body
                  if hasattr(s, "name") and not isinstance(s, S.Update)]


def _members(a: Analysis, block, base: str) -> list[T.CompletionItem]:
    """After `h.`: the names under h in the block's graph (`W`, `b`), with their types."""
    if block is None or block[0] not in ("graph", "train", "evaluate"):
        return []
    graph = a.graphs.get(block[1])
    if graph is None:
        return []
    lead = base + "."
    return [_item(k[len(lead):], K.Field, str(n.type)) for k, n in graph.names.items()
            if k.startswith(lead)]


def _top(program, prefix: str) -> list[T.CompletionItem]:
    if re.fullmatch(r"\s*(train|evaluate)\s+\w*", prefix):
        return [_item(g, K.Module, "graph") for g in top_items(program, S.GraphDef)]
    return [_item(w, K.Keyword) for w in grammar.ITEM_KEYWORDS]


def _run(a: Analysis, program, kind: str, graph: str, prefix: str,
         start: bool) -> list[T.CompletionItem]:
    if start:
        keys = TRAIN_KEYS if kind == "train" else EVALUATE_KEYS
        return [_item(k, K.Property, f"{kind} key", insert=f"{k} = ") for k in keys]
    key = re.match(r"\s*(\w+)\s*=", prefix)
    key = key.group(1) if key else ""
    if key in ("data", "validate"):
        return [_item(d, K.Struct, "data block") for d in top_items(program, S.DataDef)]
    if key == "optimizer":
        return [_item(o, K.Function, "optimizer") for o in OPTIMIZERS]
    return _graph_names(a, program, graph) + _lets(a, program)


def _data(a: Analysis, program, start: bool) -> list[T.CompletionItem]:
    if start:  # a field is named after a placeholder it feeds
        seen = {p.name: str(p.type) for g in a.graphs.values() for p in g.placeholders}
        return [_item(k, K.Field, f"placeholder {t}", insert=f"{k} = ") for k, t in seen.items()]
    return [_item(name, K.Function, "loader") for name in LOADERS] + _lets(a, program)
