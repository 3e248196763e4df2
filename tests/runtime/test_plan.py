"""Execution plans: only the needed nodes, in topological order; buffers released after their last
use (watched at run time through weak references); one plan per fetch set; symbolic attributes
made concrete once per distinct binding."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.ir.traversal import needed
from tensorlang.runtime import session as execute
from tensorlang.runtime.plan import make_plan


def graph(body: str) -> tl.Graph:
    """A graph `g` compiled from its body."""
    return tl.compile(f"graph g {{\n{body}\n}}\n").graphs["g"]


def chain(n: int) -> tl.Graph:
    """x -> y1 -> ... -> yn, each a tanh of the one before."""
    lines = ["placeholder x: f32[8, 8]", "y0 = x"]
    lines += [f"y{i} = tanh(y{i - 1})" for i in range(1, n + 1)]
    return graph("\n".join(lines))


def watch(plan) -> list[int]:
    """Wrap each kernel of the plan so that, before every call, it records how many of the
    arrays computed by the plan's earlier steps are still alive (distinct arrays: a step that
    writes into a dead buffer returns that same array); returns that record."""
    alive: list = []
    record: list[int] = []
    for step in plan.steps:
        fn = step.fn

        def wrapped(*args, _fn=fn, **kw):
            record.append(len({id(a) for r in alive if (a := r()) is not None}))
            out = _fn(*args, **kw)
            alive.append(weakref.ref(out))
            return out

        step.fn = wrapped  # before the first run: the concrete schedule is made from steps
    return record


def test_needed_is_the_ancestors_in_topological_order():
    g = graph("""
    placeholder x: f32[3]
    a = sin(x)
    b = cos(x)
    c = a * 2
    d = c + a
    """)
    got = needed([g.node("d")])
    assert [n.label() for n in got if n.name] == ["x", "a", "c", "d"]
    ids = [n.id for n in got]
    assert ids == sorted(ids)
    for n in got:
        assert all(i in got for i in n.inputs)


def test_a_long_chain_keeps_few_buffers_alive():
    g = chain(60)
    sess = tl.Session(g)
    plan = sess.plan(["y60"])
    record = watch(plan)
    x = np.random.default_rng(0).normal(size=(8, 8)).astype(np.float32)
    got = sess.run("y60", {"x": x})
    want = x
    for _ in range(60):
        want = np.tanh(want)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert len(record) == 60
    # at each kernel call only its input (the previous result) is still alive
    assert max(record) <= 1


def test_the_watch_sees_buffers_that_are_kept():
    # fetching every link keeps every buffer alive: the instrument above can see a leak
    g = chain(20)
    sess = tl.Session(g)
    plan = sess.plan([f"y{i}" for i in range(1, 21)])
    record = watch(plan)
    sess.run([f"y{i}" for i in range(1, 21)], {"x": np.zeros((8, 8))})
    assert record == list(range(20))


def test_a_value_is_freed_after_its_last_use_not_its_first():
    g = graph("""
    placeholder x: f32[3]
    a = tanh(x)
    b = a * 2
    c = exp(b)
    d = c + a
    """)
    plan = make_plan([g.node("d")])
    slot = {n.id: i for i, n in enumerate(plan.nodes)}
    freed_at = {s: k for k, st in enumerate(plan.steps) for s in st.free}
    kernel_of = {st.out: k for k, st in enumerate(plan.steps)}
    a, b, c, d = (slot[g.node(n).id] for n in "abcd")
    assert freed_at[a] == kernel_of[d]  # a is read again by d
    assert freed_at[b] == kernel_of[c]
    assert freed_at[c] == kernel_of[d]
    assert d not in freed_at  # the fetch is kept
    assert slot[g.node("x").id] not in freed_at  # sources belong to the caller
    every = [s for st in plan.steps for s in st.free]
    assert len(every) == len(set(every))  # freed once


def test_the_plan_is_built_once_per_fetch_set(monkeypatch):
    made = []
    real = execute.make_plan
    monkeypatch.setattr(execute, "make_plan", lambda nodes: made.append(nodes) or real(nodes))
    g = graph("""
    placeholder x: f32[N]
    a = x * 2
    b = a + 1
    """)
    sess = tl.Session(g)
    for n in range(1, 6):
        np.testing.assert_allclose(sess.run(["a", "b"], {"x": np.arange(n)}),
                                   [np.arange(n) * 2, np.arange(n) * 2 + 1])
    assert len(made) == 1
    assert sess.plan(["a", "b"]) is sess.plan([g.node("a"), g.node("b")])
    assert len(made) == 1  # the same fetches by node hit the same plan
    sess.run(["b", "a"], {"x": [1.0]})
    assert len(made) == 2  # another order is another fetch set


def test_symbolic_attributes_are_made_concrete_per_binding():
    g = graph("""
    placeholder x: f32[N, 3]
    z = zeros([N, 2])
    flat = reshape(x, [3 * N])
    """)
    sess = tl.Session(g)
    plan = sess.plan(["z", "flat"])
    assert plan.symbolic
    for n in (2, 5, 2, 5):
        x = np.arange(3 * n, dtype=np.float32).reshape(n, 3)
        z, flat = sess.run(["z", "flat"], {"x": x})
        assert z.shape == (n, 2) and not z.any()
        np.testing.assert_array_equal(flat, x.ravel())
    assert plan.resolutions == 2  # one concrete schedule for N=2, one for N=5, both reused


def test_a_plan_without_symbolic_attributes_is_made_concrete_once():
    g = graph("""
    placeholder x: f32[N, 3]
    s = sum(x, axis = 1)
    """)
    sess = tl.Session(g)
    for n in (1, 2, 3):
        np.testing.assert_allclose(sess.run("s", {"x": np.ones((n, 3))}), np.full(n, 3.0))
    assert not sess.plan(["s"]).symbolic
    assert sess.plan(["s"]).resolutions == 1


def test_constants_are_not_freed_between_runs():
    g = graph("""
    placeholder x: f32[2]
    constant c: f32[2] = [10, 20]
    y = tanh(x) + c
    """)
    sess = tl.Session(g)
    for _ in range(3):
        np.testing.assert_allclose(sess.run("y", {"x": [0, 0]}), [10, 20])


@pytest.mark.parametrize("fetch", [["a"], ["a", "a"], ["x", "a"]])
def test_fetching_sources_and_duplicates(fetch):
    g = graph("""
    placeholder x: f32[2]
    a = x + 1
    """)
    out = tl.Session(g).run(fetch, {"x": [1, 2]})
    want = {"x": [1, 2], "a": [2, 3]}
    for name, value in zip(fetch, out):
        np.testing.assert_allclose(value, want[name])
