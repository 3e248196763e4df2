"""scan(Cell, xs, h0): against the same cell unrolled by hand (values and gradients, f64), with
a symbolic T; an LSTM written as a cell equals the built-in lstm; second order, gradcheck, the
printer, the renderer; its mistakes."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import records
from tensorlang.errors import OpError, ShapeError
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY
from tensorlang.tools.cli import main
from tensorlang.tools.render import to_dot
from tensorlang.transforms.autodiff import gradients

from ..opgraph import fed_grad

CELL = """
layer Cell(x: [N, D], h: [N, H]) {
    variable W: f64[D, H] = normal(std = 0.5)
    variable U: f64[H, H] = normal(std = 0.5)
    variable b: f64[H] = normal(std = 0.1)
    return tanh(x @ W + h @ U + b) * sigmoid(h)
}
"""


def _scan_program(t: int):
    unrolled = "\n".join(
        f"    u{k} = tanh(x[:, {k}, :] @ hs.W + u{k - 1} @ hs.U + hs.b) * sigmoid(u{k - 1})"
        for k in range(t))
    return CELL + f"""
graph g {{
    placeholder x: f64[N, T, 3]
    placeholder h0: f64[N, 4]
    hs = scan(Cell, x, h0)
    loss = sum(hs * hs)
    gW = grad(loss, hs.W)
    gU = grad(loss, hs.U)
    gx = grad(loss, x)
    gh0 = grad(loss, h0)
    u_1 = h0
{unrolled.replace("u-1", "u_1")}
    ref = stack([{", ".join(f"u{k}" for k in range(t))}], axis = 1)
    rloss = sum(ref * ref)
    rW = grad(rloss, hs.W)
    rU = grad(rloss, hs.U)
    rx = grad(rloss, x)
    rh0 = grad(rloss, h0)
}}
"""


def test_scan_equals_the_cell_unrolled_by_hand():
    t = 5
    g = tl.compile(_scan_program(t)).graphs["g"]
    assert g.node("hs").shape == ("N", "T", 4)
    rng = np.random.default_rng(0)
    feed = {"x": rng.normal(size=(3, t, 3)), "h0": rng.normal(size=(3, 4))}
    s = tl.Session(g, seed=1)
    got = s.run(["hs", "gW", "gU", "gx", "gh0"], feed)
    want = s.run(["ref", "rW", "rU", "rx", "rh0"], feed)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_t_is_symbolic():
    g = tl.compile(CELL + "graph g {\n    placeholder x: f64[N, T, 3]\n"
                   "    hs = scan(Cell, x, zeros([N, 4], dtype = f64))\n}\n").graphs["g"]
    s = tl.Session(g)
    for t in (1, 4, 9):
        assert s.run("hs", {"x": np.ones((2, t, 3))}).shape == (2, t, 4)


def test_an_lstm_written_as_a_cell_equals_the_builtin():
    text = """
layer LSTMCell(x: [N, D], hc: [N, S]) {
    variable Wx: f64[D, 12] = normal(std = 0.5)
    variable Wh: f64[3, 12] = normal(std = 0.5)
    variable b: f64[12] = normal(std = 0.1)
    h = hc[:, 0:3]
    c = hc[:, 3:6]
    z = x @ Wx + h @ Wh + b
    i = sigmoid(z[:, 0:3])
    f = sigmoid(z[:, 3:6])
    g = tanh(z[:, 6:9])
    o = sigmoid(z[:, 9:12])
    c2 = f * c + i * g
    return concat([o * tanh(c2), c2], axis = 1)
}

