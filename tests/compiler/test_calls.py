"""compiler/calls.py: the call half of lowering: an op's arguments bound to its signature
(tensors, lists of tensors, compile-time attributes, dtypes by name), `identity`, `grad`, what
may be called, and fresh scopes for layer calls without a name of their own."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.compiler.calls import BUILTIN_FUNCS
from tensorlang.errors import NamingError, ProgramError, ShapeError

HEAD = "graph g {\n    placeholder x: f32[N, 3]\n"
X = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]], np.float32)


def graph(body: str):
    return tl.compile(HEAD + body + "\n}\n", "c.tl").graphs["g"]


def error(body: str):
    with pytest.raises(tl.TensorlangError) as info:
        graph(body)
    return info.value


def test_positional_and_keyword_arguments_fill_the_signature():
    g = graph("    y = sum(x, 1, keepdims = true)\n    z = sum(x)")
    y, z = g.node("y"), g.node("z")
    assert y.op == "sum" and y.inputs == (g.node("x"),)
    assert dict(y.attrs) == {"axis": (1,), "keepdims": True}
    assert dict(z.attrs) == {"axis": (0, 1), "keepdims": False}  # the defaults, prepared
    got = tl.Session(g).run("y", {"x": X})
    np.testing.assert_allclose(got, X.sum(axis=1, keepdims=True))


def test_a_list_of_tensors_and_a_dtype_by_name_or_string():
    g = graph("    y = concat([x, x * 2], axis = 1)\n    a = cast(x, i32)\n"
              '    b = cast(x, "f64")\n    let t = f16\n    c = cast(x, t)')
    assert g.node("y").type.shape[1] == 6 and len(g.node("y").inputs) == 2
    assert (g.node("a").dtype, g.node("b").dtype, g.node("c").dtype) == ("i32", "f64", "f16")


def test_identity_returns_its_argument():
    g = graph("    y = identity(x)")
    assert g.node("y") is g.node("x")
    assert error("    y = identity(x, x)").message == "identity(x) takes exactly one argument"


def test_grad_builds_the_gradient_in_the_graph():
    g = graph("    y = grad(sum(x * x), x)")
    assert g.node("y").type == g.node("x").type
    np.testing.assert_allclose(tl.Session(g).run("y", {"x": X}), 2 * X)


def test_grad_mistakes():
    e = error("    y = grad(x, x)")
    assert isinstance(e, ShapeError) and (e.line, e.column) == (3, 14)
    assert e.message == "grad(y, x): y must be a float scalar, not f32[N, 3]"
    assert e.hint == "differentiate a scalar such as sum(y) or mean(y)"
    assert error("    y = grad(sum(x))").message == "grad(y, x) needs y and x"


@pytest.mark.parametrize("body, cls, message, hint, column", [
    ("    y = sum(x, axis = 1, kepdims = true)", ProgramError,
     'sum(x, axis = None, keepdims = false) has no argument "kepdims"',
     'did you mean "keepdims"?', 26),
    ("    y = reshape(x)", ProgramError, 'reshape(x, shape, order = C): missing argument "shape"',
     None, 9),
    ("    y = tanhh(x)", NamingError, 'unknown op "tanhh"', 'did you mean "tanh"?', 9),
    ("    y = Dens(x, 3)", NamingError, 'unknown layer "Dens"', 'did you mean "Dense"?', 9),
    ("    y = x(1)", ProgramError,
     'cannot call "x": it is a tensor (f32[N, 3]), not an op or a layer', None, 9),
    ("    y = 3(x)", ProgramError, "the number 3 is not a function", None, 9),
    ("    y = concat(x)", ProgramError, "concat: xs must be a list of tensors like [a, b]",
     None, 16),
    ("    y = cast(x, f8)", ProgramError, 'cast: unknown dtype "f8"',
     "dtypes: f16, f32, f64, i32, i64, u8, bool", 17),
    ("    y = sum(x, axis = x)", ProgramError,
     "sum: axis is a compile-time value, not a tensor", None, 23),
    ("    y = sum(x, axis = 1.5)", ProgramError,
     "sum's axis must be an axis or a list of axes, not the number 1.5", None, 23),
])
def test_call_mistakes_are_located(body, cls, message, hint, column):
    e = error(body)
    assert type(e) is cls and e.message == message and e.hint == hint
    assert (e.line, e.column) == (3, column)


def test_internal_ops_cannot_be_called_by_name():
    e = error("    y = sum_to(x, [3])")
    assert isinstance(e, NamingError) and e.message == 'unknown op "sum_to"'


def test_layer_calls_without_a_name_get_fresh_scopes():
    g = graph("    a = Dense(x, 2)\n    c = tanh(Dense(x, 2)) + Dense(x, 2)\n"
              "    Dense_3 = 1\n    e = tanh(Dense(x, 2))")
    scopes = {n.split(".")[0] for n in g.names if "." in n}
    # Dense_3 is taken by a value of the user's: the next fresh scope skips it
    assert scopes == {"a", "Dense_1", "Dense_2", "Dense_4"}


def test_a_function_argument_is_called_by_its_name():
    g = graph("    y = Dense(x, 2, activation = relu)")
    assert g.node("y").op == "relu"


def test_the_builtin_functions():
    assert {"identity", "grad"} <= set(BUILTIN_FUNCS)
