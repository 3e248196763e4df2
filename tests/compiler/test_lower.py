"""Lowering: names in order, single assignment, scopes, lets and overrides, indexing, shape
rules seen through programs, constants, placeholders, variables and their initializers, grad,
and the Python API of LANGUAGE.md section 11. Values are checked by running the graphs against
NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import NamingError, ProgramError, ShapeError, TensorlangError, UsageError
from tensorlang.ir import dims as D

N = D.Dim.sym("N")


def graph(body: str, prefix: str = "", **kw) -> tl.Graph:
    """The graph `g` of a program made of prefix and a graph block with this body."""
    g = tl.compile(f"{prefix}\ngraph g {{\n{body}\n}}\n", "t.tl", **kw).graphs["g"]
    g.verify()
    return g


def error(body: str, prefix: str = "", kind=TensorlangError, **kw) -> TensorlangError:
    """The error that compiling a program made of prefix and a graph block raises."""
    with pytest.raises(kind) as info:
        tl.compile(f"{prefix}\ngraph g {{\n{body}\n}}\n", "t.tl", **kw)
    return info.value


def run(g: tl.Graph, fetch: str, **feed) -> np.ndarray:
    """One node's value for a feed."""
    return tl.Session(g, seed=0).run([fetch], feed=feed)[0]


# ------------------------------------------------------------------ names, order, scopes
def test_use_before_definition_is_an_error_that_points_at_the_later_definition():
    e = error("placeholder x: f32[N]\ny = relu(z)\nz = x", kind=NamingError)
    assert "used before it is defined" in e.message
    assert (e.line, e.column) == (4, 10)
    assert e.notes[0][1].line == 5


def test_an_undefined_name_suggests_a_close_one():
    e = error("placeholder x: f32[N]\nhidden = relu(x)\ny = hiden * 2", kind=NamingError)
    assert e.message == '"hiden" is not defined' and e.hint == 'did you mean "hidden"?'


def test_single_assignment():
    e = error("placeholder x: f32[N]\ny = relu(x)\ny = tanh(x)", kind=NamingError)
    assert e.message == '"y" is already defined' and e.line == 5
    assert e.notes[0][0] == '"y" was first defined here' and e.notes[0][1].line == 4
    # also across statement kinds, and for a layer call (before it makes y.W)
    assert error("placeholder x: f32[N]\nx = 1", kind=NamingError).notes[0][1].line == 3
    e = error("placeholder x: f32[N, 2]\nh = Dense(x, 3)\nh = Dense(x, 3)", kind=NamingError)
    assert e.message == '"h" is already defined'


def test_layer_variables_live_under_the_assignments_scope():
    g = graph("placeholder x: f32[N, 2]\nh = Dense(x, 4, activation = tanh)\n"
              "p = Dense(h, 1)\nw2 = h.W * 2")
    assert [v.name for v in g.variables] == ["h.W", "h.b", "p.W", "p.b"]
    assert g.node("h.W").shape == (2, 4) and g.node("p.b").shape == (1,)
    assert {n.scope for n in g.nodes if n.name in ("h.W", "h.b", "h")} == {"h"}
    assert g.node("w2").inputs[0] is g.node("h.W")
    assert g.node("h").op == "tanh" and g.node("h").shape == ("N", 4)


def test_anonymous_layer_calls_get_fresh_scopes_in_evaluation_order():
    g = graph("placeholder x: f32[N, 2]\ny = relu(Dense(Dense(x, 4), 1))\n"
              "z = Dense(x, 3)\nw = Dense_1.W")
    assert [v.name for v in g.variables] == ["Dense_1.W", "Dense_1.b", "Dense_2.W",
                                             "Dense_2.b", "z.W", "z.b"]
    assert g.node("Dense_1.W").shape == (2, 4) and g.node("Dense_2.W").shape == (4, 1)
    assert g.node("y").shape == ("N", 1)
    # a fresh name never collides with a name the user took
    g = graph("placeholder x: f32[N, 2]\nDense_1 = x * 2\ny = relu(Dense(x, 1))")
    assert "Dense_2.W" in g.names


