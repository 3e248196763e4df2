"""tools/cli/gradcheck.py: which graphs and losses `tensorlang gradcheck` checks (each trained
graph's minimize, or -g and --of), where its inputs come from (the train block's data, else
random ones with a note), and what a disagreement prints and returns."""

from __future__ import annotations

import pytest

import tensorlang as tl
from tensorlang import records
from tensorlang.ops import REGISTRY
from tensorlang.tools.cli import gradcheck as G
from tensorlang.tools.cli import main

PROGRAM = """\
graph a {
    placeholder x: f32[N, 2]
    variable w: f32[2] = [0.5, -0.25]
    loss = mean(tanh(x @ w))
    other = sum(w * w)
}
graph b {
    placeholder v: f32[3]
    variable u: f32[3] = ones()
    s = sum(exp(v * u))
}
data d {
    x = [[1, 2], [0.5, -1]]
}
train a {
    data = d
    minimize = loss
}
"""


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "g.tl"
    p.write_text(PROGRAM, encoding="utf-8")
    return p


def checked(out: str) -> list[tuple[str, str]]:
    """(loss, variable) of every row of the printed tables."""
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[-1] in ("ok", "FAILED") and parts[1] != "variable":
            rows.append((parts[0], parts[1]))
    return rows


def test_by_default_each_trained_graphs_loss_on_its_data(path, capsys):
    assert main(["gradcheck", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("gradcheck a: symbolic gradients against central differences (f64")
    assert checked(out) == [("loss", "w")] and "of data block d" in out
    assert out.rstrip().endswith(f"{path}: gradients ok") and err == ""


def test_of_and_g_choose_what_is_checked(path, capsys):
    assert main(["gradcheck", str(path), "-g", "a", "--of", "other", "--of", "loss"]) == 0
    assert checked(capsys.readouterr().out) == [("other", "w"), ("loss", "w")]
    assert main(["gradcheck", str(path), "--of", "other"]) == 1  # of which graph?
    assert "choose one with -g GRAPH" in capsys.readouterr().err
    assert main(["gradcheck", str(path), "-g", "b", "--of", "s", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert checked(out) == [("s", "u")] and "seed 2" in out


def test_a_graph_without_a_train_block_needs_of(path, capsys):
    assert main(["gradcheck", str(path), "-g", "b"]) == 1
    assert 'graph "b" has no train block, so no loss to check: name a float scalar with --of ' \
           "NODE" in capsys.readouterr().err


def test_a_disagreement_is_named_and_exits_1(path, capsys, monkeypatch):
    op = REGISTRY["tanh"]
    monkeypatch.setitem(REGISTRY, "tanh", records.replace(op, grad=lambda b, n, g: (g,)))
    assert main(["gradcheck", str(path)]) == 1
    out, err = capsys.readouterr()
    assert checked(out) == [("loss", "w")] and "FAILED" in out
    assert "gradcheck: d loss / d w[" in err
    assert err.rstrip().endswith("gradcheck: 1 gradient disagree with finite differences")


def test_train_data_loads_the_first_train_blocks_data(path, tmp_path):
    program = tl.load(str(path))
    data, label = G._train_data(program, "a")
    assert set(data) == {"x"} and data["x"].shape == (2, 2) and label == "data block d"
    assert G._train_data(program, "b") == (None, None)
    broken = tmp_path / "broken.tl"
    broken.write_text(PROGRAM.replace("x = [[1, 2], [0.5, -1]]", 'x = npy("missing.npy")'))
    data, why = G._train_data(tl.load(str(broken)), "a")
    assert data is None and why.startswith("data block d did not load, so the inputs are "
                                           "random: ")


def test_random_inputs_are_noted(path, tmp_path, capsys):
    broken = tmp_path / "broken.tl"
    broken.write_text(PROGRAM.replace("x = [[1, 2], [0.5, -1]]", 'x = npy("missing.npy")'))
    assert main(["gradcheck", str(broken)]) == 0
    assert "  note: data block d did not load, so the inputs are random: " in \
        capsys.readouterr().out


def test_no_progress_bar_off_a_terminal():
    tick = G._progress_bar(10_000)
    assert tick() is None  # a no-op: stderr is captured here, not a terminal
