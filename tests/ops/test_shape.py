"""Shape and creation ops beyond the generated tests: shape rules over symbolic dims (reshape
proofs, concat sums, symbolic slices), the messages of shape errors, and gradients through
graphs whose dims are only known when fed."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import ShapeError, TensorlangError
from tensorlang.ir import dims as D
from tensorlang.ir.dims import Dim
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.runtime.session import Session
from tensorlang.transforms.autodiff import gradients

from ..opgraph import fed_grad

N, M = Dim.sym("N"), Dim.sym("M")
ALL = ("slice", None, None, None)


def sl(start=None, stop=None, step=None):
    """The index item of start:stop:step."""
    return ("slice", start, stop, step)


def placeholder(b, name, dtype, shape):
    """A named placeholder of a given (possibly symbolic) type."""
    node = b.add("placeholder", (), {"default": None}, type=TensorType(dtype, tuple(shape)),
                 name=name)
    return b.bind(name, node, node.span)


def x_of(shape, dtype="f32"):
    """A builder and one placeholder x."""
    b = Builder("t")
    return b, placeholder(b, "x", dtype, shape)


def shape_str(node):
    """The node's shape as a user reads it."""
    return D.shape_str(node.type.shape)


def check_grad(b, y, feeds, wrt, eps=1e-6):
    """Autodiff of sum(y * w) against central differences, for each name in wrt."""
    rng = np.random.default_rng(0)
    shape = Session(b.finish()).run(y, feeds).shape
    name = f"w{len(b.nodes)}"
    feeds = {**feeds, name: rng.normal(size=shape)}
    loss = b.op("sum", b.op("multiply", y, placeholder(b, name, y.dtype, y.type.shape)))
    nodes = [b.names[n] for n in wrt]
    grads = gradients(b, loss, nodes)
    graph = b.finish()
    graph.verify()
    sess = Session(graph)
    got = sess.run(grads + [loss], feeds)  # with loss, so the plan binds every dim from x
    for name, g in zip(wrt, got):
        np.testing.assert_allclose(g, fed_grad(sess, loss, feeds, name, eps), atol=1e-7,
                                   err_msg=name)


# ------------------------------------------------------------------ reshape, flatten


def test_reshape_proves_the_element_count_with_symbolic_dims():
    b, x = x_of((N, 28, 28))
    assert shape_str(b.op("reshape", x, shape=(N, 784))) == "[N, 784]"
    assert shape_str(b.op("reshape", x, shape=(-1, 784))) == "[N, 784]"
    assert shape_str(b.op("reshape", x, shape=(N, -1))) == "[N, 784]"
    assert shape_str(b.op("reshape", x, shape=(2, -1, 14))) == "[2, 28*N, 14]"
    assert shape_str(b.op("flatten", x)) == "[N, 784]"
    assert b.op("reshape", x, shape=(-1,)).type.shape == (784 * N,)


def test_reshape_mismatch_names_both_shapes():
    b, x = x_of((N, 28, 28))
    with pytest.raises(ShapeError) as e:
        b.op("reshape", x, shape=(N, 785))
    assert e.value.message == ("reshape: f32[N, 28, 28]: cannot reshape [N, 28, 28] "
                               "(784*N elements) to [N, 785] (785*N elements)")
    with pytest.raises(ShapeError, match=r"784\*N elements are not a multiple of 785"):
        b.op("reshape", x, shape=(-1, 785))
    with pytest.raises(ShapeError, match="at most one -1"):
        b.op("reshape", x, shape=(-1, -1))
    with pytest.raises(ShapeError, match='order must be "C" or "F"'):
        b.op("reshape", x, shape=(N, 784), order="K")
    b, x = x_of((N, 3))
    with pytest.raises(ShapeError, match=r"cannot reshape \[N, 3\].*to \[M, 3\]"):
        b.op("reshape", x, shape=(M, 3))  # N and M may differ: not provable


