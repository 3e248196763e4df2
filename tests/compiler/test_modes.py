"""Modes: one graph compiled in inference and training mode (the compile-time `training`),
`A if COND else B`, and what check, ir and graph show of the difference."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.tools.cli import main

PROGRAM = """
graph g {
    placeholder x: f32[N, 4]
    scale = 2.0 if training else 1.0
    y = x * scale
    d = dropout(x, 0.5)
    loss = mean(d * y)
}

data t {
    x = [[1, 2, 3, 4]]
}

train g {
    data = t
    minimize = loss
}
"""


def test_inference_and_training_graphs():
    p = tl.compile(PROGRAM, "m.tl")
    inf, tr = p.graphs["g"], p.training_graph("g")
    assert not inf.training and tr.training
    assert inf.node("d") is inf.node("x")  # dropout outside training is its input itself
    assert tr.node("d").op == "dropout"
    x = np.arange(4, dtype=np.float32).reshape(1, 4) + 1
    assert np.array_equal(tl.Session(inf).run("y", {"x": x}), x)
    assert np.array_equal(tl.Session(tr).run("y", {"x": x}), 2 * x)


def test_check_marks_what_differs_in_training(tmp_path, capsys):
    f = tmp_path / "m.tl"
    f.write_text(PROGRAM)
    assert main(["check", str(f)]) == 0
    out = capsys.readouterr().out
    assert "d      = x *" in out and "scale  constant *" in out
    assert "* differs in training mode:" in out and "scale: 2. (outside training: 1.)" in out
    assert "d: dropout (outside training: placeholder)" in out


def test_ir_and_graph_show_the_training_form(tmp_path, capsys):
    f = tmp_path / "m.tl"
    f.write_text(PROGRAM)
    assert main(["ir", str(f)]) == 0
    assert "dropout" not in capsys.readouterr().out
    assert main(["ir", str(f), "--training"]) == 0
    assert "d: f32[N, 4] = dropout" in capsys.readouterr().out
    out = tmp_path / "g.dot"
    assert main(["graph", str(f), "--training", "-o", str(out)]) == 0
    assert "dropout" in out.read_text()


@pytest.mark.parametrize("body, message, caret", [
    ("y = x if training else x[0]",
     "the branches of `if` differ: f32[N, 4] if ... else f32[4]; both must have the same dtype "
     "and shape", "x if training else x[0]"),
    ("y = x if training else cast(x, f64)",
     "the branches of `if` differ: f32[N, 4] if ... else f64[N, 4]", None),
    ("y = x if x else x", "the condition of `if` must be a compile-time true or false, not the "
     "tensor x", "x"),
    ("y = x if 3 else x", "the condition of `if` must be a compile-time true or false, not the "
     "number 3", "3"),
])
def test_if_else_mistakes_are_located(body, message, caret):
    with pytest.raises(tl.TensorlangError) as e:
        tl.compile(f"graph g {{\n    placeholder x: f32[N, 4]\n    {body}\n}}\n", "m.tl")
    assert message in e.value.message and e.value.line == 3
    if caret:
        s = e.value.span
        assert s.source_line()[s.column - 1:s.end_column - 1] == caret


def test_a_mistyped_mode_name_gets_a_hint():
    with pytest.raises(tl.TensorlangError, match='"trainng" is not defined') as e:
        tl.compile("graph g {\n    placeholder x: f32[3]\n    y = x if trainng else x\n}\n")
    assert e.value.hint == 'did you mean "training"?'


def test_training_cannot_be_redefined():
    with pytest.raises(tl.TensorlangError, match="compile-time mode flag"):
        tl.compile("let training = true\ngraph g {\n    placeholder x: f32[3]\n}\n")
    with pytest.raises(tl.TensorlangError, match="compile-time mode flag"):
        tl.compile("graph g {\n    placeholder x: f32[3]\n    training = x\n}\n")


def test_the_unchosen_branch_leaves_nothing_behind():
    g = tl.compile("graph g {\n    placeholder x: f32[N, 4]\n"
                   "    y = Dense(x, 4) if training else x\n}\n").graphs["g"]
    assert g.variables == () and g.layers == {} and [n.op for n in g.nodes] == ["placeholder"]
