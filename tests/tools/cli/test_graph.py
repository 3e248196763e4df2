"""tools/cli/graph.py: `tensorlang graph FILE` writes a picture and prints its path: DOT text
(no Graphviz needed) forward, with gradients, with the optimizer's updates, collapsed or around
a node; its mistakes exit 1 before any layout work."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tensorlang.tools.cli import graph as G
from tensorlang.tools.cli import main

XOR = Path(__file__).resolve().parents[3] / "examples" / "xor.tl"


def draw(tmp_path, capsys, *flags) -> str:
    out = tmp_path / "g.dot"
    assert main(["graph", str(XOR), "-o", str(out), *flags]) == 0
    printed, err = capsys.readouterr()
    assert printed == f"{out}\n" and err == ""
    return out.read_text(encoding="utf-8")


def test_dot_output_of_the_forward_graph(tmp_path, capsys):
    dot = draw(tmp_path, capsys)
    assert dot.startswith('digraph "xor" {') and "cluster" in dot
    assert '"h.W"' in dot and "grad" not in dot


def test_backward_and_train_add_their_nodes(tmp_path, capsys):
    assert '"grad(loss)/h.W"' in draw(tmp_path, capsys, "--backward")
    train = draw(tmp_path, capsys, "--train")
    assert '"update(h.W)"' in train and '"opt/h.W/momentum"' in train


def test_collapse_and_focus_draw_less(tmp_path, capsys):
    full = draw(tmp_path, capsys)
    collapsed = draw(tmp_path, capsys, "--collapse")
    assert '"h.W"' not in collapsed and len(collapsed) < len(full)
    focus = draw(tmp_path, capsys, "--focus", "loss", "--depth", "1")
    assert '"loss"' in focus and '"h.W"' not in focus and "around loss, depth 1" in focus


def test_the_default_output_is_the_graphs_name(tmp_path, capsys, monkeypatch):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    monkeypatch.chdir(tmp_path)
    assert main(["graph", str(XOR)]) == 0
    assert capsys.readouterr().out == "xor.svg\n"
    assert (tmp_path / "xor.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


def test_a_big_drawing_suggests_collapse(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(G, "BIG", 5)
    assert main(["graph", str(XOR), "-o", str(tmp_path / "g.dot")]) == 0
    assert "--collapse or --focus NODE make big graphs legible" in capsys.readouterr().err
    assert main(["graph", str(XOR), "-o", str(tmp_path / "g.dot"), "--collapse"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("flags, message", [
    (["-o", "g.gif"], 'cannot tell the picture format of "g.gif"'),
    (["--focus", "loss", "--depth", "-1", "-o", "g.dot"], "--depth must be 0 or more, not -1"),
    (["--focus", "los", "-o", "g.dot"], 'has no node "los"'),
    (["-g", "nope", "-o", "g.dot"], 'has no graph "nope"'),
])
def test_mistakes_exit_1(tmp_path, capsys, monkeypatch, flags, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(G, "write_drawing", lambda *a: pytest.fail("nothing is written"))
    assert main(["graph", str(XOR), *flags]) == 1
    assert message in capsys.readouterr().err
