"""ir/traversal.py: the one walk back from the roots (ancestors, needed in creation order) and
who reads what (users)."""

from __future__ import annotations

from tensorlang.ir.graph import Builder
from tensorlang.ir.traversal import ancestors, needed, users
from tensorlang.ir.types import TensorType


def diamond():
    """x -> a, b -> c; d from x alone; e unused; a constant k feeding b."""
    bld = Builder("g")
    x = bld.add("placeholder", (), {"default": None}, type=TensorType("f64", (3,)), name="x")
    k = bld.constant(2.0, "f64")
    a = bld.op("tanh", x)
    b = bld.op("multiply", x, k)
    c = bld.op("add", a, b)
    d = bld.op("exp", x)
    e = bld.op("neg", d)
    return bld, dict(x=x, k=k, a=a, b=b, c=c, d=d, e=e)


def test_ancestors_are_the_roots_and_everything_they_depend_on():
    _, n = diamond()
    assert ancestors([n["c"]]) == {n[k].id for k in "xkabc"}
    assert ancestors([n["a"], n["d"]]) == {n[k].id for k in "xad"}
    assert ancestors([n["x"]]) == {n["x"].id}
    assert ancestors([]) == set()


def test_needed_lists_them_once_in_creation_order():
    _, n = diamond()
    assert needed([n["c"], n["a"], n["c"]]) == [n[k] for k in "xkabc"]
    assert needed([n["e"]]) == [n[k] for k in "xde"]


def test_a_long_chain_is_walked_without_recursion():
    bld = Builder("g")
    y = bld.constant(1.0, "f64")
    first = y
    for _ in range(5000):
        y = bld.op("neg", y)
    assert needed([y])[0] is first and len(ancestors([y])) == 5001


def test_users_lists_the_readers_of_each_node_in_graph_order():
    bld, n = diamond()
    u = users(bld.nodes)
    assert u[n["x"].id] == [n["a"], n["b"], n["d"]]
    assert u[n["a"].id] == [n["c"]] and u[n["d"].id] == [n["e"]]
    assert n["c"].id not in u and n["e"].id not in u  # nothing reads them


def test_a_node_reading_one_input_twice_is_listed_twice():
    bld = Builder("g")
    x = bld.constant([1.0, 2.0], "f64")
    sq = bld.op("multiply", x, x)
    assert users([x, sq])[x.id] == [sq, sq]
