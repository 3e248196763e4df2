"""transforms/passes/fold.py: constant folding evaluates small nodes over constants (keeping
name, span and dtype), and leaves sources, symbolic shapes and big results alone."""

from __future__ import annotations

import numpy as np

from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.source import Span
from tensorlang.transforms.passes import fold_constants
from tensorlang.transforms.passes.fold import FOLD, FOLD_LIMIT, fold_constant

AT = Span("m.tl", 3, 5, 3, 20)


def test_a_chain_over_constants_becomes_one_constant():
    b = Builder("g")
    c = b.constant([1.0, 2.0], "f32")
    y = b.add("add", (b.op("multiply", c, 2.0), 1.0), span=AT)
    b.bind("y", y, AT)
    g, new = fold_constants(b.finish())
    g.verify()
    folded = g.node("y")
    assert folded.op == "constant" and folded.name == "y" and folded.span == AT
    assert folded.dtype == "f32" and folded.attrs["value"].tolist() == [3.0, 5.0]
    assert new[y.id] is folded


def test_inputs_and_symbolic_shapes_are_not_folded():
    b = Builder("g")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f32", (2,)), name="x")
    b.bind("x", x, AT)
    b.bind("y", b.op("multiply", x, b.op("neg", b.constant(3.0, "f32"))), AT)
    b.bind("z", b.op("zeros", shape=(D.Dim.sym("N"), 2)), AT)  # no inputs: nothing to fold
    g, _ = fold_constants(b.finish())
    y = g.node("y")
    assert y.op == "multiply" and y.inputs[0] is x
    assert y.inputs[1].op == "constant" and y.inputs[1].attrs["value"] == -3.0
    assert g.node("z").op == "zeros"


def test_results_over_the_limit_stay_computed():
    b = Builder("g")
    big = b.constant(np.ones(FOLD_LIMIT + 1, np.float32), "f32")
    b.bind("y", b.op("neg", big), AT)
    small = b.constant(np.ones(FOLD_LIMIT, np.float32), "f32")
    b.bind("z", b.op("neg", small), AT)
    g, _ = fold_constants(b.finish())
    assert g.node("y").op == "neg" and g.node("z").op == "constant"


def test_the_pass_holds_one_rule_for_every_op():
    assert [r.name for r in FOLD.rules] == ["fold_constant"]
    assert FOLD.rules[0].fn is fold_constant and FOLD.rules[0].ops == ("*",)
    assert FOLD.name == "fold_constants"
