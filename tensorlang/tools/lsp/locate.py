"""What the cursor is on: the word (a dotted name, found by the real lexer run over the one line,
so words in comments and strings are never words), the top-level item around it (from the syntax
tree's spans) and what the word names there: a node, a layer, an op, a let, a data block, a
run-block key...

A name is looked up as lowering looks it up: a graph's own names (its nodes, `h.W` too), then
its symbolic dims, the lets, ops and layers, dtypes; inside a layer its parameters and its own
statements first."""

from __future__ import annotations

from ...compiler.blocks import KEYS
from ...compiler.calls import BUILTIN_FUNCS
from ...compiler.datablocks import LOADERS
from ...compiler.lower import MODE
from ...compiler.program import prelude
from ...frontend import grammar, lalr
from ...frontend import syntax as S
from ...ops import REGISTRY
from ...ops.initializers import INITIALIZERS
from ...records import record
from ...source import Span
from ...source import name_span as after_keyword
from ...transforms.optimizers import OPTIMIZERS
from .analysis import Analysis

HEADERS = {"GRAPH", "LAYER", "DATA", "TRAIN", "EVALUATE", "LET"}


@record
class Word:
    """The dotted name that ends with the word under the cursor (`h.W` on the W, `h` on the h),
    its place (1-based, end exclusive) and the kinds of the tokens around it."""

    text: str
    line: int
    column: int
    end_column: int
    before: str | None  # the token before the dotted name (None: it starts the line)
    after: str | None  # the token after the word (LPAR: a call; EQUAL: a key or a definition)


@record
class Target:
    """What a word names: kind (node, layer, op, let, data, graph, key, dim, dtype, param, local,
    field, initializer, optimizer, loader, builtin, keyword), the name, the syntax it belongs to
    (its definition or the item around it), the compiled graph and the value (a Node, an
    OpDef, a let's value, a function)."""

    kind: str
    name: str
    item: object = None
    graph: object = None
    value: object = None


def line_tokens(line: str) -> list:
    """The tokens of one line (up to a character no token matches), without the newline."""
    out = []
    try:
        for tok in lalr.tokens(line):
            if tok.type != "_NL":
                out.append(tok)
    except lalr.Rejected:
        pass
    return out


def _is_word(tok) -> bool:
    return str(tok).isidentifier()


def word_at(lines: list[str], line: int, column: int) -> Word | None:
    """The word at a 1-based line and column (also just after its last character)."""
    if not 1 <= line <= len(lines):
        return None
    toks = line_tokens(lines[line - 1])
    hits = [k for k, t in enumerate(toks) if _is_word(t) and t.column <= column <= t.end_column]
    if not hits:
        return None
    k = next((k for k in hits if column < toks[k].end_column), hits[0])
    j = k
    while j >= 2 and toks[j - 1].type == "DOT" and _is_word(toks[j - 2]) \
            and toks[j - 2].end_column == toks[j - 1].column == toks[j].column - 1:
        j -= 2
    text = ".".join(str(toks[i]) for i in range(j, k + 1, 2))
    return Word(text, line, toks[j].column, toks[k].end_column,
                toks[j - 1].type if j else None, toks[k + 1].type if k + 1 < len(toks) else None)


def item_at(program: S.Program | None, line: int, column: int = 1):
    """The top-level item whose text holds the place, or None."""
    if program is None:
        return None
    for item in program.items:
        s = item.span
        if (s.line, s.column) <= (line, column) <= (s.end_line, s.end_column) or \
                s.line < line < s.end_line:
            return item
    return None


def layers(program: S.Program | None) -> dict[str, S.LayerDef]:
    """Every layer a program sees: the prelude's, then its own."""
    out = {ld.name: ld for ld in prelude().items if isinstance(ld, S.LayerDef)}
    if program is not None:
        out.update({i.name: i for i in program.items if isinstance(i, S.LayerDef)})
    return out


def top_items(program: S.Program | None, kind) -> dict:
    """The program's top-level items of one kind (GraphDef, DataDef, Let), by name."""
    if program is None:
        return {}
    return {i.name: i for i in program.items if isinstance(i, kind)}


def target_at(a: Analysis, program: S.Program | None, lines: list[str], line: int,
              column: int) -> Target | None:
    """What the word at a place names, or None."""
    word = word_at(lines, line, column)
    if word is None:
        return None
    item = item_at(program, line, column)
    found = _header(a, program, item, word)
    key = isinstance(item, S.RunBlock) and word.before is None  # `data = ...` is a key there
    if found is None and word.text in grammar.KEYWORDS and not key:
        return Target("keyword", word.text)
    if found is None and item is not None:
        resolve = _RESOLVERS.get(type(item), _global)
        found = resolve(a, program, item, word)
    return found


