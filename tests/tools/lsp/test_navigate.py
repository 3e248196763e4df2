"""tools/lsp/navigate.py: where each kind of name is defined (a graph's statement, a layer's
variable in the prelude, the placeholder a data field feeds) and the outline of a document."""

from __future__ import annotations

import pytest

T = pytest.importorskip("lsprotocol.types", reason="the lsp extra is not installed")

from tensorlang.tools.lsp.analysis import analyse  # noqa: E402
from tensorlang.tools.lsp.locate import target_at  # noqa: E402
from tensorlang.tools.lsp.navigate import definition, symbols  # noqa: E402
from tensorlang.tools.lsp.positions import PRELUDE, Doc  # noqa: E402

from .program import FILE, LINES, TEXT, URI, analysed, place  # noqa: E402


@pytest.fixture(scope="module")
def a():
    return analysed()


def defined(a, needle, offset=0):
    t = target_at(a, a.syntax, LINES, *place(needle, offset=offset))
    return definition(t, a, a.syntax)


@pytest.mark.parametrize("use, where", [
    ("x, k)", "x: f32"),          # a node: its placeholder statement
    ("k)", "k = 2"),              # a let
    ("Twice(x, k)", "Twice("),    # a user layer
    ("d\n    min", "d {"),         # a data block
    ("x = [[", "x: f32"),         # a data field: the placeholder it feeds
    ("x @ W", "x: [..."),         # a layer parameter
    ("W @ W", "W: [In"),          # a layer's own statement
    ("minimize = s", "s = sum"),  # a node named in a run block
])
def test_definitions_in_the_buffer(a, use, where):
    offset = 11 if use == "minimize = s" else 0
    s = defined(a, use, offset)
    assert s.file == FILE and (s.line, s.column) == place(where)


def test_a_prelude_layer_and_its_variable_are_defined_in_the_prelude(a):
    s = defined(a, "Dense")
    assert s.file == PRELUDE and "Dense" in s.source_line()
    text = TEXT.replace("s = sum(h)", "s = sum(h) + sum(h.W)")
    b = analyse(text, FILE)
    lines = text.split("\n")
    n = next(k for k, line in enumerate(lines, 1) if "h.W" in line)
    t = target_at(b, b.syntax, lines, n, lines[n - 1].index("h.W") + 3)  # on the W of h.W
    assert (t.kind, t.name) == ("node", "h.W")
    s = definition(t, b, b.syntax)
    assert s.file == PRELUDE and "variable W" in s.source_line()


def test_ops_and_dtypes_have_no_place(a):
    assert defined(a, "sum") is None and defined(a, "f32") is None
    assert defined(a, "data = d") is None  # a key


def test_the_outline(a):
    doc = Doc(URI, "\n".join(LINES))
    out = symbols(doc, a, a.syntax)
    assert [(s.name, s.kind) for s in out] == [
        ("Twice", T.SymbolKind.Function), ("k", T.SymbolKind.Constant),
        ("g", T.SymbolKind.Namespace), ("d", T.SymbolKind.Struct),
        ("train g", T.SymbolKind.Event)]
    twice, k, g, d, run = out
    assert twice.detail == "Twice(x: [..., In], units)" and k.detail == "6"
    assert [(c.name, c.detail) for c in g.children] == [
        ("x", "f32[N, 6]"), ("t", "f32[N, 6]"), ("h", "f32[N, 2]"), ("s", "f32[]")]
    assert [c.name for c in twice.children] == ["x", "units", "W"]
    assert [(c.name, c.detail) for c in run.children] == [("data", "d"), ("minimize", "s")]
    assert [c.name for c in d.children] == ["x"]
    for s in out:  # the selection lies inside the symbol
        r, sel = s.range, s.selection_range
        assert (r.start.line, r.start.character) <= (sel.start.line, sel.start.character)
        assert (sel.end.line, sel.end.character) <= (r.end.line, r.end.character)
    assert symbols(doc, a, None) == []
