"""ops/pool.py: max and average pooling and their gradients on hand-worked 4x4 images, the first
maximum of a tie, overlapping and cropped windows, the adjoint pairs (grad and pick, avg and its
gradient), the fused gradient that reuses the maxima, and the attribute checks."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import OpError, ShapeError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY
from tensorlang.ops import pool as P

from .references import conv as ref

N = D.Dim.sym("N")
X = np.array([[1.0, 5.0, 2.0, 0.0],
              [3.0, 4.0, 7.0, 7.0],
              [0.0, 0.0, 1.0, 2.0],
              [9.0, 0.0, 3.0, 3.0]]).reshape(1, 1, 4, 4)


def k(op, *arrays, **attrs):
    return REGISTRY[op].kernel(*arrays, **attrs)


def test_max_and_average_pooling_by_hand():
    assert k("max_pool2d", X)[0, 0].tolist() == [[5, 7], [9, 3]]
    assert k("avg_pool2d", X)[0, 0].tolist() == [[13 / 4, 16 / 4], [9 / 4, 9 / 4]]
    assert k("max_pool2d", X, size=3, stride=1)[0, 0].tolist() == [[7, 7], [9, 7]]
    assert k("max_pool2d", X, size=3)[0, 0].tolist() == [[7]]  # the last row and column left out


def test_the_max_gradient_goes_to_the_first_maximum_of_each_window():
    g = np.array([[10.0, 20.0], [30.0, 40.0]]).reshape(1, 1, 2, 2)
    got = k("max_pool2d_grad", X, g, size=2, stride=2)[0, 0]
    # window (0, 1) holds 7 twice: the first in row-major order takes it
    assert got.tolist() == [[0, 10, 0, 0], [0, 0, 20, 0], [0, 0, 0, 0], [30, 0, 40, 0]]


def test_overlapping_windows_add_up():
    g = np.ones((1, 1, 2, 2))
    got = k("max_pool2d_grad", X, g, size=3, stride=1)[0, 0]
    # windows at (0, 0), (0, 1), (1, 1) share the 7 at (1, 2); window (1, 0) takes the 9
    assert got[1, 2] == 3 and got[3, 0] == 1 and got.sum() == 4


def test_avg_pool_gradient_spreads_evenly():
    g = np.array([[4.0, 8.0]]).reshape(1, 1, 1, 2)
    got = k("avg_pool2d_grad", g, (2, 5), size=2, stride=2)[0, 0]
    assert got.tolist() == [[1, 1, 2, 2, 0], [1, 1, 2, 2, 0]]  # the cropped column gets none


@pytest.mark.parametrize("shape, size, stride", [((2, 3, 6, 6), 2, 2), ((1, 2, 7, 5), 3, 2),
                                                 ((2, 1, 5, 5), 2, 1)])
def test_the_adjoint_pairs(shape, size, stride):
    rng = np.random.default_rng(sum(shape))
    x = np.round(rng.normal(size=shape), 1)  # rounded: ties in many windows
    top = k("max_pool2d", x, size=size, stride=stride)
    g, u = rng.normal(size=top.shape), rng.normal(size=shape)
    back = k("max_pool2d_grad", x, g, size=size, stride=stride)
    pick = k("max_pool2d_pick", x, u, size=size, stride=stride)
    assert np.isclose((back * u).sum(), (g * pick).sum())  # <G g, u> = <g, G* u>
    np.testing.assert_array_equal(back, ref.max_pool2d_grad(x, g, size, stride))
    avg = k("avg_pool2d", u, size=size, stride=stride)
    spread = k("avg_pool2d_grad", g, shape[2:], size=size, stride=stride)
    assert np.isclose((avg * g).sum(), (u * spread).sum())


def test_the_fused_gradient_equals_the_unfused_one():
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=(2, 2, 6, 7)), 1)
    top = k("max_pool2d", x, size=2, stride=2)
    g = rng.normal(size=top.shape)
    want = k("max_pool2d_grad", x, g, size=2, stride=2)
    np.testing.assert_array_equal(k("max_pool2d_grad_top", x, top, g, size=2, stride=2), want)
    over = k("max_pool2d", x, size=3, stride=1)
    g3 = rng.normal(size=over.shape)
    np.testing.assert_array_equal(k("max_pool2d_grad_top", x, over, g3, size=3, stride=1),
                                  k("max_pool2d_grad", x, g3, size=3, stride=1))
    with pytest.raises(OpError, match="top must be max_pool2d"):
        P._pool_top_infer([TensorType("f32", (N, 1, 4, 4)), TensorType("f64", (N, 1, 2, 2)),
                           TensorType("f32", (N, 1, 2, 2))], size=2, stride=2)


@pytest.mark.parametrize("shape, size", [((9, 2, 6, 6), 2), ((11, 3, 7, 5), 2), ((9, 1, 9, 9), 3)])
def test_a_big_tiled_gradient_goes_a_chunk_of_images_at_a_time(monkeypatch, shape, size):
    """With chunks of a few images (the last one shorter; cropped cells in the 7 x 5 images),
    the tiled gradient, fused or not, equals the reference's, tied windows included."""
    from tensorlang.ops import conv_kernels as F
    rng = np.random.default_rng(sum(shape))
    x = np.round(rng.normal(size=shape), 1)
    image = x[0].nbytes
    monkeypatch.setattr(F, "POOL_GRAD_CHUNK_BYTES", 2 * image)  # chunks of 2 images
    assert F.pool_grad_chunk(len(x), image) == 2
    top = k("max_pool2d", x, size=size)
    g = rng.normal(size=top.shape)
    want = ref.max_pool2d_grad(x, g, size, size)
    np.testing.assert_array_equal(k("max_pool2d_grad", x, g, size=size, stride=size), want)
    np.testing.assert_array_equal(k("max_pool2d_grad_top", x, top, g, size=size, stride=size),
                                  want)


