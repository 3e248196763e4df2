"""tools/cli/common.py: what the commands share: usage mistakes exit 1, FILE and --set, a
program loaded with its warnings on stderr, the graph -g chooses, and a train block's loss."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import tensorlang as tl
from tensorlang.errors import UsageError
from tensorlang.tools.cli import common as C

TWO = """\
let k = 2
graph first {
    placeholder x: f32[N, 2]
    variable w: f32[2] = ones()
    variable lost: f32[2] = ones()
    loss = mean(x @ w) * k
}
graph second {
    placeholder v: f32[3]
    s = sum(v)
}
data d {
    x = [[1, 2]]
}
train first {
    data = d
    minimize = loss
}
"""


@pytest.fixture
def two(tmp_path) -> Path:
    path = tmp_path / "two.tl"
    path.write_text(TWO, encoding="utf-8")
    return path


def test_a_usage_mistake_exits_1_with_the_usage(capsys):
    p = C.UsageParser(prog="tool")
    p.add_argument("--n", type=int)
    with pytest.raises(SystemExit) as info:
        p.parse_args(["--n", "x"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("usage: tool") and "tool: error: argument --n: invalid int" in err


def test_add_file_and_set():
    p = argparse.ArgumentParser()
    C.add_file(p, graph=True)
    args = p.parse_args(["m.tl", "--set", "a=1", "--set", "b=x", "-g", "g"])
    assert (args.file, args.set, args.graph) == ("m.tl", ["a=1", "b=x"], "g")
    q = argparse.ArgumentParser()
    C.add_file(q)
    assert not hasattr(q.parse_args(["m.tl"]), "graph")


def test_overrides():
    assert C.overrides(None) == {}
    assert C.overrides([" a = 1 ", "path=x=y", "e="]) == {"a": "1", "path": "x=y", "e": ""}
    for bad in ("novalue", "=3"):
        with pytest.raises(UsageError, match=f'--set expects NAME=VALUE, got "{bad}"'):
            C.overrides([bad])


def test_load_program_applies_set_and_prints_warnings(two, capsys):
    program = C.load_program(argparse.Namespace(file=str(two), set=["k=5"]))
    assert program.lets["k"] == 5
    err = capsys.readouterr().err
    assert f"{two}:5:5: warning: " in err and '"lost"' in err


def test_pick_graph(two):
    program = tl.load(str(two))
    assert C.pick_graph(program, "second").name == "second"
    with pytest.raises(UsageError) as info:
        C.pick_graph(program, None)
    assert info.value.message == (f"{two} defines several graphs (first, second): choose one "
                                  "with -g GRAPH")
    with pytest.raises(UsageError) as info:
        C.pick_graph(program, "secnd")
    assert info.value.message == f'{two} has no graph "secnd"'
    assert info.value.hint == 'did you mean "second"?'
    only = tl.compile("graph g {\n    placeholder x: f32[2]\n}\n", "one.tl")
    assert C.pick_graph(only, None) is only.graphs["g"]
    with pytest.raises(UsageError, match="empty.tl defines no graph"):
        C.pick_graph(tl.compile("let a = 1\n", "empty.tl"), None)


def test_train_spec_and_with_gradient(two):
    program = tl.load(str(two))
    assert C.train_spec(program, program.graphs["first"], "--x", "y").minimize == "loss"
    with pytest.raises(UsageError) as info:
        C.train_spec(program, program.graphs["second"], "--train", "optimizer to draw")
    assert info.value.message == ('--train: no train block trains graph "second", so there is '
                                  "no optimizer to draw")
    g = C.with_gradient(program, program.graphs["first"])
    assert g.node("grad(loss)/w").type == g.node("w").type
    with pytest.raises(UsageError, match="--backward: no train block trains graph"):
        C.with_gradient(program, program.graphs["second"])
