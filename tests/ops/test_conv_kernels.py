"""ops/conv_kernels.py: the fast paths on their own: padded_flat's layout, the chunked stride-1
conv2d (with its bias) and its kernel and input gradients against direct loops, chunk sizes,
and the branch-free max-pooling gradient."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.ops import conv_kernels as F


def loop_conv(x, k, pads):
    """Cross-correlation by its definition: a sum over every window and filter."""
    (t, b), (left, r) = pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)))
    n, c, hp, wp = xp.shape
    f, _, kh, kw = k.shape
    out = np.zeros((n, f, hp - kh + 1, wp - kw + 1))
    for m, o, i, j in np.ndindex(out.shape):
        out[m, o, i, j] = (xp[m, :, i:i + kh, j:j + kw] * k[o]).sum()
    return out


def loop_grad_kernel(x, g, khw, pads):
    """d <g, conv(x, k)> / d k by its definition."""
    (t, b), (left, r) = pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)))
    kh, kw = khw
    out = np.zeros((g.shape[1], x.shape[1], kh, kw))
    for o, c, i, j in np.ndindex(out.shape):
        out[o, c, i, j] = (g[:, o] * xp[:, c, i:i + g.shape[2], j:j + g.shape[3]]).sum()
    return out


def loop_grad_input(g, k, hw, pads):
    """d <g, conv(x, k)> / d x by its definition: every output's window gets g times k."""
    (t, b), (left, r) = pads
    n, f, oh, ow = g.shape
    dxp = np.zeros((n, k.shape[1], hw[0] + t + b, hw[1] + left + r))
    kh, kw = k.shape[2:]
    for m, o, i, j in np.ndindex(g.shape):
        dxp[m, :, i:i + kh, j:j + kw] += g[m, o, i, j] * k[o]
    return dxp[:, :, t:t + hw[0], left:left + hw[1]]


def test_padded_flat_lays_out_each_image_row_by_row_with_a_spare_row():
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    flat, hp, wp = F.padded_flat(x, ((1, 0), (0, 2)))
    assert (hp, wp) == (3, 5) and flat.shape == (1, 1, (3 + 1) * 5)
    assert flat[0, 0].reshape(4, 5).tolist() == [[0, 0, 0, 0, 0],
                                                 [0, 1, 2, 0, 0],
                                                 [3, 4, 5, 0, 0],
                                                 [0, 0, 0, 0, 0]]


@pytest.mark.parametrize("xs, ks, pads", [
    ((2, 3, 5, 6), (4, 3, 3, 3), ((1, 1), (1, 1))),
    ((3, 1, 7, 4), (2, 1, 2, 4), ((0, 1), (2, 1))),
    ((1, 2, 4, 4), (1, 2, 4, 4), ((0, 0), (0, 0))),
])
@pytest.mark.parametrize("chunk", [1, F.CHUNK_BYTES])
def test_conv2d_and_its_gradients_match_the_loops(xs, ks, pads, chunk, monkeypatch):
    monkeypatch.setattr(F, "CHUNK_BYTES", chunk)  # 1: a chunk per image
    monkeypatch.setattr(F, "GRAD_INPUT_CHUNK_BYTES", 2 * chunk)
    monkeypatch.setattr(F, "GRAD_KERNEL_CHUNK_BYTES", chunk // 2)
    rng = np.random.default_rng(sum(xs))
    x, k = rng.normal(size=xs), rng.normal(size=ks)
    got = F.conv2d(x, k, pads)
    want = loop_conv(x, k, pads)
    assert got.shape == want.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    bias = rng.normal(size=(ks[0], 1))
    np.testing.assert_allclose(F.conv2d(x, k, pads, bias), want + bias[None, :, :, None],
                               rtol=1e-12, atol=1e-12)
    g = rng.normal(size=want.shape)
    np.testing.assert_allclose(F.grad_kernel(x, g, ks[2:], pads),
                               loop_grad_kernel(x, g, ks[2:], pads), rtol=1e-11, atol=1e-11)
    got_x = F.grad_input(g, k, xs[2:], pads)
    assert got_x.shape == xs and got_x.flags.c_contiguous
    np.testing.assert_allclose(got_x, loop_grad_input(g, k, xs[2:], pads), rtol=1e-11,
                               atol=1e-11)


def test_spread_rows_start_an_odd_number_of_lines_apart():
    for dtype, length in ((np.float32, 896 * 8), (np.float64, 1), (np.float32, 16)):
        a = F.spread_rows(3, length, dtype)
        assert a.shape == (3, length) and a.dtype == dtype and a.strides[1] == a.itemsize
        assert a.strides[0] >= length * a.itemsize and (a.strides[0] // 64) % 2 == 1
        assert a.strides[0] % 64 == 0
        assert a.strides[0] == F.spread_row_bytes(length, a.itemsize)  # what memory predicts


def test_conv2d_keeps_f32():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 2, 5, 5)).astype(np.float32)
    k = rng.normal(size=(3, 2, 3, 3)).astype(np.float32)
    got = F.conv2d(x, k, ((1, 1), (1, 1)))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, loop_conv(x.astype(float), k.astype(float),
                                              ((1, 1), (1, 1))), rtol=1e-4, atol=1e-4)


def test_a_chunk_holds_at_least_one_image():
    assert F._chunk(rows=9, run=100, itemsize=8) == F.CHUNK_BYTES // 2 // 7200  # thin
    assert F._chunk(rows=90, run=100, itemsize=8) == F.CHUNK_BYTES // 72000
    assert F._chunk(rows=10 ** 6, run=10 ** 6, itemsize=8) == 1
    assert F._chunk(rows=0, run=0, itemsize=8) == F.CHUNK_BYTES // 2
    assert F.grad_kernel_chunk(rows=9, f=3, run=100, itemsize=8) == \
        F.GRAD_KERNEL_CHUNK_BYTES // 9600
    assert F.grad_kernel_chunk(rows=10 ** 6, f=1, run=10 ** 6, itemsize=8) == 1


def tiled_views(size, oh, ow):
    return lambda a, i, j: a[:, :, i:i + size * (oh - 1) + 1:size, j:j + size * (ow - 1) + 1:size]


def test_tiled_max_grad_routes_g_to_the_first_maximum():
    x = np.array([[3.0, 3.0, 0.0, 1.0],
                  [1.0, 2.0, 1.0, 1.0],
                  [0.0, 0.0, 5.0, 0.0],
                  [0.0, 4.0, 0.0, 5.0]]).reshape(1, 1, 4, 4)
    top = np.array([[3.0, 1.0], [4.0, 5.0]]).reshape(1, 1, 2, 2)
    g = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    got = F.tiled_max_grad(x, g, 2, top, tiled_views(2, 2, 2))
    assert got[0, 0].tolist() == [[1, 0, 0, 2], [0, 0, 0, 0], [0, 0, 4, 0], [0, 3, 0, 0]]


def test_tiled_max_grad_leaves_cropped_cells_zero_and_keeps_special_bits():
    x = np.zeros((1, 1, 3, 3), np.float32)
    x[0, 0, 0, 1] = 1.0
    top = np.ones((1, 1, 1, 1), np.float32)
    for value in (np.nan, -0.0, np.inf):
        g = np.full((1, 1, 1, 1), value, np.float32)
        got = F.tiled_max_grad(x, g, 2, top, tiled_views(2, 1, 1))
        want = np.zeros((1, 1, 3, 3), np.float32)
        want[0, 0, 0, 1] = value
        assert got.dtype == np.float32 and got.tobytes() == want.tobytes()
