"""The language server's answers, computed in-process on real buffers: problems and their ranges,
hover, definition, symbols, completion, and a fuzz of truncated examples (every prefix of
xor.tl, sampled prefixes of every example) through every feature."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pygls", reason="the lsp extra (pygls, lsprotocol) is not installed")

from lsprotocol import types as T  # noqa: E402

from tensorlang.compiler import program as program_module  # noqa: E402
from tensorlang.ops import REGISTRY  # noqa: E402
from tensorlang.tools.lsp import analysis  # noqa: E402
from tensorlang.tools.lsp.analysis import analyse  # noqa: E402
from tensorlang.tools.lsp.complete import completions  # noqa: E402
from tensorlang.tools.lsp.diagnostics import diagnostics  # noqa: E402
from tensorlang.tools.lsp.hover import hover_markdown  # noqa: E402
from tensorlang.tools.lsp.locate import target_at  # noqa: E402
from tensorlang.tools.lsp.navigate import definition, symbols  # noqa: E402
from tensorlang.tools.lsp.positions import Doc, prelude_path  # noqa: E402

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.tl"))
XOR = next(p for p in EXAMPLES if p.name == "xor.tl")
URI = "file:///work/model.tl"

USER_LAYER = """\
# Two dense layers in one.
layer Twice(x: [..., In], units) {
    variable W: [In, units] = ones()
    return x @ W @ W
}

let k = 2 * 3

graph g {
    placeholder x: f32[N, 6]
    t = Twice(x, k)
    s = sum(t)
}
"""


def doc(text: str, encoding: str = "utf-16") -> Doc:
    return Doc(URI, text, encoding)


def where(text: str, needle: str, nth: int = 0, offset: int = 0) -> tuple[int, int]:
    """The 1-based (line, column) of the nth occurrence of needle, plus offset columns."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1 + offset


def hover_at(text: str, needle: str, nth: int = 0, offset: int = 0) -> str | None:
    d = doc(text)
    a = analyse(text, d.file)
    t = target_at(a, a.syntax, d.lines, *where(text, needle, nth, offset))
    return hover_markdown(t, a, a.syntax) if t else None


def definition_at(text: str, needle: str, nth: int = 0, offset: int = 0):
    d = doc(text)
    a = analyse(text, d.file)
    t = target_at(a, a.syntax, d.lines, *where(text, needle, nth, offset))
    return d.location(definition(t, a, a.syntax))


# ------------------------------------------------------------------ problems
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_analyses_without_a_problem(path):
    a = analyse(path.read_text(), str(path))
    assert a.problems == []
    assert a.program is not None and set(a.graphs) == set(a.program.graphs)


def test_an_error_in_each_of_two_graphs_is_reported_and_the_third_graph_compiles():
    text = ("graph a {\n    placeholder x: f32[N, 2]\n    y = x @ ones([3, 1])\n}\n\n"
            "graph b {\n    z = undefined_name + 1\n}\n\n"
            "graph c {\n    placeholder x: f32[N, 2]\n    s = sum(x)\n}\n\n"
            "data d {\n    x = [[1, 2]]\n}\n\n"
            "train c {\n    data = d\n    minimize = nothing\n}\n")
    a = analyse(text, "m.tl")
    got = [(p.span.line, p.span.column, p.kind) for p in a.errors]
    assert got == [(3, 9, "ShapeError"), (7, 9, "NamingError"), (21, 16, "ProgramError")]
    assert "inner dims 2 and 3 differ" in a.errors[0].message
    assert set(a.graphs) == {"c"} and str(a.graphs["c"].node("s").type) == "f32[]"


def test_a_warning_is_a_diagnostic_of_severity_warning():
    text = ("graph g {\n    placeholder x: f32[N, 2]\n    variable w: [2] = ones()\n"
            "    variable unused: [3] = ones()\n    loss = mean(x * w)\n}\n"
            "data d {\n    x = [[1, 2]]\n}\ntrain g {\n    data = d\n    minimize = loss\n}\n")
    a = analyse(text, doc(text).file)
    (p,) = a.problems
    assert p.severity == "warning" and "unused" in p.message
    (d,) = diagnostics(doc(text), a)
    assert d.severity == T.DiagnosticSeverity.Warning and d.range.start.line == p.span.line - 1


def test_ranges_are_0_based_and_the_hint_and_notes_are_related_information():
    text = "let hidden = 4\ngraph g {\n    placeholder x: f32[N, 2]\n    y = x + hiden\n}\n"
    d = doc(text)
    (diag,) = diagnostics(d, analyse(text, d.file))
    line, column = where(text, "hiden")
    assert (line, column) == (4, 13)
    assert diag.range == T.Range(T.Position(3, 12), T.Position(3, 17))
    assert diag.code == "NamingError" and diag.message == '"hiden" is not defined'
    assert any('did you mean "hidden"' in r.message for r in diag.related_information)
    again = "graph g {\n    a = 1\n    a = 2\n}\n"
    (dup,) = diagnostics(doc(again), analyse(again, d.file))
    (note,) = [r for r in dup.related_information if "first defined" in r.message]
    assert note.location.uri == URI and note.location.range.start.line == 1
    assert dup.range.start.line == 2


