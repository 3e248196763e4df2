"""ops/losses.py: the losses' label conventions and shape rules, every kernel against its
definition written out in NumPy, out-of-range class ids, the internal helpers, and the fused
kernels against the unfused formulas they replace."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import OpError, TensorlangError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY
from tensorlang.ops import losses as L
from tensorlang.runtime.session import Session
from tensorlang.transforms.autodiff import gradients

N = D.Dim.sym("N")
RNG = np.random.default_rng(7)
Z = RNG.normal(size=(5, 4)) * 3
IDS = np.array([0, 3, 1, 1, 2])
ROWS = np.eye(4)[IDS]


def k(op, *arrays, **attrs):
    return REGISTRY[op].kernel(*arrays, **attrs)


def log_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return np.log(e / e.sum(axis=-1, keepdims=True))


def test_classes_is_the_last_dim_of_the_scores():
    b = Builder("g")
    node = b.op("softmax_cross_entropy", b.constant(Z), b.constant(IDS))
    assert L.classes(node) == 4
    assert REGISTRY["softmax_cross_entropy"].ids[1].bound(node) == 4


@pytest.mark.parametrize("labels, out", [
    (TensorType("i64", (N,)), TensorType("f32", (N,))),
    (TensorType("u8", (N,)), TensorType("f32", (N,))),
    (TensorType("f32", (N, 4)), TensorType("f32", (N,))),
])
def test_categorical_labels_are_ids_or_rows(labels, out):
    assert L._categorical([TensorType("f32", (N, 4)), labels]) == out


@pytest.mark.parametrize("scores, labels, message", [
    (TensorType("f32", ()), TensorType("i64", ()), "not a scalar"),
    (TensorType("bool", (N, 4)), TensorType("i64", (N,)), "needs numeric scores"),
    (TensorType("f32", (N, 4)), TensorType("f32", (N,)), "class ids must be integers, not f32"),
    (TensorType("f32", (N, 4)), TensorType("i64", (N, 4, 1)), r"not \[N, 4, 1\]"),
])
def test_categorical_mistakes(scores, labels, message):
    with pytest.raises(OpError, match=message):
        L._categorical([scores, labels])


def test_binary_targets_broadcast_to_the_predictions():
    assert L._binary([TensorType("f64", (N, 3)), TensorType("u8", (3,))]) == \
        TensorType("f64", (N, 3))
    with pytest.raises(OpError, match=r"targets \[4\] do not broadcast"):
        L._binary([TensorType("f32", (N, 3)), TensorType("f32", (4,))])


def test_softmax_cross_entropy_by_ids_and_by_rows():
    want = -log_softmax(Z)[np.arange(5), IDS]
    np.testing.assert_allclose(k("softmax_cross_entropy", Z, IDS), want, rtol=1e-12)
    np.testing.assert_allclose(k("softmax_cross_entropy", Z, ROWS), want, rtol=1e-12)
    soft = np.full((5, 4), 0.25)
    np.testing.assert_allclose(k("softmax_cross_entropy", Z, soft),
                               -(soft * log_softmax(Z)).sum(axis=1), rtol=1e-12)


def test_cross_entropy_on_probabilities():
    p = np.exp(log_softmax(Z))
    np.testing.assert_allclose(k("cross_entropy", p, IDS), -np.log(p[np.arange(5), IDS]),
                               rtol=1e-12)
    np.testing.assert_allclose(k("cross_entropy", p, ROWS), -np.log(p[np.arange(5), IDS]),
                               rtol=1e-12)


def test_the_binary_losses():
    p = RNG.uniform(0.05, 0.95, size=(3, 2))
    y = RNG.uniform(size=(3, 2))
    np.testing.assert_allclose(k("binary_cross_entropy", p, y),
                               -(y * np.log(p) + (1 - y) * np.log(1 - p)), rtol=1e-12)
    x = RNG.normal(size=(3, 2)) * 4
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(k("sigmoid_cross_entropy", x, y),
                               -(y * np.log(s) + (1 - y) * np.log(1 - s)), rtol=1e-10)


def test_mse_is_the_mean_square_over_the_broadcast_shape():
    a, t = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([1.0, 1.0])
    assert k("mse", a, t) == pytest.approx((0 + 1 + 4 + 16) / 4)
    got = k("mse", np.array([1, 3], np.int32), np.array([2, 1], np.int32))
    assert got.dtype == np.float32 and got == pytest.approx(2.5)


def test_ids_of_any_batch_shape_and_dtype():
    z3 = RNG.normal(size=(2, 3, 4))
    ids = RNG.integers(0, 4, size=(2, 3)).astype(np.uint8)
    want = -np.take_along_axis(log_softmax(z3), ids[..., None].astype(int), -1)[..., 0]
    np.testing.assert_allclose(k("softmax_cross_entropy", z3, ids), want, rtol=1e-12)
    np.testing.assert_allclose(k("softmax_cross_entropy", Z[0], np.int32(2)),
                               -log_softmax(Z[0])[2], rtol=1e-12)


@pytest.mark.parametrize("op", ["softmax_cross_entropy", "cross_entropy",
                                "softmax_cross_entropy_mean"])
@pytest.mark.parametrize("bad", [4, -1])
def test_a_class_id_out_of_range_is_an_error_not_a_wrap_around(op, bad):
    ids = IDS.copy()
    ids[2] = bad
    with pytest.raises((IndexError, TensorlangError), match="out of range"):
        k(op, np.abs(Z), ids)


def test_one_hot_like_and_element_count():
    hot = k("one_hot_like", np.array([2, 0]), np.zeros((2, 3), np.float64))
    assert hot.dtype == np.float64 and hot.tolist() == [[0, 0, 1], [1, 0, 0]]
    assert k("one_hot_like", np.array([1]), np.zeros((1, 2), np.int32)).dtype == np.float32
    c = k("element_count", np.zeros((3, 4), np.float16))
    assert c.dtype == np.float16 and c == 12
    assert k("element_count", np.zeros(5, np.int64)).dtype == np.float32
    with pytest.raises(OpError, match="needs integer ids"):
        L._one_hot_like_infer([TensorType("f32", (N,)), TensorType("f32", (N, 3))])


def test_the_fused_gradient_is_softmax_minus_one_hot_times_g():
    g = RNG.normal(size=5)
    want = (np.exp(log_softmax(Z)) - ROWS) * g[:, None]
    np.testing.assert_allclose(k("softmax_cross_entropy_grad", Z, IDS, g), want, rtol=1e-12)
    z = Z.copy()
    out = k("softmax_cross_entropy_grad", z, IDS, g, out=z)  # may overwrite the logits
    assert out is z
    np.testing.assert_allclose(z, want, rtol=1e-12)


def test_the_fused_mean_is_the_mean_of_the_losses_and_its_gradient_divides_by_the_count():
    np.testing.assert_allclose(k("softmax_cross_entropy_mean", Z, IDS),
                               np.mean(-log_softmax(Z)[np.arange(5), IDS]), rtol=1e-12)
    b = Builder("g")
    z = b.add("placeholder", (), {"default": None}, type=TensorType("f64", (N, 4)), name="z")
    ids = b.add("placeholder", (), {"default": None}, type=TensorType("i64", (N,)), name="ids")
    loss = b.op("softmax_cross_entropy_mean", z, ids)
    (gz,) = gradients(b, loss, [z])
    got = Session(b.finish()).run(gz, {"z": Z, "ids": IDS})
    np.testing.assert_allclose(got, (np.exp(log_softmax(Z)) - ROWS) / 5, rtol=1e-12)


def test_the_fused_ops_check_their_inputs():
    with pytest.raises(OpError, match="needs float logits"):
        L._sxe_mean_infer([TensorType("i32", (N, 3)), TensorType("i64", (N,))])
    with pytest.raises(OpError, match="needs integer class ids"):
        L._sxe_mean_infer([TensorType("f32", (N, 3)), TensorType("f32", (N,))])
    with pytest.raises(OpError, match="the gradient must have the logits' dtype"):
        L._sxe_grad_infer([TensorType("f32", (N, 3)), TensorType("i64", (N,)),
                           TensorType("f64", (N,))])
    for op in ("softmax_cross_entropy_grad", "softmax_cross_entropy_mean"):
        assert REGISTRY[op].fused and REGISTRY[op].internal


def test_every_loss_makes_a_fresh_array():
    for op in ("softmax_cross_entropy", "cross_entropy", "binary_cross_entropy",
               "sigmoid_cross_entropy", "mse"):
        assert REGISTRY[op].memory.fresh and REGISTRY[op].family == "nn"


def test_soft_labels_stay_finite_for_logits_of_any_finite_size():
    # [2e38, -2e38, 0]: the shifted logit -4e38 is -inf in f32, and 0 * -inf was NaN
    z = np.array([[2e38, -2e38, 0]], np.float32)
    for labels, want in (([1, 0, 0], 0.0), ([0, 0, 1], 2e38), ([0, 1, 0], np.inf)):
        with np.errstate(all="ignore"):  # the session runs kernels so; the overflow is real
            got = k("softmax_cross_entropy", z, np.array([labels], np.float32))
        assert not np.isnan(got).any()
        np.testing.assert_allclose(got, [want], rtol=1e-6)  # 4e38 exceeds f32: inf, no NaN
    with np.errstate(all="ignore"):
        assert not np.signbit(k("softmax_cross_entropy", z, np.array([[1, 0, 0]], np.float32))[0])


@pytest.mark.parametrize("layout", ["transposed", "fortran"])
def test_the_fused_gradient_is_right_for_non_contiguous_logits(layout):
    # the plain graph gave -0.7457, the fused kernel 0.2543: the one-hot update went to a copy
    rng = np.random.default_rng(3)
    base = rng.normal(size=(3, 2, 4))
    z = base.transpose(1, 0, 2) if layout == "transposed" else np.asfortranarray(base)
    ids = rng.integers(0, 4, size=z.shape[:-1])
    g = rng.normal(size=z.shape[:-1])
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    want = (e / e.sum(axis=-1, keepdims=True) - np.eye(4)[ids]) * g[..., None]
    got = k("softmax_cross_entropy_grad", z, ids, g)
    np.testing.assert_allclose(got, want, rtol=1e-12)
