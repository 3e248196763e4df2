"""runtime/generated.py: a schedule of kernel calls as one straight-line function: inputs read
from the slots, results in order, out= passed for a donor buffer, dead slots dropped, and the
step a traceback points at."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.runtime.generated import GeneratedCode, generate
from tensorlang.runtime.plan import ConcreteCall, make_plan


def call(fn, ins, out, k, free=(), donor=-1):
    return ConcreteCall(fn, 0, -1, -1, tuple(ins), out, tuple(free), k, donor)


def test_straight_line_code_computes_the_fetches():
    steps = [call(np.add, (0, 1), 2, 0), call(np.multiply, (2, 0), 3, 1, free=(2,)),
             call(np.negative, (3,), 4, 2)]
    run = generate(steps, [4, 3])
    assert isinstance(run, GeneratedCode)
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    slots = [a, b, None, None, None]
    neg, prod = run(slots)
    np.testing.assert_array_equal(prod, (a + b) * a)
    np.testing.assert_array_equal(neg, -(a + b) * a)
    assert slots[2:] == [None, None, None]  # results live in locals, not in the slot list


def test_a_donor_buffer_is_passed_as_out():
    buf = np.empty(2)
    run = generate([call(np.add, (0, 1), 3, 0, donor=2)], [3])
    (got,) = run([np.ones(2), np.ones(2), buf, None])
    assert got is buf and got.tolist() == [2.0, 2.0]


def test_calls_without_inputs_and_fetches_of_inputs():
    run = generate([call(lambda: np.arange(3), (), 1, 0)], [1, 0])
    made, fed = run([np.array(7), None])
    assert made.tolist() == [0, 1, 2] and fed == 7
    assert generate([], [0])([np.array(5)]) == [np.array(5)]  # no steps: the feed itself


def test_step_at_names_the_step_whose_line_raised():
    def boom(x):
        raise ValueError("bad value")
    steps = [call(np.negative, (0,), 1, 0), call(np.exp, (1,), 2, 1), call(boom, (2,), 3, 7)]
    run = generate(steps, [3])
    with pytest.raises(ValueError) as info:
        run([np.zeros(2), None, None, None])
    assert run.step_at(info.value.__traceback__) == 7
    try:
        raise KeyError("elsewhere")
    except KeyError:
        assert run.step_at(sys.exc_info()[2]) is None  # not raised in the generated code


def test_each_generated_function_has_its_own_code():
    a = generate([call(np.negative, (0,), 1, 0)], [1])
    b = generate([call(np.negative, (0,), 1, 0)], [1])
    assert a.code is not b.code and a.code.co_filename != b.code.co_filename
    assert a.code.co_filename.startswith("<tensorlang plan ")


def test_a_plans_steps_generate_the_same_values_as_numpy():
    bld = Builder("g")
    x = bld.add("placeholder", (), {"default": None}, type=TensorType("f64", (3,)), name="x")
    y = bld.op("sum", bld.op("multiply", bld.op("tanh", x), 2.0))
    plan = make_plan([y])
    run = plan.generated({})
    slots = plan.template.copy()
    (slot, _), = plan.placeholders
    xv = np.array([0.1, -0.4, 2.0])
    slots[slot] = xv
    (got,) = run(slots)
    assert got == pytest.approx(np.sum(np.tanh(xv) * 2.0))
    assert plan.generated({}) is run  # made once per binding
