"""ir/constant.py: the one compile-time evaluator (kernels in graph order, a read-only result,
a located error for a value that is not constant) and apply (one kernel, warnings silenced)."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import TensorlangError
from tensorlang.ir.constant import apply, evaluate
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.source import Span


def test_evaluate_runs_the_constant_subgraph():
    b = Builder("g")
    c = b.constant([[1.0, 2.0], [3.0, 4.0]], "f64")
    y = b.op("sum", b.op("multiply", b.op("transpose", c), 2.0), axis=0)
    got = evaluate(y)
    np.testing.assert_array_equal(got, np.array([[1.0, 2.0], [3.0, 4.0]]).T.sum(axis=0) * 2)
    assert got.dtype == np.float64 and not got.flags.writeable


def test_evaluate_of_a_constant_is_its_value_read_only():
    b = Builder("g")
    got = evaluate(b.constant([1, 2, 3], "i32"))
    np.testing.assert_array_equal(got, [1, 2, 3])
    assert got.dtype == np.int32 and not got.flags.writeable


def test_evaluate_keeps_the_dtype_the_rules_give():
    b = Builder("g")
    y = b.op("divide", b.constant([1, 2], "i32"), b.constant([2, 4], "i32"))
    got = evaluate(y)
    assert y.dtype == "f32" and got.dtype == np.float32
    np.testing.assert_array_equal(got, [0.5, 0.5])


@pytest.mark.parametrize("source", ["placeholder", "variable"])
def test_a_value_that_depends_on_an_input_is_a_located_error(source):
    b = Builder("g")
    attrs = {"default": None} if source == "placeholder" else {"init": ("zeros", ())}
    x = b.add(source, (), attrs, type=TensorType("f32", (2,)), name="x")
    y = b.op("add", x, b.constant([1.0, 2.0], "f32"))
    where = Span("m.tl", 3, 5, 3, 9)
    with pytest.raises(TensorlangError) as info:
        evaluate(y, where)
    assert info.value.message == 'not a constant expression: it depends on "x"'
    assert info.value.span == where
    y_at = b.add("neg", (x,), span=Span("m.tl", 4, 1, 4, 2))
    with pytest.raises(TensorlangError) as info:
        evaluate(y_at)
    assert info.value.span == y_at.span  # without a place given: the node's own


def test_apply_calls_the_kernel_with_the_nodes_attributes():
    b = Builder("g")
    c = b.constant(np.arange(6.0).reshape(2, 3), "f64")
    s = b.op("sum", c, axis=1, keepdims=True)
    got = apply(s, [np.ones((2, 3))])
    np.testing.assert_array_equal(got, [[3.0], [3.0]])


def test_apply_silences_floating_point_warnings():
    b = Builder("g")
    y = b.op("log", b.constant([0.0, -1.0], "f64"))
    with np.errstate(all="raise"):
        got = apply(y, [np.array([0.0, -1.0])])
    assert got[0] == -np.inf and np.isnan(got[1])
