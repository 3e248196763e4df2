"""The parser: real AST structure for every construct of LANGUAGE.md sections 2-9, and spans."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tensorlang.errors import ParseError
from tensorlang.frontend import grammar, larkparser
from tensorlang.frontend import parser as P
from tensorlang.frontend.parser import comments, parse, parse_cached
from tensorlang.frontend.syntax import (
    Assign,
    Attribute,
    BinOp,
    Bool,
    Call,
    Comment,
    Constant,
    DataDef,
    EllipsisLit,
    Field,
    GraphDef,
    Index,
    Keyword,
    LayerDef,
    LayerParam,
    Let,
    ListExpr,
    Name,
    Number,
    Placeholder,
    Return,
    RunBlock,
    Slice,
    String,
    TypeExpr,
    UnaryOp,
    Unknown,
    Variable,
)

ROOT = Path(__file__).resolve().parents[2]
N, X, Y = Name("N"), Name("x"), Name("y")


def expr(text: str):
    """The expression of `let e = TEXT`."""
    return parse(f"let e = {text}\n").items[0].value


def stmts(body: str):
    """The statements of a graph with the given body."""
    return parse("graph g {\n" + body + "\n}\n").items[0].body


def b(op, left, right):
    return BinOp(op, left, right)


def n(value):
    return Number(value)


# ---------------------------------------------------------------- precedence
@pytest.mark.parametrize("text, tree", [
    ("-x ** 2", UnaryOp("-", b("**", X, n(2)))),
    ("a + b * c", b("+", Name("a"), b("*", Name("b"), Name("c")))),
    ("x @ W + b", b("+", b("@", X, Name("W")), Name("b"))),
    ("2 ** 3 ** 2", b("**", n(2), b("**", n(3), n(2)))),
    ("2 ** -1", b("**", n(2), UnaryOp("-", n(1)))),
    ("a - b - c", b("-", b("-", Name("a"), Name("b")), Name("c"))),
    ("a / b // c % d", b("%", b("//", b("/", Name("a"), Name("b")), Name("c")), Name("d"))),
    ("(a + b) * c", b("*", b("+", Name("a"), Name("b")), Name("c"))),
    ("a + b < c * d", b("<", b("+", Name("a"), Name("b")), b("*", Name("c"), Name("d")))),
    ("(p > 0.5) == (y > 0.5)", b("==", b(">", Name("p"), n(0.5)), b(">", Y, n(0.5)))),
    ("-a * b", b("*", UnaryOp("-", Name("a")), Name("b"))),
    ("- -x", UnaryOp("-", UnaryOp("-", X))),
    ("+x", UnaryOp("+", X)),
    ("(-2) ** 2", b("**", UnaryOp("-", n(2)), n(2))),
    ("-h.W.T ** 2", UnaryOp("-", b("**", Attribute(Attribute(Name("h"), "W"), "T"), n(2)))),
    ("a != b", b("!=", Name("a"), Name("b"))),
    ("a <= b", b("<=", Name("a"), Name("b"))),
    ("a >= b", b(">=", Name("a"), Name("b"))),
])
def test_precedence(text, tree):
    assert expr(text) == tree


# ---------------------------------------------------------------- postfix forms
def test_index_and_slices():
    got = expr("x[0, 1:3, ::2, ..., -1, :, 1:, :4, a:b:c]")
    assert got == Index(X, (
        n(0), Slice(n(1), n(3), None), Slice(None, None, n(2)), EllipsisLit(),
        UnaryOp("-", n(1)), Slice(None, None, None), Slice(n(1), None, None),
        Slice(None, n(4), None), Slice(Name("a"), Name("b"), Name("c"))))


def test_calls_with_keyword_arguments_and_dotted_names():
    assert expr("f(a, k = v)") == Call(Name("f"), (Name("a"),), (Keyword("k", Name("v")),))
    assert expr("zeros()") == Call(Name("zeros"), (), ())
    assert expr("sgd(lr = 0.5, momentum = 0.9,)") == Call(
        Name("sgd"), (), (Keyword("lr", n(0.5)), Keyword("momentum", n(0.9))))
    assert expr("h.W") == Attribute(Name("h"), "W")
    assert expr("x.T") == Attribute(X, "T")
    assert expr("f(x)(y)[0].T") == Attribute(
        Index(Call(Call(Name("f"), (X,), ()), (Y,), ()), (n(0),)), "T")


def test_op_names_are_not_keywords():
    assert expr("sum(x)") == Call(Name("sum"), (X,), ())
    assert expr("max(x, axis = 1)") == Call(Name("max"), (X,), (Keyword("axis", n(1)),))
    assert expr("cast(x, i32)") == Call(Name("cast"), (X, Name("i32")), ())


# ---------------------------------------------------------------- literals
@pytest.mark.parametrize("text, value", [
    ("1", 1), ("1.0", 1.0), (".5", 0.5), ("1e-3", 1e-3), ("2.", 2.0), ("3E2", 300.0),
    ("1.5e+2", 150.0), ("007", 7)])
def test_numbers(text, value):
    got = expr(text)
    assert got == Number(value) and type(got.value) is type(value)


def test_strings_bools_and_lists():
    assert expr('"a\\"b\\\\c\\n\\t\\u0041"') == String('a"b\\c\n\tA')
    assert expr("true") == Bool(True) and expr("false") == Bool(False)
    assert expr("[[1, 2], [3, 4],]") == ListExpr((ListExpr((n(1), n(2))), ListExpr((n(3), n(4)))))
    assert expr("[]") == ListExpr(())


def test_a_line_continues_inside_brackets():
    got = parse("let e = f(a,\n    b,\n\n    # a comment\n    k = [1,\n 2]\n)\n").items[0].value
    assert got == Call(Name("f"), (Name("a"), Name("b")), (Keyword("k", ListExpr((n(1), n(2)))),))
    assert expr("(a\n + b)") == b("+", Name("a"), Name("b"))


# ---------------------------------------------------------------- statements and types
def test_graph_statements():
    body = stmts("""
    placeholder x: f32[N, 2]
    placeholder lr: f32[] = 0.1
    placeholder z: [N, 28 * 28, (T - 1) // 2, N + 5, ?]
    variable W: [2, 4] = glorot_uniform()
    variable c: i64[4] = [1, 2, 3, 4] frozen
    constant k = 3
    constant m: u8[2] = [1, 2]
    h = Dense(x, 4, activation = tanh)
    let s = 2""")
    assert body == (
        Placeholder("x", TypeExpr("f32", (N, n(2)))),
        Placeholder("lr", TypeExpr("f32", ()), n(0.1)),
        Placeholder("z", TypeExpr(None, (N, b("*", n(28), n(28)),
                                         b("//", b("-", Name("T"), n(1)), n(2)),
                                         b("+", N, n(5)), Unknown()))),
        Variable("W", TypeExpr(None, (n(2), n(4))), Call(Name("glorot_uniform"), (), ())),
        Variable("c", TypeExpr("i64", (n(4),)), ListExpr((n(1), n(2), n(3), n(4))), frozen=True),
        Constant("k", None, n(3)),
        Constant("m", TypeExpr("u8", (n(2),)), ListExpr((n(1), n(2)))),
        Assign("h", Call(Name("Dense"), (X, n(4)), (Keyword("activation", Name("tanh")),))),
        Let("s", n(2)),
    )


@pytest.mark.parametrize("dtype", grammar.DTYPES)
def test_every_dtype(dtype):
    assert stmts(f"placeholder x: {dtype}[2]")[0].type == TypeExpr(dtype, (n(2),))


def test_layer_with_patterns_defaults_and_return():
    layer = parse("""
layer Dense(x: [..., In], units, activation = identity) {
    variable W: [In, units] = glorot_uniform()
    variable b: [units] = zeros()
    return activation(x @ W + b)
}
layer Typed(x: f32[..., In],) {
    return x
}
""").items
    assert layer[0] == LayerDef("Dense", (
        LayerParam("x", TypeExpr(None, (EllipsisLit(), Name("In")))),
        LayerParam("units"),
        LayerParam("activation", None, Name("identity")),
    ), (
        Variable("W", TypeExpr(None, (Name("In"), Name("units"))),
                 Call(Name("glorot_uniform"), (), ())),
        Variable("b", TypeExpr(None, (Name("units"),)), Call(Name("zeros"), (), ())),
        Return(Call(Name("activation"),
                    (b("+", b("@", X, Name("W")), Name("b")),), ())),
    ))
    assert layer[1].params == (LayerParam("x", TypeExpr("f32", (EllipsisLit(), Name("In")))),)


def test_data_block_with_loader_calls_and_slices():
    items = parse("""
let mnist = "data/mnist"
data train_set {
    x = idx(mnist + "/t10k-images-idx3-ubyte.gz")[:8000]
    y = csv("y.csv", columns = [0, 1], skip_header = false)[100:200]
}
""").items
    assert items[0] == Let("mnist", String("data/mnist"))
    assert items[1] == DataDef("train_set", (
        Field("x", Index(Call(Name("idx"), (b("+", Name("mnist"),
                                                String("/t10k-images-idx3-ubyte.gz")),), ()),
                         (Slice(None, n(8000), None),))),
        Field("y", Index(Call(Name("csv"), (String("y.csv"),),
                              (Keyword("columns", ListExpr((n(0), n(1)))),
                               Keyword("skip_header", Bool(False)))),
                         (Slice(n(100), n(200), None),))),
    ))


def test_train_and_evaluate_blocks():
    items = parse("""
train xor {
    data      = table
    optimizer = adam(lr = 1e-3)
    epochs    = 500
    shuffle   = true
    report    = [loss, acc]
    save      = "w.npz"
}
evaluate xor { data = table
    show = [p] }
""").items
    assert items[0] == RunBlock("train", "xor", (
        Field("data", Name("table")),
        Field("optimizer", Call(Name("adam"), (), (Keyword("lr", n(1e-3)),))),
        Field("epochs", n(500)),
        Field("shuffle", Bool(True)),
        Field("report", ListExpr((Name("loss"), Name("acc")))),
        Field("save", String("w.npz")),
    ))
    assert items[1] == RunBlock("evaluate", "xor", (Field("data", Name("table")),
                                                    Field("show", ListExpr((Name("p"),)))))


def test_blocks_on_one_line_and_empty_blocks():
    items = parse("graph a { x = 1 }\ngraph b {}\ndata d {\n}\n").items
    assert items == (GraphDef("a", (Assign("x", n(1)),)), GraphDef("b", ()), DataDef("d", ()))


def test_xor_example():
    program = parse((ROOT / "examples" / "xor.tl").read_text(), "xor.tl")
    assert [type(i).__name__ for i in program.items] == [
        "Let", "GraphDef", "DataDef", "RunBlock", "RunBlock"]
    graph = program.items[1]
    assert [s.name for s in graph.body] == ["x", "y", "h", "p", "loss", "acc"]
    assert program.file == "xor.tl"
    assert program.comments[0] == Comment(1, 1, "# xor.tl: a two-layer network learns XOR")
    assert program.comments[1].line == 2 and program.comments[1].column == 48


# ---------------------------------------------------------------- spans
def test_spans_of_a_few_nodes():
    text = (ROOT / "examples" / "xor.tl").read_text()
    program = parse(text, "xor.tl")
    graph = program.items[1]
    assert (graph.span.file, graph.span.line, graph.span.column) == ("xor.tl", 4, 1)
    assert (graph.span.end_line, graph.span.end_column) == (12, 2)
    h = graph.body[2]
    assert (h.span.line, h.span.column, h.span.end_column) == (8, 5, 47)
    call = h.value
    assert (call.span.line, call.span.column) == (8, 12)
    assert call.args[1].span.column == 21 and call.args[1] == Name("hidden")
    assert call.kwargs[0].span.column == 29
    placeholder = graph.body[0]
    assert (placeholder.span.column, placeholder.type.span.column) == (5, 20)
    assert placeholder.type.dims[0].span.column == 24
    acc = graph.body[5].value.args[0]
    assert acc.span.column == 17 and acc.left.span.column == 17  # the "(" of "(p > 0.5)"
    assert acc.span.text is text and acc.span.source_line().strip().startswith("acc")


def test_every_node_has_a_span():
    program = parse((ROOT / "examples" / "xor.tl").read_text(), "xor.tl")

    def walk(node):
        if isinstance(node, tuple):
            for x in node:
                walk(x)
            return
        if not hasattr(node, "__record_fields__"):
            return
        names = [f.name for f in node.__record_fields__]
        if "span" in names:
            assert node.span.file == "xor.tl" and node.span.line >= 1, node
        for name in names:
            if name != "span":
                walk(getattr(node, name))

    walk(program.items)


def test_comments_skip_strings():
    assert comments('let a = "# not" # yes\n# full\n') == (
        Comment(1, 17, "# yes"), Comment(2, 1, "# full"))


def test_crlf_byte_order_mark_and_no_final_newline():
    assert parse("\ufefflet a = 1\r\nlet b = 2").items == (Let("a", n(1)), Let("b", n(2)))


def test_parse_is_thread_safe():
    text = (ROOT / "examples" / "xor.tl").read_text()
    expected = parse(text)
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(parse(text) == expected)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and all(results) and len(results) == 20


def test_keywords_listed_are_the_grammar_keywords():
    terminals = {t.name: t.pattern.value for t in larkparser.parser().terminals}
    words = {v for v in terminals.values() if v.isidentifier()}
    assert words == set(grammar.KEYWORDS)


def test_grammar_is_loaded_once():
    assert larkparser.parser() is larkparser.parser()
    assert Path(grammar.grammar_path()).name == "tensorlang.lark"


def test_a_parse_error_is_a_tensorlang_error_with_a_place():
    with pytest.raises(ParseError) as info:
        parse("let a = \n", "f.tl")
    assert (info.value.line, info.value.column) == (1, 7)


PRELUDE_LIKE = ("layer Twice(x) {\n  return 2 * x\n}\n\n"
                "graph g {\n  placeholder x: [N, 2]\n  y = Twice(x)\n}\n")


def test_a_cached_tree_equals_the_parse_and_is_loaded_the_next_time(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = parse_cached(PRELUDE_LIKE, "<lib>")
    assert first == parse(PRELUDE_LIKE, "<lib>") and first.file == "<lib>"
    [cached] = (tmp_path / "tensorlang").glob("tree-*.pickle")

    def no_parse(*_):
        raise AssertionError("parsed again")

    monkeypatch.setattr(P, "parse", no_parse)
    again = parse_cached(PRELUDE_LIKE, "<lib>")
    assert again == first and again.items[0].span == first.items[0].span
    assert again.items[0].span.source_line() == "layer Twice(x) {"
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    other = PRELUDE_LIKE.replace("2 * x", "3 * x")
    assert parse_cached(other, "<lib>") == parse(other, "<lib>")  # another text: another file
    assert len(list((tmp_path / "tensorlang").glob("tree-*.pickle"))) == 2
    assert cached.exists()


def test_a_broken_or_unusable_tree_cache_is_parsed_around(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    parse_cached(PRELUDE_LIKE, "<lib>")
    [cached] = (tmp_path / "tensorlang").glob("tree-*.pickle")
    for junk in (b"", b"\x80\x05not a pickle", b"\x80\x05K\x01."):  # empty, garbage, an int
        cached.write_bytes(junk)
        assert parse_cached(PRELUDE_LIKE, "<lib>") == parse(PRELUDE_LIKE, "<lib>")
        assert cached.read_bytes() != junk  # rewritten whole
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # no cache folder can be made: no cache
    assert parse_cached(PRELUDE_LIKE, "<lib>") == parse(PRELUDE_LIKE, "<lib>")


def test_a_mistake_in_a_cached_text_is_the_usual_located_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(ParseError) as e:
        parse_cached("graph g {\n  y = (1 +\n}\n", "<lib>")
    assert e.value.span.file == "<lib>"
    assert not list((tmp_path / "tensorlang").glob("tree-*.pickle"))
