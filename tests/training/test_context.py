"""training/context.py: what the run blocks share: one session per graph (seeded by --seed,
else the block's seed), data loaded once and checked against a graph once, checkpoints
restored, paths relative to the program, output; and batches()."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.compiler import datablocks
from tensorlang.errors import DataError
from tensorlang.runtime.checkpoint import save
from tensorlang.training import context as C

PROGRAM = """\
graph g {
    placeholder x: f64[N, 2]
    placeholder y: i32[N]
    variable W: f64[2] = normal()
    z = x @ W
    s = sum(z)
}
data d {
    x = [[1, 2], [3, 4], [5, 6]]
    y = [0, 1, 1]
}
data bad {
    x = [[1, 2]]
    y = [0, 1]
}
evaluate g {
    data = d
    show = [z]
}
train g {
    data = d
    minimize = s
    seed = 7
}
"""


def program(text=PROGRAM, file="c.tl"):
    return tl.compile(text, file)


def test_defaults_and_output():
    out = io.StringIO()
    ctx = C.Context(program(), out=out)
    assert (ctx.seed, ctx.epochs, ctx.quiet, ctx.check_numerics, ctx.progress,
            ctx.log_every) == (None, None, False, False, None, 1)
    ctx.print("hello")
    ctx.print()
    assert out.getvalue() == "hello\n\n"


def test_one_session_per_graph_seeded_by_the_flag_else_the_block():
    p = program()
    evaluate, train = p.runs
    ctx = C.Context(p)
    s = ctx.session(train)
    assert s is ctx.session(evaluate) and s.seed == 7  # the train block's seed
    assert C.Context(p).session(evaluate).seed == 0  # no seed in the block
    flagged = C.Context(p, seed=3).session(train)
    assert flagged.seed == 3
    np.testing.assert_array_equal(flagged.variables["W"], tl.Session(p.graphs["g"], 3)
                                  .variables["W"])


def test_data_is_loaded_once_and_cast_for_each_graph(monkeypatch):
    p = program()
    calls = []
    real = datablocks.load_field
    monkeypatch.setattr(C, "load_field", lambda *a: calls.append(a[0].name) or real(*a))
    ctx = C.Context(p)
    raw = ctx.data("d")
    assert raw["x"].tolist() == [[1, 2], [3, 4], [5, 6]]
    assert ctx.data("d") is raw and calls == ["x", "y"]
    sess = ctx.session(p.runs[0])
    checked = ctx.data("d", sess)
    assert checked["x"].dtype == np.float64 and checked["y"].dtype == np.int32
    assert ctx.data("d", sess) is checked and calls == ["x", "y"]


def test_fields_of_different_lengths_are_a_data_error():
    with pytest.raises(DataError) as info:
        C.Context(program()).data("bad")
    assert info.value.span.line == 12  # the data block


def test_restore_loads_the_checkpoint_relative_to_the_program(tmp_path):
    save(str(tmp_path / "w.npz"), {"W": np.array([0.5, -1.0])})
    text = PROGRAM.replace("    show = [z]\n", '    show = [z]\n    load = "w.npz"\n')
    p = program(text, str(tmp_path / "c.tl"))
    (tmp_path / "c.tl").write_text(text)
    ctx = C.Context(p)
    sess = ctx.restore(p.runs[0])
    assert sess.variables["W"].tolist() == [0.5, -1.0]
    assert ctx.path("w.npz") == str(tmp_path / "w.npz")
    assert ctx.path("/abs/w.npz") == "/abs/w.npz"
    untouched = ctx.restore(p.runs[1])  # no load: the same session as it is
    assert untouched is sess and sess.variables["W"].tolist() == [0.5, -1.0]


@pytest.mark.parametrize("n, size, want", [
    (5, 2, [(0, 2), (2, 4), (4, 5)]), (4, 4, [(0, 4)]), (3, None, [(0, 3)]), (2, 10, [(0, 2)]),
    (0, 3, []),
])
def test_batches_in_order(n, size, want):
    got = list(C.batches(n, size))
    assert [(s.start, s.stop) for s in got] == want


def test_batches_of_a_shuffled_order():
    order = np.array([3, 0, 4, 1, 2])
    got = list(C.batches(5, 2, order))
    assert [b.tolist() for b in got] == [[3, 0], [4, 1], [2]]
