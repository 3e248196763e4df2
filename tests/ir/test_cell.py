"""ir/cell.py: a scan's Cell: the sizes of its symbolic dims read off a step, one step of its
forward graph, one step of its vector-Jacobian product, and how it prints."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.ir import cell as C
from tensorlang.ir import dims as D

PROGRAM = """\
layer Cell(x: [N, D], h: [N, H]) {
    variable W: f64[D, H] = [[1.0, 2.0], [0.5, -1.0], [0.0, 3.0]]
    return h * 0.5 + x @ W
}
graph g {
    placeholder xs: f64[N, T, 3]
    placeholder h0: f64[N, 2]
    hs = scan(Cell, xs, h0)
}
"""
W = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 3.0]])


@pytest.fixture(scope="module")
def cell() -> C.Cell:
    return tl.compile(PROGRAM, "c.tl").graphs["g"].node("hs").attrs["cell"]


def test_the_cells_parts(cell):
    assert cell.layer == "Cell" and str(cell) == f"cell(Cell, {len(cell.forward.nodes)} nodes)"
    assert (cell.x.op, cell.h.op) == ("placeholder", "placeholder")
    assert cell.x.type.shape[1:] == (3,) and cell.h.type.shape[1:] == (2,)
    assert [v.name for v in cell.variables] == ["hs.W"] and cell.key is None
    assert cell.no_gradient is None and len(cell.grads) == 3  # x, h, W


def test_env_reads_the_symbolic_dims_off_a_step(cell):
    (n,) = {d for d in (cell.x.type.shape[0], cell.h.type.shape[0]) if isinstance(d, D.Dim)}
    assert cell.env((5, 3), (5, 2)) == {D.dim_str(n): 5}


def test_a_step_is_the_forward_graph(cell):
    x, h = np.array([[1.0, 2.0, 3.0]]), np.array([[4.0, -2.0]])
    got = cell.step(x, h, [W], None, cell.env(x.shape, h.shape))
    np.testing.assert_allclose(got, h * 0.5 + x @ W)


def test_vjp_gives_the_gradients_of_u_dot_out(cell):
    x, h = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]]), np.array([[4.0, -2.0], [1.0, 1.0]])
    u = np.array([[1.0, 10.0], [-1.0, 2.0]])
    gx, gh, gw = cell.vjp(x, h, [W], None, u, cell.env(x.shape, h.shape))
    np.testing.assert_allclose(gx, u @ W.T)  # out = 0.5 h + x W
    np.testing.assert_allclose(gh, 0.5 * u)
    np.testing.assert_allclose(gw, x.T @ u)


def test_each_step_draws_with_its_own_key():
    assert C.STEP_KEY > 1 and C.STEP_KEY % 2 == 1
