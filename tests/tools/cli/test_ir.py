"""tools/cli/ir.py: `tensorlang ir FILE` prints a graph as text, with `--backward` its loss's
gradient, with `--optimized` after the passes, `--no-pass` leaving passes or rules out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tensorlang.tools.cli import main

PROGRAM = """\
graph g {
    placeholder x: f32[N, 2]
    variable W: f32[2, 3] = ones()
    variable b: f32[3] = zeros()
    loss = mean(x @ W + b * 1)
}
graph other {
    placeholder v: f32[3]
    s = sum(v)
}
data d {
    x = [[1, 2]]
}
train g {
    data = d
    minimize = loss
}
"""

FORWARD = """\
graph g {
    x: f32[N, 2] = placeholder                                    # line 2
    W: f32[2, 3] = variable ones()                                # line 3
    b: f32[3] = variable zeros()                                  # line 4
    %0: f32[N, 3] = matmul x W                                    # line 5
    %1: f32[] = constant 1.                                       # line 5
    %2: f32[3] = multiply b %1                                    # line 5
    %3: f32[N, 3] = add %0 %2                                     # line 5
    loss: f32[] = mean %3 axis=[0, 1] keepdims=false              # line 5
}
"""


@pytest.fixture
def path(tmp_path) -> Path:
    p = tmp_path / "p.tl"
    p.write_text(PROGRAM, encoding="utf-8")
    return p


def ir(capsys, *argv) -> str:
    assert main(["ir", *argv]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def test_the_forward_graph(path, capsys):
    assert ir(capsys, str(path), "-g", "g") == FORWARD
    assert ir(capsys, str(path), "-g", "other").startswith("graph other {\n    v: f32[3]")


def test_backward_adds_the_gradient_nodes(path, capsys):
    out = ir(capsys, str(path), "-g", "g", "--backward")
    assert out.startswith(FORWARD[:-2])  # the forward lines first, unchanged
    assert "grad(loss)/W: f32[2, 3] = " in out and "grad(loss)/b: f32[3] = " in out
    assert "[grad]" in out


def test_optimized_runs_the_passes_and_no_pass_leaves_one_out(path, capsys):
    out = ir(capsys, str(path), "-g", "g", "--optimized")
    assert " multiply " not in out and "linear x W b" in out  # b * 1 dropped, then fused
    kept = ir(capsys, str(path), "-g", "g", "--optimized", "--no-pass", "fuse")
    assert "linear" not in kept and "add %0 b" in kept
    both = ir(capsys, str(path), "-g", "g", "--optimized", "--no-pass", "fuse",
              "--no-pass", "drop_identity_operand")
    assert " multiply b " in both


@pytest.mark.parametrize("argv, message", [
    (["--no-pass", "fuse"], "error: --no-pass leaves a pass out of --optimized: add --optimized"),
    (["--optimized", "--no-pass", "fusee"], 'error: --no-pass: no pass or rule is named "fusee"'),
    ([], "defines several graphs (g, other): choose one with -g GRAPH"),
    (["-g", "other", "--backward"], 'no train block trains graph "other"'),
])
def test_mistakes_exit_1(path, capsys, argv, message):
    assert main(["ir", str(path), *argv]) == 1
    assert message in capsys.readouterr().err
