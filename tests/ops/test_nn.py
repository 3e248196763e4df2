"""Neural ops beyond the generated tests: label conventions and their shape rules at symbolic
dims, stability at logits of +-1e4, clipping, gradients into soft labels, second order."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import ShapeError, TensorlangError
from tensorlang.ir import dims as D
from tensorlang.ir.types import TensorType, from_numpy
from tensorlang.ops import REGISTRY
from tensorlang.runtime.session import Session
from tensorlang.transforms.autodiff import gradients

from ..opgraph import fed_grad
from .test_linalg import graph, shape_of, weighted_sum

N = D.Dim.sym("N")
LOSSES = ["softmax_cross_entropy", "cross_entropy", "binary_cross_entropy",
          "sigmoid_cross_entropy", "mse"]
# underflow of exp(-2e4) to 0 is the right answer, so only overflow, 0/0 and log(0) are errors
STRICT = {"over": "raise", "divide": "raise", "invalid": "raise"}


def kernel(op, *arrays, **attrs):
    """The op's kernel on arrays, with attrs normalized as the Builder would."""
    b, xs = graph(**{f"x{i}": (from_numpy(a.dtype), a.shape) for i, a in enumerate(arrays)})
    node = b.op(op, *xs.values(), **attrs)
    return REGISTRY[op].kernel(*arrays, **dict(node.attrs))


# ------------------------------------------------------------------ shape rules


@pytest.mark.parametrize("labels, out", [
    (("u8", (N,)), ("f32", (N,))),
    (("i32", (N,)), ("f32", (N,))),
    (("f32", (N, 10)), ("f32", (N,))),
    (("f64", (N, 10)), ("f32", (N,))),
])
def test_categorical_label_conventions(labels, out):
    for op in ("softmax_cross_entropy", "cross_entropy"):
        t = shape_of(op, ("f32", (N, 10)), labels)
        assert (t.dtype, t.shape) == out


@pytest.mark.parametrize("labels, message", [
    (("f32", (N,)), "class ids must be integers, not f32"),
    (("i64", (5,)), r"integer class ids of shape \[N\] or rows of shape \[N, 10\], not \[5\]"),
    (("f32", (N, 9)), r"not \[N, 9\]"),
])
def test_categorical_label_errors(labels, message):
    with pytest.raises(ShapeError, match=message):
        shape_of("softmax_cross_entropy", ("f32", (N, 10)), labels)


def test_binary_targets_must_broadcast_to_the_predictions():
    assert shape_of("binary_cross_entropy", ("f32", (N, 1)), ("u8", (N, 1))).shape == (N, 1)
    assert shape_of("sigmoid_cross_entropy", ("f32", (N, 3)), ("f32", (3,))).shape == (N, 3)
    with pytest.raises(ShapeError, match=r"targets \[N\] do not broadcast to the predictions' "
                                         r"shape \[N, 1\]"):
        shape_of("binary_cross_entropy", ("f32", (N, 1)), ("f32", (N,)))


def test_softmax_axis_and_mse_rules():
    assert shape_of("softmax", ("i32", (N, 3)), axis=0) == TensorType("f32", (N, 3))
    assert shape_of("mse", ("f32", (N, 3)), ("f64", (3,))) == TensorType("f64", ())
    with pytest.raises(ShapeError, match="axis 2 is out of range for rank 2"):
        shape_of("log_softmax", ("f32", (N, 3)), axis=2)


# ------------------------------------------------------------------ stability


def _extreme(rng, shape, dtype=np.float32):
    return (rng.choice([-1e4, 1e4], size=shape) * rng.uniform(0.5, 1, size=shape)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_stable_at_logits_of_1e4(dtype):
    x = np.array([[1e4, -1e4, 0], [-1e4, 1e4, 1e4], [5e3, -5e3, -1e4]], dtype)
    ids = np.array([0, 0, 2])
    rows = np.eye(3, dtype=dtype)[ids]
    y = (x > 0).astype(dtype)
    with np.errstate(**STRICT):
        outs = [kernel("softmax", x), kernel("log_softmax", x, axis=0),
                kernel("softmax_cross_entropy", x, ids), kernel("softmax_cross_entropy", x, rows),
                kernel("sigmoid_cross_entropy", x, y), kernel("sigmoid_cross_entropy", x, 1 - y)]
    for out in outs:
        assert out.dtype == dtype and np.all(np.isfinite(out))
    np.testing.assert_allclose(outs[2].astype(float), [0, 2e4 + np.log(2), 1.5e4], rtol=1e-3)
    np.testing.assert_allclose(outs[5].astype(float), np.abs(x.astype(float)), rtol=1e-3,
                               atol=np.log(2) + 1e-3)  # log 2 at x = 0


def test_gradients_stable_at_logits_of_1e4():
    rng = np.random.default_rng(1)
    x, ids = _extreme(rng, (4, 3)), np.array([0, 1, 2, 1])
    b, xs = graph(x=("f32", (N, 3)), ids=("i64", (N,)), y=("f32", (N, 3)))
    losses = [b.op("softmax_cross_entropy", xs["x"], xs["ids"]),
              b.op("softmax_cross_entropy", xs["x"], xs["y"]),
              b.op("sum", b.op("sigmoid_cross_entropy", xs["x"], xs["y"]), axis=-1),
              b.op("sum", b.op("log_softmax", xs["x"]), axis=-1)]
    total = b.op("sum", b.op("add", b.op("add", losses[0], losses[1]),
                             b.op("add", losses[2], losses[3])))
    grads = gradients(b, total, [xs["x"], xs["y"]])
    feed = {"x": x, "ids": ids, "y": np.eye(3, dtype=np.float32)[ids]}
    for g in Session(b.finish()).run(grads, feed, check_numerics=True):
        assert np.all(np.isfinite(g))


def test_probability_losses_clip_to_eps():
    p = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    eps = np.finfo(np.float32).eps
    with np.errstate(**STRICT):
        ce = kernel("cross_entropy", p, np.array([1, 1]))
        bce = kernel("binary_cross_entropy", p, np.array([[0.0, 1.0], [1.0, 0.0]], np.float32))
    np.testing.assert_allclose(ce, [-np.log(eps), -np.log1p(-eps)], rtol=1e-6)
    np.testing.assert_allclose(bce, np.full((2, 2), -np.log(eps)), rtol=1e-6)
    assert ce.dtype == bce.dtype == np.float32


def test_clipped_probabilities_get_no_gradient():
    b, xs = graph(p=("f64", (2, 2)), y=("f64", (2, 2)))
    loss = b.op("sum", b.op("binary_cross_entropy", xs["p"], xs["y"]))
    (g,) = gradients(b, loss, [xs["p"]])
    out = Session(b.finish()).run(g, {"p": np.array([[0.0, 0.5], [1.0, 0.25]]),
                                      "y": np.array([[1.0, 1.0], [0.0, 0.0]])})
    np.testing.assert_allclose(out, [[0.0, -2.0], [0.0, 1 / 0.75]])


# ------------------------------------------------------------------ labels


def test_ids_and_one_hot_rows_agree_and_match_cross_entropy_of_softmax():
    rng = np.random.default_rng(2)
    x, ids = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5).astype(np.uint8)
    rows = np.eye(4)[ids]
    by_ids = kernel("softmax_cross_entropy", x, ids)
    np.testing.assert_allclose(by_ids, kernel("softmax_cross_entropy", x, rows))
    np.testing.assert_allclose(by_ids, kernel("cross_entropy", kernel("softmax", x), ids))