def test_dotted_names_are_checked():
    e = error("placeholder x: f32[N, 2]\nh = Dense(x, 4)\nq = h.V", kind=NamingError)
    assert e.message == '"h.V" is not defined' and e.hint == 'did you mean "h.b"?'
    e = error("placeholder x: f32[N, 2]\nw = h.W\nh = Dense(x, 4)", kind=NamingError)
    assert "used before it is defined" in e.message


def test_layers_are_closed_over_their_parameters_and_lets():
    prefix = "let k = 3\nlayer L(x) {\n    return x * k + q\n}"
    e = error("placeholder x: f32[N]\nq = x\ny = L(x)", prefix, kind=NamingError)
    assert e.message == '"q" is not defined' and e.line == 3
    assert e.notes[-1][0] == "in the call of L here" and e.notes[-1][1].line == 8


# ------------------------------------------------------------------ lets and overrides
LETS = 'let hidden = 4\nlet scale = 0.5\nlet name = "relu"\nlet flag = true\n'


def test_lets_are_compile_time_values():
    g = graph("placeholder x: f32[N, 2]\nh = Dense(x, hidden)\ny = h * scale\n"
              "z = hidden * 2 + 1", LETS)
    assert g.node("h").shape == ("N", 4)
    np.testing.assert_array_equal(run(g, "z"), 9)
    x = np.ones((3, 2), np.float32)
    np.testing.assert_allclose(run(g, "y", x=x), run(g, "h", x=x) * 0.5, rtol=1e-6)


def test_overrides_of_ints_floats_and_strings():
    p = tl.compile(LETS + "graph g {\n placeholder x: f32[N, hidden]\n}",
                   overrides={"hidden": 8, "scale": "2", "name": "tanh", "flag": "false"})
    assert p.lets == {"hidden": 8, "scale": 2.0, "name": "tanh", "flag": False}
    assert type(p.lets["scale"]) is float
    assert p.graphs["g"].node("x").shape == ("N", 8)
    assert tl.compile(LETS, overrides={"hidden": "16", "name": "1e3"}).lets["name"] == "1e3"


def test_an_unknown_override_suggests_a_let():
    with pytest.raises(UsageError) as info:
        tl.compile(LETS, overrides={"hiden": 8})
    assert info.value.message == '--set hiden: the program has no "let hiden"'
    assert info.value.hint == 'did you mean "hidden"?'


def test_a_mistyped_override_is_reported_before_what_it_meant_to_fix():
    with pytest.raises(UsageError, match='--set widht: the program has no "let widht"'):
        tl.compile("let width = 3\ngraph g {\n placeholder x: f32[N, 2]\n"
                   " variable W: f32[width, 1] = zeros()\n y = x @ W\n}", overrides={"widht": 2})


@pytest.mark.parametrize("name, value, words", [
    ("hidden", "abc", 'is not an integer'), ("hidden", "2.5", "expected an integer"),
    ("scale", "fast", "is not a number"), ("flag", "3", "is not true or false"),
    ("hidden", True, "is not an integer"),
])
def test_an_override_of_the_wrong_kind_is_an_error(name, value, words):
    with pytest.raises(UsageError) as info:
        tl.compile(LETS, overrides={name: value})
    assert words in info.value.message
    assert info.value.notes[0][1].line == LETS.splitlines().index(
        next(x for x in LETS.splitlines() if x.startswith(f"let {name} "))) + 1


def test_a_let_that_is_not_an_integer_cannot_be_a_dim():
    e = error("placeholder x: f32[N, scale]", LETS, kind=ShapeError)
    assert e.message == 'the dim "scale" is the number 0.5, not an integer'


