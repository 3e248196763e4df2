"""Buffer reuse in plans: a step that writes into a dead buffer (out=) gives exactly what the plan
without reuse gives, never writes into a buffer that a live value, a fetched value, a feed or a
variable still uses (views included), and training steps update variables without touching arrays
the user holds. Checked on hand-made graphs, on random graphs (hypothesis), and for every op
whose record says it can write into a given buffer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlang as tl
from tensorlang.ops import REGISTRY
from tensorlang.runtime.plan import make_plan
from tensorlang.transforms.autodiff import backward
from tensorlang.transforms.passes import optimize

from ..opgraph import one_op


def graph(body: str) -> tl.Graph:
    """A graph `g` compiled from its body."""
    return tl.compile(f"graph g {{\n{body}\n}}\n").graphs["g"]


def run_checked(sess: tl.Session, fetches, feed, reuse=True) -> list:
    """Run a plan step by step like Session.execute, checking before every write into a reused
    buffer that no value still needed afterwards (or fetched, fed, or a variable) shares its
    memory; returns the fetched values."""
    nodes = [sess._node(f) for f in fetches]
    plan = make_plan(nodes, reuse=reuse)
    env, fed = sess.bind(plan, feed)
    slots = plan.template.copy()
    for s, arr in fed:
        slots[s] = arr
    for s, v in plan.variables:
        slots[s] = sess.variables[v.name]
    protected = [slots[s] for s, _ in fed] + [slots[s] for s, _ in plan.variables]
    later_uses = {}
    for k, step in enumerate(plan.steps):
        for i in step.ins:
            later_uses[i] = k
    donations = 0
    with np.errstate(all="ignore"):
        for call in plan.concrete_steps(env, reuse=reuse):
            fn, ins, out, free, k, o = call.fn, call.ins, call.out, call.free, call.k, call.donor
            if o >= 0:
                donations += 1
                buf = slots[o]
                for s, v in enumerate(slots):
                    if s == o or v is None or not isinstance(v, np.ndarray):
                        continue
                    needed_later = later_uses.get(s, -1) > k or s in plan.fetch_slots
                    other_input = s in ins and s != o
                    if needed_later or other_input:
                        assert not np.shares_memory(buf, v), \
                            f"step {k} ({plan.steps[k].node.op}) writes into a live buffer"
                for p in protected:
                    assert not np.shares_memory(buf, p), "a feed or a variable is written"
                args = [slots[i] for i in ins]
                slots[out] = fn(*args, out=buf)
                assert slots[out] is buf
            else:
                slots[out] = fn(*[slots[i] for i in ins])
            for f in free:
                slots[f] = None
    plan_donations.append(donations)
    return [slots[s] for s in plan.fetch_slots]


plan_donations: list[int] = []


def same(a, b) -> None:
    """Bitwise the same arrays (NaN where NaN, same dtype and shape)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ hand-made graphs
def test_a_chain_updates_in_place_and_matches_the_plan_without_reuse():
    g = graph("""
    placeholder x: f32[4, 5]
    a = tanh(x)
    b = a * 2.0
    c = exp(b) - a
    d = c / 3.0
    """)
    sess = tl.Session(g)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    keep = x.copy()
    plan = make_plan([g.node("d")])
    # tanh reads the feed, a * 2 keeps a (c reads it again): both allocate; exp(b), - a and
    # / 3 each write into their first input, which dies right there
    assert [s.donor >= 0 for s in plan.steps] == [False, False, True, True, True]
    assert [s.donor for s in plan.steps[2:]] == [s.ins[0] for s in plan.steps[2:]]
    got = run_checked(sess, ["d"], {"x": x})[0]
    want = run_checked(sess, ["d"], {"x": x}, reuse=False)[0]
    same(got, want)
    np.testing.assert_allclose(got, (np.exp(np.tanh(x) * 2) - np.tanh(x)) / 3, rtol=1e-6)
    same(x, keep)  # the caller's array is never a buffer to write into
    same(sess.run("d", {"x": x}), want)


