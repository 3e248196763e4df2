"""Linear algebra beyond the generated tests: symbolic-dim shape rules, the messages of shape
mismatches, gradients at symbolic shapes, second-order gradients and f16 kernels."""

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

N, M = D.Dim.sym("N"), D.Dim.sym("M")


def graph(**types):
    """A builder with one placeholder per keyword: `x=("f32", (N, 3))`."""
    b = Builder("t")
    nodes = {}
    for name, (dtype, shape) in types.items():
        ph = b.add("placeholder", (), {"default": None}, type=TensorType(dtype, shape), name=name)
        nodes[name] = b.bind(name, ph, ph.span)
    return b, nodes


def shape_of(op, *types, **attrs):
    """The inferred type of op on placeholders of the given (dtype, shape) pairs."""
    b, xs = graph(**{f"x{i}": t for i, t in enumerate(types)})
    return b.op(op, *xs.values(), **attrs).type




def weighted_sum(b, node, rng):
    """sum(sin(node) * w) for fixed random w (no w at symbolic shapes): a scalar that sees
    every element of node, nonlinear so that its gradient depends on the inputs."""
    node = b.op("sin", node)
    if D.symbols(node.type.shape):
        return b.op("sum_to", node, shape=())
    w = b.constant(rng.normal(size=tuple(node.type.shape)), node.dtype)
    return b.op("sum_to", b.op("multiply", node, w), shape=())


# ------------------------------------------------------------------ shape rules and messages


def test_matmul_inner_mismatch_message():
    with pytest.raises(ShapeError) as e:
        shape_of("matmul", ("f32", (N, 784)), ("f32", (748, 10)))
    assert e.value.message == "matmul: f32[N, 784] @ f32[748, 10]: inner dims 784 and 748 differ"


@pytest.mark.parametrize("a, b, out", [
    ((N, 784), (784, 10), (N, 10)),
    ((N, 1, 2, 3), (4, 3, 5), (N, 4, 2, 5)),
    ((3,), (N, 3, 5), (N, 5)),
    ((N, 3), (3,), (N,)),
    ((N,), (N,), ()),
    ((2, N), (N, M), (2, M)),
])
def test_matmul_symbolic_shapes(a, b, out):
    t = shape_of("matmul", ("f32", a), ("f32", b))
    assert (t.dtype, t.shape) == ("f32", out)


@pytest.mark.parametrize("a, b, message", [
    ((N, 3), (M, 2), "inner dims 3 and M differ"),
    ((2, 2, 3), (3, 3, 4), "batch dims: dims 2 and 3 do not broadcast"),
    ((), (3,), "rank >= 1"),
])
def test_matmul_errors(a, b, message):
    with pytest.raises(ShapeError, match=message):
        shape_of("matmul", ("f32", a), ("f32", b))


def test_matmul_promotes_like_numpy():
    assert shape_of("matmul", ("f32", (2, 3)), ("f64", (3,))).dtype == "f64"
    with pytest.raises(ShapeError, match="not bool"):
        shape_of("matmul", ("bool", (2, 3)), ("bool", (3,)))


def test_linalg_shape_rules():
    assert shape_of("dot", ("f32", (N, 3)), ("f32", (3,))).shape == (N,)
    assert shape_of("outer", ("f32", (N,)), ("f32", (2, 3))).shape == (N, 6)
    assert shape_of("inv", ("i32", (N, N))) == TensorType("f32", (N, N))
    assert shape_of("det", ("f64", (2, N, N))).shape == (2,)
    assert shape_of("solve", ("f32", (N, N)), ("f32", (N,))).shape == (N,)
    assert shape_of("solve", ("f32", (2, 1, N, N)), ("f32", (3, N, 4))).shape == (2, 3, N, 4)
    assert shape_of("trace", ("f32", (N, N))).shape == ()
    assert shape_of("trace", ("f32", (2, N, N)), axis1=-2, axis2=-1).shape == (2,)
    assert shape_of("norm", ("f32", (N, 3)), axis=-1, keepdims=True).shape == (N, 1)
    assert shape_of("norm", ("i64", (N, 3))) == TensorType("f32", ())


@pytest.mark.parametrize("op, types, message", [
    ("dot", [(2, 2, 3), (3,)], "1-D or 2-D"),
    ("inv", [(N, 3)], "square in its last two dims, not N x 3"),
    ("det", [(3,)], "not rank 1"),
    ("solve", [(3, 3), (4, 2)], "a is 3 x 3 but b has 4 rows"),
    ("solve", [(N, N), (M,)], "a is N x N but b has M rows"),
    ("trace", [(3, 3)], "the same axis"),
])
def test_linalg_errors(op, types, message):
    attrs = {"axis1": 1, "axis2": -1} if op == "trace" else {}
    with pytest.raises(ShapeError, match=message):
        shape_of(op, *[("f32", s) for s in types], **attrs)


# ------------------------------------------------------------------ gradients


def _check_first_order(op, types, arrays, rng, **attrs):
    b, xs = graph(**types)
    y = weighted_sum(b, b.op(op, *xs.values(), **attrs), rng)
    grads = gradients(b, y, list(xs.values()))
    sess = Session(b.finish())
    feed = dict(zip(types, arrays))
    for name, g in zip(types, sess.run(grads, feed)):
        np.testing.assert_allclose(g, fed_grad(sess, y, feed, name), rtol=1e-6, atol=1e-7)