# ------------------------------------------------------------------ expressions and shape rules
def test_transpose_indexing_and_slicing_on_symbolic_dims():
    g = graph("placeholder x: f32[N, 5]\nt = x.T\nlast = x[..., -1]\ncols = x[:, 1:3]\n"
              "row = x[-1]\ntail = x[2:]\nodd = x[::2, -2:]")
    want = {"t": (5, "N"), "last": ("N",), "cols": ("N", 2), "row": (5,), "tail": ("N - 2", 5),
            "odd": ("(N + 1)//2", 2)}
    x = np.arange(35, dtype=np.float32).reshape(7, 5)
    refs = {"t": x.T, "last": x[..., -1], "cols": x[:, 1:3], "row": x[-1], "tail": x[2:],
            "odd": x[::2, -2:]}
    for name, shape in want.items():
        assert g.node(name).shape == shape, name
        np.testing.assert_array_equal(run(g, name, x=x), refs[name])


def test_indices_are_compile_time_integers():
    e = error("placeholder x: f32[N, 5]\nplaceholder i: i32[]\ny = x[i]", kind=ProgramError)
    assert "take(x, indices, axis)" in e.message and (e.line, e.column) == (5, 7)
    g = graph("placeholder x: f32[N, 5]\ny = x[:, k - 1]", "let k = 3")
    assert g.node("y").shape == ("N",)


def test_concat_sums_symbolic_dims():
    g = graph("placeholder a: f32[N, 2]\nplaceholder b: f32[5, 2]\nc = concat([a, b], axis = 0)")
    assert g.node("c").type.shape == (N + 5, 2) and g.node("c").shape == ("N + 5", 2)
    a, b = np.ones((3, 2), np.float32), np.zeros((5, 2), np.float32)
    out = tl.Session(g).run(["c"], feed={"a": a, "b": b})[0]
    np.testing.assert_array_equal(out, np.concatenate([a, b]))


def test_reshape_is_proved_or_inferred():
    g = graph("placeholder x: f32[N, 28, 28]\nr = reshape(x, [N, 784])\n"
              "s = reshape(x, [-1, 784])\nt = reshape(x, [N, -1])")
    assert g.node("r").shape == g.node("s").shape == g.node("t").shape == ("N", 784)
    x = np.arange(2 * 784, dtype=np.float32).reshape(2, 28, 28)
    np.testing.assert_array_equal(run(g, "s", x=x), x.reshape(2, 784))
    e = error("placeholder x: f32[N, 28, 28]\nr = reshape(x, [N, 748])", kind=ShapeError)
    assert "784*N elements" in e.message and "748*N elements" in e.message


def test_matmul_shapes_and_the_exact_mismatch_message():
    g = graph("placeholder x: f32[N, 784]\nvariable W: f32[784, 10] = zeros()\ny = x @ W")
    assert g.node("y").shape == ("N", 10)
    e = error("placeholder x: f32[N, 784]\nvariable W: f32[748, 10] = zeros()\ny = x @ W",
              kind=ShapeError)
    assert e.message == "matmul: f32[N, 784] @ f32[748, 10]: inner dims 784 and 748 differ"
    assert (e.line, e.column) == (5, 5)


