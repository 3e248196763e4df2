"""ops/broadcast.py: broadcast_to and its adjoint sum_to, whose kernel is the one place where
broadcasting is undone: shape rules, the kernel against a loop of sums, and the gradient rules
pointing at each other."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import OpError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY
from tensorlang.ops.broadcast import sum_to

N = D.Dim.sym("N")


def reference_sum_to(x, shape):
    """Sum away leading axes one at a time, then every stretched size-1 axis."""
    out = x
    while out.ndim > len(shape):
        out = out.sum(axis=0)
    for i, d in enumerate(shape):
        if d == 1 and out.shape[i] != 1:
            out = out.sum(axis=i, keepdims=True)
    return out


@pytest.mark.parametrize("xshape, shape", [
    ((4, 3), (3,)), ((4, 3), (1, 3)), ((4, 3), (4, 1)), ((4, 3), ()), ((2, 4, 3), (4, 1)),
    ((2, 4, 3), (2, 4, 3)), ((5,), (1,)), ((2, 1, 3), (1, 3)), ((3, 2, 5), (1, 2, 1)),
])
def test_sum_to_matches_summing_axis_by_axis(xshape, shape):
    x = np.random.default_rng(0).normal(size=xshape)
    got = sum_to(x, shape)
    assert got.shape == shape
    np.testing.assert_allclose(got, reference_sum_to(x, shape), rtol=1e-12)


def test_sum_to_of_the_same_shape_is_x_itself():
    x = np.ones((2, 3))
    assert sum_to(x, (2, 3)) is x


def test_sum_to_takes_a_list_shape():
    np.testing.assert_array_equal(sum_to(np.ones((2, 3)), [3]), [2.0, 2.0, 2.0])


def test_the_shape_rules():
    bt, st = REGISTRY["broadcast_to"], REGISTRY["sum_to"]
    assert bt.infer([TensorType("f32", (3,))], shape=[N, 3]) == TensorType("f32", (N, 3))
    assert st.infer([TensorType("f64", (N, 3))], shape=(1, 3)) == TensorType("f64", (1, 3))
    with pytest.raises(OpError, match=r"cannot broadcast \[2\] to \[N, 3\]"):
        bt.infer([TensorType("f32", (2,))], shape=(N, 3))
    with pytest.raises(OpError, match=r"cannot sum \[N, 3\] down to \[2\]"):
        st.infer([TensorType("f32", (N, 3))], shape=(2,))


def test_broadcast_to_is_a_view_that_preserves_values():
    x = np.arange(3.0)
    y = REGISTRY["broadcast_to"].kernel(x, (4, 3))
    assert y.shape == (4, 3) and np.shares_memory(x, y)
    assert REGISTRY["broadcast_to"].preserves_values and not REGISTRY["sum_to"].preserves_values
    assert REGISTRY["sum_to"].internal and not REGISTRY["broadcast_to"].internal


def test_each_gradient_is_the_other_op():
    b = Builder("g")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f64", (N, 1)), name="x")
    up = b.op("broadcast_to", x, shape=(N, 4))
    (g_up,) = REGISTRY["broadcast_to"].grad(b, up, up)
    assert g_up.op == "sum_to" and g_up.type.shape == (N, 1)
    down = b.op("sum_to", up, shape=(N, 1))
    (g_down,) = REGISTRY["sum_to"].grad(b, down, down)
    assert g_down.op == "broadcast_to" and g_down.type.shape == (N, 4)
