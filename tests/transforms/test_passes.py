"""The optimization passes: each on its own, and the whole pipeline on random graphs (outputs
and gradients unchanged)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensorlang as tl
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.transforms.autodiff import backward
from tensorlang.transforms.passes import cse, fold_constants, fuse, optimize, simplify


def ops_of(g):
    return [n.op for n in g.nodes]


def compile_graph(body: str):
    return tl.compile("graph g {\n" + body + "\n}\n", "t.tl").graphs["g"]


def test_constant_folding_evaluates_constant_subgraphs():
    g = compile_graph("placeholder x: f32[N, 2]\n"
                      "constant c: f32[2] = [1, 2]\n"
                      "y = x * (c * 2 + 1)")
    g2, _ = fold_constants(g)
    g2.verify()
    folded = [n for n in g2.nodes if n.op == "constant" and n.attrs["value"].shape == (2,)]
    assert any(np.array_equal(n.attrs["value"], [3, 5]) for n in folded)
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert np.array_equal(tl.Session(g2).run("y", {"x": x}), x * np.array([3, 5], np.float32))


def test_simplify_removes_identities_and_double_transposes():
    g = compile_graph("placeholder x: f32[N, 3]\n"
                      "a = (x * 1 + 0 - 0) / 1\n"
                      "b = transpose(transpose(a))\n"
                      "c = reshape(reshape(b, [-1]), [N, 3])\n"
                      "d = -(-c)")
    g2, _ = simplify(g)
    g2.verify()
    assert g2.node("d") is g2.node("x")
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(tl.Session(g2).run("d", {"x": x}), x)


def test_simplify_drops_a_broadcast_the_op_would_do_anyway():
    b = Builder("g")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f32", (4, 3)), name="x")
    b.bind("x", x, x.span)
    c = b.op("broadcast_to", b.constant(2.0, "f32"), shape=(4, 3))
    b.bind("y", b.op("multiply", x, c), x.span)
    g2, _ = simplify(b.finish())
    y = g2.node("y")
    assert y.op == "multiply" and y.inputs[1].op == "constant" and y.inputs[1].rank == 0


def test_cse_merges_repeated_work():
    g = compile_graph("placeholder x: f32[N, 3]\n"
                      "a = tanh(x) + tanh(x)\n"
                      "b = exp(x) * exp(x)")
    g2, _ = cse(g)
    g2.verify()
    assert ops_of(g2).count("tanh") == 1 and ops_of(g2).count("exp") == 1
    x = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    a, bb = tl.Session(g2).run(["a", "b"], {"x": x})
    np.testing.assert_allclose(a, 2 * np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(bb, np.exp(x) ** 2, rtol=1e-6)


def test_fusion_of_softmax_cross_entropy_and_matmul_bias():
    g = compile_graph("placeholder x: f32[N, 4]\n"
                      "placeholder y: i64[N]\n"
                      "variable W: f32[4, 3] = normal()\n"
                      "variable b: f32[3] = normal()\n"
                      "p = softmax(x @ W + b)\n"
                      "loss = mean(cross_entropy(p, y))")
    g2, _ = fuse(g)
    g2.verify()
    assert "linear" in ops_of(g2) and "cross_entropy" in ops_of(g2)  # clipped: not fused
    rng = np.random.default_rng(1)
    feed = {"x": rng.normal(size=(5, 4)) * 100, "y": rng.integers(0, 3, size=5)}
    s1, s2 = tl.Session(g, seed=3), tl.Session(g2, seed=3)
    l1, l2 = s1.run("loss", feed), s2.run("loss", feed)
    assert l1 == l2  # fusing the matmul and bias keeps the loss, clipping included
    z = feed["x"].astype(np.float32) @ s1.variables["W"] + s1.variables["b"]
    z = z - z.max(axis=1, keepdims=True)
    p = np.clip(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), np.finfo(np.float32).eps,
                1 - np.finfo(np.float32).eps)
    np.testing.assert_allclose(l2, np.mean(-np.log(p[np.arange(5), feed["y"]])), rtol=1e-4)


# ------------------------------------------------------------------ random graphs
UNARY = ["tanh", "sin", "sigmoid", "neg", "square", "exp"]
BINARY = ["add", "subtract", "multiply", "maximum"]


@st.composite
def programs(draw):
    lines = ["placeholder x: f64[N, 3]", "variable W: f64[3, 3] = normal()",
             "variable v: f64[3] = normal()"]
    names = ["x", "v"]
    for k in range(draw(st.integers(2, 10))):
        kind = draw(st.sampled_from(["unary", "binary", "ident", "matmul", "transpose", "const"]))
        a = draw(st.sampled_from(names))
        b = draw(st.sampled_from(names))
        if kind == "unary":
            expr = f"{draw(st.sampled_from(UNARY))}({a} * 0.3)"
        elif kind == "binary":
            expr = f"{draw(st.sampled_from(BINARY))}({a}, {b})"
        elif kind == "ident":
            expr = f"({a} * 1 + 0) / 1"
        elif kind == "matmul":
            expr = f"{a} @ W + v"
        elif kind == "transpose":
            expr = f"transpose(transpose({a}))"
        else:
            expr = f"{a} * (2 * 0.5) + (1 - 1)"
        lines.append(f"t{k} = {expr}")
        names.append(f"t{k}")
    lines.append(f"out = sum({names[-1]}) + sum({draw(st.sampled_from(names))})")
    return "\n".join(lines)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(0, 100))
def test_pipeline_keeps_outputs_and_gradients(body, seed):
    g = compile_graph(body)
    full = backward(g, "out", [g.node("W"), g.node("v")])
    opt = optimize(full)
    opt.verify()
    x = np.random.default_rng(seed).normal(size=(4, 3))
    names = ["out", "grad(out)/W", "grad(out)/v"]
    ref = tl.Session(full, seed=seed).run(names, {"x": x})
    got = tl.Session(opt, seed=seed).run(names, {"x": x})
    for r, o in zip(ref, got):
        np.testing.assert_allclose(o, r, rtol=1e-10, atol=1e-12)
    assert len(opt.nodes) <= len(full.nodes)


def test_rewrites_and_retyping_carry_the_layers():
    from tensorlang.transforms.retype import retype
    g = tl.load(str(Path(__file__).resolve().parents[2] / "examples" / "xor.tl")).graphs["xor"]
    assert set(g.layers) == {"h", "p"}
    for new in (optimize(g), retype(g, {"f32": "f64"})):
        assert set(new.layers) == {"h", "p"}
        ids = {n.id: n for n in new.nodes}
        for scope, (layer, out) in new.layers.items():
            assert layer == "Dense" and ids[out].name == scope  # the value the layer returned