@pytest.mark.parametrize("order", ["C", "F"])
def test_reshape_runs_and_differentiates_with_a_fed_batch(order):
    b, x = x_of((N, 2, 3), "f64")
    y = b.op("reshape", x, shape=(3, -1), order=order)
    assert shape_str(y) == "[3, 2*N]"
    value = np.random.default_rng(0).normal(size=(4, 2, 3))
    np.testing.assert_array_equal(Session(b.finish()).run(y, {"x": value}),
                                  value.reshape(3, 8, order=order))
    check_grad(b, y, {"x": value}, ["x"])


# ------------------------------------------------------------------ squeeze, expand_dims, transpose


def test_squeeze_expand_transpose_shapes():
    b, x = x_of((N, 1, 3))
    assert shape_str(b.op("squeeze", x)) == "[N, 3]"
    assert shape_str(b.op("squeeze", x, axis=-2)) == "[N, 3]"
    assert shape_str(b.op("expand_dims", x, axis=(0, -1))) == "[1, N, 1, 3, 1]"
    assert shape_str(b.op("transpose", x)) == "[3, 1, N]"
    assert shape_str(b.op("transpose", x, axes=(2, 0, 1))) == "[3, N, 1]"
    assert b.op("transpose", x, axes=(-1, 0, 1)).attrs["axes"] == (2, 0, 1)


def test_squeeze_and_transpose_errors():
    b, x = x_of((N, 1, 3))
    with pytest.raises(ShapeError, match="cannot squeeze axis 2 of size 3"):
        b.op("squeeze", x, axis=2)
    with pytest.raises(ShapeError, match=r"cannot squeeze axis 0 of size N \(not provably 1\)"):
        b.op("squeeze", x, axis=0)
    with pytest.raises(ShapeError, match="not a permutation"):
        b.op("transpose", x, axes=(0, 0, 1))
    with pytest.raises(ShapeError, match="out of range"):
        b.op("expand_dims", x, axis=5)


# ------------------------------------------------------------------ concat, stack, hstack, vstack


def test_concat_adds_symbolic_dims():
    b = Builder("t")
    x = placeholder(b, "x", "f64", (N, 2))
    y = placeholder(b, "y", "f64", (5, 2))
    z = placeholder(b, "z", "f64", (M, 2))
    c = b.op("concat", x, y, z)
    assert shape_str(c) == "[M + N + 5, 2]"
    rng = np.random.default_rng(0)
    feeds = {"x": rng.normal(size=(3, 2)), "y": rng.normal(size=(5, 2)),
             "z": rng.normal(size=(1, 2))}
    got = Session(b.finish()).run(c, feeds)
    np.testing.assert_array_equal(got, np.concatenate([feeds["x"], feeds["y"], feeds["z"]]))
    check_grad(b, c, feeds, ["x", "y", "z"])


def test_concat_and_stack_errors_name_the_dims():
    b = Builder("t")
    x = placeholder(b, "x", "f32", (N, 2))
    y = placeholder(b, "y", "f32", (5, 3))
    with pytest.raises(ShapeError, match=r"concat: f32\[N, 2\], f32\[5, 3\]: dim 1 differs: "
                                         r"\[N, 2\] and \[5, 3\]"):
        b.op("concat", x, y)
    with pytest.raises(ShapeError, match="same rank"):
        b.op("concat", x, b.op("sum", y))
    with pytest.raises(ShapeError, match=r"same shape: \[N, 2\] and \[5, 3\]"):
        b.op("stack", x, y)
    assert shape_str(b.op("concat", x, x, axis=-1)) == "[N, 4]"
    assert shape_str(b.op("concat", x, x)) == "[2*N, 2]"


