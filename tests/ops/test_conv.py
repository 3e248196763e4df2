"""conv2d and pooling: symbolic shape rules, padding conventions, error messages, tie-breaking,
and runs with symbolic dims bound at run time (what the registry-generated tests cannot see)."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import ShapeError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY
from tensorlang.runtime.session import Session

from .references import conv as ref

N, H, W = D.Dim.sym("N"), D.Dim.sym("H"), D.Dim.sym("W")


def placeholders(*shapes, dtype="f32"):
    """A builder and one placeholder per shape (named in0, in1...)."""
    b = Builder("t")
    phs = []
    for i, s in enumerate(shapes):
        ph = b.add("placeholder", (), {"default": None}, type=TensorType(dtype, tuple(s)),
                   name=f"in{i}")
        phs.append(b.bind(f"in{i}", ph, ph.span))
    return b, phs


def shape_of(opname, *shapes, **attrs):
    """The inferred shape of one op on placeholders of these shapes, as strings and ints."""
    b, phs = placeholders(*shapes)
    return b.add(opname, phs, attrs).shape


def error_of(opname, *shapes, **attrs) -> str:
    b, phs = placeholders(*shapes)
    with pytest.raises(ShapeError) as e:
        b.add(opname, phs, attrs)
    return e.value.message


# ------------------------------------------------------------------ conv2d shapes
def test_conv_stride_2_padding_1_with_symbolic_batch():
    assert shape_of("conv2d", (N, 3, 8, 8), (4, 3, 3, 3), stride=2, padding=1) == ("N", 4, 4, 4)
    assert shape_of("conv2d", (N, 3, 7, 8), (4, 3, 3, 2), stride=2, padding=1) == ("N", 4, 4, 5)


def test_conv_same_keeps_symbolic_height_and_width_at_stride_1():
    assert shape_of("conv2d", (N, 3, H, W), (4, 3, 5, 2), padding="same") == ("N", 4, "H", "W")


def test_conv_same_at_stride_2_is_ceil_of_half():
    assert shape_of("conv2d", (N, 1, 7, 8), (2, 1, 3, 3), stride=2, padding="same") == \
        ("N", 2, 4, 4)
    shape = shape_of("conv2d", (N, 1, H, 8), (2, 1, 3, 3), stride=2, padding="same")
    assert shape[:2] == ("N", 2) and shape[3] == 4
    assert "H" in shape[2]  # (H + 1)//2, evaluated once H is fed


def test_conv_valid_and_symbolic_padding_arithmetic():
    assert shape_of("conv2d", (N, 2, H, W), (3, 2, 3, 3), padding="valid") == \
        ("N", 3, "H - 2", "W - 2")
    assert shape_of("conv2d", (N, 2, H, W), (3, 2, 3, 3), padding=1) == ("N", 3, "H", "W")


def test_conv_padding_is_normalized_in_the_node():
    b, (x, k) = placeholders((1, 1, 4, 4), (1, 1, 3, 3))
    assert b.add("conv2d", [x, k], {"padding": "valid"}).attrs["padding"] == 0
    assert b.add("conv2d", [x, k], {"padding": "same"}).attrs["padding"] == "same"


def test_conv_same_pads_like_tensorflow_with_the_extra_row_at_the_bottom():
    x = np.ones((1, 1, 4, 4))
    k = np.ones((1, 1, 3, 3))
    got = REGISTRY["conv2d"].kernel(x, k, stride=2, padding="same")
    # total padding max((2 - 1) * 2 + 3 - 4, 0) = 1, all of it at the bottom and on the right
    np.testing.assert_array_equal(got[0, 0], [[9, 6], [6, 4]])
    np.testing.assert_array_equal(got, ref.conv2d(x, k, stride=2, padding="same"))


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (1, "same"), (3, "same"), (2, 2)])
def test_conv_kernel_matches_the_loop_reference_on_odd_sizes(stride, padding):
    rng = np.random.default_rng(stride)
    x = rng.normal(size=(2, 3, 9, 7)).astype(np.float32)
    k = rng.normal(size=(4, 3, 3, 2)).astype(np.float32)
    got = REGISTRY["conv2d"].kernel(x, k, stride=stride, padding=padding)
    assert got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(got, ref.conv2d(x, k, stride, padding), rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------ conv2d errors
def test_channel_mismatch_names_both_channel_counts():
    msg = error_of("conv2d", (N, 3, 8, 8), (4, 5, 3, 3))
    assert msg.startswith("conv2d: f32[N, 3, 8, 8], f32[4, 5, 3, 3]: ")
    assert "x has 3 channels but the kernel expects 5" in msg


@pytest.mark.parametrize("attrs,needle", [
    ({"padding": "full"}, 'padding must be an int >= 0, "same" or "valid", not \'full\''),
    ({"padding": -1}, "not -1"),
    ({"padding": True}, "not True"),
    ({"stride": 0}, "stride must be a positive int, not 0"),
])
def test_bad_conv_attributes(attrs, needle):
    assert needle in error_of("conv2d", (N, 3, 8, 8), (4, 3, 3, 3), **attrs)


def test_kernel_larger_than_the_padded_image():
    msg = error_of("conv2d", (N, 1, 2, 8), (1, 1, 5, 3), padding=1)
    assert "window 5 is larger than the height 2 padded with 1" in msg


def test_conv_ranks_and_dtypes():
    assert "x must be rank 4 [N, C, H, W], not [N, 3, 8]" in error_of(
        "conv2d", (N, 3, 8), (4, 3, 3, 3))
    assert "the kernel must be rank 4" in error_of("conv2d", (N, 3, 8, 8), (4, 3, 3))
    b, (x, k) = placeholders((1, 1, 4, 4), (1, 1, 3, 3), dtype="i32")
    with pytest.raises(ShapeError, match="needs float tensors, not i32, i32"):
        b.add("conv2d", [x, k])


# ------------------------------------------------------------------ pooling
def test_pooling_with_symbolic_batch():
    for op in ("max_pool2d", "avg_pool2d"):
        assert shape_of(op, (N, 3, 8, 8)) == ("N", 3, 4, 4)
        assert shape_of(op, (N, 3, 7, 9), size=3, stride=2) == ("N", 3, 3, 4)
        assert shape_of(op, (N, 3, 5, 5), size=2) == ("N", 3, 2, 2)  # the last row is left out


def test_pool_stride_defaults_to_size():
    b, (x,) = placeholders((N, 3, 8, 8))
    assert dict(b.add("max_pool2d", [x], {"size": 4}).attrs) == {"size": 4, "stride": 4}


def test_pool_errors():
    assert "size must be a positive int, not 0" in error_of("max_pool2d", (N, 3, 8, 8), size=0)
    assert "window 3 is larger than the width 2" in error_of(
        "avg_pool2d", (N, 3, 8, 2), size=3)


def test_pool_dtypes():
    b, (x,) = placeholders((N, 3, 8, 8), dtype="i32")
    assert b.add("max_pool2d", [x]).dtype == "i32"
    assert b.add("avg_pool2d", [x]).dtype == "f32"
    got = REGISTRY["avg_pool2d"].kernel(np.arange(16, dtype=np.int32).reshape(1, 1, 4, 4))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got[0, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_max_pool_gradient_goes_to_the_first_maximum_of_a_tie():
    x = np.zeros((1, 1, 2, 2))
    x[0, 0, 1, 0] = x[0, 0, 1, 1] = 1.0  # a tie between (1, 0) and (1, 1)
    got = REGISTRY["max_pool2d_grad"].kernel(x, np.full((1, 1, 1, 1), 5.0), size=2, stride=2)
    np.testing.assert_array_equal(got[0, 0], [[0, 0], [5, 0]])


def test_overlapping_max_pool_gradient_accumulates():
    x = np.array([[[[0.0, 1.0, 9.0, 2.0, 0.5]]]]).repeat(3, axis=2)  # 3 x 5, max at column 2
    got = REGISTRY["max_pool2d_grad"].kernel(x, np.ones((1, 1, 1, 3)), size=3, stride=1)
    assert got[0, 0, 0, 2] == 3.0 and got.sum() == 3.0  # all three windows hold that 9


def test_pooling_runs_with_symbolic_height_and_width():
    Hs, Ws = D.Dim.sym("Hs"), D.Dim.sym("Ws")
    b, (x,) = placeholders((N, 2, Hs, Ws), dtype="f64")
    p = b.add("max_pool2d", [x], {"size": 3, "stride": 2})
    a = b.add("avg_pool2d", [x], {"size": 2})
    arr = np.random.default_rng(0).normal(size=(2, 2, 7, 9))
    got_p, got_a = Session(b.finish()).run([p, a], {"in0": arr})
    np.testing.assert_allclose(got_p, ref.max_pool2d(arr, 3, 2))
    np.testing.assert_allclose(got_a, ref.avg_pool2d(arr, 2))


def test_conv_gradients_run_with_symbolic_dims():
    """The backward graph of conv2d ("same", stride 2) types and runs with N, H, W unknown."""
    from tensorlang.transforms.autodiff import gradients

    b, (x, k) = placeholders((N, 2, H, W), (3, 2, 3, 3), dtype="f64")
    y = b.add("conv2d", [x, k], {"stride": 2, "padding": "same"})
    loss = b.op("sum_to", b.op("multiply", y, y), shape=())
    gx, gk = gradients(b, loss, [x, k])
    assert gx.shape == ("N", 2, "H", "W") and gk.shape == (3, 2, 3, 3)
    rng = np.random.default_rng(1)
    xv, kv = rng.normal(size=(2, 2, 7, 6)), rng.normal(size=(3, 2, 3, 3))
    got_x, got_k = Session(b.finish()).run([gx, gk], {"in0": xv, "in1": kv})
    yv = ref.conv2d(xv, kv, 2, "same")
    hw, khw = (7, 6), (3, 3)
    np.testing.assert_allclose(got_x, ref.conv2d_grad_input(2 * yv, kv, hw, 2, "same"))
    np.testing.assert_allclose(got_k, ref.conv2d_grad_kernel(xv, 2 * yv, khw, 2, "same"))


def test_internal_gradient_ops_check_the_sizes_they_are_given():
    msg = error_of("conv2d_grad_input", (N, 4, 4, 4), (4, 3, 3, 3), hw=(8, 8), stride=1,
                   padding=1)
    assert "output sizes 8 and 4 differ" in msg
    assert shape_of("conv2d_grad_kernel", (N, 3, 8, 8), (N, 4, 4, 4), khw=(3, 3), stride=2,
                    padding="same") == (4, 3, 3, 3)
    msg = error_of("conv2d_grad_kernel", (N, 3, 8, 8), (N, 4, 5, 4), khw=(3, 3), stride=2,
                   padding="same")
    assert "output sizes 4 and 5 differ" in msg