def _header(a: Analysis, program, item, word: Word) -> Target | None:
    """The name in an item's header (`graph NAME`, `train NAME`, `let NAME`)."""
    if item is None or word.line != item.span.line or word.before not in HEADERS:
        return None
    if isinstance(item, S.RunBlock):
        gdef = top_items(program, S.GraphDef).get(item.graph)
        return Target("graph", item.graph, gdef, a.graphs.get(item.graph))
    kinds = {S.GraphDef: "graph", S.LayerDef: "layer", S.DataDef: "data", S.Let: "let"}
    kind = kinds.get(type(item))
    if kind is None or word.text != item.name:
        return None
    return Target(kind, item.name, item, a.graphs.get(item.name) if kind == "graph" else None,
                  a.lets.get(item.name) if kind == "let" else None)


def _in_graph(a: Analysis, program, g: S.GraphDef, word: Word) -> Target | None:
    graph = a.graphs.get(g.name)
    name = word.text
    if graph is not None and name in graph.names:
        return Target("node", name, g, graph, graph.names[name])
    for stmt in g.body:  # a let inside the graph: a compile-time value, not a node
        if isinstance(stmt, S.Let) and stmt.name == name:
            return Target("let", name, stmt)
    if graph is not None and name in graph.dims:
        return Target("dim", name, g, graph)
    return _global(a, program, g, word)


def _in_layer(a: Analysis, program, layer: S.LayerDef, word: Word) -> Target | None:
    for p in layer.params:
        if p.name == word.text:
            return Target("param", p.name, p, None, layer)
    for stmt in layer.body:
        if getattr(stmt, "name", None) == word.text:
            return Target("local", stmt.name, stmt, None, layer)
    return _global(a, program, layer, word)


def _in_run(a: Analysis, program, block: S.RunBlock, word: Word) -> Target | None:
    if word.before is None and word.after == "EQUAL" and word.text in KEYS:
        return Target("key", word.text, block)
    graph = a.graphs.get(block.graph)
    if graph is not None and word.text in graph.names:
        gdef = top_items(program, S.GraphDef).get(block.graph)
        return Target("node", word.text, gdef, graph, graph.names[word.text])
    return _global(a, program, block, word)


def _in_data(a: Analysis, program, block: S.DataDef, word: Word) -> Target | None:
    if word.before is None and word.after == "EQUAL":
        field = next((f for f in block.fields if f.name == word.text), None)
        if field is not None:
            return Target("field", field.name, field, None, block)
    return _global(a, program, block, word)


def _global(a: Analysis, program, item, word: Word) -> Target | None:
    """A name every block sees: lets, ops and layers, dtypes, the builtin functions, blocks."""
    name = word.text
    lets = top_items(program, S.Let)
    if name in lets:
        return Target("let", name, lets[name], None, a.lets.get(name))
    known = layers(program)
    if name in known:
        return Target("layer", name, known[name])
    if name in REGISTRY and not REGISTRY[name].internal:
        return Target("op", name, None, None, REGISTRY[name])
    if name in grammar.DTYPES:
        return Target("dtype", name)
    for kind, table in (("initializer", INITIALIZERS), ("optimizer", OPTIMIZERS),
                        ("loader", LOADERS)):
        if name in table:
            return Target(kind, name, None, None, table[name])
    if name in BUILTIN_FUNCS or name == MODE:
        return Target("builtin", name)
    for kind, cls in (("data", S.DataDef), ("graph", S.GraphDef)):
        found = top_items(program, cls).get(name)
        if found is not None:
            return Target(kind, name, found, a.graphs.get(name) if kind == "graph" else None)
    return None


_RESOLVERS = {S.GraphDef: _in_graph, S.LayerDef: _in_layer, S.RunBlock: _in_run,
              S.DataDef: _in_data}

_KEYWORD_OF = {S.Placeholder: "placeholder", S.Variable: "variable", S.Constant: "constant",
               S.Let: "let", S.Update: "update", S.GraphDef: "graph", S.LayerDef: "layer",
               S.DataDef: "data"}


def name_span(item) -> Span:
    """The span of the name an item, statement, parameter or field defines."""
    if isinstance(item, S.RunBlock):
        return after_keyword(item.span, item.kind, item.graph)
    keyword = _KEYWORD_OF.get(type(item))
    if keyword is not None:
        return after_keyword(item.span, keyword, item.name)
    s = item.span  # an assignment, a field, a layer parameter: the name comes first
    return Span(s.file, s.line, s.column, s.line, s.column + len(item.name), s.text)
