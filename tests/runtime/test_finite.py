"""first_nonfinite: exact (a NaN or an infinity at every position of every kind of value is
found, finite values whose squares overflow are not blamed), against np.isfinite as the
reference; and on a real training step's results, where a NaN anywhere in a new variable value
is caught and the re-run with check_numerics names the node that made it."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import RuntimeNumericsError
from tensorlang.runtime.finite import first_nonfinite
from tensorlang.transforms.optimizers import train_graph


def reference(values) -> int | None:
    return next((i for i, v in enumerate(values) if not np.isfinite(np.asarray(v)).all()), None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_a_nan_or_inf_at_every_position_is_found(dtype):
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(7, 5)).astype(dtype), np.asarray(1.5, dtype),
              rng.normal(size=13).astype(dtype)]
    assert first_nonfinite(values) is None
    for k, v in enumerate(values):
        for pos in range(v.size):
            for bad in (np.nan, np.inf, -np.inf):
                w = v.copy()
                w.reshape(-1)[pos] = bad
                got = first_nonfinite(values[:k] + [w] + values[k + 1:])
                assert got == k == reference(values[:k] + [w] + values[k + 1:])


def test_big_arrays_first_and_last_elements_and_the_first_bad_value_wins():
    v = np.ones((300, 70), np.float32)
    for pos in (0, 1, 12345, v.size - 1):
        w = v.copy()
        w.reshape(-1)[pos] = np.nan
        assert first_nonfinite([v, w, w]) == 1
    assert first_nonfinite([v, v.T, v[:, ::3]]) is None  # views, not contiguous: copies


def test_probes_of_every_float_kind_are_tested_exactly():
    from tensorlang.runtime.finite import probes_finite
    finite = [np.float32(3e38), np.float64(0.0), np.asarray(-1.5, np.float32), 2.0]
    assert probes_finite(finite) and probes_finite([])
    for bad in (np.nan, np.inf, -np.inf):
        for k in range(len(finite)):
            kind = type(finite[k])
            probe = np.asarray(bad, np.float32) if kind is np.ndarray else kind(bad)
            assert not probes_finite(finite[:k] + [probe] + finite[k + 1:])


def test_overflowing_squares_ints_bools_and_python_scalars():
    huge = np.full((100, 100), 1e30, np.float32)  # finite, its squares overflow f32
    assert first_nonfinite([huge, -huge, np.float32(3e38), 1e300]) is None
    assert first_nonfinite([np.arange(10), np.ones(3, bool), 7, 2.5, np.float64(1)]) is None
    assert first_nonfinite([1.0, float("nan")]) == 1
    assert first_nonfinite([np.float32(np.inf)]) == 0
    zero_d = [np.asarray(2.0, np.float32), np.asarray(np.float64(1e300))]  # losses: 0-d arrays
    assert first_nonfinite(zero_d) is None
    assert first_nonfinite([*zero_d, np.asarray(np.nan, np.float32)]) == 2
    assert first_nonfinite([np.asarray(-np.inf), *zero_d]) == 0
    assert first_nonfinite([]) is None


MLP = """
graph mlp {
    placeholder x: f64[N, 3]
    placeholder y: i64[N]
    h = Dense(x, 4, activation = tanh)
    logits = Dense(h, 2)
    loss = mean(softmax_cross_entropy(logits, y))
}
data d {
    x = [[0.0, 0.0, 0.0]]
    y = [0]
}
train mlp {
    data = d
    minimize = loss
    optimizer = sgd(lr = 0.1)
}
"""


def step_session():
    program = tl.compile(MLP, "mlp.tl")
    spec = program.runs[0]
    base = tl.Session(program.graphs["mlp"], seed=0)
    tgraph, updates = train_graph(base.graph, spec)
    sess = base.extend(tgraph)
    names = list(updates)
    return sess, sess.plan([tgraph.node("loss")] + [updates[k] for k in names]), names


def test_a_nan_anywhere_in_a_new_value_is_caught():
    sess, plan, names = step_session()
    rng = np.random.default_rng(1)
    feed = {"x": rng.normal(size=(4, 3)), "y": np.array([0, 1, 1, 0])}
    values = sess.execute(plan, feed)
    assert first_nonfinite(values) is None
    for k in range(1, len(values)):  # every position of every new variable value
        for pos in range(values[k].size):
            bad = [v.copy() for v in values]
            bad[k].reshape(-1)[pos] = np.nan
            assert first_nonfinite(bad) == k, (names[k - 1], pos)


def test_a_nan_fed_anywhere_is_caught_and_its_node_named():
    sess, plan, _ = step_session()
    rng = np.random.default_rng(2)
    for pos in range(12):
        x = rng.normal(size=(4, 3))
        x.reshape(-1)[pos] = np.nan
        values = sess.execute(plan, {"x": x, "y": np.array([0, 1, 1, 0])})
        assert first_nonfinite(values) is not None  # every new value of h's weights is NaN
        with pytest.raises(RuntimeNumericsError, match="produced NaN") as info:
            sess.execute(plan, {"x": x, "y": np.array([0, 1, 1, 0])}, check_numerics=True)
        assert info.value.line == 5  # h = Dense(x, 4, ...): the first node with a NaN


def test_plan_probes_come_after_the_fetches_and_catch_a_nan_anywhere():
    from tensorlang.runtime.finite import probes_finite, square_norm
    sess, plan, names = step_session()
    updates = [plan.nodes[s] for s in plan.fetch_slots[1:]]
    probed = sess.plan([plan.nodes[s] for s in plan.fetch_slots], probes=updates)
    assert probed is sess.plan([plan.nodes[s] for s in plan.fetch_slots], probes=updates)
    feed = {"x": np.random.default_rng(3).normal(size=(4, 3)), "y": np.array([0, 1, 1, 0])}
    sess.random.fixed = 1
    values = sess.execute(probed, feed)
    want = sess.execute(plan, feed)
    n = len(want)
    assert len(values) == n + len(updates)
    for got, ref in zip(values[:n], want):
        np.testing.assert_array_equal(got, ref)  # the same values, the probes after them
    for probe, value in zip(values[n:], want[1:]):
        assert probe == pytest.approx(float(np.sum(value.astype(np.float64) ** 2)), rel=1e-5)
    assert probes_finite(values[n:])
    # every generated run checks the same way (plans switch to generated code after a few)
    for _ in range(5):
        assert probes_finite(sess.execute(probed, feed)[n:])
    for k, value in enumerate(want[1:]):
        for pos in range(value.size):
            bad = value.copy()
            bad.reshape(-1)[pos] = np.nan
            assert not probes_finite([square_norm(v) for v in want[1:k + 1]] +
                                     [square_norm(bad)])


def test_probes_do_not_trip_check_numerics_on_finite_values_whose_squares_overflow():
    g = tl.compile("graph g {\n    placeholder x: f32[4]\n    y = x * 2.0\n}\n", "t.tl").graphs["g"]
    sess = tl.Session(g)
    plan = sess.plan(["y"], probes=["y"])
    x = np.full(4, 1e30, np.float32)
    y, probe = sess.execute(plan, {"x": x}, check_numerics=True)
    np.testing.assert_array_equal(y, x * 2)
    assert not np.isfinite(probe)  # the squares overflow: the exact check then decides
    assert first_nonfinite([y]) is None
