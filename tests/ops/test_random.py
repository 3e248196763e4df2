"""Random ops: draws from the session's seeded generator, fresh every run, bit-identical for one
seed; dropout exactly x outside training and its gradient on the forward's mask; never folded or
merged; the distributions they promise; their mistakes located."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import ShapeError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY
from tensorlang.ops import random as R
from tensorlang.runtime.session import Session
from tensorlang.transforms.autodiff import gradients
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


# ------------------------------------------------------ the module's functions on their own
# ops/random.py: draws are those of PCG64 seeded with (key, salt): the same key and salt give
# the same draws, another gives others; uniform and normal draws have their range and moments,
# dropout keeps 1 - rate of the elements scaled by 1 / (1 - rate) and its gradient uses the same
# mask, categorical draws classes with probabilities softmax(logits); the shape rules' checks;
# and in a session, every run draws afresh while a seed replays the runs.


N = D.Dim.sym("N")
KEY = np.int64(12345)


def k(op, *arrays, **attrs):
    return REGISTRY[op].kernel(*arrays, **attrs)


def test_the_generator_is_pcg64_seeded_with_key_and_salt():
    want = np.random.Generator(np.random.PCG64((12345, 3))).random(4)
    np.testing.assert_array_equal(R.generator(KEY, 3).random(4), want)


def test_the_same_key_and_salt_draw_the_same_and_others_differ():
    a = k("random_normal", KEY, shape=(100,), salt=1)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, k("random_normal", KEY, shape=(100,), salt=1))
    assert not np.array_equal(a, k("random_normal", KEY, shape=(100,), salt=2))
    assert not np.array_equal(a, k("random_normal", np.int64(1), shape=(100,), salt=1))


def test_uniform_and_normal_draws():
    u = k("random_uniform", KEY, shape=(20000,), low=-1.0, high=3.0, dtype="f64", salt=1)
    assert u.dtype == np.float64 and u.min() >= -1 and u.max() < 3
    assert abs(u.mean() - 1.0) < 0.05 and abs(u.var() - 16 / 12) < 0.05
    g = k("random_normal", KEY, shape=(20000,), mean=2.0, std=0.5, dtype="f64", salt=1)
    assert abs(g.mean() - 2.0) < 0.02 and abs(g.std() - 0.5) < 0.02
    with pytest.raises(ValueError, match="needs low <= high"):
        k("random_uniform", KEY, shape=(2,), low=1.0, high=0.0)
    with pytest.raises(ValueError, match="needs std >= 0"):
        k("random_normal", KEY, shape=(2,), std=-1.0)


def test_dropout_zeroes_and_scales():
    x = np.full((200, 100), 2.0, np.float32)
    y = k("dropout", KEY, x, rate=0.25, salt=4)
    assert y.dtype == np.float32 and set(np.unique(y)) == {0.0, np.float32(2.0 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02
    same = k("dropout", KEY, x, rate=0.25, salt=4)
    np.testing.assert_array_equal(y, same)
    none = k("dropout", KEY, x, rate=0.0)
    assert np.array_equal(none, x) and none is not x


def test_categorical_draws_by_softmax_and_never_an_impossible_class():
    with np.errstate(divide="ignore"):
        logits = np.log(np.array([[0.2, 0.5, 0.3, 0.0]] * 30000))  # the last class: -inf
    ids = k("categorical", KEY, logits, axis=1, salt=1)
    assert ids.dtype == np.int64 and ids.shape == (30000,)
    freq = np.bincount(ids, minlength=4) / len(ids)
    np.testing.assert_allclose(freq, [0.2, 0.5, 0.3, 0.0], atol=0.01)
    assert freq[3] == 0
    by_rows = k("categorical", KEY, np.zeros((2, 5, 3)), axis=1, salt=2)
    assert by_rows.shape == (2, 3) and by_rows.max() < 5


def test_shape_rules_and_their_checks():
    b = Builder("g")
    key = b.random_key()
    assert key is b.random_key() and key.type == TensorType("i64", ())
    r = b.op("random_normal", key, shape=(N, 3))
    assert r.type == TensorType("f32", (N, 3)) and r.attrs["salt"] >= 1
    assert b.op("random_uniform", key, shape=(2,)).attrs["salt"] != r.attrs["salt"]
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f32", (N, 4)), name="x")
    assert b.op("categorical", key, x).type == TensorType("i64", (N,))
    for call, message in [
        (lambda: b.op("random_normal", key, shape=(2,), dtype="i32"), "draws are floats"),
        (lambda: b.op("random_normal", b.constant(1, "i32"), shape=(2,)),
         r"the key must be an i64 scalar, not i32\[\]"),
        (lambda: b.op("dropout", key, x, rate=1.0), r"the rate must lie in \[0, 1\), not 1.0"),
        (lambda: b.op("dropout", key, b.constant([1, 2], "i32"), rate=0.5),
         "dropout needs a float tensor, not i32"),
        (lambda: b.op("categorical", key, b.constant(1.0, "f32")), "out of range for rank 0"),
        (lambda: b.op("categorical", key, b.constant(np.zeros((2, 0)), "f32")),
         "at least one class"),
    ]:
        with pytest.raises(ShapeError, match=message):
            call()


def graph_with_dropout():
    b = Builder("g")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f64", (N, 50)), name="x")
    b.bind("x", x, x.span)
    d = b.bind("d", b.op("dropout", b.random_key(), x, rate=0.5), x.span)
    w = b.constant(np.arange(50.0))
    (gx,) = gradients(b, b.op("sum", b.op("multiply", d, w)), [x])
    b.bind("gx", gx, x.span)
    return b.finish()


def test_the_gradient_of_dropout_uses_the_forward_mask():
    sess = Session(graph_with_dropout(), seed=3)
    d, gx = sess.run(["d", "gx"], {"x": np.ones((4, 50))})
    kept = d != 0
    np.testing.assert_array_equal(gx, np.where(kept, 2.0 * np.arange(50.0), 0.0))


def test_every_run_draws_afresh_and_a_seed_replays_the_runs():
    g = graph_with_dropout()
    x = {"x": np.ones((4, 50))}
    one, two = Session(g, seed=3), Session(g, seed=3)
    first = one.run("d", x)
    assert not np.array_equal(first, one.run("d", x))  # a new key every run
    np.testing.assert_array_equal(first, two.run("d", x))
    assert not np.array_equal(first, Session(g, seed=4).run("d", x))


def test_random_ops_are_flagged_and_carry_no_gradient_but_dropouts():
    for op in ("random_uniform", "random_normal", "dropout", "categorical"):
        assert REGISTRY[op].random and REGISTRY[op].family == "random"
    assert REGISTRY["dropout"].grad is not None and REGISTRY["dropout"].inference_identity
    assert not REGISTRY["random_normal"].differentiable
