"""ops/sorting.py: sort, argsort (stable), take (flat or along an axis, negative indices),
one_hot, and the scatters that are their adjoints (repeats accumulate), against loops and
hand-written arrays; the gradient of sort through autodiff."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import OpError, ShapeError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType, from_numpy
from tensorlang.ops import REGISTRY
from tensorlang.runtime.session import Session
from tensorlang.transforms.autodiff import gradients

N = D.Dim.sym("N")


def run(op, *arrays, **attrs):
    """The op on arrays, attributes prepared as the Builder prepares them."""
    b = Builder("g")
    ins = [b.add("placeholder", (), {"default": None}, type=TensorType(from_numpy(a.dtype),
                                                                        a.shape), name=f"a{i}")
           for i, a in enumerate(arrays)]
    node = b.add(op, ins, attrs)
    got = REGISTRY[op].kernel(*arrays, **dict(node.attrs))
    assert got.shape == tuple(node.type.shape) and from_numpy(got.dtype) == node.dtype
    return got


def test_sort_and_argsort_along_an_axis():
    x = np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    assert run("sort", x).tolist() == [[1, 2, 3], [-1, 0, 5]]
    assert run("sort", x, axis=0).tolist() == [[0, -1, 2], [3, 1, 5]]
    assert run("argsort", x).tolist() == [[1, 2, 0], [1, 0, 2]]
    assert run("argsort", x, axis=-2).dtype == np.int64


def test_argsort_is_stable():
    ties = np.array([2, 1, 2, 1, 0])
    assert run("argsort", ties).tolist() == [4, 1, 3, 0, 2]


def test_sort_refuses_a_scalar_and_a_bad_axis():
    b = Builder("g")
    s = b.constant(1.0)
    with pytest.raises(ShapeError, match="cannot sort a scalar"):
        b.op("sort", s)
    with pytest.raises(ShapeError, match="axis 2 is out of range for rank 1"):
        b.op("argsort", b.constant([1.0, 2.0]), axis=2)


def test_take_flat_and_along_an_axis_with_negative_indices():
    x = np.arange(12).reshape(4, 3)
    assert run("take", x, np.array([5, 0, 11])).tolist() == [5, 0, 11]
    assert run("take", x, np.array([3, 0]), axis=0).tolist() == [[9, 10, 11], [0, 1, 2]]
    got = run("take", x, np.array([[2, -1], [0, 2]]), axis=-1)
    assert got.shape == (4, 2, 2) and got[1].tolist() == [[5, 5], [3, 5]]
    assert run("take", x, np.array(1), axis=1).tolist() == [1, 4, 7, 10]


def test_take_needs_integer_indices():
    with pytest.raises(OpError, match="indices must be an integer tensor, not f32"):
        REGISTRY["take"].infer([TensorType("f32", (3,)), TensorType("f32", (2,))])


def test_take_grad_adds_repeats_back():
    g = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0], [100.0, 200.0, 300.0]])
    got = run("take_grad", g, np.array([2, 0, 2]), shape=(4, 3), axis=0)
    assert got.tolist() == [[10, 20, 30], [0, 0, 0], [101, 202, 303], [0, 0, 0]]
    flat = run("take_grad", np.array([1.0, 2.0, 4.0]), np.array([5, 0, 5]), shape=(2, 3))
    assert flat.tolist() == [[2, 0, 0], [0, 0, 5]]


def test_one_hot_rows_and_ids_outside_the_depth():
    got = run("one_hot", np.array([0, 2, 1]), depth=3)
    assert got.dtype == np.float32
    assert got.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    for bad in (-1, 3):  # a silent row of zeros before; an error as in the losses now
        with pytest.raises(IndexError, match=f"class id {bad} is out of range for depth 3"):
            run("one_hot", np.array([0, bad]), depth=3)
    assert run("one_hot", np.array([[1]], np.uint8), depth=2, dtype="f64").shape == (1, 1, 2)
    with pytest.raises(OpError, match="class ids must be an integer tensor"):
        REGISTRY["one_hot"].infer([TensorType("f32", (3,))], depth=2)
    with pytest.raises(OpError, match="depth must be a non-negative int"):
        REGISTRY["one_hot"].infer([TensorType("i32", (3,))], depth=-1)


def test_take_along_and_scatter_along_are_adjoint():
    rng = np.random.default_rng(0)
    x, u = rng.normal(size=(3, 4)), rng.normal(size=(3, 5))
    ind = rng.integers(0, 4, size=(3, 5))  # with repeats
    gathered = run("take_along_axis", x, ind, axis=1)
    for i, j in np.ndindex(3, 5):
        assert gathered[i, j] == x[i, ind[i, j]]
    spread = run("scatter_along_axis", u, ind, shape=(3, 4), axis=-1)
    assert np.isclose((gathered * u).sum(), (x * spread).sum())  # <Tx, u> = <x, T*u>


def test_along_ops_check_the_index_shape():
    with pytest.raises(OpError, match=r"indices \[2, 5\] do not fit x \[3, 4\] off axis 1"):
        REGISTRY["take_along_axis"].infer([TensorType("f32", (3, 4)), TensorType("i64", (2, 5))],
                                          axis=1)


def test_the_gradient_of_sort_goes_back_where_each_value_came_from():
    b = Builder("g")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f64", (N, 3)), name="x")
    w = b.constant([1.0, 10.0, 100.0], "f64")
    y = b.op("sum", b.op("multiply", b.op("sort", x, axis=1), w))
    (gx,) = gradients(b, y, [x])
    xv = np.array([[0.3, -1.0, 2.0], [5.0, 4.0, 6.0]])
    got = Session(b.finish()).run(gx, {"x": xv})
    # the sorted position of each element picks its weight
    assert got.tolist() == [[10, 1, 100], [10, 1, 100]]


def test_sort_is_differentiable_but_argsort_and_one_hot_are_not():
    assert REGISTRY["sort"].grad is not None
    assert not REGISTRY["argsort"].differentiable and not REGISTRY["one_hot"].differentiable
    assert REGISTRY["take"].ids[1].what == "size of the axis take gathers from"
    assert REGISTRY["one_hot"].ids[0].what == "depth of one_hot"
