"""ir/rewrite.py: rewrite (a rule sees each node over its rewritten inputs; None keeps it; a
fresh replacement takes the name; names, layers and the old -> new map follow) and prune (dead
code goes, named values, inputs and what they need stay)."""

from __future__ import annotations

import numpy as np

from tensorlang.ir.graph import Builder
from tensorlang.ir.rewrite import prune, rewrite
from tensorlang.ir.types import TensorType
from tensorlang.runtime.session import Session
from tensorlang.source import Span

AT = Span("m.tl", 2, 1, 2, 5)


def chain():
    """x -> t = tanh(x) -> y = neg(t) -> z = exp(y), named y and z; the layer `lay` returns y."""
    b = Builder("g")
    b.graph_span = AT
    x = b.bind("x", b.add("placeholder", (), {"default": None}, type=TensorType("f64", (3,)),
                          name="x"), AT)
    t = b.op("tanh", x)
    b.scope = "lay"
    y = b.bind("y", b.op("neg", t), AT)
    b.scope = ""
    b.bind("z", b.op("exp", y), AT)
    b.layers["lay"] = ("L", y.id)
    b.warnings.append("w")
    return b.finish()


def test_a_rule_that_returns_none_everywhere_gives_the_same_nodes():
    g = chain()
    seen = []

    def rule(b, n, ins):
        seen.append((n.op, tuple(i.op for i in ins), b.span, b.scope))
        return None
    g2, new = rewrite(g, rule)
    assert g2.nodes == g.nodes and all(new[n.id] is n for n in g.nodes)
    assert [s[0] for s in seen] == ["placeholder", "tanh", "neg", "exp"]
    assert seen[2][3] == "lay"  # the builder is at each node's scope while its rule runs
    assert (g2.name, g2.span, g2.warnings, dict(g2.layers)) == (
        g.name, g.span, g.warnings, dict(g.layers))


def test_a_replacement_takes_the_old_nodes_name_and_its_users_follow():
    g = chain()

    def neg_to_sin(b, n, ins):
        return b.op("sin", ins[0]) if n.op == "neg" else None
    g2, new = rewrite(g, neg_to_sin)
    g2.verify()
    y2 = g2.node("y")
    assert y2.op == "sin" and y2.name == "y" and y2.scope == "lay"
    assert g2.node("z").inputs == (y2,) and g2.node("z") is not g.node("z")
    assert new[g.node("y").id] is y2
    assert dict(g2.layers) == {"lay": ("L", y2.id)}  # the layer still returns its value
    x = np.array([0.1, -0.5, 2.0])
    np.testing.assert_allclose(Session(g2).run("z", {"x": x}), np.exp(np.sin(np.tanh(x))))


def test_a_rule_may_return_a_node_already_in_the_new_graph():
    g = chain()

    def drop_neg(b, n, ins):
        return ins[0] if n.op == "neg" else None  # y becomes tanh(x), which keeps no name
    g2, new = rewrite(g, drop_neg)
    g2.verify()
    tanh = g.nodes[1]
    assert g2.node("y") is tanh and tanh.name is None
    assert [n.op for n in g2.nodes] == ["placeholder", "tanh", "exp"]
    assert new[g.node("y").id] is tanh


def test_prune_keeps_named_values_inputs_and_what_they_need():
    b = Builder("g")
    x = b.bind("x", b.add("placeholder", (), {"default": None}, type=TensorType("f64", (2,)),
                          name="x"), AT)
    unused_var = b.add("variable", (), {"init": ("zeros", ())}, type=TensorType("f64", (2,)),
                       name="v")
    c = b.constant(3.0, "f64")
    dead = b.op("multiply", x, c)
    b.op("exp", dead)
    kept = b.op("tanh", x)
    y = b.bind("y", b.op("neg", x), AT)
    g = b.finish()
    pruned = prune(g)
    assert pruned.nodes == (x, unused_var, y)
    assert prune(g, keep=[kept]).nodes == (x, unused_var, kept, y)
    assert dict(prune(g).names) == dict(g.names)


def test_prune_carries_the_graphs_fields():
    g = chain()
    pruned = prune(g)
    assert pruned.nodes == g.nodes
    assert (pruned.span, pruned.warnings, dict(pruned.layers)) == (
        g.span, g.warnings, dict(g.layers))
