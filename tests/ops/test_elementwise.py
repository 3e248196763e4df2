"""ops/elementwise.py: the kernels that need care (sigmoid, softplus and logit without overflow,
true division of integers, relu's out=, the fused relu gradient), dtype rules, and a few
gradient rules checked by hand (ties of maximum, power at a non-positive base, cast)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tensorlang.errors import OpError, ShapeError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY
from tensorlang.ops import elementwise as E
from tensorlang.runtime.session import Session
from tensorlang.transforms.autodiff import gradients

N = D.Dim.sym("N")
STRICT = {"over": "raise", "invalid": "raise", "divide": "raise"}


def k(op, *arrays, **attrs):
    return REGISTRY[op].kernel(*arrays, **attrs)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_is_exact_in_the_tails_and_never_overflows(dtype):
    x = np.array([-1000.0, -30.0, -1.0, 0.0, 2.0, 1000.0], dtype)
    with np.errstate(**STRICT):
        got = k("sigmoid", x)
    want = [1 / (1 + math.exp(-float(v))) if v > -700 else 0.0 for v in x]
    assert got.dtype == dtype
    np.testing.assert_allclose(got.astype(float), want, rtol=1e-3 if dtype == np.float16 else 1e-6,
                               atol=float(np.finfo(dtype).tiny))  # f16 underflows at -30
    assert got[-1] == 1 and got[3] == 0.5


def test_softplus_and_logit_are_finite_where_the_formulas_are_not():
    with np.errstate(**STRICT):
        sp = k("softplus", np.array([-800.0, 0.0, 800.0]))
        lg = k("logit", np.array([0.0, 0.5, 1.0], np.float32))
    np.testing.assert_allclose(sp, [0.0, math.log(2), 800.0], atol=1e-300)
    assert lg.dtype == np.float32 and np.all(np.isfinite(lg)) and lg[1] == 0
    assert lg[0] < -80 and lg[2] > 15  # clipped to the dtype's smallest steps from 0 and 1


def test_integer_inputs_compute_in_the_default_float():
    i = np.array([1, 2, 4], np.int32)
    assert k("exp", i).dtype == np.float32
    assert k("sqrt", i).tolist() == [1.0, float(np.float32(math.sqrt(2))), 2.0]
    d = k("divide", i, np.array([2, 4, 8], np.int32))
    assert d.dtype == np.float32 and d.tolist() == [0.5, 0.5, 0.5]
    assert k("divide", np.array([1.0]), np.array([4])).dtype == np.float64
    b = Builder("g")
    assert b.op("divide", b.constant([1, 2], "i32"), b.constant(3, "i32")).dtype == "f32"
    assert b.op("tanh", b.constant([1], "u8")).dtype == "f32"
    assert b.op("neg", b.constant([1], "i32")).dtype == "i32"


def test_kernels_that_take_out_write_into_it():
    x = np.array([-1.0, 2.0, -3.0])
    out = np.empty(3)
    assert k("relu", x, out=out) is out and out.tolist() == [0, 2, 0]
    assert k("exp", x, out=out) is out
    np.testing.assert_allclose(out, np.exp(x))
    assert k("add", x, x, out=x) is x and x.tolist() == [-2, 4, -6]  # in place


def test_which_nodes_may_be_written_into():
    b = Builder("g")
    f, i = b.constant([1.0, 2.0], "f32"), b.constant([1, 2], "i32")
    same, mixed = b.op("add", f, f), b.op("add", f, i)
    assert E.same_dtype(same) and not E.same_dtype(mixed)
    assert REGISTRY["add"].memory.out(same) and REGISTRY["add"].memory.inplace
    assert REGISTRY["sigmoid"].memory.fresh and REGISTRY["sigmoid"].memory.out is None
    assert E._is_zero(b.constant(0.0, "f32")) and not E._is_zero(b.constant(-0.0, "f32"))
    assert not E._is_zero(b.constant([0.0, 0.0], "f32")) and not E._is_zero(f)


def test_leaky_relu_floor_round_sign_mod():
    x = np.array([-2.0, -0.5, 0.0, 1.5, 2.5])
    assert k("leaky_relu", x, alpha=0.1).tolist() == [-0.2, -0.05, 0.0, 1.5, 2.5]
    assert k("floor", x).tolist() == [-2, -1, 0, 1, 2]
    assert k("round", x).tolist() == [-2, -0.0, 0, 2, 2]  # halves to even
    assert k("sign", x).tolist() == [-1, -1, 0, 1, 1]
    assert k("mod", np.array([-3.0, 3.0]), np.array([2.0, -2.0])).tolist() == [1.0, -1.0]
    assert k("floor_divide", np.array([-3.0, 7.0]), np.array([2.0, 2.0])).tolist() == [-2, 3]


def test_comparisons_are_bool_with_their_symbols():
    got = k("less_equal", np.array([1, 2, 3]), np.array([2, 2, 2]))
    assert got.dtype == np.bool_ and got.tolist() == [True, True, False]
    symbols = {op: REGISTRY[op].symbol for op in ("equal", "not_equal", "less", "less_equal",
                                                  "greater", "greater_equal")}
    assert symbols == {"equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=",
                       "greater": ">", "greater_equal": ">="}
    assert not any(REGISTRY[op].differentiable for op in symbols)


def test_where_rule_and_kernel():
    assert REGISTRY["where"].infer([TensorType("bool", (N, 1)), TensorType("f32", (3,)),
                                    TensorType("f64", ())]) == TensorType("f64", (N, 3))
    with pytest.raises(OpError, match="the condition must be bool, not f32"):
        REGISTRY["where"].infer([TensorType("f32", (3,))] * 3)
    c = np.array([True, False, True])
    got = k("where", c, np.array([1.0, 2.0, 3.0]), np.asarray(0.0))
    assert got.tolist() == [1.0, 0.0, 3.0]


def test_cast_converts_and_only_float_casts_carry_gradients():
    assert k("cast", np.array([1.7, -1.7]), dtype="i32").tolist() == [1, -1]
    with pytest.raises(OpError, match='unknown dtype "f128"'):
        REGISTRY["cast"].infer([TensorType("f32", (2,))], dtype="f128")
    b = Builder("g")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f64", (2,)), name="x")
    to_f32, to_int = b.op("cast", x, dtype="f32"), b.op("cast", x, dtype="i64")
    (g,) = REGISTRY["cast"].grad(b, to_f32, b.constant([1.0, 1.0], "f32"))
    assert g.op == "cast" and g.dtype == "f64"
    assert REGISTRY["cast"].grad(b, to_int, b.constant([1, 1], "i64")) == (None,)


def grad_at(op, *values):
    """d sum(op(a, b...)) / d each input, at the given f64 values."""
    b = Builder("g")
    xs = [b.add("placeholder", (), {"default": None}, type=TensorType("f64", np.shape(v)),
                name=f"x{i}") for i, v in enumerate(values)]
    y = b.op("sum", b.add(op, xs))
    grads = gradients(b, y, xs)
    return Session(b.finish()).run(grads, {f"x{i}": np.asarray(v, np.float64)
                                           for i, v in enumerate(values)})


def test_maximum_and_minimum_split_the_gradient_of_a_tie():
    ga, gb = grad_at("maximum", [1.0, 2.0, 3.0], [3.0, 2.0, 1.0])
    assert ga.tolist() == [0.0, 0.5, 1.0] and gb.tolist() == [1.0, 0.5, 0.0]
    ga, gb = grad_at("minimum", [1.0, 2.0], [3.0, 2.0])
    assert ga.tolist() == [1.0, 0.5] and gb.tolist() == [0.0, 0.5]


def test_power_gradients_at_positive_and_non_positive_bases():
    ga, ge = grad_at("power", [2.0, 0.0, -2.0], [3.0, 2.0, 2.0])
    assert ga.tolist() == [12.0, 0.0, -4.0]  # e * a ** (e - 1)
    # d/de a^e = a^e log(a): finite (log of 1 in place of log(a)) where a <= 0
    assert ge[0] == pytest.approx(8 * math.log(2)) and ge[1:].tolist() == [0.0, 0.0]


def test_relu_gradient_masks_at_zero():
    (g,) = grad_at("relu", [-1.0, 0.0, 2.0])
    assert g.tolist() == [0.0, 0.0, 1.0]


def test_the_fused_relu_gradient():
    x = np.array([[-1.0, 0.0, 2.0, np.nan]], np.float32)
    g = np.array([[5.0, 6.0, -7.0, 8.0]], np.float32)
    got = k("relu_grad", x, g)
    assert got.dtype == np.float32 and got.tolist()[0][:3] == [0.0, 0.0, -7.0]
    assert got[0, 3] == 0.0  # NaN > 0 is false, as in where(x > 0, g, 0)
    out = np.empty_like(g)
    assert k("relu_grad", x, g, out=out) is out and out.tobytes() == got.tobytes()
    broadcast = k("relu_grad", np.array([1.0, -1.0]), np.asarray(3.0))  # the slow path
    assert broadcast.tolist() == [3.0, 0.0]
    rule = REGISTRY["relu_grad"]
    assert rule.fused and rule.internal
    with pytest.raises(OpError, match="needs a float gradient of x's shape"):
        rule.infer([TensorType("f32", (N, 3)), TensorType("f32", (N, 4))])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fused_relu_gradient_is_exact_in_place_too(dtype):
    """g's bits where x > 0, +0.0 elsewhere, whether out is fresh, x or g (the planner's
    donors): NaN, infinities and -0.0 of g kept or dropped exactly, as np.where does."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 33)).astype(dtype)
    g = rng.normal(size=x.shape).astype(dtype)
    g.flat[:8] = [np.nan, np.inf, -np.inf, -0.0, np.nan, np.inf, -np.inf, -0.0]
    x.flat[:8] = [1.0, 1.0, 1.0, 1.0, -1.0, 0.0, -2.0, -1.0]
    want = np.where(x > 0, g, dtype(0.0))
    assert k("relu_grad", x, g).tobytes() == want.tobytes()
    for into in ("x", "g"):
        xs, gs = x.copy(), g.copy()
        out = xs if into == "x" else gs
        assert k("relu_grad", xs, gs, out=out) is out and out.tobytes() == want.tobytes()


def test_bool_arithmetic_is_refused():
    b = Builder("g")
    t = b.constant([True, False])
    with pytest.raises(ShapeError, match="arithmetic on bool tensors"):
        b.op("add", t, t)
    with pytest.raises(ShapeError, match="needs a numeric tensor, not bool"):
        b.op("neg", t)


def test_stop_gradient_is_the_identity_without_a_gradient():
    x = np.array([1.0, 2.0])
    assert k("stop_gradient", x) is x
    assert not REGISTRY["stop_gradient"].differentiable


def test_logits_gradient_is_clipped_like_its_value():
    # logit clipped p into (0, 1) but its gradient divided by p (1 - p): inf at 0 and 1
    import tensorlang as tl
    g = tl.compile("graph g {\n    placeholder p: f64[4]\n    l = logit(p)\n"
                   "    gp = grad(sum(l), p)\n}\n").graphs["g"]
    p = np.array([0.0, 0.25, 0.5, 1.0])
    value, grad = tl.Session(g).run(["l", "gp"], {"p": p}, check_numerics=True)
    assert np.isfinite(value).all()
    np.testing.assert_allclose(grad, [0.0, 1 / (0.25 * 0.75), 4.0, 0.0])  # 0 where clipped
