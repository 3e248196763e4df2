"""training/run.py: run_program executes the run blocks in file order in one context, so an
evaluation after training sees the trained variables; the options reach the blocks."""

from __future__ import annotations

import io

import numpy as np

import tensorlang as tl
from tensorlang.training.run import run_program

PROGRAM = """\
graph g {
    placeholder x: f64[N, 1]
    placeholder y: f64[N, 1]
    variable w: f64[1, 1] = [[0.0]]
    p = x @ w
    loss = mean((p - y) ** 2)
}
data d {
    x = [[1], [2]]
    y = [[2], [4]]
}
evaluate g {
    data = d
    report = [loss]
}
train g {
    data = d
    minimize = loss
    optimizer = sgd(lr = 0.1)
    epochs = 2
}
evaluate g {
    data = d
    report = [loss]
    show = [w]
}
"""


def test_blocks_run_in_file_order_and_share_the_variables():
    out = io.StringIO()
    before, trained, after = run_program(tl.compile(PROGRAM, "r.tl"), out=out, progress=False)
    # loss = mean((w x - y)^2) with y = 2x: grad = 2 mean(x (w x - y)) = 5 (w - 2)
    w = 0.0
    for _ in range(2):
        w -= 0.1 * 5 * (w - 2)
    assert before["loss"] == 10.0  # (4 + 16) / 2 at w = 0
    assert trained.steps == 2 and len(trained.history) == 2
    np.testing.assert_allclose(after["w"], [[w]])
    np.testing.assert_allclose(after["loss"], 2.5 * (w - 2) ** 2)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("evaluate g on d") and lines[1].startswith("train g on d")
    assert lines[-2].startswith("evaluate g on d")


def test_options_reach_every_block():
    out = io.StringIO()
    results = run_program(tl.compile(PROGRAM, "r.tl"), out=out, quiet=True, epochs=3, seed=1,
                          progress=False)
    assert results[1].steps == 3
    epoch_lines = [x for x in out.getvalue().splitlines() if x.startswith("epoch")]
    assert len(epoch_lines) == 1 and epoch_lines[0].startswith("epoch 3/3")


def test_a_program_without_run_blocks_does_nothing():
    p = tl.compile("graph g {\n    placeholder x: f32[2]\n}\n")
    assert run_program(p, out=io.StringIO()) == []