def test_a_view_keeps_its_buffer_alive():
    # t dies at v (a view of it) but v is read later: no step may write into t's memory before
    g = graph("""
    placeholder x: f64[3, 3]
    t = tanh(x)
    v = transpose(t)
    u = exp(x) + 1.0
    w = u * 2.0
    y = w + v
    """)
    sess = tl.Session(g)
    x = np.arange(9.0).reshape(3, 3) / 9
    got = run_checked(sess, ["y"], {"x": x})[0]
    np.testing.assert_allclose(got, (np.exp(x) + 1) * 2 + np.tanh(x).T, rtol=1e-12)
    plan = make_plan([g.node("y")])
    t = plan.nodes.index(g.node("t"))
    k_y = [s.node.name for s in plan.steps].index("y")
    assert all(s.donor != t for s in plan.steps[:k_y])


def test_a_buffer_another_input_views_is_not_written_in_place():
    g = graph("""
    placeholder x: f64[3, 4]
    a = tanh(x)
    b = reshape(reshape(a, [12]), [3, 4])
    c = a * b
    """)
    x = np.random.default_rng(2).normal(size=(3, 4))
    got = run_checked(tl.Session(g), ["c"], {"x": x})[0]
    np.testing.assert_allclose(got, np.tanh(x) ** 2, rtol=1e-12)
    plan = make_plan([g.node("c")])
    assert plan.steps[-1].donor == -1  # a dies at c, but b (a view of it) is read there too


def test_fetched_values_are_never_written_again():
    g = graph("""
    placeholder x: f32[8]
    a = x + 1.0
    b = a * 3.0
    c = b - 2.0
    d = c * c
    """)
    sess = tl.Session(g)
    x = np.linspace(-1, 1, 8, dtype=np.float32)
    a, c, d = sess.run(["a", "c", "d"], {"x": x})
    np.testing.assert_allclose(a, x + 1)
    np.testing.assert_allclose(c, (x + 1) * 3 - 2)
    np.testing.assert_allclose(d, ((x + 1) * 3 - 2) ** 2, rtol=1e-6)
    assert not np.shares_memory(a, c) and not np.shares_memory(c, d)
    a2 = sess.run("a", {"x": x * 0})  # another run allocates afresh: the first results stand
    np.testing.assert_allclose(a, x + 1)
    np.testing.assert_allclose(a2, np.ones(8))


def test_an_op_that_reads_an_input_after_writing_gets_no_input_as_its_buffer():
    # linear(x, W, b) writes x @ W before adding b: b (a dying matmul result of the same shape)
    # must not be its buffer. This graph once gave wrong gradients through exactly that.
    g = graph("""
    placeholder x: f64[N, 3]
    variable W: f64[3, 3] = normal()
    variable v: f64[3] = normal()
    t3 = x @ W + v
    t5 = t3 @ W + v
    t8 = add(x, t5)
    out = sum(t8) + sum(x)
    """)
    opt = optimize(backward(g, "out", [g.node("W"), g.node("v")]))
    assert any(n.op == "linear" for n in opt.nodes)
    x = np.random.default_rng(3).normal(size=(4, 3))
    names = ["out", "grad(out)/W", "grad(out)/v"]
    sess = tl.Session(opt, seed=1)
    for got, want in zip(run_checked(sess, names, {"x": x}),
                         run_checked(sess, names, {"x": x}, reuse=False)):
        same(got, want)


def test_check_numerics_runs_without_reuse_and_shows_the_inputs_as_they_were():
    g = graph("""
    placeholder x: f32[3]
    a = x * 2.0
    b = log(a - 2.0)
    """)
    with pytest.raises(tl.TensorlangError) as e:
        tl.Session(g).run("b", {"x": [0.5, 1.0, 2.0]}, check_numerics=True)
    notes = " ".join(n for n, _ in e.value.notes)
    assert "[-1, 2]" in notes  # a - 2 as it was, not overwritten by the log


# ------------------------------------------------------------------ random graphs
UNARY = ["tanh({a})", "sin({a})", "neg({a})", "abs({a})", "relu({a})", "square({a}) * 0.1",
         "sigmoid({a})", "transpose(transpose({a}))", "reshape(reshape({a}, [12]), [3, 4])",
         "stop_gradient({a})", "where({a} > 0.0, {a}, 0.0)", "where({a} > 0.1, 0.0, {a})",
         "{a} @ W", "cast({a}, f64)", "sum({a}, axis = 0, keepdims = true) + {a}"]
