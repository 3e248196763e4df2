"""The fast paths added to kernels for speed, against independent references on inputs chosen to
reach their corners: chunked stride-1 convolutions (many chunks, a partial last one, every
padding), branch-free max-pooling gradients (ties, cropped borders), the branch-free zero-select
of `where` (NaN, -0.0, inf kept bit for bit), the fused softmax cross-entropy gradient, and the
lean loss and mean kernels."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.ops import conv as C
from tensorlang.ops import conv_kernels, losses
from tensorlang.ops import elementwise as E
from tensorlang.ops import pool as P
from tensorlang.ops import reduce as R

from .references import conv as ref


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of one or two images, so that batches split into several with a ragged end."""
    monkeypatch.setattr(conv_kernels, "CHUNK_BYTES", 1)


CONVS = [  # x shape, k shape, padding
    ((5, 1, 9, 8), (3, 1, 5, 5), 2),
    ((3, 2, 7, 6), (4, 2, 3, 2), "same"),
    ((4, 3, 6, 6), (2, 3, 3, 3), "valid"),
    ((2, 2, 5, 7), (3, 2, 2, 4), 1),
    ((1, 1, 4, 4), (1, 1, 4, 4), 0),
]


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("xs,ks,padding", CONVS)
def test_stride_1_convolutions_match_the_loop_reference(xs, ks, padding, chunked, request):
    if chunked:
        request.getfixturevalue("small_chunks")
    rng = np.random.default_rng(len(xs) + ks[0])
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        x, k = rng.normal(size=xs).astype(dtype), rng.normal(size=ks).astype(dtype)
        got = C._conv2d(x, k, 1, padding)
        want = ref.conv2d(x, k, 1, padding)
        assert got.dtype == dtype and got.flags.c_contiguous
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        g = rng.normal(size=want.shape).astype(dtype)
        got_k = C._conv2d_grad_kernel(x, g, ks[2:], 1, padding)
        assert got_k.dtype == dtype
        np.testing.assert_allclose(got_k, ref.conv2d_grad_kernel(x, g, ks[2:], 1, padding),
                                   rtol=tol * 10, atol=tol * 10)


def test_chunks_really_split_the_batch(small_chunks, monkeypatch):
    calls = []
    real = conv_kernels._columns
    monkeypatch.setattr(conv_kernels, "_columns", lambda xf, *a: calls.append(len(xf)) or
                        real(xf, *a))
    x, k = np.ones((5, 1, 6, 6)), np.ones((2, 1, 3, 3))
    np.testing.assert_allclose(C._conv2d(x, k, 1, 1), ref.conv2d(x, k, 1, 1))
    assert calls == [1, 1, 1, 1, 1]


@pytest.mark.parametrize("shape,size", [((2, 3, 4, 6), 2), ((1, 2, 7, 5), 2), ((2, 1, 9, 9), 3)])
def test_tiled_max_pool_gradient_goes_to_the_first_maximum(shape, size):
    rng = np.random.default_rng(sum(shape))
    for dtype in (np.float64, np.float32):
        # rounded values and relu-like zeros: many windows hold ties
        x = np.maximum(np.round(rng.normal(size=shape), 0), 0).astype(dtype)
        g = rng.normal(size=P._pool_out(P.TensorType("f64", shape), size, size)).astype(dtype)
        got = P._max_pool2d_grad(x, g, size)
        want = ref.max_pool2d_grad(x, g, size)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)


def test_tiled_max_pool_gradient_keeps_nan_and_inf_bits():
    x = np.array([[[[1.0, 0.0], [0.0, 0.0]]]], np.float32)
    for value in (np.nan, np.inf, -0.0):
        g = np.full((1, 1, 1, 1), value, np.float32)
        got = P._max_pool2d_grad(x, g, 2)
        want = np.array([[[[value, 0.0], [0.0, 0.0]]]], np.float32)
        assert got.tobytes() == want.tobytes()


SPECIAL = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 1.5, -2.5, 3e-39])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("zero_first", [False, True])
def test_where_with_a_zero_side_is_np_where_bit_for_bit(dtype, zero_first):
    rng = np.random.default_rng(0)
    a = np.resize(SPECIAL.astype(dtype), (6, 8))
    cond = rng.uniform(size=(6, 8)) > 0.5
    zero = np.zeros((), dtype)
    args = (cond, zero, a) if zero_first else (cond, a, zero)
    want = np.where(*args)
    got = E._where(*args)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    out = np.full(want.shape, 7, dtype)
    assert E._where(*args, out=out) is out and out.tobytes() == want.tobytes()


def test_where_falls_back_to_np_where_when_no_side_is_a_plain_zero():
    cond = np.array([True, False, True])
    for b in (np.asarray(-0.0), np.asarray(1.0), np.array([0.0, 0.0, 0.0]), np.zeros((1, 1))):
        a = np.array([1.0, np.nan, -3.0])
        want = np.where(cond, a, b)
        got = E._where(cond, a, b)
        assert got.shape == want.shape and got.tobytes() == want.tobytes()