def test_functions_are_passed_by_name():
    prefix = "layer Twice(x) {\n    return x * 2\n}\nlayer Apply(x, f = relu) {\n    return f(x)\n}"
    g = graph("placeholder x: f32[N]\na = Apply(x)\nb = Apply(x, f = tanh)\n"
              "c = Apply(x, f = Twice)\nd = Dense(reshape(x, [-1, 1]), 1, activation = Twice)",
              prefix)
    x = np.array([-1, 0.5, 2], np.float32)
    np.testing.assert_allclose(run(g, "a", x=x), np.maximum(x, 0))
    np.testing.assert_allclose(run(g, "b", x=x), np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(run(g, "c", x=x), 2 * x)
    assert g.node("d").op == "multiply" and g.node("d").shape == ("N", 1)


def test_a_tensor_is_not_a_function():
    e = error("placeholder x: f32[N]\ny = x(3)", kind=ProgramError)
    assert e.message == 'cannot call "x": it is a tensor (f32[N]), not an op or a layer'
    e = error("y = hidden(3)", LETS, kind=ProgramError)
    assert e.message == 'cannot call "hidden": it is the number 4, not an op or a layer'


# ------------------------------------------------------------------ constants
def test_constants_literal_typed_and_folded():
    g = graph("constant a: f64[2] = [1, 2]\nconstant b = [[1.5, 2], [3, 4]]\n"
              "constant c: i32[] = 2 * hidden + 1\nconstant d = sum(exp([0.0, 1.0])) * 2\n"
              "constant e: f32[3] = arange(3) * 2", LETS)
    assert [g.node(k).op for k in "abcde"] == ["constant"] * 5
    assert str(g.node("a").type) == "f64[2]" and str(g.node("b").type) == "f32[2, 2]"
    assert str(g.node("c").type) == "i32[]" and g.node("c").attrs["value"] == 9
    assert g.node("d").attrs["value"] == pytest.approx(2 * (1 + np.e), rel=1e-6)
    np.testing.assert_array_equal(g.node("e").attrs["value"], [0, 2, 4])
    assert g.node("e").dtype == "f32"


def test_constant_errors():
    e = error("constant a: f32[3] = [1, 2]", kind=ShapeError)
    assert e.message == 'constant "a" has shape [2], not the declared f32[3]'
    e = error("placeholder x: f32[N]\nconstant a = sum(x)")
    assert e.message == 'not a constant expression: it depends on "x"'


# ------------------------------------------------------------------ placeholders and variables
def test_placeholder_defaults():
    g = graph("placeholder x: f32[N]\nplaceholder s: f32[] = 2\nplaceholder v: i32[3] = [1, 2, 3]"
              "\ny = x * s")
    assert g.node("s").attrs["default"] == 2 and g.node("v").attrs["default"].dtype == np.int32
    x = np.array([1, 2], np.float32)
    np.testing.assert_array_equal(run(g, "y", x=x), [2, 4])
    np.testing.assert_array_equal(tl.Session(g).run(["y"], feed={"x": x, "s": 3})[0], [3, 6])
    e = error("placeholder v: f32[3] = [1, 2]", kind=ShapeError)
    assert e.message == 'the default of placeholder "v" has shape [2], which does not fit f32[3]'


def test_variable_initializers_of_every_kind():
    g = graph("variable z: f32[2, 3] = zeros()\nvariable o: f32[2, 3] = ones()\n"
              "variable f: f32[2, 3] = full(0.5)\n"
              "variable n: f64[400] = normal(mean = 1, std = 0.1)\n"
              "variable u: f32[400] = uniform(low = -2, high = 2)\n"
              "variable gl: f32[20, 30] = glorot_uniform()\n"
              "variable he: f32[300, 10] = he_normal()\n"
              "variable lit: f32[2, 3] = [[1, 2, 3], [4, 5, 6]]\n"
              "variable row: f32[2, 3] = [1, 2, 3] frozen\nvariable i: i32[2] = [7, 8]")
    s = tl.Session(g, seed=0)
    v = s.variables
    np.testing.assert_array_equal(v["z"], np.zeros((2, 3)))
    np.testing.assert_array_equal(v["o"], np.ones((2, 3)))
    np.testing.assert_array_equal(v["f"], np.full((2, 3), 0.5))
    assert v["n"].dtype == np.float64 and abs(v["n"].mean() - 1) < 0.03 and \
        abs(v["n"].std() - 0.1) < 0.02
    assert -2 <= v["u"].min() and v["u"].max() <= 2 and v["u"].std() > 0.9
    limit = np.sqrt(6 / (20 + 30))
    assert np.abs(v["gl"]).max() <= limit and np.abs(v["gl"]).max() > 0.8 * limit
    assert abs(v["he"].std() - np.sqrt(2 / 300)) < 0.02
    np.testing.assert_array_equal(v["lit"], [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(v["row"], [[1, 2, 3], [1, 2, 3]])
    assert v["i"].dtype == np.int32
    assert [n.name for n in g.trainable] == ["z", "o", "f", "n", "u", "gl", "he", "lit", "i"]
    assert g.node("row").attrs["trainable"] is False


@pytest.mark.parametrize("stmt, kind, words", [
    ("variable w: f32[2, 3] = [1, 2]", ShapeError, "the initial value has shape [2], which does "
     "not fit f32[2, 3]"),
    ("variable w: f32[N, 3] = zeros()", ShapeError, 'variable "w" must have a concrete shape, '
     "but dim N is symbolic"),
    ("variable w: f32[3] = normal(sd = 1)", ProgramError, 'normal() has no argument "sd"'),
    ("variable w: f32[3] = glorot()", ProgramError, "a variable's initial value is an "
     "initializer call"),
    ("variable w: f32[3] = full()", ProgramError, "full() needs value"),
    ("variable w: f32[3] = zeros(1)", ProgramError, "zeros() takes at most 0 arguments"),
])
def test_variable_mistakes(stmt, kind, words):
    e = error(stmt, kind=kind)
    assert words in e.message and e.line == 3


# ------------------------------------------------------------------ grad
def test_grad_is_a_node_with_the_shape_of_x():
    g = graph("placeholder x: f32[N, 3]\nvariable W: f32[3, 2] = ones()\n"
              "y = sum(square(x @ W))\ngw = grad(y, W)\ngx = grad(y, x)\nggx = grad(sum(gx), x)")
    assert g.node("gw").shape == (3, 2) and g.node("gx").shape == ("N", 3)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    w = np.ones((3, 2), np.float32)
    np.testing.assert_allclose(run(g, "gw", x=x), x.T @ (2 * x @ w), rtol=1e-6)
    np.testing.assert_allclose(run(g, "gx", x=x), 2 * (x @ w) @ w.T, rtol=1e-6)
    np.testing.assert_allclose(run(g, "ggx", x=x), np.tile(2 * (w @ w.T).sum(1), (2, 1)),
                               rtol=1e-6)
    e = error("placeholder x: f32[N, 3]\ngx = grad(x, x)", kind=ShapeError)
    assert "must be a float scalar, not f32[N, 3]" in e.message


# ------------------------------------------------------------------ the Python API
def test_python_api_of_section_11(tmp_path):
    src = tmp_path / "xor.tl"
    src.write_text(XOR)
    assert tl.load(str(src)).graphs["xor"].node("h").shape == ("N", 4)
    program = tl.load(str(src), overrides={"hidden": 8})
    g = program.graphs["xor"]
    assert g.node("h").shape == ("N", 8)
    assert g.node("h.W").shape == (2, 8)
    session = tl.Session(g, seed=0)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    Y = np.array([[0], [1], [1], [0]], np.float32)
    p, loss = session.run(["p", "loss"], feed={"x": X, "y": Y})
    W = session.variables["h.W"]
    h = np.tanh(X @ W + session.variables["h.b"])
    pr = 1 / (1 + np.exp(-(h @ session.variables["p.W"] + session.variables["p.b"])))
    np.testing.assert_allclose(p, pr, rtol=1e-5)
    np.testing.assert_allclose(loss, -np.mean(Y * np.log(pr) + (1 - Y) * np.log(1 - pr)),
                               rtol=1e-5)
    session.assign("h.W", np.zeros((2, 8)))
    assert not session.variables["h.W"].any()
    with pytest.raises(TensorlangError):
        session.assign("h.W", np.zeros((3, 8)))
    with pytest.raises(NamingError) as info:
        g.node("hh")
    assert info.value.hint == 'did you mean "h"?'
    with pytest.raises(TensorlangError) as info:
        tl.load(str(tmp_path / "missing.tl"))
    assert "no such file" in info.value.message


XOR = """let hidden = 4
graph xor {
    placeholder x: f32[N, 2]
    placeholder y: f32[N, 1]
    h    = Dense(x, hidden, activation = tanh)
    p    = Dense(h, 1, activation = sigmoid)
    loss = mean(binary_cross_entropy(p, y))
    acc  = mean((p > 0.5) == (y > 0.5))
}
"""


def test_the_infix_operators_come_from_the_op_records():
    from tensorlang.compiler.lower import BINOPS
    assert BINOPS == {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "mod",
                      "//": "floor_divide", "**": "power", "@": "matmul", "==": "equal",
                      "!=": "not_equal", "<": "less", "<=": "less_equal", ">": "greater",
                      ">=": "greater_equal"}
