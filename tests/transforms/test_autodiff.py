"""Reverse mode as a graph transformation: grad() in the language, higher-order gradients,
stop_gradient and other ops that stop gradients, spans and scopes of gradient nodes, named
gradients in backward graphs, and the static check for parameters a train block cannot reach."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import UsageError
from tensorlang.tools.cli import main
from tensorlang.tools.cli.common import with_gradient
from tensorlang.transforms import autodiff

from ..opgraph import numeric_grad

ROOT = Path(__file__).resolve().parents[2]
XOR = ROOT / "examples" / "xor.tl"




def warnings_of(program) -> list[str]:
    return [w.format() for w in program.warnings]


# ------------------------------------------------------------------ grad() in the language
def test_grad_has_the_shape_and_dtype_of_x():
    p = tl.compile("""
graph g {
    placeholder x: f32[N, 3]
    placeholder z: f64[4]
    variable W: f32[3, 2] = normal()
    y = sum(tanh(x @ W))
    dW = grad(y, W)
    dx = grad(y, x)
    dz = grad(sum(z * z), z)
}""")
    g = p.graphs["g"]
    assert (g.node("dW").dtype, g.node("dW").shape) == ("f32", (3, 2))
    assert (g.node("dx").dtype, g.node("dx").shape) == ("f32", ("N", 3))
    assert (g.node("dz").dtype, g.node("dz").shape) == ("f64", (4,))
    g.verify()
    assert not p.warnings


def test_grad_values_and_second_order_against_finite_differences():
    p = tl.compile("""
graph g {
    placeholder x: f64[2, 3]
    y = sum(tanh(x) * x + sin(x) * x)
    d = grad(y, x)
    s = sum(d * d)
    dd = grad(s, x)
    d2 = grad(sum(grad(y, x)), x)
}""")
    sess = tl.Session(p.graphs["g"])
    x = np.random.default_rng(0).normal(size=(2, 3))
    t = np.tanh(x)
    d_ref = t + x * (1 - t * t) + np.sin(x) + x * np.cos(x)
    d, dd, d2 = sess.run(["d", "dd", "d2"], {"x": x})
    np.testing.assert_allclose(d, d_ref, rtol=1e-12)
    s_of = lambda v: float(sess.run("s", {"x": v}))  # noqa: E731
    np.testing.assert_allclose(dd, numeric_grad(s_of, x), rtol=1e-6, atol=1e-8)
    # d2 is the diagonal of the Hessian (y is a sum of elementwise terms): d/dx of d_ref
    sum_d = lambda v: float(np.sum(sess.run("d", {"x": v})))  # noqa: E731
    np.testing.assert_allclose(d2, numeric_grad(sum_d, x), rtol=1e-6, atol=1e-8)


def test_third_order_gradient():
    p = tl.compile("""
graph g {
    placeholder x: f64[3]
    y = sum(x * x * x * x)
    d3 = grad(sum(grad(sum(grad(y, x)), x)), x)
}""")
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(tl.Session(p.graphs["g"]).run("d3", {"x": x}), 24 * x)


def test_fan_out_contributions_are_summed():
    p = tl.compile("""
graph g {
    placeholder x: f64[4]
    h = tanh(x)
    y = sum(h * h + x * x + sin(x))
    d = grad(y, x)
}""")
    x = np.array([0.3, -0.7, 1.1, 2.0])
    h = np.tanh(x)
    got = tl.Session(p.graphs["g"]).run("d", {"x": x})
    np.testing.assert_allclose(got, 2 * h * (1 - h * h) + 2 * x + np.cos(x), rtol=1e-12)


def test_stop_gradient_blocks_the_gradient_and_says_why():
    p = tl.compile("""
graph g {
    placeholder x: f64[3]
    s = stop_gradient(x)
    blocked = grad(sum(s * s), x)
    partial = grad(sum(s * x), x)
}""", file="sg.tl")
    blocked, partial = tl.Session(p.graphs["g"]).run(["blocked", "partial"],
                                                     {"x": np.array([1.0, 2.0, 3.0])})
    np.testing.assert_array_equal(blocked, np.zeros(3))
    np.testing.assert_array_equal(partial, [1.0, 2.0, 3.0])  # only the path around s counts
    (w,) = warnings_of(p)
    assert w.startswith("sg.tl:4:9: warning:")
    assert '"sum(s * s)" does not depend differentiably on "x"' in w
    assert "breaks at stop_gradient" in w and "gradient is zero" in w


@pytest.mark.parametrize("expr,op", [
    ("cast(x > 0.5, f64)", "greater"),
    ("cast(argmax(x, axis = 0), f64)", "argmax"),
    ("cast(argsort(x), f64)", "argsort"),
    ("round(x)", "round"),
    ("floor(x)", "floor"),
    ("sign(x)", "sign"),
    ("cast(cast(x, i32), f64)", "cast"),
])
def test_non_differentiable_ops_stop_the_gradient(expr, op):
    p = tl.compile(f"""
