"""ops/scan.py: the scan kernel step by step, its gradient back through time (one scan_grad
cut by scan_part into each input's) against finite differences, the shape rule's checks against
the cell, a cell that draws a different key each step, and the gradients it refuses."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import OpError, ShapeError
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY
from tensorlang.transforms.autodiff import gradients

from ..opgraph import fed_grad

PROGRAM = """\
layer Cell(x: [N, D], h: [N, H]) {
    variable W: f64[D, H] = normal(std = 0.5)
    variable U: f64[H, H] = normal(std = 0.5)
    return tanh(x @ W + h @ U)
}
graph g {
    placeholder xs: f64[N, T, 2]
    placeholder h0: f64[N, 3]
    hs = scan(Cell, xs, h0)
    loss = sum(hs * hs)
    gxs = grad(loss, xs)
    gh0 = grad(loss, h0)
    gW = grad(loss, hs.W)
    gU = grad(loss, hs.U)
}
"""
RNG = np.random.default_rng(2)
FEED = {"xs": RNG.normal(size=(2, 4, 2)), "h0": RNG.normal(size=(2, 3))}


@pytest.fixture(scope="module")
def g():
    return tl.compile(PROGRAM, "s.tl").graphs["g"]


def test_the_kernel_applies_the_cell_step_by_step(g):
    s = tl.Session(g, seed=0)
    node = g.node("hs")
    cell = node.attrs["cell"]
    w, u = s.variables["hs.W"], s.variables["hs.U"]
    got = REGISTRY["scan"].kernel(FEED["xs"], FEED["h0"], w, u, cell=cell)
    h = FEED["h0"]
    for t in range(4):
        h = np.tanh(FEED["xs"][:, t] @ w + h @ u)
        np.testing.assert_allclose(got[:, t], h, rtol=1e-13)
    assert got.dtype == np.float64 and got.shape == (2, 4, 3)


def test_gradients_back_through_time_against_finite_differences(g):
    s = tl.Session(g, seed=0)
    got = s.run(["gxs", "gh0", "gW", "gU"], FEED)
    for name, value in zip(("xs", "h0"), got[:2]):
        np.testing.assert_allclose(value, fed_grad(s, g.node("loss"), FEED, name), rtol=1e-6,
                                   atol=1e-8)
    for name, value in zip(("hs.W", "hs.U"), got[2:]):
        w0 = s.variables[name].copy()

        def loss_at(w, name=name):
            s.variables[name] = w
            return s.run("loss", FEED)
        num = np.zeros_like(w0)
        for idx in np.ndindex(w0.shape):
            hi, lo = w0.copy(), w0.copy()
            hi[idx] += 1e-6
            lo[idx] -= 1e-6
            num[idx] = (loss_at(hi) - loss_at(lo)) / 2e-6
        s.variables[name] = w0
        np.testing.assert_allclose(value, num, rtol=1e-6, atol=1e-8)


def test_the_gradient_is_one_scan_grad_cut_into_parts(g):
    ops = [n.op for n in g.nodes]
    assert ops.count("scan_grad") == 4  # one per grad() call, each read by scan_part nodes
    parts = [n for n in g.nodes if n.op == "scan_part"]
    assert {tuple(n.type.shape) for n in parts} >= {(2, 3), (3, 3)}
    packed = np.arange(10.0)
    got = REGISTRY["scan_part"].kernel(packed, start=4, shape=(2, 3))
    assert got.tolist() == [[4, 5, 6], [7, 8, 9]] and not np.shares_memory(got, packed)


def test_the_shape_rule_checks_every_input_against_the_cell(g):
    cell = g.node("hs").attrs["cell"]
    rule = REGISTRY["scan"].infer
    N = g.node("xs").type.shape[0]
    ok = [g.node("xs").type, g.node("h0").type, TensorType("f64", (2, 3)),
          TensorType("f64", (3, 3))]
    assert rule(ok, cell=cell).shape[2] == 3
    for k, bad, message in [
        (0, TensorType("f64", (N, 2)), r"xs must be a sequence \[N, T, D\], not \[N, 2\]"),
        (0, TensorType("f64", (N, 5, 4)), r"a step of xs is f64\[N, 4\], the cell takes "
                                          r"f64\[N, 2\]"),
        (1, TensorType("f32", (N, 3)), r"h0 is f32\[N, 3\], the cell takes f64\[N, 3\]"),
        (3, TensorType("f64", (2, 3)), r'variable "hs.U" is f64\[2, 3\], the cell takes '
                                       r"f64\[3, 3\]"),
    ]:
        types = list(ok)
        types[k] = bad
        with pytest.raises(OpError, match=message):
            rule(types, cell=cell)


def test_a_cell_that_draws_gets_a_new_key_each_step():
    text = PROGRAM.replace("return tanh(x @ W + h @ U)",
                           "return h * 0.0 + random_normal([N, H])").split("    loss")[0] + "}\n"
    g = tl.compile(text, "r.tl").graphs["g"]
    node = g.node("hs")
    assert node.inputs[-1].op == "random_key" and node.attrs["cell"].key is not None
    hs = tl.Session(g, seed=0).run("hs", {"xs": np.zeros((1, 3, 2)), "h0": np.zeros((1, 3))})
    assert not np.array_equal(hs[:, 0], hs[:, 1]) and not np.array_equal(hs[:, 1], hs[:, 2])


def test_gradients_of_gradients_and_of_a_gradient_free_cell_are_refused(g):
    b = Builder("g", g)
    with pytest.raises(ShapeError, match="no gradient through scan_(grad|part): it is the "
                                         "first-order gradient of a recurrence"):
        gradients(b, b.op("sum", g.node("gxs")), [g.node("xs")])
    node = g.node("hs")
    frozen = dataclasses.replace(node.attrs["cell"], no_gradient="it is made of integers")
    odd = dataclasses.replace(node, attrs={"cell": frozen})
    with pytest.raises(OpError, match="no gradient through the scan of Cell: it is made of "
                                      "integers"):
        REGISTRY["scan"].grad(b, odd, odd)
