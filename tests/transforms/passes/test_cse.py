"""transforms/passes/cse.py: nodes computing one op over the same inputs with the same
attributes become one; different attributes, types and sources stay apart."""

from __future__ import annotations

import numpy as np

from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.runtime.session import Session
from tensorlang.source import Span
from tensorlang.transforms.passes import cse
from tensorlang.transforms.passes.cse import CSE

AT = Span("m.tl", 2, 1, 2, 9)


def placeholder(b, name):
    node = b.add("placeholder", (), {"default": None}, type=TensorType("f64", (2, 3)), name=name)
    return b.bind(name, node, AT)


def test_repeated_work_is_merged_and_users_follow():
    b = Builder("g")
    x = placeholder(b, "x")
    b.bind("y", b.op("add", b.op("tanh", x), b.op("tanh", x)), AT)
    b.bind("s", b.op("add", b.op("sum", x, axis=0), b.op("sum", x, axis=0)), AT)
    g, _ = cse(b.finish())
    g.verify()
    ops = [n.op for n in g.nodes]
    assert ops.count("tanh") == 1 and ops.count("sum") == 1
    y = g.node("y")
    assert y.inputs[0] is y.inputs[1]
    xv = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(Session(g).run("y", {"x": xv}), 2 * np.tanh(xv))


def test_different_attributes_or_inputs_are_kept_apart():
    b = Builder("g")
    x, z = placeholder(b, "x"), placeholder(b, "z")
    b.op("sum", x, axis=0)
    b.op("sum", x, axis=1)
    b.op("tanh", x)
    b.op("tanh", z)
    g, _ = cse(b.finish())
    assert [n.op for n in g.nodes].count("sum") == 2 and [n.op for n in g.nodes].count("tanh") == 2


def test_equal_constants_merge_but_inputs_never_do():
    b = Builder("g")
    b.constant([1.0, 2.0], "f64")
    b.constant([1.0, 2.0], "f64")
    b.constant([1.0, 2.0], "f32")
    for name in ("v", "w"):
        b.add("variable", (), {"init": ("zeros", ())}, type=TensorType("f64", (2,)), name=name)
    g, _ = cse(b.finish())
    assert [n.op for n in g.nodes] == ["constant", "constant", "variable", "variable"]


def test_the_pass_holds_one_rule():
    assert [r.name for r in CSE.rules] == ["merge_common_subexpression"] and CSE.name == "cse"