def test_stack_hstack_vstack_shapes_and_gradients():
    b = Builder("t")
    x = placeholder(b, "x", "f64", (N, 2))
    y = placeholder(b, "y", "f64", (N, 2))
    v = placeholder(b, "v", "f64", (2,))
    assert shape_str(b.op("stack", x, y, axis=-1)) == "[N, 2, 2]"
    assert shape_str(b.op("hstack", x, y)) == "[N, 4]"
    assert shape_str(b.op("vstack", x, v, y)) == "[2*N + 1, 2]"
    assert shape_str(b.op("hstack", v, v)) == "[4]"
    rng = np.random.default_rng(1)
    feeds = {"x": rng.normal(size=(3, 2)), "y": rng.normal(size=(3, 2)),
             "v": rng.normal(size=2)}
    for op, ins in [("stack", ("x", "y")), ("vstack", ("x", "v", "y")), ("hstack", ("x", "y"))]:
        out = b.op(op, *[b.names[n] for n in ins])
        check_grad(b, out, feeds, list(ins))


# ------------------------------------------------------------------ index


@pytest.mark.parametrize("shape,items,want", [
    ((N, 5), (ALL, sl(1, 3)), "[N, 2]"),
    ((N, 4), (sl(1),), "[N - 1, 4]"),
    ((N, 4), (sl(-3),), "[3, 4]"),
    ((N, 4), (sl(None, 3),), "[3, 4]"),
    ((N, 4), (sl(2, -1),), "[N - 3, 4]"),
    ((N, 4), (sl(None, -2),), "[N - 2, 4]"),
    ((N, 4), (sl(-5, -2),), "[3, 4]"),
    ((N, 4), (sl(None, None, 2),), "[(N + 1)//2, 4]"),
    ((2 * N, 4), (sl(None, None, 2),), "[N, 4]"),
    ((N, 4), (sl(None, None, -1),), "[N, 4]"),
    ((N, 4), (sl(-1, None, -1),), "[N, 4]"),
    ((N, 4), (sl(5, 1, -1),), "[4, 4]"),
    ((N, 4), (0, -1), "[]"),
    ((N, 4), ("...", 1), "[N]"),
    ((N, 3, 4), (None, "...", sl(1), None), "[1, N, 3, 3, 1]"),
    ((N, 4), (-1, sl(None, None, 3)), "[2]"),
])
def test_index_shapes_with_symbolic_dims(shape, items, want):
    b, x = x_of(shape)
    assert shape_str(b.op("index", x, items=items)) == want


@pytest.mark.parametrize("n", [5, 6])
@pytest.mark.parametrize("items", [(sl(1), sl(None, None, 2)), (sl(None, None, 2), -1),
                                   (sl(-3), None, sl(None, None, -1)), (sl(2, -1), 1),
                                   (sl(None, None, -2),), ("...", 0)])
def test_index_runs_at_the_inferred_shape_and_differentiates(items, n):
    b, x = x_of((N, 3), "f64")
    y = b.op("index", x, items=items)
    value = np.random.default_rng(n).normal(size=(n, 3))
    got = Session(b.finish()).run(y, {"x": value})
    key = tuple(slice(*it[1:]) if isinstance(it, tuple) else Ellipsis if it == "..." else it
                for it in items)
    np.testing.assert_array_equal(got, value[key])
    assert got.shape == D.evaluate_shape(y.type.shape, {"N": n})
    check_grad(b, y, {"x": value}, ["x"])


def test_index_errors():
    b, x = x_of((N, 4))
    with pytest.raises(ShapeError, match="index 4 is out of range for axis 1 of size 4"):
        b.op("index", x, items=(0, 4))
    with pytest.raises(ShapeError, match=r"too many indices \(3\) for a tensor of rank 2"):
        b.op("index", x, items=(0, 1, 2))
    with pytest.raises(ShapeError, match="only one ..."):
        b.op("index", x, items=("...", "..."))
    with pytest.raises(ShapeError, match="step cannot be zero"):
        b.op("index", x, items=(sl(None, None, 0),))
    with pytest.raises(ShapeError, match="cannot size the slice -3:5 of dim N"):
        b.op("index", x, items=(sl(-3, 5),))
    with pytest.raises(ShapeError, match="is not an index"):
        b.op("index", x, items=(1.5,))


