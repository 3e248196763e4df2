"""ops/common.py: the shared shape rules (same, floating, broadcast, compare...) and gradient
helpers (fit undoes broadcasting and casts, product, mask), checked on their own."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import OpError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import common as C
from tensorlang.runtime.session import Session

N = D.Dim.sym("N")


def t(dtype, *shape, weak=False):
    return TensorType(dtype, shape, weak)


@pytest.mark.parametrize("dtype, out", [("f16", "f16"), ("f64", "f64"), ("i32", "f32"),
                                        ("u8", "f32"), ("bool", "f32")])
def test_float_of(dtype, out):
    assert C.float_of(t(dtype)) == out


def test_same_keeps_the_type_and_refuses_bool():
    assert C.same([t("i32", N, 3, weak=True)]) == t("i32", N, 3, weak=True)
    with pytest.raises(OpError, match="needs a numeric tensor, not bool"):
        C.same([t("bool", 2)])


def test_floating_gives_a_float_of_the_same_shape():
    assert C.floating([t("i64", N)]) == t("f32", N)
    assert C.floating([t("f64", 2, 2)]) == t("f64", 2, 2)


def test_broadcast_shapes_and_promotes():
    assert C.broadcast([t("f32", N, 1), t("f64", 3)]) == t("f64", N, 3)
    assert C.broadcast([t("i32", 2), t("f32", weak=True)]) == t("f32", 2)  # 2.5 * i
    assert C.broadcast([t("i64", weak=True), t("i64", weak=True)]).weak
    with pytest.raises(OpError, match="arithmetic on bool tensors"):
        C.broadcast([t("bool", 2), t("bool", 2)])
    with pytest.raises(OpError, match="dims 3 and 4 do not broadcast"):
        C.broadcast([t("f32", 3), t("f32", 4)])


def test_broadcast_float_is_true_division():
    assert C.broadcast_float([t("i32", 2), t("i32", 2)]) == t("f32", 2)
    assert C.broadcast_float([t("f64", N), t("f64", 1)]) == t("f64", N)


def test_compare_gives_bool_even_for_bools():
    assert C.compare([t("f32", N, 1), t("i32", 4)]) == t("bool", N, 4)
    assert C.compare([t("bool", 2), t("bool", 2)]) == t("bool", 2)


def test_as_dtype_copies_only_when_it_must():
    x = np.arange(3, dtype=np.float32)
    assert C.as_dtype(x, "f32") is x
    y = C.as_dtype(x, "f64")
    assert y.dtype == np.float64 and y is not x


def test_require_float():
    C.require_float(t("f16", 2))
    with pytest.raises(OpError, match="the kernel must be a float tensor, not i64"):
        C.require_float(t("i64", 2), "kernel")


def test_fit_sums_a_gradient_back_and_casts_it():
    b = Builder("g")
    like = b.add("placeholder", (), {"default": None}, type=t("f32", 1, 3), name="like")
    g = b.constant(np.arange(12.0).reshape(4, 1, 3), "f64")
    fitted = C.fit(b, g, like)
    assert fitted.type == t("f32", 1, 3) and fitted.op == "cast"
    assert fitted.inputs[0].op == "sum_to"
    got = Session(b.finish()).run(fitted, {"like": np.zeros((1, 3), np.float32)})
    np.testing.assert_array_equal(got, np.arange(12.0).reshape(4, 1, 3).sum(axis=0))
    same = b.constant(np.ones((1, 3)), "f32")
    assert C.fit(b, same, like) is same  # nothing to undo: no node is made


def test_product_and_mask_build_nodes():
    b = Builder("g")
    xs = [b.constant(v, "f64") for v in ([1.0, 2.0], [3.0, 4.0], [5.0, 6.0])]
    p = C.product(b, *xs)
    assert p.op == "multiply" and p.inputs[0].op == "multiply"
    assert C.product(b, xs[0]) is xs[0]
    m = C.mask(b, b.op("greater", xs[0], 1.5), xs[0])
    assert m.op == "cast" and m.dtype == "f64"
    sess = Session(b.finish())
    np.testing.assert_array_equal(sess.run(p), [15.0, 48.0])
    np.testing.assert_array_equal(sess.run(m), [0.0, 1.0])
