"""Layers: the prelude's Dense, Conv2D and SimpleRNN against NumPy, user layers, nested layers and
their scopes, shape patterns bound and checked at the call site, arguments and defaults."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import NamingError, ProgramError, ShapeError, TensorlangError


def graph(body: str, prefix: str = "") -> tl.Graph:
    """The verified graph `g` of a program made of prefix and a graph block with this body."""
    g = tl.compile(f"{prefix}\ngraph g {{\n{body}\n}}\n", "t.tl").graphs["g"]
    g.verify()
    return g


def error(body: str, prefix: str = "", kind=TensorlangError) -> TensorlangError:
    """The error that compiling a program made of prefix and a graph block raises."""
    with pytest.raises(kind) as info:
        tl.compile(f"{prefix}\ngraph g {{\n{body}\n}}\n", "t.tl")
    return info.value


# ------------------------------------------------------------------ the prelude, against NumPy
def test_dense_over_the_last_axis_of_any_rank():
    g = graph("placeholder x: f32[N, T, 3]\nh = Dense(x, 4, activation = relu)")
    assert g.node("h").shape == ("N", "T", 4)
    assert g.node("h.W").shape == (3, 4) and g.node("h.b").shape == (4,)
    s = tl.Session(g, seed=1)
    s.assign("h.b", np.array([0.1, -0.2, 0.3, 0.0]))
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    want = np.maximum(x @ s.variables["h.W"] + s.variables["h.b"], 0)
    np.testing.assert_allclose(s.run(["h"], feed={"x": x})[0], want, rtol=1e-5, atol=1e-6)


def test_conv2d_layer():
    g = graph("placeholder x: f32[N, 2, 6, 6]\nc = Conv2D(x, 3, 3, padding = 1, activation = tanh)")
    assert g.node("c").shape == ("N", 3, 6, 6)
    assert g.node("c.k").shape == (3, 2, 3, 3) and g.node("c.b").shape == (3, 1, 1)
    s = tl.Session(g, seed=0)
    x = np.random.default_rng(1).normal(size=(2, 2, 6, 6)).astype(np.float32)
    k = s.variables["c.k"]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = np.zeros((2, 3, 6, 6))
    for i in range(6):
        for j in range(6):
            ref[:, :, i, j] = np.einsum("ncuv,fcuv->nf", xp[:, :, i:i + 3, j:j + 3], k)
    np.testing.assert_allclose(s.run(["c"], feed={"x": x})[0], np.tanh(ref), rtol=1e-4,
                               atol=1e-5)


def test_simple_rnn_layer():
    g = graph("placeholder x: f32[N, T, 2]\nr = SimpleRNN(x, 3)")
    assert g.node("r").shape == ("N", "T", 3)
    assert [v.name for v in g.variables] == ["r.Wx", "r.Wh", "r.b"]
    s = tl.Session(g, seed=0)
    s.assign("r.b", np.array([0.1, 0.0, -0.1]))
    v = s.variables
    x = np.random.default_rng(2).normal(size=(2, 4, 2)).astype(np.float32)
    h = np.zeros((2, 3))
    states = []
    for t in range(4):
        h = np.tanh(x[:, t] @ v["r.Wx"] + h @ v["r.Wh"] + v["r.b"])
        states.append(h)
    np.testing.assert_allclose(s.run(["r"], feed={"x": x})[0], np.stack(states, 1), rtol=1e-5,
                               atol=1e-6)


# ------------------------------------------------------------------ user layers
NESTED = """
layer Inner(x: [..., In], units) {
    variable W: [In, units] = ones()
    y = x @ W
    return y
}
layer Outer(x: [..., In], units, act = relu) {
    inner = Inner(x, units)
    variable s: [units] = full(2)
    return act(inner * s)
}
"""


def test_nested_layers_scope_their_variables_and_nodes():
    g = graph("placeholder x: f32[N, 2]\no = Outer(x, 3)\np = Outer(o, 1, act = tanh)\n"
              "w = o.inner.W\ninner_y = o.inner.y", NESTED)
    assert [v.name for v in g.variables] == ["o.inner.W", "o.s", "p.inner.W", "p.s"]
    assert g.node("o.inner.W").shape == (2, 3) and g.node("p.inner.W").shape == (3, 1)
    assert g.node("o.inner.y").scope == "o.inner" and g.node("o").scope == "o"
    assert g.node("o.inner") is g.node("o.inner.y")  # the layer's value, under its own name
    assert dict(g.layers) == {"o.inner": ("Inner", g.node("o.inner").id),
                              "o": ("Outer", g.node("o").id),
                              "p.inner": ("Inner", g.node("p.inner").id),
                              "p": ("Outer", g.node("p").id)}
    x = np.array([[1, -2], [0.5, 0.5]], np.float32)
    o = np.maximum(x @ np.ones((2, 3)) * 2, 0)
    out = tl.Session(g).run(["o", "p"], feed={"x": x})
    np.testing.assert_allclose(out[0], o)
    np.testing.assert_allclose(out[1], np.tanh(o @ np.ones((3, 1)) * 2), rtol=1e-6)


def test_a_user_layer_as_activation_and_anonymous_nested_calls():
    prefix = NESTED + "layer Half(x) {\n    return x * 0.5\n}\n"
    g = graph("placeholder x: f32[N, 2]\ny = Outer(x, 2, act = Half)\nz = relu(Outer(x, 2))",
              prefix)
    assert "y.Half_1" in g.layers and "Outer_1.inner.W" in g.names
    x = np.array([[1, 2]], np.float32)
    np.testing.assert_allclose(tl.Session(g).run(["y"], feed={"x": x})[0], [[3, 3]])


def test_a_layer_returning_its_argument_and_defaults_from_lets():
    g = graph("placeholder x: f32[N, 3]\na = Same(x)\nb = Scale(x)",
              "let k = 3\nlayer Same(x) {\n    return x\n}\n"
              "layer Scale(x, f = k) {\n    return x * f\n}\n")
    assert g.node("a") is g.node("x")
    x = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(tl.Session(g).run(["b"], feed={"x": x})[0], 3 * x)


# ------------------------------------------------------------------ shape patterns
PATTERNS = """
layer Square(x: [..., In, In]) {
    return x @ x
}
layer Fixed(x: [N, 3]) {
    return x
}
layer Typed(x: i32[...]) {
    return x
}
layer Sized(x: [size]) {
    return x
}
"""


def test_patterns_bind_names_and_accept_matching_shapes():
    g = graph("placeholder a: f32[B, 4, 4]\nplaceholder b: f32[M, 3]\nplaceholder c: i32[2]\n"
              "placeholder d: f32[5]\ns = Square(a)\nf = Fixed(b)\nt = Typed(c)\nz = Sized(d)",
              "let size = 5\n" + PATTERNS)
    assert g.node("s").shape == ("B", 4, 4) and g.node("f").shape == ("M", 3)


@pytest.mark.parametrize("arg, decl, message", [
    ("a", "f32[B, 3, 4]", "Square: x must match [..., In, In], got f32[B, 3, 4]: dim 2 is 4, "
     "but In is 3"),
    ("a", "f32[4]", "Square: x must match [..., In, In] (rank at least 2), got f32[4] (rank 1)"),
    ("b", "f32[M, 4]", "Fixed: x must match [N, 3], got f32[M, 4]: dim 1 is 4, not 3"),
    ("b", "f32[M, 3, 1]", "Fixed: x must match [N, 3] (rank 2), got f32[M, 3, 1] (rank 3)"),
    ("c", "f32[2]", "Typed: x must be i32[...], got f32[2]"),
    ("d", "f32[4]", "Sized: x must match [size], got f32[4]: dim 0 is 4, but size is 5"),
])
def test_pattern_mismatches_are_errors_at_the_call_site(arg, decl, message):
    call = {"a": "Square", "b": "Fixed", "c": "Typed", "d": "Sized"}[arg]
    e = error(f"placeholder {arg}: {decl}\ny = {call}({arg})", "let size = 5\n" + PATTERNS,
              kind=ShapeError)
    assert e.message == message
    assert e.span.line == 18 and e.span.column == len("y = ") + len(call) + 2
    assert e.notes[0][0] == "the pattern of x is written here"


def test_prelude_pattern_errors_point_at_the_users_argument():
    e = error("placeholder x: f32[N, 3, 5]\nz = SimpleRNN(x, 4)\nc = Conv2D(z, 4, 3)",
              kind=ShapeError)
    assert e.message == ("Conv2D: x must match [N, C, H, W] (rank 4), got f32[N, 3, 4] (rank 3)")
    assert (e.line, e.column) == (5, 12)
    assert e.notes[0][1].file == "<prelude>"


def test_errors_inside_prelude_layers_are_placed_at_the_call():
    e = error("placeholder x: f32[N, 2]\ny = Dense(x, 2.5)", kind=ShapeError)
    assert e.message == 'the dim "units" is the number 2.5, not an integer'
    assert (e.line, e.column) == (4, 5)
    assert e.notes[-1][0] == "inside the standard layer Dense"
    assert e.notes[-1][1].file == "<prelude>" and "units" in e.notes[-1][1].source_line()
    e = error("placeholder x: f32[N, 2]\ny = Dense(x, x)", kind=ShapeError)
    assert e.message == 'the dim "units" is a tensor (f32[N, 2]), not an integer'
    e = error("placeholder x: f32[N, 2]\ny = Dense(x, -3)", kind=ShapeError)
    assert "a dim cannot be negative" in e.message


def test_errors_inside_user_layers_keep_their_line_and_note_the_call():
    e = error("placeholder x: f32[N, 2]\ny = Bad(x)",
              "layer Bad(x) {\n    variable W: [3, 3] = ones()\n    return x @ W\n}",
              kind=ShapeError)
    assert e.message == "matmul: f32[N, 2] @ f32[3, 3]: inner dims 2 and 3 differ"
    assert e.line == 3 and e.notes[-1][0] == "in the call of Bad here" and \
        e.notes[-1][1].line == 7


# ------------------------------------------------------------------ arguments
@pytest.mark.parametrize("call, kind, message", [
    ("Dense(x)", ProgramError, 'Dense(x, units, activation): missing argument "units"'),
    ("Dense(x, 3, relu, 4)", ProgramError,
     "Dense(x, units, activation) takes at most 3 arguments, got 4"),
    ("Dense(x, 3, activaton = relu)", ProgramError,
     'Dense(x, units, activation) has no argument "activaton"'),
    ("Dense(x, 3, units = 4)", ProgramError, 'Dense(x, units, activation) got "units" twice'),
    ("Dense(x, 3, activation = 3)", ProgramError,
     'cannot call "activation": it is the number 3, not an op or a layer'),
    ("Dens(x, 3)", NamingError, 'unknown layer "Dens"'),
])
def test_argument_mistakes(call, kind, message):
    e = error(f"placeholder x: f32[N, 2]\ny = {call}", kind=kind)
    assert e.message == message and e.line == 4


def test_layer_definitions_are_checked():
    with pytest.raises(ProgramError, match="layer names start with a capital letter"):
        tl.compile("layer dense(x) {\n    return x\n}\n")
    with pytest.raises(NamingError, match='layer "L" is already defined'):
        tl.compile("layer L(x) {\n    return x\n}\nlayer L(x) {\n    return x\n}\n")
    e = error("placeholder x: f32[2]\ny = L(x)", "layer L(x) {\n    z = x\n}", ProgramError)
    assert e.message == "layer L has no return statement" and e.line == 1
    e = error("placeholder x: f32[2]\ny = L(x)", "layer L(x) {\n    return L(x)\n}",
              ProgramError)
    assert "layers nest deeper than" in e.message
    e = error("placeholder x: f32[2]\ny = L(x)",
              "layer L(x) {\n    placeholder z: f32[3]\n    return x\n}", ProgramError)
    assert e.message == "placeholders belong in graphs, not layers"


def test_a_user_layer_may_shadow_a_prelude_layer():
    g = graph("placeholder x: f32[N, 2]\ny = Dense(x, 3)",
              "layer Dense(x, units) {\n    return x * units\n}")
    assert g.variables == () and g.node("y").shape == ("N", 2)


def test_a_graph_may_use_a_layer_defined_further_down():
    p = tl.compile("graph g {\n    placeholder x: f32[N, 2]\n    y = Twice(x)\n}\n"
                   "layer Twice(x) {\n    return x * 2\n}\n")
    assert p.graphs["g"].node("y").op == "multiply"


def test_a_user_layer_calling_dense_scopes_its_variables_twice():
    g = graph("placeholder x: f32[N, 3]\nouter = Block(x, 4)",
              "layer Block(x: [..., In], units) {\n    inner = Dense(x, units, activation = relu)"
              "\n    skip = Dense(x, units)\n    return inner + skip\n}")
    assert [v.name for v in g.variables] == ["outer.inner.W", "outer.inner.b", "outer.skip.W",
                                             "outer.skip.b"]
    assert g.node("outer.inner.W").shape == (3, 4) and g.node("outer.inner").shape == ("N", 4)
    s = tl.Session(g, seed=3)
    v = s.variables
    x = np.random.default_rng(4).normal(size=(5, 3)).astype(np.float32)
    want = np.maximum(x @ v["outer.inner.W"] + v["outer.inner.b"], 0) + x @ v["outer.skip.W"] \
        + v["outer.skip.b"]
    np.testing.assert_allclose(s.run(["outer"], feed={"x": x})[0], want, rtol=1e-5, atol=1e-6)