graph g {{
    placeholder x: f64[4]
    v = {expr}
    d = grad(sum(v * v) + sum(x), x)
    z = grad(sum(v), x)
}}""", file="nd.tl")
    x = np.array([0.2, 0.9, -1.4, 0.6])
    d, z = tl.Session(p.graphs["g"]).run(["d", "z"], {"x": x})
    np.testing.assert_array_equal(d, np.ones(4))  # only the direct sum(x) term
    np.testing.assert_array_equal(z, np.zeros(4))
    (w,) = warnings_of(p)  # z has no path at all: one warning, at the op
    assert w.startswith("nd.tl:4:")
    assert f"breaks at {op}" in w


def test_grad_with_respect_to_an_unrelated_value_is_zeros_with_a_warning():
    p = tl.compile("""
graph g {
    placeholder x: f32[N, 2]
    placeholder u: f32[N, 3]
    d = grad(sum(x), u)
}""", file="un.tl")
    g = p.graphs["g"]
    assert g.node("d").shape == ("N", 3)
    got = tl.Session(g).run("d", {"x": np.ones((5, 2)), "u": np.ones((5, 3))})
    np.testing.assert_array_equal(got, np.zeros((5, 3), np.float32))
    (w,) = warnings_of(p)
    assert w.startswith("un.tl:4:5: warning:") and '"sum(x)" does not depend on "u"' in w


def test_grad_of_a_non_scalar_is_a_located_error():
    with pytest.raises(tl.ShapeError) as e:
        tl.compile("graph g {\n    placeholder x: f32[3]\n    d = grad(x * 2, x)\n}", file="ns.tl")
    assert e.value.line == 3 and "float scalar" in e.value.message


def test_gradient_with_respect_to_an_integer_is_zero_with_a_warning():
    p = tl.compile("""
graph g {
    placeholder i: i64[3]
    d = grad(sum(cast(i, f32)), i)
}""")
    assert p.graphs["g"].node("d").dtype == "i64"
    (w,) = warnings_of(p)
    assert "integer and bool values have no gradient" in w


# ------------------------------------------------------------------ spans and scopes
def test_every_gradient_node_has_a_grad_scope_and_the_span_of_a_forward_node():
    program = tl.load(str(XOR))
    fwd = program.graphs["xor"]
    g = with_gradient(program, fwd)
    g.verify()
    forward_spans = {n.span for n in fwd.nodes}
    new = g.nodes[len(fwd.nodes):]
    assert new and all(n.is_backward and n.scope.startswith("grad") for n in new)
    assert all(n.span in forward_spans for n in new)
    dW = g.node("grad(loss)/h.W")
    assert dW.scope == "grad/h" and dW.span == fwd.node("h").span and dW.span.line == 8
    assert g.node("grad(loss)/p.b").scope == "grad/p"
    assert g.node("grad(loss)/p.b").span.line == 9


def test_ir_backward_prints_named_gradients_with_lines_and_scopes(capsys):
    assert main(["ir", str(XOR), "--backward"]) == 0
    out = capsys.readouterr().out
    for v, line in (("h.W", 8), ("h.b", 8), ("p.W", 9), ("p.b", 9)):
        m = re.search(rf"^    grad\(loss\)/{re.escape(v)}: f32\[[^\]]*\] = .*# line (\d+) "
                      rf"\[grad/(\w+)\]$", out, re.M)
        assert m, f"no gradient line for {v}"
        assert int(m.group(1)) == line and m.group(2) == v[0]
    body = out.split("acc: f32[]", 1)[1]
    assert all("[grad" in ln for ln in body.splitlines()[1:-1])


def test_backward_keeps_only_the_gradient_parts_asked_for():
    program = tl.load(str(XOR))
    g = with_gradient(program, program.graphs["xor"])
    # d loss / d x (an [N, 2] placeholder) is not asked for, so no [N, 2] gradient is built
    assert not [n for n in g.nodes if n.is_backward and n.shape == ("N", 2)]


def test_backward_names_a_gradient_shared_by_two_variables():
    p = tl.compile("""
