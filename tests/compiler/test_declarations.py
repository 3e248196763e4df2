"""compiler/declarations.py: placeholders (with defaults that fit), variables (initializer calls
bound to the initializer's signature, literals that broadcast), constants (literals, typed, or
evaluated from an expression at compile time), and their located mistakes."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import ProgramError, ShapeError, TensorlangError
from tensorlang.ops.initializers import INITIALIZERS

HEAD = "graph g {\n    placeholder x: f32[N, 3]\n"


def graph(body: str):
    return tl.compile(HEAD + body + "\n}\n", "d.tl").graphs["g"]


def error(body: str):
    with pytest.raises(tl.TensorlangError) as info:
        graph(body)
    return info.value


def test_a_placeholder_and_its_default():
    g = graph("    placeholder s: f64[] = 2\n    placeholder p: i32[N, 2] = [[1, 2], [3, 4]]")
    s, p = g.node("s"), g.node("p")
    assert s.type.dtype == "f64" and s.attrs["default"].dtype == np.float64
    assert p.attrs["default"].tolist() == [[1, 2], [3, 4]] and p.attrs["default"].dtype == np.int32
    assert not p.attrs["default"].flags.writeable
    assert g.node("x").attrs["default"] is None and "N" in g.dims


def test_a_default_that_does_not_fit():
    e = error("    placeholder p: f32[2] = [1, 2, 3]")
    assert isinstance(e, ShapeError) and (e.line, e.column) == (3, 29)
    assert e.message == 'the default of placeholder "p" has shape [3], which does not fit f32[2]'


def test_placeholders_belong_in_graphs():
    with pytest.raises(ProgramError, match="placeholders belong in graphs, not layers"):
        tl.compile("layer L(v) {\n    placeholder p: f32[2]\n    return v\n}\n"
                   "graph g {\n    placeholder x: f32[2]\n    y = L(x)\n}\n")


def test_initializer_calls_fill_in_every_parameter():
    g = graph("    variable W: f32[3, 2] = normal(std = 0.1)\n"
              "    variable U: f32[3] = uniform(-0.5)\n"
              "    variable F: f32[2] = full(value = 7) frozen\n"
              "    let s = 0.25\n    variable V: f32[2] = normal(0, s)")
    assert g.node("W").attrs["init"] == ("normal", (("mean", 0.0), ("std", 0.1)))
    assert g.node("U").attrs["init"] == ("uniform", (("low", -0.5), ("high", 1.0)))
    assert g.node("F").attrs["init"] == ("full", (("value", 7),))
    assert g.node("V").attrs["init"] == ("normal", (("mean", 0), ("std", 0.25)))
    assert [v.name for v in g.trainable] == ["W", "U", "V"]
    s = tl.Session(g, seed=0)
    assert s.variables["F"].tolist() == [7.0, 7.0]


def test_a_literal_initial_value_broadcasts_to_the_type():
    g = graph("    variable b: f32[2, 3] = 0.5\n    variable r: f32[2, 3] = [1, 2, 3]")
    kind, value = g.node("r").attrs["init"]
    assert kind == "literal" and value.dtype == np.float32 and value.tolist() == [1, 2, 3]
    s = tl.Session(g)
    assert s.variables["b"].tolist() == [[0.5] * 3] * 2
    assert s.variables["r"].tolist() == [[1, 2, 3], [1, 2, 3]]


@pytest.mark.parametrize("stmt, cls, message, hint", [
    ("variable W: f32[3] = full()", ProgramError, "full() needs value", None),
    ("variable W: f32[3] = normal(sd = 1)", ProgramError, 'normal() has no argument "sd"',
     'did you mean "std"?'),
    ("variable W: f32[3] = normal(std = true)", ProgramError,
     "normal's std must be a number, not the bool true", None),
    ("variable W: f32[3] = normall()", ProgramError, "a variable's initial value is an "
     "initializer call like glorot_uniform() or a tensor literal", 'did you mean "normal"?'),
    ("variable W: f32[2] = x", ProgramError, "a variable's initial value is an initializer "
     "call like glorot_uniform() or a tensor literal",
     f"initializers: {', '.join(INITIALIZERS)}"),
    ("variable W: f32[3] = [1, 2]", ShapeError,
     "the initial value has shape [2], which does not fit f32[3]", None),
    ("variable W: f32[N] = zeros()", ShapeError,
     'variable "W" must have a concrete shape, but dim N is symbolic',
     "declare its size with a number or a let constant"),
])
def test_variable_mistakes(stmt, cls, message, hint):
    e = error("    " + stmt)
    assert type(e) is cls and e.message == message and e.hint == hint and e.line == 3


def test_constants_from_literals_types_and_expressions():
    g = graph("    constant a = [1, 2]\n    constant b: f64[2] = [1, 2]\n"
              "    constant c = [1, 2] * 2 + 1\n    constant d: i32[] = 3")
    a, b, c, d = (g.node(n) for n in "abcd")
    assert a.op == "constant" and a.dtype == "f32" and a.attrs["value"].tolist() == [1, 2]
    assert b.dtype == "f64" and b.attrs["value"].dtype == np.float64
    assert c.op == "constant" and c.attrs["value"].tolist() == [3, 5]
    assert not c.attrs["value"].flags.writeable
    assert d.dtype == "i32" and d.attrs["value"] == 3


@pytest.mark.parametrize("stmt, message, column", [
    ("constant c: f32[3] = [1, 2]", 'constant "c" has shape [2], not the declared f32[3]', 26),
    ("constant c = [[1, 2], [3]]", "a tensor literal must be a rectangular list of numbers", 18),
    ("constant c = x * 2", 'not a constant expression: it depends on "x"', 18),
    ('constant c = "s"', 'expected a tensor literal, not the string "s"', 18),
])
def test_constant_mistakes(stmt, message, column):
    e = error("    " + stmt)
    assert e.message == message and (e.line, e.column) == (3, column)


def test_a_layers_variables_are_qualified_by_the_instance():
    g = tl.compile("layer L(v: [In]) {\n    variable k: [In] = ones()\n    return v * k\n}\n"
                   "graph g {\n    placeholder x: f32[3]\n    h = L(x)\n}\n").graphs["g"]
    assert g.node("h.k").op == "variable" and g.node("h.k").type.shape == (3,)


@pytest.mark.parametrize("stmt", ["constant c: i32[] = 10 ** 12",
                                  "placeholder p: u8[] = 300",
                                  "variable W: i32[2] = [1, 10000000000]"])
def test_an_integer_literal_outside_its_dtype_is_a_located_error(stmt):
    e = error("    " + stmt)
    assert e.line == 3


def test_initializer_hyperparameters_have_domains():
    for init, message in (("normal(std = -1)", "normal's std must be 0 or more, not -1"),
                          ("uniform(low = 2, high = 1)", "uniform's low (2) is above its high"),
                          ("full(1e400)", "full's value must be a finite number")):
        with pytest.raises(TensorlangError, match=re.escape(message)):
            tl.compile(f"graph g {{\n    variable W: f32[2] = {init}\n}}\n")
    g = tl.compile("graph g {\n    variable W: f32[0, 3] = glorot_uniform()\n"
                   "    variable V: f32[0] = he_normal()\n}\n").graphs["g"]
    assert tl.Session(g).variables["W"].shape == (0, 3)  # no 6 / 0 warning, no traceback


def test_a_declared_shape_beyond_the_memory_budget_is_refused_at_check(monkeypatch):
    with pytest.raises(TensorlangError, match=r"a variable of type f32\[1000000000000, "
                                              r"1000000000000\] takes .* more than the memory"):
        tl.compile("graph g {\n    variable W: f32[1000000000000, 1000000000000] = zeros()\n}\n")
    monkeypatch.setenv("TENSORLANG_MEMORY_BUDGET", "100M")
    with pytest.raises(TensorlangError, match=r"zeros's result of type f32\[10000, 10000\] takes "
                                              r"381\.5 MiB, more than the memory budget of "
                                              r"100\.0 MiB"):
        tl.compile("graph g {\n    z = zeros([10000, 10000])\n}\n")
    tl.compile("graph g {\n    variable W: f32[1000, 1000] = zeros()\n}\n")  # 3.8 MiB: fine