@pytest.mark.parametrize("items,n,message", [
    ((sl(None, 3),), 2, "slice 0:3 does not fit an axis of size 2"),
    ((sl(-3),), 2, "slice -1:2 does not fit an axis of size 2"),
    ((sl(1),), 0, "slice 1:0 does not fit an axis of size 0"),
    ((5,), 3, "index 5 is out of range for an axis of size 3"),
    ((-4,), 3, "index -1 is out of range for an axis of size 3"),
])
def test_a_symbolic_dim_too_small_for_its_slice_fails_at_run_time(items, n, message):
    """NumPy would clamp or wrap these and return a shape other than the inferred one."""
    b, x = x_of((N, 2))
    y = b.op("index", x, items=items)
    with pytest.raises(TensorlangError, match=f"index failed at run time: {message}"):
        Session(b.finish()).run(y, {"x": np.zeros((n, 2), np.float32)})


# ------------------------------------------------------------------ take, one_hot


def test_take_shapes_and_repeated_indices_accumulate_gradient():
    b = Builder("t")
    x = placeholder(b, "x", "f64", (N, 3))
    i = placeholder(b, "i", "i64", (M,))
    assert shape_str(b.op("take", x, i)) == "[M]"
    assert shape_str(b.op("take", x, i, axis=-1)) == "[N, M]"
    y = b.op("take", x, i, axis=0)
    assert shape_str(y) == "[M, 3]"
    feeds = {"x": np.random.default_rng(0).normal(size=(4, 3)), "i": np.array([2, 2, 0, -1, 2])}
    (g,) = gradients(b, b.op("sum", y), [x])
    got, _ = Session(b.finish()).run([g, y], feeds)  # y in the plan binds N (from x)
    np.testing.assert_array_equal(got[:, 0], [1, 0, 3, 1])
    check_grad(b, b.op("take", x, i, axis=1), {**feeds, "i": np.array([1, 1, 2])}, ["x"])
    with pytest.raises(ShapeError, match="indices must be an integer tensor, not f64"):
        b.op("take", x, x)


def test_one_hot():
    b = Builder("t")
    i = placeholder(b, "i", "i64", (N,))
    h = b.op("one_hot", i, depth=4)
    assert shape_str(h) == "[N, 4]" and h.dtype == "f32"
    got = Session(b.finish()).run(h, {"i": np.array([3, 0, 2])})
    np.testing.assert_array_equal(got, [[0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 1, 0]])
    for bad in (5, -1):  # a zero row, silently, before: an error, as in the losses
        with pytest.raises(TensorlangError, match=f"class id {bad} is out of range for depth 4"):
            Session(b.finish()).run(h, {"i": np.array([3, bad])})
    with pytest.raises(ShapeError, match="class ids must be an integer tensor"):
        b.op("one_hot", b.op("cast", i, dtype="f32"), depth=4)


# ------------------------------------------------------------------ creation


def test_creation_with_symbolic_shapes_runs_at_the_fed_size():
    b, x = x_of((N, 3))
    z = b.op("zeros", shape=(N, 3))
    f = b.op("full", shape=(2, N), value=1.5, dtype="f64")
    e = b.op("eye", n=N)
    r = b.op("arange", n=N + 1)
    s = b.op("add", x, z)
    assert shape_str(f) == "[2, N]" and shape_str(e) == "[N, N]" and shape_str(r) == "[N + 1]"
    got = Session(b.finish()).run([s, f, e, r], {"x": np.ones((2, 3), np.float32)})
    assert got[0].shape == (2, 3) and got[1].dtype == np.float64 and got[1].shape == (2, 2)
    np.testing.assert_array_equal(got[2], np.eye(2))
    np.testing.assert_array_equal(got[3], [0, 1, 2])


def test_creation_errors_and_like_ops():
    b, x = x_of((N, 3), "i32")
    assert b.op("zeros_like", x).type == TensorType("i32", (N, 3))
    assert b.op("ones_like", x).dtype == "i32"
    with pytest.raises(ShapeError, match="cannot be negative"):
        b.op("zeros", shape=(2, -1))
    with pytest.raises(ShapeError, match='unknown dtype "f8"'):
        b.op("ones", shape=(2,), dtype="f8")
