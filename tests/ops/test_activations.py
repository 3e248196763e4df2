"""erf to double precision, gelu (exact) against PyTorch's, silu/elu/clip gradients against
PyTorch's autograd, and einsum against np.einsum with gradients against PyTorch's; einsum's
mistakes named with both shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.ops.activations import _erf64

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