BINARY = ["{a} + {b}", "{a} - {b}", "{a} * {b}", "maximum({a}, {b})", "minimum({a}, {b})",
          "where({a} > {b}, {a}, 0.0) + {b}"]


@st.composite
def programs(draw):
    """A random graph over [3, 4] f64 values (views, in-place candidates, fan-out), and a random
    set of fetches among its values."""
    lines = ["placeholder x: f64[3, 4]", "variable W: f64[4, 4] = normal()", "v0 = x"]
    n = draw(st.integers(3, 14))
    for i in range(1, n + 1):
        a = f"v{draw(st.integers(max(0, i - 4), i - 1))}"
        if draw(st.booleans()):
            expr = draw(st.sampled_from(UNARY)).format(a=a)
        else:
            b = f"v{draw(st.integers(0, i - 1))}"
            expr = draw(st.sampled_from(BINARY)).format(a=a, b=b)
        lines.append(f"v{i} = {expr}")
    names = [f"v{i}" for i in range(n + 1)]
    fetched = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
    if f"v{n}" not in fetched:
        fetched.append(f"v{n}")
    return "\n".join(lines), fetched


@settings(max_examples=60, deadline=None)
@given(programs(), st.integers(0, 3))
def test_random_graphs_give_the_same_values_with_and_without_reuse(program, seed):
    body, fetched = program
    g = graph(body)
    sess = tl.Session(g, seed=seed)
    x = np.random.default_rng(seed).normal(size=(3, 4))
    keep_x, keep_w = x.copy(), sess.variables["W"].copy()
    want = run_checked(sess, fetched, {"x": x}, reuse=False)
    for got, ref in zip(run_checked(sess, fetched, {"x": x}), want):
        same(got, ref)
    for _ in range(4):  # the real executor: its loop, then generated straight-line code
        for got, ref in zip(sess.run(fetched, {"x": x}), want):
            same(got, ref)
    same(x, keep_x)
    same(sess.variables["W"], keep_w)


def test_random_graphs_do_reuse_buffers():
    # the property above would be empty if no step ever wrote into a dead buffer
    plan_donations.clear()
    body = "\n".join(["placeholder x: f64[3, 4]", "v0 = x"] +
                     [f"v{i} = tanh(v{i - 1}) * 0.5" for i in range(1, 6)])
    run_checked(tl.Session(graph(body)), ["v5"], {"x": np.ones((3, 4))})
    assert plan_donations == [10 - 1]  # every step but the first tanh (its input is the feed)


# ------------------------------------------------------------------ generated straight-line code
def test_a_plan_run_often_runs_as_generated_code_with_the_same_results():
    from tensorlang.runtime import session as execute
    ops = [u for u in UNARY if "reshape" not in u]  # N rows: no fixed-size reshape
    body = "\n".join(["placeholder x: f64[N, 4]", "variable W: f64[4, 4] = normal()", "v0 = x"] +
                     [f"v{i} = {u.format(a=f'v{i - 1}')}" for i, u in enumerate(ops, 1)])
    g = graph(body)
    last = f"v{len(ops)}"
    sess = tl.Session(g, seed=1)
    plan = sess.plan([last, "v3"])
    rng = np.random.default_rng(5)
    for n in (3, 3, 5, 3, 5, 2):
        x = rng.normal(size=(n, 4))
        got = sess.run([last, "v3"], {"x": x})
        want = run_checked(sess, [last, "v3"], {"x": x}, reuse=False)
        for a, b in zip(got, want):
            same(a, b)
    # no attribute mentions N: one generated function serves every batch size
    assert plan.runs == 6 > execute.WARM and len(plan._runners) == 1


