"""ir/summary.py: `tensorlang check`'s table against hand-written text: a layer instance on one
row with its variables under it, the totals, the outputs, and the rows that differ in training
mode."""

from __future__ import annotations

import tensorlang as tl
from tensorlang.ir.graph import Builder
from tensorlang.ir.summary import mode_differences, summary
from tensorlang.ir.types import TensorType

from .test_printing import dense_graph

SUMMARY = """\
graph g
-----------------------------------------------
node   op                 dtype  shape   params
-----------------------------------------------
x      placeholder        f32    [N, 2]
h      Dense              f32    [N, 3]       9
  h.W  variable           f32    [2, 3]       6
  h.b  variable (frozen)  f32    [3]          3
s      sum                f32    []
-----------------------------------------------
parameters: 9 (6 trainable, 3 frozen)
outputs:
  s  f32[]  rank 0  volume 1"""


def test_summary_puts_a_layer_on_one_row_with_its_variables_under_it():
    assert summary(dense_graph()) == SUMMARY


def test_summary_of_a_graph_without_parameters_or_outputs():
    b = Builder("empty")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("i32", (4,)), name="x")
    b.bind("x", x, x.span)
    # widths 4 + 11 + 5 + 5 + 6 and four gaps of 2: a bar of 39
    assert summary(b.finish()) == (
        "graph empty\n"
        "---------------------------------------\n"
        "node  op           dtype  shape  params\n"
        "---------------------------------------\n"
        "x     placeholder  i32    [4]\n"
        "---------------------------------------\n"
        "parameters: 0 (0 trainable, 0 frozen)")


def test_state_variables_are_counted_on_their_own():
    b = Builder("g")
    s = b.add("variable", (), {"init": ("zeros", ()), "trainable": False, "state": True},
              type=TensorType("f32", (5,)), name="s")
    b.bind("s", s, s.span)
    text = summary(b.finish())
    assert "s     variable (state)  f32    [5]         5" in text
    assert text.endswith("parameters: 5 (0 trainable, 0 frozen, 5 state)")


DROPOUT = """\
graph g {
    placeholder x: f32[N, 4]
    h = Dense(x, 3)
    d = Dropout(h, 0.5)
    loss = mean(d)
}
data t {
    x = [[1, 2, 3, 4]]
}
train g {
    data = t
    minimize = loss
}
"""


def test_rows_that_differ_in_training_mode_are_marked_and_explained():
    program = tl.compile(DROPOUT, "d.tl")
    inference, training = program.graphs["g"], program.training_graphs["g"]
    differs = mode_differences(inference, training)
    assert set(differs) == {"d"} and differs["d"].startswith("computes ")
    text = summary(inference, training)
    assert "\nd      Dropout *" in text
    assert f"* differs in training mode:\n  d: {differs['d']}\n" in text
    assert "*" not in summary(inference)
