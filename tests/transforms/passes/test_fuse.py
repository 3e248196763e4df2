"""transforms/passes/fuse.py: each fusion rule on its own (a pass of just that rule) on a
hand-built pattern: the fused op it makes, the near misses it must leave alone, and the same
values as the unfused nodes."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.runtime.session import Session
from tensorlang.source import Span
from tensorlang.transforms.autodiff import gradients
from tensorlang.transforms.passes import fuse
from tensorlang.transforms.passes.fuse import FUSE
from tensorlang.transforms.passes.rules import Pass

AT = Span("m.tl", 2, 1, 2, 9)
N = D.Dim.sym("N")
RULES = {r.name: r for r in FUSE.rules}
RNG = np.random.default_rng(11)


def only(name, graph):
    p = Pass("only", "")
    p.rules.append(RULES[name])
    g, _ = p.run(graph)
    g.verify()
    return g


def inputs(b, **types):
    out = {}
    for name, (dtype, shape) in types.items():
        node = b.add("placeholder", (), {"default": None}, type=TensorType(dtype, shape),
                     name=name)
        out[name] = b.bind(name, node, AT)
    return out


def agree(g1, g2, feed, name="y", rtol=1e-12):
    np.testing.assert_allclose(Session(g2).run(name, feed), Session(g1).run(name, feed),
                               rtol=rtol, atol=1e-12)


FEED = {"z": RNG.normal(size=(4, 3)), "ids": np.array([0, 2, 1, 2])}


def test_cross_entropy_of_softmax_keeps_its_clipping():
    # cross_entropy clips p to [eps, 1 - eps]; softmax_cross_entropy does not, so fusing the two
    # changed the loss of confident predictions (15.94 plain, 40.0 fused): no such rule
    assert "softmax_cross_entropy" not in [r.name for r in FUSE.rules]
    b = Builder("g")
    v = inputs(b, z=("f64", (N, 3)), ids=("i64", (N,)))
    b.bind("y", b.op("cross_entropy", b.op("softmax", v["z"]), v["ids"]), AT)
    g = b.finish()
    f, _ = fuse(g)
    assert f.node("y").op == "cross_entropy"
    feed = {"z": np.array([[40.0, 0.0, 0.0]]), "ids": np.array([1])}
    got = Session(f).run("y", feed)
    np.testing.assert_allclose(got, [-np.log(np.finfo(np.float64).eps)])  # clipped, not 40


def test_log_softmax():
    b = Builder("g")
    v = inputs(b, z=("f64", (N, 3)))
    b.bind("y", b.op("log", b.op("softmax", v["z"], axis=0)), AT)
    g = b.finish()
    f = only("log_softmax", g)
    y = f.node("y")
    assert y.op == "log_softmax" and y.attrs["axis"] == 0 and y.inputs == (v["z"],)
    agree(g, f, {"z": FEED["z"]})


def test_softmax_cross_entropy_mean_only_when_nothing_else_reads_the_losses():
    b = Builder("g")
    v = inputs(b, z=("f64", (N, 3)), ids=("i64", (N,)))
    b.bind("y", b.op("mean", b.op("softmax_cross_entropy", v["z"], v["ids"])), AT)
    per = b.bind("per", b.op("softmax_cross_entropy", v["z"], v["ids"]), AT)
    b.bind("m", b.op("mean", per), AT)
    b.bind("also", b.op("sum", per), AT)  # the per-example losses are read twice
    g = b.finish()
    f = only("softmax_cross_entropy_mean", g)
    assert f.node("y").op == "softmax_cross_entropy_mean" and f.node("m").op == "mean"
    agree(g, f, FEED)


def test_linear():
    b = Builder("g")
    v = inputs(b, x=("f64", (N, 4)), W=("f64", (4, 3)), c=("f64", (3,)), v=("f64", (4,)))
    b.bind("y", b.op("add", v["c"], b.op("matmul", v["x"], v["W"])), AT)
    b.bind("vec", b.op("add", b.op("matmul", v["v"], v["W"]), v["c"]), AT)  # a vector: no
    g = b.finish()
    f = only("linear", g)
    y = f.node("y")
    assert y.op == "linear" and y.inputs == (v["x"], v["W"], v["c"])
    assert f.node("vec").op == "add"
    feed = {"x": RNG.normal(size=(5, 4)), "W": RNG.normal(size=(4, 3)),
            "c": RNG.normal(size=3), "v": RNG.normal(size=4)}
    agree(g, f, feed)


@pytest.mark.parametrize("ta, tb, cshape", [(True, False, (3, 2)), (False, True, (2, 4)),
                                          (True, True, (2, 3))])
def test_matmul_t(ta, tb, cshape):
    b = Builder("g")
    v = inputs(b, a=("f64", (3, 4)), c=("f64", cshape))
    a = b.op("transpose", v["a"], axes=(1, 0)) if ta else v["a"]
    c = b.op("transpose", v["c"], axes=(1, 0)) if tb else v["c"]
    b.bind("y", b.op("matmul", a, c), AT)
    g = b.finish()
    f = only("matmul_t", g)
    y = f.node("y")
    assert y.op == "matmul_t" and dict(y.attrs) == {"ta": ta, "tb": tb}
    assert y.inputs == (v["a"], v["c"]) and y.type == g.node("y").type
    agree(g, f, {"a": RNG.normal(size=(3, 4)), "c": RNG.normal(size=cshape)})


def test_matmul_without_a_transpose_stays():
    b = Builder("g")
    v = inputs(b, a=("f64", (3, 4)), c=("f64", (4, 2)))
    b.bind("y", b.op("matmul", v["a"], v["c"]), AT)
    assert only("matmul_t", b.finish()).node("y").op == "matmul"


def test_conv2d_bias():
    b = Builder("g")
    v = inputs(b, x=("f64", (N, 2, 5, 5)), k=("f64", (3, 2, 3, 3)), c=("f64", (3, 1, 1)),
               r=("f64", (5,)))
    conv = b.op("conv2d", v["x"], v["k"], padding=1)
    b.bind("y", b.op("add", conv, v["c"]), AT)
    b.bind("row", b.op("add", conv, v["r"]), AT)  # not a bias per filter
    g = b.finish()
    f = only("conv2d_bias", g)
    y = f.node("y")
    assert y.op == "conv2d_bias" and y.inputs == (v["x"], v["k"], v["c"])
    assert y.attrs["padding"] == 1 and f.node("row").op == "add"
    feed = {"x": RNG.normal(size=(2, 2, 5, 5)), "k": RNG.normal(size=(3, 2, 3, 3)),
            "c": RNG.normal(size=(3, 1, 1)), "r": RNG.normal(size=5)}
    agree(g, f, feed, rtol=1e-10)


def test_relu_grad_reads_the_relu_when_it_is_computed():
    b = Builder("g")
    v = inputs(b, x=("f64", (N, 3)), g=("f64", (N, 3)))
    relu = b.bind("r", b.op("relu", v["x"]), AT)
    zero = b.constant(0.0, "f64")
    b.bind("y", b.op("where", b.op("greater", v["x"], zero), v["g"], zero), AT)
    neg_zero = b.constant(-0.0, "f64")
    b.bind("w", b.op("where", b.op("greater", v["x"], zero), v["g"], neg_zero), AT)
    g = b.finish()
    f = only("relu_grad", g)
    y = f.node("y")
    assert y.op == "relu_grad" and y.inputs == (relu, v["g"])
    assert f.node("w").op == "where"  # -0.0 in place of +0.0 is not relu's gradient bit for bit
    feed = {"x": RNG.normal(size=(4, 3)), "g": RNG.normal(size=(4, 3))}
    agree(g, f, feed)


def test_softmax_cross_entropy_grad_from_the_autodiff_pattern():
    b = Builder("g")
    v = inputs(b, z=("f64", (N, 3)), ids=("i64", (N,)))
    loss = b.op("sum", b.op("softmax_cross_entropy", v["z"], v["ids"]))
    (gz,) = gradients(b, loss, [v["z"]])
    b.bind("y", gz, AT)
    g = b.finish()
    f = only("softmax_cross_entropy_grad", g)
    assert f.node("y").op == "softmax_cross_entropy_grad"
    agree(g, f, FEED)
    e = np.exp(FEED["z"] - FEED["z"].max(1, keepdims=True))
    np.testing.assert_allclose(Session(f).run("y", FEED),
                               e / e.sum(1, keepdims=True) - np.eye(3)[FEED["ids"]], rtol=1e-12)


def test_max_pool2d_grad_top_reuses_the_forward_maxima():
    b = Builder("g")
    v = inputs(b, x=("f64", (N, 1, 4, 4)), g=("f64", (N, 1, 2, 2)))
    b.bind("top", b.op("max_pool2d", v["x"]), AT)
    b.bind("y", b.op("max_pool2d_grad", v["x"], v["g"], size=2, stride=2), AT)
    b.bind("w", b.op("max_pool2d_grad", v["x"], b.constant(np.ones((1, 1, 3, 3))), size=2,
                     stride=1), AT)
    g = b.finish()
    f = only("max_pool2d_grad_top", g)
    y = f.node("y")
    assert y.op == "max_pool2d_grad_top" and y.inputs[1] is f.node("top")
    assert f.node("w").op == "max_pool2d_grad"  # no max_pool2d with stride 1 in the graph
    feed = {"x": np.round(RNG.normal(size=(2, 1, 4, 4)), 1), "g": RNG.normal(size=(2, 1, 2, 2))}
    agree(g, f, feed)


def test_the_fusion_pass_runs_its_rules_in_order():
    known = ["log_softmax", "softmax_cross_entropy_mean", "conv2d_bias",
             "linear", "matmul_t", "relu_grad", "softmax_cross_entropy_grad",
             "max_pool2d_grad_top"]  # the rules tested here, in their order (others may join)
    assert [r.name for r in FUSE.rules if r.name in known] == known
    b = Builder("g")
    v = inputs(b, z=("f64", (N, 3)), ids=("i64", (N,)))
    b.bind("y", b.op("mean", b.op("log", b.op("softmax", v["z"]))), AT)
    b.bind("w", b.op("mean", b.op("softmax_cross_entropy", v["z"], v["ids"])), AT)
    g = b.finish()
    f, _ = fuse(g)  # each rule sees its inputs rewritten already
    assert f.node("y").inputs[0].op == "log_softmax"
    assert f.node("w").op == "softmax_cross_entropy_mean"
    assert f.node("w").inputs == (v["z"], v["ids"])
    agree(g, f, FEED)