def test_errors_in_generated_code_are_located_like_in_the_loop():
    g = graph("""
    placeholder a: f64[2, 2]
    b = a * 2.0
    ai = inv(b)
    c = ai + 1.0
    """)
    sess = tl.Session(g)
    for _ in range(4):  # past the warm-up: the generated code runs
        sess.run("c", {"a": [[1.0, 0.0], [0.0, 1.0]]})
    assert sess.plan(["c"])._runners
    with pytest.raises(tl.TensorlangError) as e:
        sess.run("c", {"a": [[1.0, 2.0], [2.0, 4.0]]})
    assert e.value.message.startswith("inv failed at run time")
    assert e.value.span.line == g.node("ai").span.line


def test_generated_code_releases_buffers_after_their_last_use():
    import weakref
    lines = ["placeholder x: f32[8, 8]", "y0 = x"] + [f"y{i} = tanh(y{i - 1}) * 1.5"
                                                     for i in range(1, 31)]
    g = graph("\n".join(lines))
    sess = tl.Session(g)
    plan = sess.plan(["y30"])
    alive: list = []
    record: list[int] = []
    for step in plan.steps:
        def wrapped(*args, _fn=step.fn, **kw):
            record.append(len({id(a) for r in alive if (a := r()) is not None}))
            out = _fn(*args, **kw)
            alive.append(weakref.ref(out))
            return out
        step.fn = wrapped
    x = np.ones((8, 8), np.float32)
    for _ in range(4):
        record.clear()
        alive.clear()  # the fetched result of the run before is the caller's
        got = sess.run("y30", {"x": x})
    assert plan._runners  # the last runs were generated code
    want = x
    for _ in range(30):
        want = np.tanh(want) * np.float32(1.5)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert len(record) == 60 and max(record) <= 1  # one array in flight, updated in place


# ------------------------------------------------------------------ training steps
MLP = """
graph m {
    placeholder x: f32[N, 6]
    placeholder y: i64[N]
    h      = Dense(x, 8, activation = relu)
    logits = Dense(h, 3)
    loss   = mean(softmax_cross_entropy(logits, y))
}
data d {
    x = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
    y = [0]
}
train m {
    data      = d
    minimize  = loss
    optimizer = %s
}
"""


def _step(optimizer: str, reuse: bool):
    from tensorlang.training.step import TrainingStep
    from tensorlang.transforms.optimizers import train_graph
    from tensorlang.transforms.passes import optimize_map
    program = tl.compile(MLP % optimizer)
    spec = program.runs[0]
    sess = tl.Session(program.graphs["m"], seed=0)
    tgraph, updates = train_graph(sess.graph, spec)
    tgraph, moved = optimize_map(tgraph, keep=updates.values())
    updates = {k: moved[v.id] for k, v in updates.items()}
    step = TrainingStep(sess.extend(tgraph), spec, updates, False)
    if not reuse:
        step.plan = make_plan(step.fetch, reuse=False, probes=step.probed)
    return sess, step


@pytest.mark.parametrize("optimizer", ["sgd(lr = 0.1)", "sgd(lr = 0.05, momentum = 0.9)",
                                       "adam(lr = 0.01)"])
def test_training_with_reuse_matches_training_without(optimizer):
    rng = np.random.default_rng(0)
    feeds = [{"x": rng.normal(size=(5, 6)).astype(np.float32), "y": rng.integers(0, 3, 5)}
             for _ in range(4)]
    (_, step1), (_, step2) = _step(optimizer, True), _step(optimizer, False)
    assert any(s.donor >= 0 for s in step1.plan.steps)
    assert not any(s.donor >= 0 for s in step2.plan.steps)
    for feed in feeds:
        for a, b in zip(step1(feed, 1, 1), step2(feed, 1, 1)):
            same(a, b)
    assert set(step1.sess.variables) == set(step2.sess.variables)
    for name in step1.sess.variables:
        same(step1.sess.variables[name], step2.sess.variables[name])


def test_a_fetched_variable_is_not_changed_by_later_steps():
    sess, step = _step("sgd(lr = 0.5)", True)
    w_run = sess.run("h.W")  # the variable's own array
    w_held = sess.variables["h.W"]
    before = w_run.copy()
    rng = np.random.default_rng(1)
    for _ in range(3):
        step({"x": rng.normal(size=(4, 6)).astype(np.float32), "y": rng.integers(0, 3, 4)}, 1, 1)
    same(w_run, before)
    same(w_held, before)
    assert not np.array_equal(sess.variables["h.W"], before)  # the session's value moved on


