"""Calling a layer instance by its name applies the same layer, with the same compile-time
arguments and the same variables, to new inputs (a siamese or tied-weight model)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.ir.summary import summary

SIAMESE = """
layer Twice(x: [..., In], units) {
    first = Dense(x, units)
    return Dense(first, units, activation = tanh)
}

graph g {
    placeholder a: f64[N, 3]
    placeholder b: f64[N, 3]
    enc = Dense(a, 4)
    e2 = enc(b)
    t = Twice(a, 2)
    t2 = t(b)
    loss = sum(enc) + sum(e2 * e2)
    dW = grad(loss, enc.W)
    db = grad(loss, enc.b)
}
"""


def _graph():
    return tl.compile(SIAMESE, "s.tl").graphs["g"]


def test_the_second_application_reuses_the_variables():
    g = _graph()
    assert sorted(v.name for v in g.variables) == [
        "enc.W", "enc.b", "t.Dense_1.W", "t.Dense_1.b", "t.first.W", "t.first.b"]
    assert g.node("e2.W") is g.node("enc.W") and g.node("t2.first.W") is g.node("t.first.W")
    assert g.shared == {"e2": "enc", "t2": "t", "t2.first": "t.first",
                        "t2.Dense_2": "t.Dense_1"}  # fresh names count on; the pairing holds


def test_parameters_are_counted_once():
    table = summary(_graph())
    assert "parameters: 30 (30 trainable, 0 frozen)" in table  # 3*4+4 + 3*2+2 + 2*2+2
    assert "(shares enc)" in table


def test_gradients_from_both_uses_add_up():
    g = _graph()
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    s = tl.Session(g, seed=1)
    dW, db = s.run(["dW", "db"], {"a": a, "b": b})
    W, bias = s.variables["enc.W"], s.variables["enc.b"]
    e2 = b @ W + bias  # hand derivation: d/dW [sum(a W + b) + sum(e2^2)] = a^T 1 + 2 b^T e2
    np.testing.assert_allclose(dW, a.T @ np.ones((5, 4)) + 2 * b.T @ e2, rtol=1e-6)
    np.testing.assert_allclose(db, 5 * np.ones(4) + 2 * e2.sum(axis=0), rtol=1e-6)


@pytest.mark.parametrize("body, message", [
    ("enc = Dense(a, 4)\n    c = enc(z)",
     "Dense: x must match [..., In], got f64[N, 5]: dim 1 is 5, but In is 3"),
    ("enc = Dense(a, 4)\n    c = enc(a, 8)", "enc(x) takes at most 1 argument, got 2"),
    ("enc = Dense(a, 4)\n    c = enc(units = 3)", 'enc(x) has no argument "units"'),
    ("e = a * 2\n    c = e(a)", 'cannot call "e": it is a tensor (f64[N, 3])'),
])
def test_sharing_mistakes_are_located(body, message):
    text = ("graph g {\n    placeholder a: f64[N, 3]\n    placeholder z: f64[N, 5]\n"
            f"    {body}\n}}\n")
    with pytest.raises(tl.TensorlangError) as e:
        tl.compile(text, "s.tl")
    assert message in e.value.message and e.value.line == 5
