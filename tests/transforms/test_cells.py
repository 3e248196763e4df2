"""transforms/cells.py: make_cell builds the backward graph of a one-step graph by autodiff (a
placeholder u for the incoming gradient, the gradients of x, h and each variable), or records
why there is none."""

from __future__ import annotations

import numpy as np

from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.runtime.session import Session
from tensorlang.transforms.cells import make_cell


def step(dtype="f64"):
    """out = tanh(x @ W) + h * h over x [2, 3], h [2, 2], W [3, 2]."""
    b = Builder("cell")
    x = b.add("placeholder", (), {"default": None}, type=TensorType(dtype, (2, 3)), name="x")
    h = b.add("placeholder", (), {"default": None}, type=TensorType(dtype, (2, 2)), name="h")
    w = b.add("variable", (), {"init": ("zeros", ())}, type=TensorType(dtype, (3, 2)), name="W")
    if dtype == "f64":
        out = b.op("add", b.op("tanh", b.op("matmul", x, w)), b.op("multiply", h, h))
    else:
        out = b.op("add", b.op("matmul", x, w), h)
    return b.finish(), x, h, w, out


def test_the_backward_graph_gives_the_vector_jacobian_products():
    forward, x, h, w, out = step()
    cell = make_cell("Step", forward, x, h, (w,), out, None)
    assert cell.no_gradient is None and cell.u.name == "u" and cell.u.type == out.type
    gx, gh, gw = cell.grads
    assert (gx.type, gh.type, gw.type) == (x.type, h.type, w.type)
    assert cell.backward.name == "cell backward" and len(forward.nodes) < len(
        cell.backward.nodes)
    rng = np.random.default_rng(0)
    xv, hv, wv, uv = (rng.normal(size=s) for s in ((2, 3), (2, 2), (3, 2), (2, 2)))
    s = Session(cell.backward)
    s.variables["W"] = wv
    got = s.run(list(cell.grads), {"x": xv, "h": hv, "u": uv})
    d = uv * (1 - np.tanh(xv @ wv) ** 2)
    np.testing.assert_allclose(got[0], d @ wv.T, rtol=1e-12)
    np.testing.assert_allclose(got[1], 2 * hv * uv, rtol=1e-12)
    np.testing.assert_allclose(got[2], xv.T @ d, rtol=1e-12)


def test_an_integer_cell_has_no_gradient_and_says_why():
    forward, x, h, w, out = step("i32")
    cell = make_cell("Count", forward, x, h, (w,), out, None)
    assert cell.backward is None and cell.grads == ()
    assert cell.no_gradient == "the cell returns i32 values, which have no gradient"


def test_a_cell_whose_gradient_cannot_be_built_keeps_the_reason():
    b = Builder("cell")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f64", (2, 3)), name="x")
    h = b.add("placeholder", (), {"default": None}, type=TensorType("f64", (2, 2)), name="h")
    flat = b.op("reshape", h, shape=(4,))
    out = b.op("scan_part", flat, start=0, shape=(2, 2))  # an op without a gradient of its own
    cell = make_cell("Odd", b.finish(), x, h, (), out, None)
    assert cell.backward is None and cell.no_gradient.startswith("no gradient through scan_part")