CNN = """
graph c {
    placeholder x: f32[N, 1, 8, 8]
    placeholder y: i64[N]
    c1     = Conv2D(x, 3, 3, padding = 1, activation = relu)
    p1     = max_pool2d(c1, 2)
    c2     = Conv2D(p1, 4, 3, padding = "same", activation = relu)
    p2     = max_pool2d(c2, 2)
    logits = Dense(flatten(p2), 5)
    loss   = mean(softmax_cross_entropy(logits, y))
}
data d {
    x = [[[[0.0]]]]
    y = [0]
}
train c {
    data      = d
    minimize  = loss
    optimizer = sgd(lr = 0.1)
}
"""


def test_fused_cnn_training_matches_the_unfused_graph():
    from tensorlang.training.step import TrainingStep
    from tensorlang.transforms.optimizers import train_graph
    program = tl.compile(CNN)
    spec = program.runs[0]
    rng = np.random.default_rng(9)
    feeds = [{"x": rng.normal(size=(6, 1, 8, 8)).astype(np.float32), "y": rng.integers(0, 5, 6)}
             for _ in range(3)]
    finals = []
    for fused in (True, False):
        sess = tl.Session(program.graphs["c"], seed=0)
        tgraph, updates = train_graph(sess.graph, spec)
        if fused:
            from tensorlang.transforms.passes import optimize_map
            tgraph, moved = optimize_map(tgraph, keep=updates.values())
            updates = {k: moved[v.id] for k, v in updates.items()}
            ops = {n.op for n in tgraph.nodes}
            assert {"conv2d_bias", "max_pool2d_grad_top", "relu_grad",
                    "softmax_cross_entropy_mean", "softmax_cross_entropy_grad"} <= ops
        step = TrainingStep(sess.extend(tgraph), spec, updates, False)
        losses = [float(step(f, 1, 1)[0]) for f in feeds]
        finals.append((losses, {k: v.copy() for k, v in sess.variables.items()}))
    (l1, v1), (l2, v2) = finals  # f32: the fused kernels may round differently
    np.testing.assert_allclose(l1, l2, rtol=1e-5)
    for k in v1:
        np.testing.assert_allclose(v1[k], v2[k], rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------ op records
WITH_OUT = sorted(n for n, op in REGISTRY.items() if op.memory.out is not None and op.cases)
FRESH = sorted(n for n, op in REGISTRY.items() if op.memory.fresh and op.cases)


def _cases(name):
    return REGISTRY[name].cases(np.random.default_rng(7))


@pytest.mark.parametrize("name", WITH_OUT)
def test_kernels_that_take_out_write_the_same_result_into_it(name):
    op = REGISTRY[name]
    for arrays, attrs in _cases(name):
        for dtype in (np.float64, np.float32):
            args = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
            want = np.asarray(op.kernel(*args, **attrs))
            if want.ndim == 0 or any(a.dtype.kind == "f" and a.dtype != want.dtype
                                     for a in args):
                continue  # the planner only passes out= when the dtypes agree
            buf = np.full(want.shape, np.nan, want.dtype)
            got = op.kernel(*args, out=buf, **attrs)
            assert got is buf
            same(got, want)
            if op.memory.inplace:  # out may be an input of the result's shape and dtype
                for k, a in enumerate(args):
                    if a.shape == want.shape and a.dtype == want.dtype:
                        inputs = [b.copy() for b in args]
                        got = op.kernel(*inputs, out=inputs[k], **attrs)
                        assert got is inputs[k]
                        same(got, want)


@pytest.mark.parametrize("name", FRESH)
def test_fresh_kernels_never_return_memory_of_their_inputs(name):
    op = REGISTRY[name]
    for arrays, attrs in _cases(name):
        node = one_op(name, arrays, attrs)[2]  # the attributes as prepared (index_grad's)
        got = op.kernel(*arrays, **dict(node.attrs))
        if not isinstance(got, np.ndarray) or got.ndim == 0:
            continue
        for a in arrays:
            assert not np.shares_memory(got, a), name
