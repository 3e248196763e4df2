"""transforms/passes/rules.py: rules registered by decorator in order, the driver dispatching on
op (op rules before ANY rules, the first that fires wins, skipped names left out, a fixpoint
offering fresh nodes again), Context (uses, existing) and the helpers."""

from __future__ import annotations

import numpy as np

from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.transforms.passes.rules import (
    ANY,
    Context,
    Pass,
    Rule,
    all_equal,
    attrs_key,
    same_type,
)


def graph():
    """x -> a = tanh(x) -> b = neg(a) -> c = exp(b), named c; a is read twice."""
    bld = Builder("g")
    x = bld.add("placeholder", (), {"default": None}, type=TensorType("f64", (3,)), name="x")
    bld.bind("x", x, x.span)
    a = bld.op("tanh", x)
    b = bld.op("neg", a)
    d = bld.op("add", a, b)
    bld.bind("c", bld.op("exp", d), x.span)
    return bld.finish()


def test_rule_registers_in_order_with_its_name_and_doc():
    p = Pass("p", "a test pass")

    @p.rule("neg", "tanh")
    def first(b, n, ins, ctx):
        """  Does the first thing.  """

    @p.rule(ANY)
    def second(b, n, ins, ctx):
        return None

    assert p.rules == [Rule("first", ("neg", "tanh"), first, "Does the first thing."),
                       Rule("second", (ANY,), second, "")]
    assert first.__name__ == "first"  # the decorator returns the function itself
    assert (p.name, p.doc, p.fixpoint) == ("p", "a test pass", False)


def test_the_driver_tries_op_rules_then_any_rules_and_the_first_to_fire_wins():
    p = Pass("p", "")
    calls = []

    @p.rule("neg")
    def neg_to_sin(b, n, ins, ctx):
        calls.append(("neg_to_sin", n.op))
        return b.op("sin", ins[0])

    @p.rule("neg")
    def never(b, n, ins, ctx):
        calls.append(("never", n.op))
        return b.op("cos", ins[0])

    @p.rule(ANY)
    def everywhere(b, n, ins, ctx):
        calls.append(("everywhere", n.op))
        return None

    g = graph()
    g2, new = p.run(g)
    g2.verify()
    assert [n.op for n in g2.nodes] == ["placeholder", "tanh", "sin", "add", "exp"]
    assert ("never", "neg") not in calls
    assert [c for c in calls if c[0] == "everywhere"] == [
        ("everywhere", op) for op in ("placeholder", "tanh", "add", "exp")]
    assert new[g.nodes[2].id].op == "sin"


def test_skipped_rules_are_left_out():
    p = Pass("p", "")

    @p.rule("neg")
    def neg_to_sin(b, n, ins, ctx):
        return b.op("sin", ins[0])

    g = graph()
    assert p.run(g, skip={"neg_to_sin"})[0].nodes == g.nodes
    assert "sin" in [n.op for n in p.run(g, skip={"other"})[0].nodes]


def test_a_fixpoint_pass_offers_a_fresh_node_to_the_rules_again():
    def passes(fixpoint):
        p = Pass("p", "", fixpoint=fixpoint)

        @p.rule("neg")
        def neg_to_sin(b, n, ins, ctx):
            return b.op("sin", ins[0])

        @p.rule("sin")
        def sin_to_cos(b, n, ins, ctx):
            return b.op("cos", ins[0])
        return p

    g = graph()
    once = [n.op for n in passes(False).run(g)[0].nodes]
    assert once.count("sin") == 1 and "cos" not in once
    ops = [n.op for n in passes(True).run(g)[0].nodes]
    assert "cos" in ops and ops[-3] == "cos"  # neg -> sin -> cos in one visit


def test_context_counts_uses_in_the_old_graph():
    g = graph()
    ctx = Context(g)
    x, a, b, d, c = g.nodes
    assert ctx.uses[a.id] == 2 and ctx.uses[x.id] == 1 and ctx.uses[c.id] == 0


def test_context_finds_an_existing_node_of_the_new_graph():
    g = graph()
    x, a = g.nodes[:2]
    p = Pass("p", "")
    found = []

    @p.rule("neg", "exp")
    def look(b, n, ins, ctx):
        found.append((n.op, ctx.existing("tanh", (x,)), ctx.existing("tanh", (a,)),
                      ctx.existing("sum", (x,), {"axis": (0,)})))
        return None
    p.run(g)
    assert found == [("neg", a, None, None), ("exp", a, None, None)]


def test_attrs_key_tells_values_apart_by_type_and_content():
    assert attrs_key(1) != attrs_key(1.0) != attrs_key(True)
    assert attrs_key((0, 1)) == attrs_key((0, 1)) != attrs_key((1, 0))
    assert attrs_key({"b": 1, "a": 2}) == attrs_key({"a": 2, "b": 1})
    a, b = np.array([1.0, 2.0]), np.array([1.0, 2.0])
    assert attrs_key(a) == attrs_key(b) != attrs_key(a.astype(np.float32))
    assert attrs_key(a) != attrs_key(a.reshape(2, 1))
    big = np.zeros(5000)
    assert attrs_key(big) != attrs_key(big.copy())  # big arrays by identity: never compared
    hash(attrs_key({"value": a, "axes": (1, 2)}))


def test_same_type_and_all_equal():
    b = Builder("g")
    f = b.constant([1.0, 1.0], "f32")
    assert same_type(f, b.constant([2.0, 3.0], "f32"))
    assert not same_type(f, b.constant([1.0, 1.0], "f64"))
    assert not same_type(f, b.constant([1.0], "f32"))
    assert same_type(b.constant(1.0, weak=True), b.constant(2.0, "f32"))
    assert all_equal(f, 1.0) and not all_equal(f, 2.0)
    assert not all_equal(b.constant(np.zeros((0,)), "f32"), 0.0)  # an empty constant
    assert not all_equal(b.op("neg", f), -1.0)  # not a constant
