"""Reductions and sorting beyond the generated tests: symbolic dims, dtypes, stability at +-1e4,
exact gradients at zeros and ties, second-order gradients, and shape-error messages."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import ShapeError
from tensorlang.ir.dims import Dim
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType, np_dtype
from tensorlang.ops import REGISTRY
from tensorlang.runtime.session import Session
from tensorlang.transforms.autodiff import gradients

from ..opgraph import numeric_grad

N = Dim.sym("N")


def placeholder(b, name, dtype, shape):
    """A named placeholder of a given (possibly symbolic) type."""
    node = b.add("placeholder", (), {"default": None}, type=TensorType(dtype, tuple(shape)),
                 name=name)
    return b.bind(name, node, node.span)


def run(b, fetches, **feed):
    """Run fetches of the builder's graph (verified first) with the feeds given by name."""
    graph = b.finish()
    graph.verify()
    return Session(graph).run(fetches, feed)




# ------------------------------------------------------------------ shapes and dtypes


@pytest.mark.parametrize("op,dtype,want", [
    ("sum", "bool", "i64"), ("sum", "i32", "i64"), ("sum", "f32", "f32"), ("mean", "bool", "f32"),
    ("mean", "i64", "f32"), ("mean", "f64", "f64"), ("prod", "u8", "i64"), ("max", "i32", "i32"),
    ("var", "i32", "f32"), ("std", "f32", "f32"), ("logsumexp", "i64", "f32"),
    ("argmax", "f32", "i64"), ("argmin", "i32", "i64")])
def test_output_dtypes_and_kernels_agree(op, dtype, want):
    b = Builder("t")
    x = placeholder(b, "x", dtype, (N, 3))
    y = b.op(op, x, axis=0)
    assert y.dtype == want and y.type.shape == (3,)
    value = (np.arange(12).reshape(4, 3) % 5).astype(np_dtype(dtype))
    got = run(b, y, x=value)
    assert got.dtype == np_dtype(want) and got.shape == (3,)


def test_reduced_shapes_keep_symbolic_dims():
    b = Builder("t")
    x = placeholder(b, "x", "f32", (N, 3, 4))
    assert b.op("sum", x, axis=(1, -1)).type.shape == (N,)
    assert b.op("mean", x, axis=0, keepdims=True).type.shape == (1, 3, 4)
    assert b.op("max", x).type.shape == ()
    assert b.op("argmax", x, axis=-1).type.shape == (N, 3)
    assert b.op("argmax", x).type.shape == ()
    assert b.op("argmin", x, axis=1, keepdims=True).type.shape == (N, 1, 4)
    assert b.op("std", x, axis=[0, 2]).attrs["axis"] == (0, 2)


def test_axis_errors_name_the_op_and_shape():
    b = Builder("t")
    x = placeholder(b, "x", "f32", (N, 3))
    with pytest.raises(ShapeError, match=r"sum: f32\[N, 3\]: axis 2 is out of range for rank 2"):
        b.op("sum", x, axis=2)
    with pytest.raises(ShapeError, match="repeated axis"):
        b.op("mean", x, axis=[1, -1])
    with pytest.raises(ShapeError, match="cannot sort a scalar"):
        b.op("sort", b.op("sum", x))


# ------------------------------------------------------------------ numerics


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_is_stable_at_1e4(dtype):
    x = np.array([[1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is harmless
        got = REGISTRY["logsumexp"].kernel(x, axis=(1,), keepdims=False)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, [1e4 + np.log(2), -1e4 + np.log(3)], rtol=1e-6)


def test_logsumexp_gradient_is_softmax_at_1e4():
    b = Builder("t")
    x = placeholder(b, "x", "f64", (N, 3))
    y = b.op("sum", b.op("logsumexp", x, axis=1))
    (g,) = gradients(b, y, [x])
    value = np.array([[1e4, 1e4, -1e4], [0.0, 0.0, 0.0]])
    got = run(b, g, x=value)
    np.testing.assert_allclose(got, [[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-12)


def test_mean_over_a_symbolic_batch_divides_by_the_fed_size():
    b = Builder("t")
    x = placeholder(b, "x", "f32", (N, 3))
    (g,) = gradients(b, b.op("mean", x), [x])
    assert any(n.op == "size_of" for n in b.nodes)
    for n in (2, 5):
        got = run(b, g, x=np.ones((n, 3), np.float32))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, np.full((n, 3), 1 / (3 * n)), rtol=1e-6)


def test_var_and_std_over_a_symbolic_batch():
    rng = np.random.default_rng(0)
    b = Builder("t")
    x = placeholder(b, "x", "f64", (N, 2))
    v = b.op("sum", b.op("var", x, axis=0))
    s = b.op("sum", b.op("std", x, axis=0))
    gv, gs = gradients(b, v, [x])[0], gradients(b, s, [x])[0]
    value = rng.normal(size=(5, 2))
    graph = b.finish()
    sess = Session(graph)
    got_v, got_s = sess.run([gv, gs], {"x": value})
    np.testing.assert_allclose(got_v, numeric_grad(lambda a: sess.run(v, {"x": a}), value),
                               atol=1e-7)
    np.testing.assert_allclose(got_s, numeric_grad(lambda a: sess.run(s, {"x": a}), value),
                               atol=1e-7)


# ------------------------------------------------------------------ gradients that need care


def _grad_of(op, value, **attrs):
    b = Builder("t")
    x = placeholder(b, "x", "f64", value.shape)
    (g,) = gradients(b, b.op("sum", b.op(op, x, **attrs)), [x])
    return run(b, g, x=value)


def test_prod_gradient_is_exact_at_zeros():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]])
    got = _grad_of("prod", x, axis=1)
    np.testing.assert_array_equal(got, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [8.0, 4.0, 2.0]])


