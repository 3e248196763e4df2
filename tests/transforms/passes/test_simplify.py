"""transforms/passes/simplify.py: each rule on its own (a pass of just that rule) on hand-built
graphs: what it rewrites, what it must leave alone (a lost broadcast or promotion), and that the
values stay; then the whole pass to its fixpoint."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.runtime.session import Session
from tensorlang.source import Span
from tensorlang.transforms.passes import simplify
from tensorlang.transforms.passes.rules import Pass
from tensorlang.transforms.passes.simplify import SIMPLIFY

AT = Span("m.tl", 2, 1, 2, 9)
N = D.Dim.sym("N")
RULES = {r.name: r for r in SIMPLIFY.rules}
RULES_KNOWN = {"drop_identity_operand", "drop_noop_conversion", "drop_identity_transpose",
               "merge_transposes", "merge_reshapes", "double_negation",
               "count_dims_at_the_source", "expand_before_broadcast", "broadcast_late",
               "drop_needless_broadcast"}  # the rules tested here (others may join them)
X = np.arange(6.0).reshape(2, 3) - 2.5


def only(name, graph):
    """The graph after a pass holding one rule of simplify."""
    p = Pass("only", "", fixpoint=True)
    p.rules.append(RULES[name])
    g, _ = p.run(graph)
    g.verify()
    return g


def builder(dtype="f64", shape=(N, 3)):
    b = Builder("g")
    x = b.add("placeholder", (), {"default": None}, type=TensorType(dtype, shape), name="x")
    return b, b.bind("x", x, AT)


def same_values(g1, g2, name="y", x=X):
    np.testing.assert_array_equal(Session(g1).run(name, {"x": x}),
                                  Session(g2).run(name, {"x": x}))


@pytest.mark.parametrize("op, const, side", [
    ("multiply", 1.0, 1), ("multiply", 1.0, 0), ("add", 0.0, 1), ("add", 0.0, 0),
    ("subtract", 0.0, 1), ("divide", 1.0, 1), ("power", 1.0, 1)])
def test_drop_identity_operand(op, const, side):
    b, x = builder()
    c = b.constant(const, "f64")
    b.bind("y", b.op(op, *((x, c) if side else (c, x))), AT)
    g = b.finish()
    assert only("drop_identity_operand", g).node("y") is x


def test_an_identity_that_would_lose_a_broadcast_or_a_promotion_stays():
    b, x = builder("f32", (3,))
    b.bind("y", b.op("multiply", x, b.constant(np.ones((2, 3)), "f32")), AT)  # [3] -> [2, 3]
    b.bind("z", b.op("add", x, b.constant(0.0, "f64")), AT)  # f32 + f64 -> f64
    b.bind("w", b.op("subtract", b.constant(0.0, "f32"), x), AT)  # 0 - x is not x
    g = only("drop_identity_operand", b.finish())
    assert [g.node(n).op for n in "yzw"] == ["multiply", "add", "subtract"]


def test_drop_noop_conversion():
    b, x = builder()
    b.bind("y", b.op("cast", b.op("reshape", x, shape=(N, 3)), dtype="f64"), AT)
    b.bind("z", b.op("cast", x, dtype="f32"), AT)
    g = only("drop_noop_conversion", b.finish())
    assert g.node("y") is x and g.node("z").op == "cast"


def test_drop_identity_transpose_and_merge_transposes():
    b, x = builder(shape=(2, 3, 4))
    b.bind("y", b.op("transpose", x, axes=(0, 1, 2)), AT)
    b.bind("z", b.op("transpose", b.op("transpose", x, axes=(1, 2, 0)), axes=(2, 0, 1)), AT)
    b.bind("w", b.op("transpose", b.op("transpose", x, axes=(1, 0, 2)), axes=(0, 2, 1)), AT)
    g = b.finish()
    assert only("drop_identity_transpose", g).node("y") is x
    merged = only("merge_transposes", g)
    assert merged.node("z") is x  # the permutations cancel
    w = merged.node("w")
    assert w.op == "transpose" and w.inputs == (x,) and tuple(w.attrs["axes"]) == (1, 2, 0)
    xv = np.arange(24.0).reshape(2, 3, 4)
    same_values(g, merged, "w", xv)


def test_merge_reshapes_in_c_order_only():
    b, x = builder(shape=(2, 6))
    b.bind("y", b.op("reshape", b.op("reshape", x, shape=(3, 4)), shape=(4, 3)), AT)
    b.bind("f", b.op("reshape", b.op("reshape", x, shape=(3, 4), order="F"), shape=(12,)), AT)
    g = b.finish()
    s = only("merge_reshapes", g)
    assert s.node("y").inputs == (x,) and s.node("f").inputs[0].op == "reshape"
    same_values(g, s, "y", np.arange(12.0).reshape(2, 6))


def test_double_negation():
    b, x = builder()
    b.bind("y", b.op("neg", b.op("neg", x)), AT)
    b.bind("z", b.op("neg", b.op("neg", b.op("neg", x))), AT)
    g = only("double_negation", b.finish())
    assert g.node("y") is x
    z = g.node("z")
    assert z.op == "neg" and z.inputs == (x,)


def test_count_dims_at_the_source():
    b, x = builder(shape=(N, 4))
    w = b.add("variable", (), {"init": ("zeros", ())}, type=TensorType("f64", (4, 3)), name="W")
    h = b.op("tanh", b.op("matmul", x, w))
    b.bind("y", b.op("size_of", h, axis=(0,), dtype="f64"), AT)
    b.bind("z", b.op("size_of", h, axis=(1,), dtype="f64"), AT)  # 3 columns: W's, not x's
    g = b.finish()
    s = only("count_dims_at_the_source", g)
    assert s.node("y").inputs == (x,)
    assert s.node("z").inputs == (w,)
    xv = np.ones((5, 4))
    assert Session(s).run("y", {"x": xv}) == 5 and Session(s).run("z", {"x": xv}) == 3


def test_expand_before_broadcast():
    b, x = builder(shape=(1, 3))
    b.bind("y", b.op("expand_dims", b.op("broadcast_to", x, shape=(2, 3)), axis=1), AT)
    g = b.finish()
    s = only("expand_before_broadcast", g)
    y = s.node("y")
    assert y.op == "broadcast_to" and y.inputs[0].op == "expand_dims"
    assert y.inputs[0].inputs == (x,) and y.inputs[0].type.shape == (1, 1, 3)
    assert y.type == g.node("y").type
    same_values(g, s, x=np.array([[1.0, 2.0, 3.0]]))


def test_expand_before_a_broadcast_that_adds_dims_stays():
    b, x = builder(shape=(3,))
    b.bind("y", b.op("expand_dims", b.op("broadcast_to", x, shape=(2, 3)), axis=1), AT)
    assert only("expand_before_broadcast", b.finish()).node("y").op == "expand_dims"


def test_broadcast_late_runs_the_op_on_the_small_values():
    b, x = builder(shape=(N, 4))
    seed = b.op("broadcast_to", b.constant([[1.0]], "f64"), shape=(N, 4))
    count = b.constant(8.0, "f64")
    b.bind("y", b.op("divide", seed, count), AT)
    g = b.finish()
    s = only("broadcast_late", g)
    y = s.node("y")
    assert y.op == "broadcast_to" and y.inputs[0].op == "divide"
    assert y.inputs[0].type.shape == (1, 1)
    np.testing.assert_array_equal(Session(s).run("y", {"x": np.zeros((2, 4))}),
                                  np.full((2, 4), 0.125))


def test_broadcast_late_leaves_big_or_symbolic_operands_alone():
    b, x = builder(shape=(N, 4))
    seed = b.op("broadcast_to", b.constant([[1.0]], "f64"), shape=(N, 4))
    b.bind("y", b.op("multiply", seed, x), AT)  # x is [N, 4]: nothing small to compute first
    assert only("broadcast_late", b.finish()).node("y").op == "multiply"


def test_drop_needless_broadcast():
    b, x = builder(shape=(N, 3))
    two = b.op("broadcast_to", b.constant(2.0, "f64"), shape=(N, 3))
    b.bind("y", b.op("multiply", x, two), AT)
    g = b.finish()
    s = only("drop_needless_broadcast", g)
    y = s.node("y")
    assert y.op == "multiply" and y.inputs[0] is x and y.inputs[1].rank == 0
    same_values(g, s)


def test_a_broadcast_the_op_would_not_do_stays():
    b, x = builder(shape=(3,))
    wide = b.op("broadcast_to", x, shape=(2, 3))
    b.bind("y", b.op("add", wide, b.constant(1.0, "f64")), AT)  # the result needs [2, 3]
    assert only("drop_needless_broadcast", b.finish()).node("y").inputs[0] is wide


def test_the_whole_pass_reaches_its_fixpoint():
    b, x = builder()
    y = b.op("neg", b.op("neg", b.op("divide", b.op("multiply", x, 1.0), 1.0)))
    b.bind("y", b.op("transpose", b.op("transpose", y)), AT)
    g = b.finish()
    s, new = simplify(g)
    assert s.node("y") is x and new[g.node("y").id] is x


def test_rules_are_tried_in_the_order_they_are_written():
    names = [r.name for r in SIMPLIFY.rules]
    assert [n for n in names if n in RULES_KNOWN] == [
        "drop_identity_operand", "drop_noop_conversion", "drop_identity_transpose",
        "merge_transposes", "merge_reshapes", "double_negation", "count_dims_at_the_source",
        "expand_before_broadcast", "broadcast_late", "drop_needless_broadcast"]
    assert RULES_KNOWN <= set(names)
    assert SIMPLIFY.fixpoint and all(r.doc for r in SIMPLIFY.rules)