def _sxe_grad_reference(z, ids, g):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return (p - np.eye(z.shape[-1])[ids]) * g[..., None]


def test_fused_softmax_cross_entropy_gradient():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(5, 4)) * 3
    ids = np.array([0, 3, 1, 1, 2], np.uint8)
    g = rng.normal(size=(5,))
    np.testing.assert_allclose(losses._sxe_grad(z, ids, g), _sxe_grad_reference(z, ids, g),
                               rtol=1e-12, atol=1e-15)
    out = z.copy()
    got = losses._sxe_grad(out, ids, g, out=out)  # in place over the logits
    assert got is out
    np.testing.assert_allclose(got, _sxe_grad_reference(z, ids, g), rtol=1e-12, atol=1e-15)
    for bad in (-1, 4):
        with pytest.raises(IndexError, match=f"class id {bad} is out of range for 4 classes"):
            losses._sxe_grad(z, np.array([0, bad, 1, 1, 2]), g)


@pytest.mark.parametrize("shape", [(128, 10), (3, 64), (4, 65), (2, 3, 10)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_kernels_of_few_and_many_classes(shape, dtype):
    """Class-major (at most FEW_CLASSES classes, 2-D) and row-major paths against a reference
    computed in f64 along the last axis, the gradient for g per example and for one g."""
    rng = np.random.default_rng(shape[-1])
    z = (rng.normal(size=shape) * 4).astype(dtype)
    ids = rng.integers(0, shape[-1], size=shape[:-1])
    z64 = z.astype(np.float64)
    lse = np.log(np.exp(z64 - z64.max(-1, keepdims=True)).sum(-1)) + z64.max(-1)
    want = lse - np.take_along_axis(z64, ids[..., None], -1)[..., 0]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    got = losses._softmax_cross_entropy(z, ids)
    assert got.dtype == dtype and got.shape == shape[:-1]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)  # a loss near 0 cancels
    mean = losses._sxe_mean(z, ids)
    np.testing.assert_allclose(mean, want.mean(), rtol=tol)
    if len(shape) == 2:  # the fused mean sums the very losses of the plain op, bit for bit
        assert mean.tobytes() == np.asarray(np.mean(got)).tobytes()
    for g in (rng.normal(size=shape[:-1]).astype(dtype), np.asarray([0.5], dtype)):
        out = np.empty_like(z)
        grad = losses._sxe_grad(z, ids, g, out=out)
        assert grad is out
        np.testing.assert_allclose(grad, _sxe_grad_reference(z64, ids, g.astype(np.float64)),
                                   rtol=tol, atol=tol)
    for bad in (-1, shape[-1]):
        wrong = ids.copy()
        wrong.flat[1] = bad
        for kernel, args in ((losses._sxe_mean, ()), (losses._sxe_grad, (g,)),
                             (losses._softmax_cross_entropy, ())):
            with pytest.raises(IndexError, match=f"class id {bad} is out of range"):
                kernel(z, wrong, *args)


def test_fused_mean_loss_is_the_mean_of_the_per_example_losses():
    rng = np.random.default_rng(8)
    for shape in ((7, 5), (2, 3, 4)):
        for dtype in (np.float32, np.float64):
            z = (rng.normal(size=shape) * 3).astype(dtype)
            ids = rng.integers(0, shape[-1], size=shape[:-1])
            want = np.asarray(np.mean(losses._softmax_cross_entropy(z, ids)))
            got = losses._sxe_mean(z, ids)
            assert got.dtype == want.dtype == dtype and got.shape == ()
            if len(shape) == 2:  # one axis: the very same sum, bit for bit
                assert got.tobytes() == want.tobytes()
            np.testing.assert_allclose(got, want, rtol=1e-6)
    with pytest.raises(IndexError, match="class id -2 is out of range for 5 classes"):
        losses._sxe_mean(np.zeros((2, 5)), np.array([1, -2]))


def test_loss_kernel_with_ids_matches_log_softmax():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(6, 5)).astype(np.float32) * 4
    ids = rng.integers(0, 5, 6)
    logp = z - z.max(axis=1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
    got = losses._softmax_cross_entropy(z, ids)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, -logp[np.arange(6), ids], rtol=1e-6)
    for bad in (-1, 5):
        with pytest.raises(IndexError, match=f"class id {bad} is out of range"):
            losses._softmax_cross_entropy(z, np.array([0, 1, bad, 0, 0, 0]))


@pytest.mark.parametrize("shape,axis,keepdims", [((128,), (0,), False), ((3, 4, 5), (0, 2), True),
                                                 ((3, 4), None, False), ((7,), (), False)])
def test_mean_is_np_mean_bit_for_bit(shape, axis, keepdims):
    rng = np.random.default_rng(6)
    for dtype in (np.float32, np.float64, np.float16, np.int32):
        x = (rng.normal(size=shape) * 10).astype(dtype)
        got = R._k_mean(x, axis, keepdims)
        want = np.asarray(np.mean(x, axis=axis, keepdims=keepdims))
        if dtype == np.int32:
            want = want.astype(np.float32)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()
