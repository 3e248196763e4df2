"""ops/einsum.py: the spec made explicit (implicit output, `...` for leading dims), its mistakes,
sizes checked with symbolic dims, the kernel against explicit sums, and gradients that are
einsums again."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import OpError, ShapeError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY
from tensorlang.ops.einsum import parse
from tensorlang.runtime.session import Session
from tensorlang.transforms.autodiff import gradients

from ..opgraph import fed_grad

N = D.Dim.sym("N")
RNG = np.random.default_rng(9)


@pytest.mark.parametrize("spec, ranks, subs, out", [
    ("ij,jk->ik", [2, 2], ["ij", "jk"], "ik"),
    ("ij,kj", [2, 2], ["ij", "kj"], "ik"),  # implicit: the letters seen once, sorted
    ("ba", [2], ["ba"], "ab"),
    ("i,i", [1, 1], ["i", "i"], ""),
    (" i j , j k -> i k ", [2, 2], ["ij", "jk"], "ik"),
    ("...,...", [0, 0], ["", ""], ""),
])
def test_parse_makes_the_spec_explicit(spec, ranks, subs, out):
    assert parse(spec, ranks) == (subs, out)


def test_an_ellipsis_becomes_fresh_letters_aligned_from_the_right():
    (a, c), out = parse("...ij,jk->...ik", [4, 2])
    lead = a[:-2]
    assert a.endswith("ij") and c == "jk" and out == lead + "ik"
    assert len(lead) == 2 and not set(lead) & set("ijk") and len(set(lead)) == 2
    (a, c), out = parse("...i,...i->...", [3, 1])  # the shorter operand takes the last ones
    assert c == "i" and a[-1] == "i" and out == a[:-1]


@pytest.mark.parametrize("spec, ranks, message", [
    ("", [1], "the spec must be a string of subscripts"),
    ("ij->j->i", [2], 'one "->" at most'),
    ("ij,jk", [2], 'the spec "ij,jk" has 2 operands, the call gives 1'),
    ("i1", [2], "subscripts are letters"),
    ("......i", [3], 'with one "..." at most'),
    ("ijk", [2], 'the subscripts "ijk" name 3 dims, the operand has 2'),
    ("ij->ik", [2], 'the output subscript "k" appears in no operand'),
    ("ij->ii", [2], 'the output subscript "i" appears twice'),
])
def test_malformed_specs(spec, ranks, message):
    with pytest.raises(OpError, match=message):
        parse(spec, ranks)


def placeholders(*types):
    b = Builder("g")
    return b, [b.add("placeholder", (), {"default": None}, type=TensorType(dt, shape),
                     name=f"a{i}") for i, (dt, shape) in enumerate(types)]


def test_the_node_stores_the_explicit_spec_and_checks_sizes():
    b, (x, w) = placeholders(("f32", (N, 5, 3)), ("f64", (3, 4)))
    y = b.op("einsum", x, w, spec="...j,jk")
    lhs, out = y.attrs["spec"].split("->")
    a, c = lhs.split(",")
    assert "..." not in lhs and a[2:] == "j" and c == "jk" and out == a[:2] + "k"
    assert y.type == TensorType("f64", (N, 5, 4))
    with pytest.raises(ShapeError, match=r'subscript "j" is 3 in operand 0 \(f32\[N, 5, 3\]\) '
                                         r"but 4 in operand 1"):
        b.op("einsum", x, b.op("transpose", w), spec="nij,jk->nik")
    with pytest.raises(ShapeError, match="einsum needs numeric tensors, not bool"):
        b.op("einsum", b.constant([True]), spec="i->")


def test_the_kernel_against_explicit_sums():
    a, c, e = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2))
    got = REGISTRY["einsum"].kernel(a, c, e, spec="ij,jk,kl->il")
    want = np.zeros((2, 2))
    for i, j, k_, m in np.ndindex(2, 3, 4, 2):
        want[i, m] += a[i, j] * c[j, k_] * e[k_, m]
    np.testing.assert_allclose(got, want, rtol=1e-13)
    t = REGISTRY["einsum"].kernel(a, spec="ij->ji")
    assert t.tolist() == a.T.tolist() and not np.shares_memory(t, a)  # never a view
    ints = REGISTRY["einsum"].kernel(np.arange(3, dtype=np.int32), np.arange(3, dtype=np.int32),
                                     spec="i,i->")
    assert ints.dtype == np.int32 and ints == 5


@pytest.mark.parametrize("spec, shapes", [("ij,jk->ik", [(2, 3), (3, 4)]),
                                          ("bij,bj->bi", [(2, 3, 4), (2, 4)]),
                                          ("ij,k->ik", [(2, 3), (4,)]),  # j and k summed alone
                                          ("i,j->ij", [(3,), (2,)])])
def test_gradients_against_finite_differences(spec, shapes):
    b, xs = placeholders(*(("f64", s) for s in shapes))
    y = b.op("einsum", *xs, spec=spec)
    loss = b.op("sum", b.op("multiply", y, b.constant(RNG.normal(size=y.type.shape))))
    grads = gradients(b, loss, xs)
    assert all(g.type == x.type for g, x in zip(grads, xs))
    sess = Session(b.finish())
    feed = {x.name: RNG.normal(size=s) for x, s in zip(xs, shapes)}
    for x, got in zip(xs, sess.run(grads, feed)):
        np.testing.assert_allclose(got, fed_grad(sess, loss, feed, x.name), rtol=1e-7,
                                   atol=1e-8)


def test_a_diagonal_has_no_gradient():
    b, (x,) = placeholders(("f64", (3, 3)))
    trace = b.op("einsum", x, spec="ii->")
    with pytest.raises(OpError, match="with a repeated subscript in one operand"):
        REGISTRY["einsum"].grad(b, trace, b.constant(1.0, "f64"))