def test_columns_are_utf16_units_unless_the_client_chose_another_encoding():
    text = 'let s = "\U0001F600é"\ngraph g {\n    y = "\U0001F600" + nope\n}\n'
    for encoding, column in (("utf-16", 15), ("utf-8", 17), ("utf-32", 14)):
        d = doc(text, encoding)
        (diag,) = diagnostics(d, analyse(text, d.file))
        assert (diag.range.start.line, diag.range.start.character) == (2, column), encoding
    d = doc(text)
    assert d.place(T.Position(2, 15)) == (3, 15)  # back to characters, 1-based


def test_a_buffer_over_the_live_limit_is_skipped_and_says_so(monkeypatch):
    monkeypatch.setattr(analysis, "MAX_LINES", 50)
    text = "graph g {\n" + "".join(f"    a{i} = {i}\n" for i in range(60)) + "}\n"
    a = analyse(text, "big.tl")
    (p,) = a.problems
    assert a.skipped and p.severity == "information" and "not checked live" in p.message
    assert a.syntax is None and a.graphs == {}


def test_a_bug_in_the_compiler_is_a_problem_not_a_crash(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(analysis, "compile_syntax", broken)
    (p,) = analyse(XOR.read_text(), "xor.tl").problems
    assert p.kind == "InternalError" and "RuntimeError: boom" in p.message


def test_data_files_are_not_read_while_analysing(tmp_path, monkeypatch):
    opened = []
    real = open

    def spy(path, *args, **kwargs):
        opened.append(str(path))
        return real(path, *args, **kwargs)
    monkeypatch.setattr("builtins.open", spy)
    mnist = next(p for p in EXAMPLES if p.name == "mnist_mlp.tl")
    assert analyse(mnist.read_text(), str(mnist)).problems == []
    assert not [p for p in opened if "mnist" in p], opened


# ------------------------------------------------------------------ hover
def test_hover_shows_a_nodes_dtype_and_shape_and_a_layer_instances_parameters():
    text = XOR.read_text()
    h = hover_at(text, "h    =")
    assert "h: f32[N, 4]" in h and "`Dense` layer instance, 12 parameters" in h
    assert "x: f32[N, 2]" in hover_at(text, "x: f32")
    assert "loss: f32[]" in hover_at(text, "loss", 1)  # `minimize = loss` in the train block


def test_hover_shows_a_variables_parameter_count():
    text = XOR.read_text().replace("acc  = mean", "w    = h.W\n    acc  = mean")
    h = hover_at(text, "= h.W", 0, 4).split("\n")  # on the W
    assert "h.W: f32[2, 4]" in h and any("variable, 8 parameters (trainable)" in x for x in h)


def test_hover_shows_an_ops_signature_and_doc_from_its_record():
    text = XOR.read_text()
    h = hover_at(text, "mean(")
    assert REGISTRY["mean"].signature() in h and REGISTRY["mean"].doc in h


def test_hover_shows_a_layers_signature_and_the_comment_above_it():
    h = hover_at(XOR.read_text(), "Dense(")
    assert "layer Dense(x: [..., In], units, activation = identity)" in h
    assert "A fully connected layer" in h
    h = hover_at(USER_LAYER, "Twice(x")
    assert "layer Twice(x: [..., In], units)" in h and "Two dense layers in one." in h


def test_hover_shows_a_lets_value_and_a_layer_local_in_each_instance():
    h = hover_at(USER_LAYER, "k)")
    assert "let k = 6" in h and "written `2 * 3`" in h
    h = hover_at(USER_LAYER, "W @ W")
    assert "`t.W`: f32[6, 6]" in h


def test_hover_on_a_comment_or_a_string_shows_nothing():
    text = XOR.read_text()
    assert hover_at(text, "two-layer") is None
    assert hover_at('let p = "mean"\n', "mean") is None


# ------------------------------------------------------------------ definition
def test_definition_of_a_node_is_its_statement():
    text = XOR.read_text()
    loc = definition_at(text, "h,")  # `p = Dense(h, 1, ...)`
    line, column = where(text, "h    =")
    assert loc.uri == URI and (loc.range.start.line, loc.range.start.character) == (
        line - 1, column - 1)


def test_definition_of_a_prelude_layer_and_its_variable_is_in_prelude_tl():
    text = XOR.read_text().replace("acc  = mean", "w    = h.W\n    acc  = mean")
    prelude = prelude_path().read_text().split("\n")
    loc = definition_at(text, "Dense(")
    assert loc.uri == prelude_path().as_uri()
    assert prelude[loc.range.start.line].startswith("layer Dense(")
    loc = definition_at(text, "= h.W", 0, 4)
    assert loc.uri == prelude_path().as_uri()
    assert prelude[loc.range.start.line].strip().startswith("variable W:")
    start = loc.range.start.character
    assert prelude[loc.range.start.line][start:loc.range.end.character] == "W"


def test_definition_of_a_let_a_user_layer_and_a_data_block():
    text = XOR.read_text()
    assert definition_at(text, "hidden,").range.start.line == where(text, "hidden")[0] - 1
    assert definition_at(USER_LAYER, "Twice(x").range.start == T.Position(1, 6)
    loc = definition_at(text, "table", 1)
    assert loc.range.start == T.Position(where(text, "data table")[0] - 1, 5)


# ------------------------------------------------------------------ symbols, completion
def test_document_symbols_are_the_items_with_their_statements_and_types():
    text = XOR.read_text()
    d = doc(text)
    a = analyse(text, d.file)
    got = [(s.name, s.kind) for s in symbols(d, a, a.syntax)]
    assert got == [("hidden", T.SymbolKind.Constant), ("xor", T.SymbolKind.Namespace),
                   ("table", T.SymbolKind.Struct), ("train xor", T.SymbolKind.Event),
                   ("evaluate xor", T.SymbolKind.Event)]
    graph = symbols(d, a, a.syntax)[1]
    assert [(c.name, c.detail) for c in graph.children][:3] == [
        ("x", "f32[N, 2]"), ("y", "f32[N, 1]"), ("h", "f32[N, 4]")]


def complete(text: str, needle: str, offset: int = 0, base: str | None = None) -> dict:
    """Completion at a place; with base, from base's analysis (what the server answers from
    while the buffer does not parse: the last text that did)."""
    d = doc(text)
    a = analyse(base or text, d.file)
    items = completions(a, a.syntax, d.lines, *where(text, needle, 0, offset))
    return {i.label: i for i in items}


def test_completion_in_a_graph_offers_public_ops_layers_names_and_lets():
    got = complete(XOR.read_text(), "binary_cross_entropy")
    public = {n for n, op in REGISTRY.items() if not op.internal and not op.fused}
    assert public <= set(got)
    assert not {n for n, op in REGISTRY.items() if op.internal or op.fused} & set(got)
    assert got["Dense"].kind == T.CompletionItemKind.Class
    assert got["h"].detail == "f32[N, 4]" and got["hidden"].detail == "let hidden = 4"


def test_completion_of_run_block_keys_dtypes_and_dotted_names():
    text = XOR.read_text()
    keys = complete(text, "minimize", 0)
    assert {"data", "minimize", "optimizer", "epochs", "report"} <= set(keys)
    assert "show" not in keys and keys["epochs"].insert_text == "epochs = "
    assert set(complete(text, "f32[N, 2]")) == {"f16", "f32", "f64", "i32", "i64", "u8",
                                                  "bool"}
    members = complete(text.replace("acc  = mean", "w = h.\n    acc  = mean"), "h.\n", 2,
                       base=text)
    assert set(members) == {"W", "b"} and members["W"].detail == "f32[2, 4]"
    assert "sgd" in complete(text, "sgd(")
    assert complete(text, "# xor", 3) == {}  # in a comment


def test_completion_still_works_in_a_block_that_does_not_parse():
    text = XOR.read_text().replace("acc  = mean((p > 0.5) == (y > 0.5))", "acc  = mean(")
    got = complete(text, "acc  = mean(", len("acc  = mean("), base=XOR.read_text())
    assert "h" in got and "softmax" in got


# ------------------------------------------------------------------ fuzz
def probe(text: str) -> None:
    """Every feature at a few places of a buffer; any exception fails the test."""
    d = doc(text)
    a = analyse(text, d.file)
    diagnostics(d, a)
    symbols(d, a, a.syntax)
    last = len(d.lines)
    for line, column in ((last, len(d.lines[-1]) + 1), (max(1, last - 1), 1), (1, 3),
                         (max(1, last // 2), 6)):
        completions(a, a.syntax, d.lines, line, column)
        t = target_at(a, a.syntax, d.lines, line, column)
        if t is not None:
            hover_markdown(t, a, a.syntax)
            d.location(definition(t, a, a.syntax))


def test_every_prefix_of_xor_goes_through_every_feature():
    text = XOR.read_text()
    for n in range(len(text) + 1):
        probe(text[:n])


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_truncated_prefixes_of_every_example_go_through_every_feature(path):
    text = path.read_text()
    lines = {k for k, c in enumerate(text) if c == "\n"}
    for n in sorted(set(range(0, len(text), 13)) | {k for k, c in enumerate(text) if c in "({"}):
        probe(text[:n])
    for n in sorted(lines):
        probe(text[:n] + "\n}\n")  # a block closed early


def test_analysing_does_not_touch_the_prelude_cache_in_a_way_that_breaks_compiling():
    # the per-graph recovery compiles parts of a program; the real compiler must be unaffected
    analyse("graph a {\n    y = nope\n}\n", "m.tl")
    assert "Dense" in {i.name for i in program_module.prelude().items}
