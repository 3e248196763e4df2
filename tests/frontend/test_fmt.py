"""The formatter: canonical, idempotent, meaning-preserving, comments kept; plus a parser fuzz.

Properties checked on every example, on random ASTs from a hypothesis strategy (every operator,
unary, `**`, calls with keywords, indexing and slices, lists, every statement and block kind),
on those programs with random comments sprinkled in, and on thousands of random mutations of
valid programs (which must either parse or raise ParseError, never anything else).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tensorlang.errors import ParseError
from tensorlang.frontend import grammar, larkparser, syntax
from tensorlang.frontend.fmt import fmt_file, format_expr, format_program, format_source
from tensorlang.frontend.parser import parse

ROOT = Path(__file__).resolve().parents[2]
PRELUDE = ROOT / "tensorlang" / "compiler" / "prelude.tl"
EXAMPLES = sorted((ROOT / "examples").glob("*.tl")) + [PRELUDE]


def roundtrip(text: str) -> str:
    """Format, then check idempotence and that the meaning did not change."""
    once = format_source(text)
    assert format_source(once) == once, "not idempotent"
    assert parse(once) == parse(text), "the formatted program means something else"
    return once


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_roundtrip(path):
    roundtrip(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_shipped_programs_are_canonical(path):
    text = path.read_text(encoding="utf-8")
    assert format_source(text) == text, f"run: tensorlang fmt {path.name}"


MESSY = """\
   # header comment



let a=1
let b =2 # bee

