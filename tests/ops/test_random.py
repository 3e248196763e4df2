"""Random ops: draws from the session's seeded generator, fresh every run, bit-identical for one
seed; dropout exactly x outside training and its gradient on the forward's mask; never folded or
merged; the distributions they promise; their mistakes located."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.transforms.passes import optimize

TRAIN = """
graph g {
    placeholder x: f32[N, 8]
    placeholder y: i64[N]
    h = Dense(x, 16, activation = relu)
    d = Dropout(h, 0.5)
    z = Dense(d, 3)
    loss = mean(softmax_cross_entropy(z, y))
}

data t {
    x = [[1, 0, 0, 1, 0, 1, 1, 0], [0, 1, 1, 0, 1, 0, 0, 1], [1, 1, 0, 0, 1, 1, 0, 0],
         [0, 0, 1, 1, 0, 0, 1, 1], [1, 0, 1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 1, 0, 1]]
    y = [0, 1, 2, 0, 1, 2]
}

train g {
    data = t
    minimize = loss
    optimizer = adam(lr = 0.05)
    epochs = 5
    batch = 2
    seed = 0
}
"""


def _trained(seed):
    p = tl.compile(TRAIN)
    ctx_out = io.StringIO()
    result = p.run(quiet=True, out=ctx_out, seed=seed)[0]
    return result


def test_the_same_seed_trains_bit_for_bit_and_another_differs():
    a, b, c = _trained(0), _trained(0), _trained(1)
    assert [h["metrics"]["loss"] for h in a.history] == [h["metrics"]["loss"] for h in b.history]
    assert [h["metrics"]["loss"] for h in a.history] != [h["metrics"]["loss"] for h in c.history]


def _graph(body, training=True):
    p = tl.compile("graph g {\n    placeholder x: f64[N, 6]\n" + body + "\n}\n")
    return p.training_graph("g") if training else p.graphs["g"]


def test_draws_are_fresh_every_run_and_replayed_by_the_seed():
    g = _graph("    r = random_uniform([N, 6])\n    n = random_normal([4], std = 2)")
    x = np.zeros((3, 6))
    s = tl.Session(g, seed=5)
    first, second = s.run("r", {"x": x}), s.run("r", {"x": x})
    assert first.shape == (3, 6) and not np.array_equal(first, second)
    again = tl.Session(g, seed=5)
    assert np.array_equal(again.run("r", {"x": x}), first)


def test_dropout_is_x_outside_training_and_scaled_inside():
    x = np.random.default_rng(0).normal(size=(50, 6)) + 3
    inf = tl.Session(_graph("    d = dropout(x, 0.3)", training=False))
    assert np.array_equal(inf.run("d", {"x": x}), x)
    d = tl.Session(_graph("    d = dropout(x, 0.3)")).run("d", {"x": x})
    kept = d != 0
    np.testing.assert_allclose(d[kept], x[kept] / 0.7)
    assert 0.6 < kept.mean() < 0.8


def test_the_gradient_through_dropout_uses_the_forwards_mask():
    g = _graph("    d = dropout(x, 0.5)\n    loss = sum(d * x)\n    dx = grad(loss, x)")
    x = np.random.default_rng(1).uniform(1, 2, size=(40, 6))
    d, dx = tl.Session(g, seed=2).run(["d", "dx"], {"x": x})
    mask = (d != 0) / 0.5
    np.testing.assert_allclose(dx, 2 * mask * x)  # d(mask * x * x)/dx, the same mask


def test_random_ops_are_never_folded_or_merged():
    g = _graph("    a = random_uniform([3])\n    b = random_uniform([3])\n    c = a - b")
    opt = optimize(g)
    assert [n.op for n in opt.nodes].count("random_uniform") == 2
    a, b = tl.Session(opt).run(["a", "b"], {"x": np.zeros((1, 6))})
    assert not np.array_equal(a, b)


def test_the_distributions():
    x = np.zeros((1, 6))
    g = _graph("    u = random_uniform([20000], low = -1, high = 3)\n"
               "    n = random_normal([20000], mean = 1, std = 2)\n"
               "    c = categorical(broadcast_to(log([0.2, 0.5, 0.3]), [30000, 3]))")
    u, n, c = tl.Session(g, seed=3).run(["u", "n", "c"], {"x": x})
    assert u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.05
    assert abs(n.mean() - 1) < 0.05 and abs(n.std() - 2) < 0.05
    freq = np.bincount(c, minlength=3) / len(c)
    np.testing.assert_allclose(freq, [0.2, 0.5, 0.3], atol=0.01)
    assert c.dtype == np.int64


@pytest.mark.parametrize("body, message", [
    ("d = dropout(x, 1.0)", "the rate must lie in [0, 1), not 1.0"),
    ("d = Dropout(x, -0.1)", "the rate must lie in [0, 1), not -0.1"),
    ("r = random_uniform([3, -2])", "cannot be negative"),
    ("r = random_normal([3, 2.5])", "must be a list of dims"),
    ("c = categorical(cast(x, i32))", "categorical samples from float logits, not i32"),
])
def test_random_mistakes_are_located_in_both_modes(body, message):
    for training in (False, True):
        with pytest.raises(tl.TensorlangError) as e:
            p = tl.compile(f"graph g {{\n    placeholder x: f32[N, 6]\n    {body}\n}}\n", "r.tl")
            if training:
                p.training_graph("g")
        assert message in e.value.message and e.value.line == 3