def test_max_ties_share_the_gradient():
    got = _grad_of("max", np.array([[3.0, 1.0, 3.0, 3.0], [0.0, 2.0, 1.0, -1.0]]), axis=1)
    np.testing.assert_allclose(got, [[1 / 3, 0, 1 / 3, 1 / 3], [0, 1, 0, 0]])
    got = _grad_of("min", np.array([[3.0, 1.0, 1.0]]))
    np.testing.assert_allclose(got, [[0, 0.5, 0.5]])


def _second_order(op, value, **attrs):
    """Autodiff's gradient of w . grad(sum(op(x) * c)) against differences of the first one."""
    rng = np.random.default_rng(1)
    b = Builder("t")
    x = placeholder(b, "x", "f64", value.shape)
    y = b.op(op, x, **attrs)
    c = b.constant(rng.normal(size=tuple(y.type.shape)), "f64")
    (g,) = gradients(b, b.op("sum", b.op("multiply", y, c)), [x])
    w = b.constant(rng.normal(size=value.shape), "f64")
    z = b.op("sum", b.op("multiply", g, w))
    (h,) = gradients(b, z, [x])
    sess = Session(b.finish())
    got = sess.run(h, {"x": value})
    np.testing.assert_allclose(got, numeric_grad(lambda a: sess.run(z, {"x": a}), value),
                               atol=1e-6)


@pytest.mark.parametrize("op,attrs", [
    ("logsumexp", {"axis": 1}), ("var", {"axis": 0}), ("std", {}), ("mean", {"axis": -1}),
    ("prod", {"axis": 1}), ("sort", {"axis": 0}), ("max", {"axis": 1, "keepdims": True})])
def test_second_order_gradients(op, attrs):
    rng = np.random.default_rng(2)
    value = rng.uniform(0.5, 2.0, size=(3, 4)) * rng.choice([-1, 1], size=(3, 4))
    _second_order(op, value, **attrs)


def test_prod_second_order_away_from_zeros_only():
    """The documented limit: prod's gradient is exact at zeros, its own derivative is not."""
    _second_order("prod", np.array([[2.0, 0.5, 3.0], [1.0, -2.0, 0.5]]), axis=1)


# ------------------------------------------------------------------ sorting


def test_sort_gradient_goes_back_to_the_original_positions():
    b = Builder("t")
    x = placeholder(b, "x", "f64", (N, 3))
    s = b.op("sort", x, axis=0)
    assert s.type.shape == (N, 3) and b.op("argsort", x).dtype == "i64"
    w = b.constant(np.array([1.0, 10.0, 100.0]), "f64")
    (g,) = gradients(b, b.op("sum", b.op("multiply", b.op("index", s, items=(0,)), w)), [x])
    value = np.array([[3.0, -1.0, 0.0], [1.0, 5.0, -2.0], [2.0, 4.0, 7.0]])
    got = run(b, g, x=value)
    want = np.zeros((3, 3))
    want[1, 0], want[0, 1], want[1, 2] = 1.0, 10.0, 100.0  # the row-0 minima of each column
    np.testing.assert_array_equal(got, want)


def test_argsort_is_stable():
    x = np.array([2.0, 1.0, 2.0, 1.0])
    np.testing.assert_array_equal(REGISTRY["argsort"].kernel(x, axis=0), [1, 3, 0, 2])