let c = [1,2,]
layer Dense(x: [..., In],
    units, activation=identity) {  # input
  variable W: [In,units] = glorot_uniform()   # weights
  # bias
  variable b: [units]=zeros() frozen
  return activation(x@W+b)
}
graph g { x = 1 }
graph e {}
graph e2 {
   # only a comment
}
graph g2 {
    placeholder x : f32[N,(T-1)//2]=0
    y = (a+b)*c - -d ** 2 ** -1 + ((-2) ** 2)   # y
    longer_name=f(a,
        b,   # inner comment
        k=v)[0, 1:3, ::2, ..., -1, :].T


    z=(a<b)==(c>=d)
} # end g2
data d {
    x = npy("a\\"b\\n.npy")[:100]
    y = [[0.5, 1e-3, 2., .5], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4],
         [5, 6, 7, 8], [9, 10, 11, 12]]
}
train g2 {
    data=d
    optimizer = adam(lr=1e-3)
    report = [loss, accuracy, top5_accuracy, precision, recall, f1_score, calibration_error, ece2]
    save = checkpoint("runs/mnist", every = 100, keep_last = 5, compress = true, name = "mlp_1")
}
# trailing file comment
"""

MESSY_FORMATTED = """\
# header comment

let a = 1
let b = 2  # bee

let c = [1, 2]

layer Dense(x: [..., In], units, activation = identity) {
    # input
    variable W: [In, units] = glorot_uniform()  # weights
    # bias
    variable b: [units] = zeros() frozen
    return activation(x @ W + b)
}

graph g {
    x = 1
}

graph e {}

graph e2 {
    # only a comment
}

graph g2 {
    placeholder x: f32[N, (T - 1) // 2] = 0
    y           = (a + b) * c - -d ** 2 ** -1 + (-2) ** 2  # y
    # inner comment
    longer_name = f(a, b, k = v)[0, 1:3, ::2, ..., -1, :].T

    z = (a < b) == (c >= d)
} # end g2

data d {
    x = npy("a\\"b\\n.npy")[:100]
    y = [[0.5, 1e-3, 2., .5],
         [1, 2, 3, 4],
         [1, 2, 3, 4],
         [1, 2, 3, 4],
         [1, 2, 3, 4],
         [5, 6, 7, 8],
         [9, 10, 11, 12]]
}

train g2 {
    data      = d
    optimizer = adam(lr = 1e-3)
    report    = [loss, accuracy, top5_accuracy, precision, recall, f1_score, calibration_error,
                 ece2]
    save      = checkpoint("runs/mnist", every = 100, keep_last = 5, compress = true,
                           name = "mlp_1")
}
# trailing file comment
"""


def test_messy_program_gets_the_canonical_layout():
    assert roundtrip(MESSY) == MESSY_FORMATTED


@pytest.mark.parametrize("text, canonical", [
    ("-x ** 2", "-x ** 2"), ("(-x) ** 2", "(-x) ** 2"), ("2 ** 3 ** 2", "2 ** 3 ** 2"),
    ("(2 ** 3) ** 2", "(2 ** 3) ** 2"), ("2 ** -1", "2 ** -1"), ("a - (b - c)", "a - (b - c)"),
    ("(a - b) - c", "a - b - c"), ("a * (b + c)", "a * (b + c)"), ("((a))", "a"),
    ("(a < b) == (c < d)", "(a < b) == (c < d)"), ("a + b < c", "a + b < c"),
    ("(a + b).T", "(a + b).T"), ("(f)(x)", "f(x)"), ("- -x", "--x"), ("(1).T", "(1).T"),
    ("x[:, 1:, :2, ::3, 1:2:3, ...]", "x[:, 1:, :2, ::3, 1:2:3, ...]"),
    ("f(a,k=1,)", "f(a, k = 1)"), ("[ ]", "[]"), ('"\\u0001\\t"', '"\\u0001\\t"'),
    ("1e-3 + .5 + 2.", "1e-3 + .5 + 2."), ("a // b % c @ d / e", "a // b % c @ d / e"),
])
def test_expression_layout(text, canonical):
    value = parse(f"let e = {text}\n").items[0].value
    assert format_expr(value) == canonical


def test_fmt_file(tmp_path):
    path = tmp_path / "m.tl"
    path.write_text("let a=1\n")
    assert fmt_file(path, check=True) == ("let a = 1\n", True)
    assert path.read_text() == "let a=1\n"  # --check and plain fmt never write
    assert fmt_file(path) == ("let a = 1\n", True)
    assert path.read_text() == "let a=1\n"
    fmt_file(path, write=True)
    assert path.read_text() == "let a = 1\n"
    assert fmt_file(path, check=True) == ("let a = 1\n", False)
    path.write_text("let a = \n")
    with pytest.raises(ParseError) as info:
        fmt_file(path, check=True)
    assert info.value.span.file == str(path)


# ---------------------------------------------------------------- random programs
RESERVED = set(grammar.KEYWORDS)
names = st.text("abcdefghijklmnopqrstuvwxyz_ABCXYZ", min_size=1, max_size=6).filter(
    lambda s: s not in RESERVED and not s[0].isdigit())
dims_names = st.sampled_from(["N", "T", "In", "units", "C", "hidden"])
numbers = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.floats(min_value=0, max_value=1e30, allow_nan=False, allow_infinity=False).map(abs))
strings = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
BINARY = ["+", "-", "*", "/", "%", "@", "//", "**", "==", "!=", "<", "<=", ">", ">="]

atoms = st.one_of(
    names.map(syntax.Name),
    numbers.map(syntax.Number),
    st.booleans().map(syntax.Bool),
    strings.map(syntax.String),
)


def _compound(children):
    keywords = st.lists(st.builds(syntax.Keyword, names, children), max_size=2,
                        unique_by=lambda k: k.name).map(tuple)
    parts = st.one_of(st.none(), children)
    index_items = st.one_of(children, st.builds(syntax.Slice, parts, parts, parts),
                            st.just(syntax.EllipsisLit()))
    return st.one_of(
        st.builds(syntax.BinOp, st.sampled_from(BINARY), children, children),
        st.builds(syntax.UnaryOp, st.sampled_from(["-", "+"]), children),
        st.builds(syntax.Call, st.one_of(names.map(syntax.Name), children),
                  st.lists(children, max_size=3).map(tuple), keywords),
        st.builds(syntax.Index, children, st.lists(index_items, min_size=1, max_size=3).map(tuple)),
        st.builds(syntax.Attribute, children, names),
        st.builds(syntax.ListExpr, st.lists(children, max_size=3).map(tuple)),
    )


exprs = st.recursive(atoms, _compound, max_leaves=10)

dim = st.recursive(
    st.one_of(st.integers(0, 4096).map(syntax.Number), dims_names.map(syntax.Name),
              st.just(syntax.Unknown())),
    lambda d: st.builds(syntax.BinOp, st.sampled_from(["+", "-", "*", "//"]), d, d),
    max_leaves=4)
types = st.builds(syntax.TypeExpr, st.one_of(st.none(), st.sampled_from(grammar.DTYPES)),
                  st.lists(dim, max_size=3).map(tuple))
patterns = st.builds(syntax.TypeExpr, st.one_of(st.none(), st.sampled_from(grammar.DTYPES)),
                     st.lists(st.one_of(dim, st.just(syntax.EllipsisLit())), max_size=3)
                     .map(tuple))
opt = st.one_of(st.none(), exprs)

statements = st.one_of(
    st.builds(syntax.Placeholder, names, types, opt),
    st.builds(syntax.Variable, names, types, exprs, st.booleans()),
    st.builds(syntax.Constant, names, st.one_of(st.none(), types), exprs),
    st.builds(syntax.Assign, names, exprs),
    st.builds(syntax.Let, names, exprs),
)
fields = st.builds(syntax.Field, st.one_of(names, st.just("data")), exprs)
items = st.one_of(
    st.builds(syntax.Let, names, exprs),
    st.builds(syntax.GraphDef, names, st.lists(statements, max_size=4).map(tuple)),
    st.builds(syntax.LayerDef, names,
              st.lists(st.builds(syntax.LayerParam, names, st.one_of(st.none(), patterns), opt),
                       max_size=3).map(tuple),
              st.lists(st.one_of(statements, st.builds(syntax.Return, exprs)), max_size=4)
              .map(tuple)),
    st.builds(syntax.DataDef, names, st.lists(fields, max_size=3).map(tuple)),
    st.builds(syntax.RunBlock, st.sampled_from(["train", "evaluate"]), names,
              st.lists(fields, max_size=4).map(tuple)),
)
# deferred: hypothesis would otherwise print the whole nested strategy as its name
programs = st.deferred(lambda: st.lists(items, min_size=1, max_size=4).map(
    lambda xs: syntax.Program(tuple(xs))))

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(programs)
def test_random_programs_roundtrip(program):
    text = format_program(program)
    parsed = parse(text)
    assert parsed == program, text
    assert format_program(parsed) == text


@SETTINGS
@given(exprs)
def test_random_expressions_roundtrip(e):
    text = format_expr(e)
    assert parse(f"let e = {text}\n").items[0].value == e, text


@SETTINGS
@given(programs, st.randoms(use_true_random=False))
def test_comments_are_kept_in_order(program, rnd):
    lines = format_program(program).splitlines()
    out, texts = [], []
    for line in lines:  # a comment on a line of its own above, or at the end of, any line
        if rnd.random() < 0.3:
            texts.append(f"# above {len(texts)}")
            out.append(" " * rnd.randrange(8) + texts[-1])
        if rnd.random() < 0.3:
            texts.append(f"# after {len(texts)}")
            line += " " * rnd.randrange(1, 6) + texts[-1]
        out.append(line)
    text = "\n".join(out) + "\n"
    once = format_source(text)
    assert parse(once) == program
    assert format_source(once) == once
    kept = [c.text for c in parse(once).comments]
    assert kept == texts


# ---------------------------------------------------------------- fuzz
SEEDS = list(range(8))
PER_SEED = 260  # 8 x 260 = 2080 mutated inputs
CHARS = "{}()[]\",:=.#+-*/<>?@%\n \tax1_"


def _bases() -> tuple[list[str], list[str]]:
    """Valid programs to mutate: whole files, and (to keep the fuzz fast) their single items."""
    whole = [p.read_text(encoding="utf-8") for p in EXAMPLES] + [MESSY]
    whole.append(format_program(syntax.Program((
        syntax.LayerDef("L", (syntax.LayerParam("x", syntax.TypeExpr(None, (
            syntax.EllipsisLit(), syntax.Name("In")))),), (
            syntax.Return(syntax.BinOp("**", syntax.UnaryOp("-", syntax.Name("x")),
                                       syntax.Number(2))),)),
    ))))
    parts = []
    for text in whole:
        for chunk in text.split("\n\n"):
            try:
                parse(chunk)
            except ParseError:
                continue  # a comment alone, or a chunk cut inside a block
            parts.append(chunk + "\n")
    return whole, parts


WHOLE, PARTS = _bases()


def mutate(text: str, rnd: random.Random) -> str:
    """One to three random edits: characters or whole tokens deleted, duplicated, swapped."""
    for _ in range(rnd.randint(1, 3)):
        if not text:
            return rnd.choice(CHARS)
        op = rnd.randrange(6)
        i = rnd.randrange(len(text))
        if op == 0:
            text = text[:i] + text[i + 1:]
        elif op == 1:
            text = text[:i] + text[i] + text[i:]
        elif op == 2 and i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        elif op == 3:
            text = text[:i] + rnd.choice(CHARS) + text[i:]
        else:
            try:
                toks = list(larkparser.tokens(text))
            except Exception:
                continue
            if len(toks) < 2:
                continue
            a, b = sorted(rnd.sample(range(len(toks)), 2))
            ta, tb = toks[a], toks[b]
            if op == 4:  # delete or duplicate a token
                cut = text[ta.start_pos:ta.end_pos]
                text = text[:ta.start_pos] + (cut * 2 if rnd.random() < 0.5 else "") + \
                    text[ta.end_pos:]
            else:  # swap two tokens
                text = (text[:ta.start_pos] + text[tb.start_pos:tb.end_pos] +
                        text[ta.end_pos:tb.start_pos] + text[ta.start_pos:ta.end_pos] +
                        text[tb.end_pos:])
    return text


@pytest.mark.parametrize("seed", SEEDS)
def test_fuzzed_programs_parse_or_raise_parse_error(seed):
    rnd = random.Random(seed)
    parsed = failed = 0
    for _ in range(PER_SEED):
        text = mutate(rnd.choice(WHOLE if rnd.random() < 0.15 else PARTS), rnd)
        try:
            program = parse(text, "fuzz.tl")
        except ParseError as e:
            message = e.format()
            assert message.startswith("fuzz.tl:"), message
            assert ": error: syntax error" not in message, message  # explain() itself failed
            assert "Token(" not in message and "$END" not in message, message
            failed += 1
            continue
        parsed += 1
        once = format_program(program)  # what parses also formats and reparses to itself
        assert parse(once) == program, text
    assert parsed + failed == PER_SEED and failed > PER_SEED // 4


@settings(SETTINGS, max_examples=40)
@given(st.lists(exprs, min_size=2, max_size=30), st.booleans(), names)
def test_long_lists_and_calls_wrap_and_roundtrip(values, as_call, name):
    value = syntax.Call(syntax.Name(name), tuple(values)) if as_call else \
        syntax.ListExpr(tuple(values))
    program = syntax.Program((syntax.DataDef("d", (syntax.Field(name, value),)),))
    text = format_program(program)
    assert parse(text) == program, text
    assert format_program(parse(text)) == text
    if len(format_expr(value)) > 100:
        assert text.count("\n") > 3  # it was broken over lines


def test_deep_programs_format_and_bad_files_are_usage_errors(tmp_path):
    deep = "graph g {\n    placeholder x: f32[2]\n    y = " + "neg(" * 10000 + "x" + \
        ")" * 10000 + "\n    z = " + " + ".join(["x"] * 20000) + "\n}\n"
    assert format_source(deep) == deep
    from tensorlang.errors import UsageError
    with pytest.raises(UsageError, match="no such file"):
        fmt_file(tmp_path / "missing.tl")
    binary = tmp_path / "b.tl"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(UsageError, match="not UTF-8 text"):
        fmt_file(binary)
