"""tools/lsp/locate.py: the word under the cursor (dotted names, never in comments or strings),
the item around a place, and what the word names there, looked up as lowering looks names up."""

from __future__ import annotations

import pytest

pytest.importorskip("lsprotocol", reason="the lsp extra is not installed")

from tensorlang.frontend import syntax as S  # noqa: E402
from tensorlang.tools.lsp import locate as L  # noqa: E402

from .program import LINES, analysed, place  # noqa: E402


@pytest.fixture(scope="module")
def a():
    return analysed()


def test_word_at_reads_dotted_names_and_the_tokens_around():
    lines = ["    y = h.W @ x  # h.b in a comment", '    s = "h.b"']
    w = L.word_at(lines, 1, 11)  # on the W
    assert (w.text, w.column, w.end_column, w.before, w.after) == ("h.W", 9, 12, "EQUAL", "AT")
    assert L.word_at(lines, 1, 9).text == "h"  # on the h: the name before the dot
    assert L.word_at(lines, 1, 12).text == "h.W"  # just after the last character
    assert L.word_at(lines, 1, 5).before is None and L.word_at(lines, 1, 5).after == "EQUAL"
    assert L.word_at(lines, 1, 22) is None and L.word_at(lines, 2, 11) is None
    assert L.word_at(lines, 9, 1) is None and L.word_at(lines, 1, 7) is None


def test_line_tokens_stop_at_a_character_no_token_matches():
    assert [str(t) for t in L.line_tokens("a = b $ c")] == ["a", "=", "b"]


def test_item_at(a):
    graph_line, _ = place("graph g")
    assert isinstance(L.item_at(a.syntax, graph_line + 2, 5), S.GraphDef)
    assert isinstance(L.item_at(a.syntax, *place("data = d")), S.RunBlock)
    assert L.item_at(a.syntax, 6, 1) is None and L.item_at(None, 1, 1) is None


@pytest.mark.parametrize("needle, nth, offset, kind, name", [
    ("t = Twice", 0, 0, "node", "t"), ("Twice(x, k)", 0, 0, "layer", "Twice"),
    ("x, k)", 0, 0, "node", "x"), ("k)", 0, 0, "let", "k"), ("Dense", 0, 0, "layer", "Dense"),
    ("sum", 0, 0, "op", "sum"), ("f32", 0, 0, "dtype", "f32"), ("N, 6", 0, 0, "dim", "N"),
    ("W: [In", 0, 0, "local", "W"), ("x @ W", 0, 0, "param", "x"),
    ("data = d", 0, 0, "key", "data"), ("d\n    min", 0, 0, "data", "d"),
    ("x = [[", 0, 0, "field", "x"), ("graph g", 0, 6, "graph", "g"),
    ("train g", 0, 6, "graph", "g"), ("placeholder", 0, 0, "keyword", "placeholder"),
    ("minimize = s", 0, 11, "node", "s"),
])
def test_target_at(a, needle, nth, offset, kind, name):
    t = L.target_at(a, a.syntax, LINES, *place(needle, nth, offset))
    assert (t.kind, t.name) == (kind, name)


def test_initializers_optimizers_and_loaders():
    from tensorlang.tools.lsp.analysis import analyse
    text = ('graph g {\n    variable W: f32[2] = glorot_uniform()\n    s = sum(W)\n}\n'
            'data d {\n    x = npy("x.npy")\n}\n'
            'train g {\n    data = d\n    minimize = s\n    optimizer = adam(lr = 0.1)\n}\n')
    a = analyse(text, "/w/o.tl")
    lines = text.split("\n")
    found = {w: L.target_at(a, a.syntax, lines, n, lines[n - 1].index(w) + 1)
             for n, w in ((2, "glorot_uniform"), (6, "npy"), (11, "adam"))}
    assert {w: t.kind for w, t in found.items()} == {
        "glorot_uniform": "initializer", "npy": "loader", "adam": "optimizer"}


def test_a_node_target_carries_its_graph_and_node(a):
    t = L.target_at(a, a.syntax, LINES, *place("t = Twice"))
    assert t.graph is a.graphs["g"] and t.value is a.graphs["g"].node("t")
    assert L.target_at(a, a.syntax, LINES, *place("# Scales", offset=3)) is None  # a comment


def test_layers_and_top_items(a):
    known = L.layers(a.syntax)
    assert {"Dense", "Twice"} <= set(known) and "Dense" in L.layers(None)
    assert list(L.top_items(a.syntax, S.Let)) == ["k"] and L.top_items(None, S.Let) == {}


def test_name_span_of_each_kind_of_definition(a):
    items = {type(i).__name__: i for i in a.syntax.items}
    for kind, needle in (("LayerDef", "Twice("), ("Let", "k = 2"), ("GraphDef", "g {"),
                         ("DataDef", "d {"), ("RunBlock", "g {\n    data")):
        s = L.name_span(items[kind])
        assert (s.line, s.column) == place(needle), kind
    assign = items["GraphDef"].body[1]
    s = L.name_span(assign)
    assert (s.line, s.column, s.end_column) == (*place("t = Twice"), place("t = Twice")[1] + 1)