graph g {
    placeholder x: f64[N, T, 2]
    hc = scan(LSTMCell, x, zeros([N, 6], dtype = f64))
    hs = hc[:, :, 0:3]
    ref = lstm(x, zeros([N, 3], dtype = f64), zeros([N, 3], dtype = f64), hc.Wx, hc.Wh, hc.b)
    gs = grad(sum(hs * hs), hc.Wh)
    gr = grad(sum(ref * ref), hc.Wh)
}
"""
    g = tl.compile(text).graphs["g"]
    s = tl.Session(g, seed=2)
    x = np.random.default_rng(3).normal(size=(2, 6, 2))
    hs, ref, gs, gr = s.run(["hs", "ref", "gs", "gr"], {"x": x})
    np.testing.assert_allclose(hs, ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gs, gr, rtol=1e-10, atol=1e-12)


def test_gradients_of_gradients_through_scan_are_a_located_error():
    text = CELL + ("graph g {\n    placeholder x: f64[N, T, 3]\n"
                   "    hs = scan(Cell, x, zeros([N, 4], dtype = f64))\n"
                   "    gW = grad(sum(hs), hs.W)\n    gg = grad(sum(gW), hs.U)\n}\n")
    with pytest.raises(tl.ShapeError, match="gradients of gradients through lstm, gru, rnn and "
                                            "scan are not supported"):
        tl.compile(text, "s.tl")


def test_gradcheck_ir_and_the_renderer_handle_scan(tmp_path, capsys):
    f = tmp_path / "s.tl"
    f.write_text(CELL.replace("f64[", "[") + """
graph g {
    placeholder x: f32[N, T, 3]
    placeholder y: f32[N]
    hs = scan(Cell, x, zeros([N, 4]))
    loss = mean((sum(hs[:, -1, :], axis = 1) - y) ** 2)
}

data d {
    x = [[[1, 0, 0], [0, 1, 0]], [[0, 0, 1], [1, 1, 1]]]
    y = [1, -1]
}

train g {
    data = d
    minimize = loss
}
""")
    assert main(["gradcheck", str(f)]) == 0
    assert "gradients ok" in capsys.readouterr().out
    assert main(["ir", str(f)]) == 0
    out = capsys.readouterr().out
    assert "cell Cell(x: f32[N, 3], h: f32[N, 4]) {" in out and "    return %" in out
    p = tl.load(str(f))
    dot = to_dot(p.graphs["g"])
    assert dot.count('"one step of Cell') == 1 and '"hs/x"' in dot


@pytest.mark.parametrize("body, message", [
    ("hs = scan(Grow, x, h0)", "scan: the cell Grow must return a state of h's type f64[N, 4], "
                               "but it returns f64[N, 8]"),
    ("hs = scan(tanh, x, h0)", "scan's first argument must be a layer"),
    ("hs = scan(Cell, x[:, 0, :], h0)", "scan: xs must be a sequence [N, T, D], not f64[N, 3]"),
    ("hs = scan(Cell, x, zeros([4]))", "scan: h0 must be the first state [N, H]"),
    ("hs = scan(Cell, x)", 'missing argument "h0"'),
])
def test_scan_mistakes_are_located(body, message):
    text = CELL + ("layer Grow(x: [N, D], h: [N, H]) {\n    return concat([h, h], axis = 1)\n}\n"
                   "graph g {\n    placeholder x: f64[N, T, 3]\n    placeholder h0: f64[N, 4]\n"
                   f"    {body}\n}}\n")
    with pytest.raises(tl.TensorlangError) as e:
        tl.compile(text, "s.tl")
    assert message in e.value.message


# ------------------------------------------------------ the module's functions on their own
# ops/scan.py: the scan kernel step by step, its gradient back through time (one scan_grad
# cut by scan_part into each input's) against finite differences, the shape rule's checks against
# the cell, a cell that draws a different key each step, and the gradients it refuses.


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
    frozen = records.replace(node.attrs["cell"], no_gradient="it is made of integers")
    odd = records.replace(node, attrs={"cell": frozen})
    with pytest.raises(OpError, match="no gradient through the scan of Cell: it is made of "
                                      "integers"):
        REGISTRY["scan"].grad(b, odd, odd)
