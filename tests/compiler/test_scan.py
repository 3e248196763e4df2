"""compiler/scan.py: `scan(Cell, xs, h0)` lowers the layer once into the cell of one scan node,
makes its variables once in the graph under the assignment's scope, and reports each mistake
where it was written."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import ProgramError, ShapeError

CELL = """\
layer Cell(x: [N, D], h: [N, H], scale = 1.0) {
    variable W: [D, H] = normal(std = 0.5)
    variable U: [H, H] = normal(std = 0.5)
    return tanh(x @ W + h @ U) * scale
}
"""


def graph(body: str, cell: str = CELL):
    return tl.compile(cell + "graph g {\n    placeholder xs: f64[N, T, 2]\n"
                      "    placeholder h0: f64[N, 3]\n" + body + "\n}\n", "s.tl").graphs["g"]


def error(body: str, cell: str = CELL):
    with pytest.raises(tl.TensorlangError) as info:
        graph(body, cell)
    return info.value


def test_one_scan_node_and_the_variables_once_under_the_assignment():
    g = graph("    hs = scan(Cell, xs, h0)")
    hs = g.node("hs")
    assert hs.op == "scan" and hs.type.shape == (g.node("xs").type.shape[0],
                                                 g.node("xs").type.shape[1], 3)
    assert [v.name for v in g.variables] == ["hs.W", "hs.U"]
    assert hs.inputs == (g.node("xs"), g.node("h0"), g.node("hs.W"), g.node("hs.U"))
    assert dict(g.layers)["hs"] == ("scan(Cell)", hs.id)
    cell = hs.attrs["cell"]
    assert cell.layer == "Cell" and [v.name for v in cell.variables] == ["hs.W", "hs.U"]


def test_the_scan_computes_the_recurrence():
    g = graph("    hs = scan(Cell, xs, h0)")
    s = tl.Session(g, seed=1)
    rng = np.random.default_rng(0)
    xs, h = rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 3))
    got = s.run("hs", {"xs": xs, "h0": h})
    w, u = s.variables["hs.W"].astype(np.float64), s.variables["hs.U"].astype(np.float64)
    for t in range(4):
        h = np.tanh(xs[:, t] @ w + h @ u)
        np.testing.assert_allclose(got[:, t], h, rtol=1e-12)


def test_an_anonymous_scan_gets_a_fresh_scope_and_defaults_reach_the_cell():
    g = graph("    out = sum(scan(Cell, xs, h0))")
    assert {v.name.split(".")[0] for v in g.variables} == {"Cell_1"}
    scaled = CELL.replace("scale = 1.0", "scale = 0.0")
    g0 = graph("    hs = scan(Cell, xs, h0)", scaled)
    got = tl.Session(g0).run("hs", {"xs": np.ones((1, 2, 2)), "h0": np.ones((1, 3))})
    assert not got.any()


@pytest.mark.parametrize("body, cls, message", [
    ("    hs = scan(Cell, xs)", ProgramError, 'scan(Cell, xs, h0): missing argument "h0"'),
    ("    hs = scan(tanh, xs, h0)", ProgramError, "scan's first argument must be a layer like "
     "Cell(x: [N, D], h: [N, H]), not the function tanh"),
    ("    hs = scan(Cell, h0, h0)", ShapeError, "scan: xs must be a sequence [N, T, D], not "
     "f64[N, 3]"),
    ("    placeholder bad: f64[4, 3]\n    hs = scan(Cell, xs, bad)", ShapeError,
     "scan: h0 must be the first state [N, H] of xs f64[N, T, 2]'s N sequences, not f64[4, 3]"),
])
def test_call_mistakes(body, cls, message):
    e = error(body)
    assert type(e) is cls and e.message == message


@pytest.mark.parametrize("cell, message", [
    ("layer Cell(x: [N, D]) {\n    return x\n}\n",
     "scan: the cell Cell must take two tensors, the step's x and the state h, not 1"),
    ("layer Cell(x: [N, D], h: [N, H], k) {\n    return h * k\n}\n",
     'scan: the cell Cell\'s parameter "k" needs a default (a scan passes only x and h)'),
    ("layer Cell(x: [N, D], h: [N, H]) {\n    return concat([h, h], axis = 1)\n}\n",
     "scan: the cell Cell must return a state of h's type f64[N, 3], but it returns "
     "f64[N, 6]"),
])
def test_cell_mistakes(cell, message):
    e = error("    hs = scan(Cell, xs, h0)", cell)
    assert e.message.startswith(message) and e.line == len(cell.splitlines()) + 4
