"""erf to double precision, gelu (exact) against PyTorch's, silu/elu/clip gradients against
PyTorch's autograd, and einsum against np.einsum with gradients against PyTorch's; einsum's
mistakes named with both shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import ShapeError
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY
from tensorlang.ops import activations as A
from tensorlang.ops.activations import _erf64
from tensorlang.runtime.session import Session
from tensorlang.transforms.autodiff import gradients

torch = pytest.importorskip("torch")


def test_erf_to_double_precision():
    x = np.concatenate([np.linspace(-7, 7, 40001), [0.0, -0.0, 2.4999999, 2.5, 30, -30]])
    want = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(_erf64(x), want, rtol=4e-15, atol=4e-16)
    assert np.isnan(_erf64(np.array([np.nan])))[0]


@pytest.mark.parametrize("op, torch_fn", [
    ("gelu", lambda t: torch.nn.functional.gelu(t)),
    ("silu", lambda t: torch.nn.functional.silu(t)),
    ("elu(x, alpha = 0.7)", lambda t: torch.nn.functional.elu(t, alpha=0.7)),
    ("clip(x, -1, 1.5)", lambda t: torch.clamp(t, -1, 1.5)),
    ("erf", lambda t: torch.erf(t)),
])
def test_activations_and_their_gradients_equal_pytorch(op, torch_fn):
    call = op if "(" in op else f"{op}(x)"
    g = tl.compile(f"graph g {{\n    placeholder x: f64[N]\n    y = {call}\n"
                   "    dy = grad(sum(y * y), x)\n}\n").graphs["g"]
    x = np.random.default_rng(0).uniform(-4, 4, size=200)
    x = np.where(np.abs(np.abs(x) - 1) < 1e-3, 0.5, x)  # off clip's bounds
    y, dy = tl.Session(g).run(["y", "dy"], {"x": x})
    t = torch.tensor(x, requires_grad=True)
    ty = torch_fn(t)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dy, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec, shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(6,), (6,)]), ("ij->j", [(3, 4)]), ("ij,kj", [(2, 3), (4, 3)]),
    ("...ij,jk->...ik", [(2, 5, 3), (3, 2)]), ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 4)]),
])
def test_einsum_equals_numpy_and_its_gradients_equal_pytorch(spec, shapes):
    names = [f"a{k}" for k in range(len(shapes))]
    phs = "\n".join(f"    placeholder {n}: f64[{', '.join(map(str, s))}]"
                    for n, s in zip(names, shapes))
    grads = "\n".join(f"    d{n} = grad(sum(y * y), {n})" for n in names)
    g = tl.compile(f'graph g {{\n{phs}\n    y = einsum("{spec}", {", ".join(names)})\n{grads}\n}}\n'
                   ).graphs["g"]
    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=s) for s in shapes]
    out = tl.Session(g).run(["y"] + [f"d{n}" for n in names], dict(zip(names, arrays)))
    np.testing.assert_allclose(out[0], np.einsum(spec, *arrays), rtol=1e-12)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ty = torch.einsum(spec, *ts)
    (ty * ty).sum().backward()
    for got, t in zip(out[1:], ts):
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call, message", [
    ('einsum("ij,jk->ik", a, c)', 'subscript "j" is 3 in operand 0 (f32[2, 3]) but 5 in operand '
                                  "1 (f32[5, 4])"),
    ('einsum("ij->ik", a)', 'the output subscript "k" appears in no operand'),
    ('einsum("ij,jk->ik", a)', 'the spec "ij,jk->ik" has 2 operands, the call gives 1'),
    ('einsum("ijk->i", a)', 'the subscripts "ijk" name 3 dims, the operand has 2'),
    ('einsum("i1->i", a)', 'malformed spec "i1->i"'),
    ('einsum("ij->i->j", a)', 'malformed spec "ij->i->j"'),
    ('einsum("ij->ii", a)', 'the output subscript "i" appears twice'),
])
def test_einsum_mistakes_name_the_shapes(call, message):
    with pytest.raises(tl.ShapeError) as e:
        tl.compile("graph g {\n    placeholder a: f32[2, 3]\n    placeholder c: f32[5, 4]\n"
                   f"    y = {call}\n}}\n", "e.tl")
    assert message in e.value.message and e.value.line == 4


# ------------------------------------------------------ the module's functions on their own
# ops/activations.py: erf to double precision on both sides of its switch between the series
# and the continued fraction, gelu, silu, elu and clip against math-module formulas, dtypes, the
# gradient rules against hand derivatives, and clip's bounds check.


X = np.concatenate([np.linspace(-6, 6, 241), [-2.5, 2.5, 2.4999999, 2.5000001, 0.0, -0.0,
                                               1e-300, 27.0, -40.0]])


def k(op, *arrays, **attrs):
    return REGISTRY[op].kernel(*arrays, **attrs)


def test_erf_to_double_precision_across_the_switch():
    got = k("erf", X)
    want = np.array([math.erf(v) for v in X])
    np.testing.assert_allclose(got, want, rtol=2e-15, atol=2e-16)
    assert got[-5] == 0.0 and math.copysign(1, got[-4]) == -1  # erf(-0) is -0
    assert got[-2] == 1.0 and got[-1] == -1.0


def test_erf_of_nan_and_infinities():
    got = k("erf", np.array([np.nan, np.inf, -np.inf]))
    assert np.isnan(got[0]) and got[1:].tolist() == [1.0, -1.0]


def test_gelu_silu_elu_clip_against_their_formulas():
    x = np.linspace(-5, 5, 101)
    # 1 + erf cancels in the left tail (as in PyTorch's formula): close in absolute terms there
    np.testing.assert_allclose(k("gelu", x), [0.5 * v * math.erfc(-v / math.sqrt(2)) for v in x],
                               rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(k("silu", x), [v / (1 + math.exp(-v)) for v in x], rtol=1e-14)
    np.testing.assert_allclose(k("elu", x, alpha=0.5),
                               [v if v > 0 else 0.5 * math.expm1(v) for v in x], rtol=1e-14)
    assert k("clip", np.array([-2.0, -1.0, 0.5, 3.0]), low=-1, high=2).tolist() == \
        [-1.0, -1.0, 0.5, 2.0]


def test_silu_and_elu_do_not_overflow():
    with np.errstate(over="raise", invalid="raise"):
        assert k("silu", np.array([-1000.0, 1000.0], np.float32)).tolist() == [-0.0, 1000.0]
        assert k("elu", np.array([-1000.0, 1000.0])).tolist() == [-1.0, 1000.0]


def test_dtypes():
    i = np.array([0, 1, 2], np.int32)
    for op in ("erf", "gelu", "silu", "elu"):
        assert k(op, i).dtype == np.float32
        assert k(op, i.astype(np.float16)).dtype == np.float16
    assert k("clip", i, low=0, high=1).dtype == np.int32
    b = Builder("g")
    assert b.op("gelu", b.constant([1, 2], "i64")).dtype == "f32"
    assert b.op("clip", b.constant([1, 2], "i64"), low=0, high=1).dtype == "i64"
    with pytest.raises(ShapeError, match="needs a numeric tensor, not bool"):
        b.op("erf", b.constant([True]))


def test_clip_bounds_must_be_in_order():
    b = Builder("g")
    with pytest.raises(ShapeError, match=r"clip: low \(2\) is above high \(1\)"):
        b.op("clip", b.constant([1.0]), low=2, high=1)
    assert dict(b.op("clip", b.constant([1.0]), low=1, high=1).attrs) == {"low": 1, "high": 1}


def grad(op, x, **attrs):
    b = Builder("g")
    p = b.add("placeholder", (), {"default": None}, type=TensorType("f64", x.shape), name="x")
    (g,) = gradients(b, b.op("sum", b.add(op, (p,), attrs)), [p])
    return Session(b.finish()).run(g, {"x": x})


def test_gradients_against_hand_derivatives():
    x = np.array([-2.0, -0.7, -0.1, 0.3, 1.2, 3.0])
    pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    cdf = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(grad("erf", x), 2 / math.sqrt(math.pi) * np.exp(-x * x),
                               rtol=1e-14)
    np.testing.assert_allclose(grad("gelu", x), cdf + x * pdf, rtol=1e-13)
    np.testing.assert_allclose(grad("silu", x), s * (1 + x * (1 - s)), rtol=1e-13)
    np.testing.assert_allclose(grad("elu", x, alpha=0.5), np.where(x > 0, 1, 0.5 * np.exp(x)),
                               rtol=1e-14)


def test_clip_passes_the_gradient_inside_and_at_the_bounds():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 1.5])
    assert grad("clip", x, low=-1.0, high=1.0).tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_the_switch_and_the_expansions():
    assert A.SWITCH == 2.5 and A.SERIES_TERMS >= 40 and A.FRACTION_DEPTH >= 40
    for op in ("erf", "gelu", "silu", "elu", "clip"):
        assert REGISTRY[op].family == "activations" and REGISTRY[op].memory.fresh