graph g {
    variable a: f64[2] = [1, 2]
    variable b: f64[2] = [3, 4]
    loss = sum(a + b)
}""")
    bg = autodiff.backward(p.graphs["g"], "loss")
    bg.verify()
    ga, gb = tl.Session(bg).run(["grad(loss)/a", "grad(loss)/b"])
    np.testing.assert_array_equal(ga, [1, 1])
    np.testing.assert_array_equal(gb, [1, 1])
    text = str(bg)
    assert "grad(loss)/a:" in text and "grad(loss)/b:" in text


def test_training_graph_without_a_train_block_is_a_usage_error():
    p = tl.compile("graph g {\n    placeholder x: f32[3]\n    y = sum(x)\n}")
    with pytest.raises(UsageError, match="no train block"):
        with_gradient(p, p.graphs["g"])


# ------------------------------------------------------------------ disconnected parameters
DISCONNECTED = """\
graph m {
    placeholder x: f32[N, 4]
    placeholder y: i64[N]
    h = Dense(x, 8, activation = tanh)
    k = argmax(h, axis = 1)
    e = Dense(x, 3)
    q = Dense(expand_dims(cast(k, f32), 1), 3)
    unused = Dense(x, 2)
    spare = Dense(x, 3)
    logits = e + q
    loss = mean(softmax_cross_entropy(logits, y))
}
data d {
    x = [[1, 2, 3, 4]]
    y = [1]
}
train m {
    data = d
    minimize = loss
}
train m {
    data = d
    minimize = loss
}
"""


def test_check_warns_about_parameters_the_loss_cannot_reach(tmp_path, capsys):
    f = tmp_path / "disc.tl"
    f.write_text(DISCONNECTED)
    assert main(["check", str(f)]) == 0
    err = capsys.readouterr().err
    warnings = [b for b in re.split(r"\n(?=\S+: warning:)", err.strip()) if "warning:" in b]
    # two train blocks with the same loss warn once; h.W and h.b share one warning
    assert len(warnings) == 3, err
    brk, unused, spare = warnings
    assert brk.startswith(f"{f}:5:9: warning:")
    assert '"h.W" and "h.b"' in brk and "breaks at argmax (line 5" in brk
    assert f'{f}:4:9: note: "h.W" and "h.b" are defined here' in brk
    assert f'{f}:19:5: note: train m minimizes "loss" here' in brk
    assert unused.startswith(f"{f}:8:14: warning:")
    assert '"loss" does not depend on trainable variables "unused.W" and "unused.b"' in unused
    assert '"spare.W" and "spare.b"' in spare
    for v in ("e.W", "e.b", "q.W", "q.b"):
        assert f'"{v}"' not in err


def test_frozen_and_connected_variables_do_not_warn():
    p = tl.compile("""
graph m {
    placeholder x: f32[N, 2]
    variable W: f32[2, 1] = normal()
    variable S: f32[2, 1] = normal() frozen
    variable T: f32[2, 1] = normal() frozen
    loss = mean(square(x @ W)) + mean(x @ stop_gradient(T))
}
data d {
    x = [[1, 2]]
}
train m {
    data = d
    minimize = loss
}""")
    assert not p.warnings


def test_disconnected_variable_through_an_integer_cast():
    p = tl.compile("""
graph m {
    placeholder x: f32[N, 2]
    variable W: f32[2, 1] = normal()
    variable V: f32[2, 1] = normal()
    c = cast(x @ V, i32)
    loss = mean(x @ W) + mean(cast(c, f32))
}
data d {
    x = [[1, 2]]
}
train m {
    data = d
    minimize = loss
}""", file="ic.tl")
    (w,) = warnings_of(p)
    assert w.startswith("ic.tl:6:9: warning:") and '"V"' in w
    assert "breaks at cast (line 6; it gives i32 values, which carry no gradient)" in w


def test_run_prints_each_disconnected_warning_once(tmp_path, capsys):
    f = tmp_path / "disc.tl"
    f.write_text(DISCONNECTED)
    assert main(["run", str(f), "--quiet", "--epochs", "1"]) == 0
    err = capsys.readouterr().err
    assert err.count("warning:") == 3, err  # not again when train builds its gradients


def test_check_reports_a_grad_without_a_path(tmp_path, capsys):
    f = tmp_path / "nopath.tl"
    f.write_text("graph g {\n    placeholder x: f32[N, 2]\n    k = argmax(x, axis = 1)\n"
                 "    d = grad(mean(cast(k, f32)), x)\n}\n")
    assert main(["check", str(f)]) == 0
    out, err = capsys.readouterr()
    assert err.startswith(f"{f}:3:9: warning: ")
    assert '"mean(cast(k, f32))" does not depend differentiably on "x"' in err
    assert "breaks at argmax" in err and f"{f}:2:5: note: \"x\" is defined here" in err
    assert "ok (1 graph" in out