def test_gradient_flows_into_soft_labels():
    rng = np.random.default_rng(3)
    b, xs = graph(x=("f64", (N, 4)), y=("f64", (N, 4)))
    loss = b.op("sum", b.op("softmax_cross_entropy", xs["x"], xs["y"]))
    gx, gy = gradients(b, loss, [xs["x"], xs["y"]])
    x, y = rng.normal(size=(3, 4)), rng.uniform(size=(3, 4))
    sess = Session(b.finish())
    got_x, got_y = sess.run([gx, gy], {"x": x, "y": y})
    np.testing.assert_allclose(got_y, -kernel("log_softmax", x))
    soft = kernel("softmax", x)
    np.testing.assert_allclose(got_x, soft * y.sum(-1, keepdims=True) - y)  # rows need not sum to 1


def test_out_of_range_class_id_is_a_run_time_error():
    b, xs = graph(x=("f32", (N, 10)), ids=("u8", (N,)))
    loss = b.op("softmax_cross_entropy", xs["x"], xs["ids"])
    with pytest.raises(TensorlangError, match="class id 10 is out of range for 10 classes"):
        Session(b.finish()).run(loss, {"x": np.zeros((2, 10), np.float32),
                                       "ids": np.array([3, 10], np.uint8)})


def test_mse_gradient_at_a_symbolic_batch():
    rng = np.random.default_rng(4)
    b, xs = graph(a=("f64", (N, 2)), t=("f64", (2,)))
    loss = b.op("mse", xs["a"], xs["t"])
    ga, gt = gradients(b, loss, [xs["a"], xs["t"]])
    a, t = rng.normal(size=(3, 2)), rng.normal(size=2)
    got_a, got_t = Session(b.finish()).run([ga, gt], {"a": a, "t": t})
    np.testing.assert_allclose(got_a, 2 * (a - t) / 6)
    np.testing.assert_allclose(got_t, -2 * (a - t).sum(0) / 6)


# ------------------------------------------------------------------ second order


@pytest.mark.parametrize("op, arrays", [
    ("softmax", [np.array([[0.3, -1.0, 2.0], [0.5, 0.1, -0.4]])]),
    ("log_softmax", [np.array([[0.3, -1.0, 2.0], [0.5, 0.1, -0.4]])]),
    ("softmax_cross_entropy", [np.array([[0.3, -1.0, 2.0]]), np.array([[0.2, 0.5, 0.3]])]),
    ("sigmoid_cross_entropy", [np.array([0.3, -1.0, 2.0]), np.array([0.2, 0.5, 0.3])]),
    ("mse", [np.array([0.3, -1.0, 2.0]), np.array([0.2, 0.5, 0.3])]),
])
def test_second_order(op, arrays):
    """The gradient of sum(grad * v) agrees with finite differences of the first gradient."""
    rng = np.random.default_rng(5)
    names = [f"x{i}" for i in range(len(arrays))]
    b, xs = graph(**{n: ("f64", a.shape) for n, a in zip(names, arrays)})
    inputs = list(xs.values())
    y = weighted_sum(b, b.op(op, *inputs), rng)
    first = gradients(b, y, inputs)
    h = weighted_sum(b, first[0], rng)
    for g in first[1:]:
        h = b.op("add", h, weighted_sum(b, g, rng))
    second = gradients(b, h, inputs)
    sess = Session(b.finish())
    feed = dict(zip(names, arrays))
    for name, g in zip(names, sess.run(second, feed)):
        np.testing.assert_allclose(g, fed_grad(sess, h, feed, name), rtol=1e-5, atol=1e-6)


def test_every_loss_is_registered_with_cases():
    for op in LOSSES:
        assert REGISTRY[op].family == "nn" and REGISTRY[op].cases is not None