def test_gradients_at_symbolic_shapes():
    rng = np.random.default_rng(0)
    _check_first_order("matmul", {"x": ("f64", (N, 3)), "w": ("f64", (3,))},
                       [rng.normal(size=(4, 3)), rng.normal(size=3)], rng)
    _check_first_order("trace", {"a": ("f64", (2, N, N))}, [rng.normal(size=(2, 3, 3))], rng,
                       axis1=-1, axis2=1)
    _check_first_order("norm", {"x": ("f64", (N, 3))}, [rng.normal(size=(5, 3))], rng, axis=1)
    a = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    _check_first_order("solve", {"a": ("f64", (N, N)), "b": ("f64", (N,))},
                       [a, rng.normal(size=3)], rng)


def test_norm_gradient_at_zero_is_zero():
    b, xs = graph(x=("f64", (2, 3)))
    y = b.op("sum_to", b.op("norm", xs["x"], axis=1), shape=())
    (g,) = gradients(b, y, [xs["x"]])
    out = Session(b.finish()).run(g, {"x": np.array([[0.0, 0, 0], [3, 4, 0]])})
    np.testing.assert_allclose(out, [[0, 0, 0], [0.6, 0.8, 0]])


@pytest.mark.parametrize("op, shapes", [
    ("matmul", [(2, 3), (3, 2)]),
    ("matmul", [(3,), (3,)]),
    ("matmul", [(2, 2, 3), (3,)]),
    ("inv", [(3, 3)]),
    ("det", [(2, 2)]),
    ("solve", [(2, 2), (2, 2)]),
    ("trace", [(2, 3)]),
])
def test_second_order(op, shapes):
    """The gradient of sum(grad * v) agrees with finite differences of the first gradient."""
    rng = np.random.default_rng(1)
    names = [f"x{i}" for i in range(len(shapes))]
    b, xs = graph(**{n: ("f64", s) for n, s in zip(names, shapes)})
    inputs = list(xs.values())
    out = b.op(op, *inputs)
    y = weighted_sum(b, out, rng)
    first = gradients(b, y, inputs)
    h = b.op("add", *[weighted_sum(b, g, rng) for g in first]) if len(first) > 1 else \
        weighted_sum(b, first[0], rng)
    second = gradients(b, h, inputs)
    sess = Session(b.finish())
    feed = {n: rng.normal(size=s) + (2 * np.eye(s[-1]) if op in ("inv", "det", "solve")
                                     and i == 0 else 0)
            for i, (n, s) in enumerate(zip(names, shapes))}
    for name, g in zip(names, sess.run(second, feed)):
        np.testing.assert_allclose(g, fed_grad(sess, h, feed, name), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ kernels


@pytest.mark.parametrize("op, arrays", [
    ("inv", [np.array([[2.0, 1.0], [1.0, 3.0]])]),
    ("det", [np.array([[2.0, 1.0], [1.0, 3.0]])]),
    ("solve", [np.array([[2.0, 1.0], [1.0, 3.0]]), np.array([1.0, 2.0])]),
])
def test_f16_kernels_compute_in_f32(op, arrays):
    got = REGISTRY[op].kernel(*[a.astype(np.float16) for a in arrays])
    assert got.dtype == np.float16
    expected = {"inv": np.linalg.inv, "det": np.linalg.det, "solve": np.linalg.solve}[op](*arrays)
    np.testing.assert_allclose(got, expected, rtol=2e-3)


def test_norm_does_not_overflow_in_f16():
    x = np.array([300.0, 400.0], np.float16)
    with np.errstate(over="raise", invalid="raise"):
        got = REGISTRY["norm"].kernel(x, axis=(0,), keepdims=False)
    assert got.dtype == np.float16 and got == 500


def test_integer_inputs():
    assert REGISTRY["inv"].kernel(np.array([[2, 0], [0, 4]], np.int32)).dtype == np.float32
    # trace is a sum: integers count in i64 (as sum does, and NumPy's trace)
    assert REGISTRY["trace"].kernel(np.eye(3, dtype=np.int32), axis1=0, axis2=1).dtype == np.int64
    assert REGISTRY["trace"].infer([TensorType("i32", (3, 3))], axis1=0, axis2=1).dtype == "i64"
    got = REGISTRY["matmul"].kernel(np.ones((2, 3), np.int32), np.ones(3, np.int32))
    assert got.dtype == np.int32 and list(got) == [3, 3]


@pytest.mark.parametrize("a", [[[1.0, 2.0], [2.0, 4.0]],  # rank 1
                               [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],  # rank 2
                               [[0.0, 0.0], [0.0, 0.0]],
                               [[2.0, 1.0], [1.0, 3.0]]])  # invertible: det(A) inv(A)^T
def test_grad_of_det_on_a_singular_matrix_is_the_cofactor_matrix(a):
    # det(A) inv(A)^T failed (inv of a singular matrix); det is a polynomial in A's entries, its
    # gradient the cofactor matrix everywhere: (-1)^(i+j) times the minor's determinant
    import tensorlang as tl
    a = np.array(a)
    m = len(a)
    g = tl.compile(f"graph g {{\n    placeholder a: f64[{m}, {m}]\n"
                   "    d = det(a)\n    ga = grad(d, a)\n}\n").graphs["g"]
    got = tl.Session(g).run("ga", {"a": a})
    minors = [[np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) if m > 1 else 1.0
               for j in range(m)] for i in range(m)]
    want = np.array(minors) * (-1.0) ** np.add.outer(np.arange(m), np.arange(m))
    np.testing.assert_allclose(got, want, atol=1e-12)
