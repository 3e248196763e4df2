"""ops/norm.py: channel_mean, channel_var and batch_norm are built from other ops (typed by their
own rules, so a mistake names them): values against NumPy over every axis but axis 1, their
checks, and gradients that come from the ops they expand to."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import ShapeError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY
from tensorlang.runtime.session import Session
from tensorlang.transforms.autodiff import gradients

from ..opgraph import fed_grad

N = D.Dim.sym("N")
RNG = np.random.default_rng(5)


def graph(**types):
    b = Builder("g")
    return b, {k: b.bind(k, b.add("placeholder", (), {"default": None},
                                  type=TensorType(dt, shape), name=k), b.span)
               for k, (dt, shape) in types.items()}


@pytest.mark.parametrize("shape, axes", [((6, 3), (0,)), ((2, 3, 4, 5), (0, 2, 3))])
def test_channel_statistics(shape, axes):
    b, v = graph(x=("f64", (N, *shape[1:])))
    m, s = b.op("channel_mean", v["x"]), b.op("channel_var", v["x"])
    assert m.type == s.type == TensorType("f64", (shape[1],))
    x = RNG.normal(size=shape)
    got_m, got_s = Session(b.finish()).run([m, s], {"x": x})
    np.testing.assert_allclose(got_m, x.mean(axis=axes), rtol=1e-13)
    np.testing.assert_allclose(got_s, x.var(axis=axes), rtol=1e-13)  # population: ddof 0


def test_batch_norm_against_its_formula():
    b, v = graph(x=("f64", (N, 3, 2, 2)), m=("f64", (3,)), s=("f64", (3,)), g=("f64", (3,)),
                 c=("f64", (3,)))
    y = b.op("batch_norm", v["x"], v["m"], v["s"], v["g"], v["c"], eps=1e-3)
    assert y.type == v["x"].type and y.op != "batch_norm"  # expanded into other ops
    feed = {"x": RNG.normal(size=(4, 3, 2, 2)), "m": RNG.normal(size=3),
            "s": RNG.uniform(0.5, 2, size=3), "g": RNG.normal(size=3), "c": RNG.normal(size=3)}
    col = {k: feed[k].reshape(1, 3, 1, 1) for k in "msgc"}
    want = col["g"] * (feed["x"] - col["m"]) / np.sqrt(col["s"] + 1e-3) + col["c"]
    np.testing.assert_allclose(Session(b.finish()).run(y, feed), want, rtol=1e-13)


def test_gradients_come_from_the_expansion():
    b, v = graph(x=("f64", (5, 3)), g=("f64", (3,)))
    m, s = b.op("channel_mean", v["x"]), b.op("channel_var", v["x"])
    y = b.op("batch_norm", v["x"], m, s, v["g"], b.constant(np.zeros(3)), eps=1e-5)
    loss = b.op("sum", b.op("multiply", y, b.constant(RNG.normal(size=(5, 3)))))
    gx, gg = gradients(b, loss, [v["x"], v["g"]])
    sess = Session(b.finish())
    feed = {"x": RNG.normal(size=(5, 3)), "g": RNG.normal(size=3)}
    got_x, got_g = sess.run([gx, gg], feed)
    np.testing.assert_allclose(got_x, fed_grad(sess, loss, feed, "x"), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got_g, fed_grad(sess, loss, feed, "g"), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("types, eps, message", [
    ((("f32", (N,)),), None, r"needs \[N, C, \.\.\.\] \(rank 2 or more\), not \[N\]"),
    ((("i32", (N, 3)),) + (("f32", (3,)),) * 4, 1e-5, "normalizes a float tensor, not i32"),
    ((("f32", (N, 3)), ("f32", (4,))) + (("f32", (3,)),) * 3, 1e-5,
     r"mean must be a float vector \[3\] \(one per channel of x\), not f32\[4\]"),
    ((("f32", (N, 3)),) + (("i32", (3,)),) * 4, 1e-5, r"mean must be a float vector \[3\]"),
    ((("f32", (N, 3)),) + (("f32", (3,)),) * 4, 0.0, "eps must be positive, not 0.0"),
])
def test_the_checks_name_the_op(types, eps, message):
    b, v = graph(**{f"a{i}": t for i, t in enumerate(types)})
    with pytest.raises(ShapeError, match=message):
        if eps is None:
            b.op("channel_mean", *v.values())
        else:
            b.op("batch_norm", *v.values(), eps=eps)


def test_per_channel_vectors_of_another_float_dtype_are_taken():
    b, v = graph(x=("f32", (N, 3)), m=("f64", (3,)), s=("f64", (3,)), g=("f64", (3,)),
                 c=("f64", (3,)))
    y = b.op("batch_norm", v["x"], v["m"], v["s"], v["g"], v["c"], eps=1e-5)
    assert y.type == TensorType("f32", (N, 3))  # the result keeps x's dtype


def test_the_records_have_no_kernel_of_their_own():
    for op in ("channel_mean", "channel_var", "batch_norm"):
        rec = REGISTRY[op]
        assert rec.kernel is None and rec.expand is not None and rec.family == "norm"