def test_a_small_tiled_gradient_is_one_chunk():
    from tensorlang.ops import conv_kernels as F
    assert F.pool_grad_chunk(10, F.POOL_GRAD_CHUNK_BYTES // 4) == 10  # x of 2.5 chunks: whole
    assert F.pool_grad_chunk(10, F.POOL_GRAD_CHUNK_BYTES) == 1
    assert F.pool_grad_chunk(0, 0) == 1


def test_dtypes_and_shapes():
    b = Builder("g")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("i32", (N, 3, 9, 8)),
              name="x")
    assert b.op("max_pool2d", x).type == TensorType("i32", (N, 3, 4, 4))
    assert b.op("avg_pool2d", x, size=3, stride=2).type == TensorType("f32", (N, 3, 4, 3))
    assert dict(b.op("avg_pool2d", x, size=3).attrs) == {"size": 3, "stride": 3}
    got = k("avg_pool2d", np.arange(16, dtype=np.int32).reshape(1, 1, 4, 4))
    assert got.dtype == np.float32


@pytest.mark.parametrize("attrs, message", [
    ({"size": 0}, "size must be a positive int, not 0"),
    ({"size": True}, "size must be a positive int, not True"),
    ({"stride": 1.5}, "stride must be a positive int, not 1.5"),
    ({"size": 5}, "window 5 is larger than the height 4"),
])
def test_bad_attributes(attrs, message):
    b = Builder("g")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f32", (N, 1, 4, 8)),
              name="x")
    with pytest.raises(ShapeError, match=message):
        b.op("max_pool2d", x, **attrs)


def test_pooling_needs_rank_4_and_numbers():
    b = Builder("g")
    with pytest.raises(ShapeError, match=r"x must be rank 4 \[N, C, H, W\], not \[4, 4\]"):
        b.op("max_pool2d", b.constant(np.zeros((4, 4))))
    with pytest.raises(ShapeError, match="needs a numeric tensor, not bool"):
        b.op("max_pool2d", b.constant(np.zeros((1, 1, 2, 2), bool)))
