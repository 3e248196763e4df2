"""training/step.py: the finite check, and a step that feeds its learning rate."""

import numpy as np
import pytest

from tensorlang.errors import RuntimeNumericsError
from tensorlang.training.context import Context
from tensorlang.training.step import all_finite, training_step

from .test_train import X, Y, grad, linear


@pytest.mark.parametrize("size", [3, 5000])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_all_finite_finds_one_bad_value_anywhere(size, bad):
    v = np.ones(size, np.float32)
    assert all_finite(v)
    v[size // 2] = bad
    assert not all_finite(v)


def test_huge_finite_values_are_finite():
    assert all_finite(np.full(5000, 3e38, np.float32))  # the squares overflow, the values don't


def test_a_fed_rate_sets_the_steps_learning_rate():
    p = linear(epochs=1, extra="warmup = 10")
    ctx = Context(p)
    spec = p.runs[0]
    step = training_step(ctx, spec, ctx.restore(spec))
    assert step.model_variables == ["w", "b"]
    step({"x": X, "y": Y}, 1, 1, rate=0.25)
    gw, _ = grad(np.array([0.5, -0.3]), np.array(0.1), X, Y)
    np.testing.assert_allclose(step.sess.variables["w"], np.array([0.5, -0.3]) - 0.25 * gw,
                               rtol=1e-12)


def test_a_non_finite_step_keeps_the_old_variables():
    p = linear(epochs=1, optimizer="sgd(lr = 1e308)")
    ctx = Context(p)
    spec = p.runs[0]
    step = training_step(ctx, spec, ctx.restore(spec))
    with pytest.raises(RuntimeNumericsError, match="epoch 1, step 1"):
        for _ in range(5):
            before = {k: v.copy() for k, v in step.sess.variables.items()}
            step({"x": X, "y": Y}, 1, 1)
    assert step.count < 5
    for k, v in before.items():  # the failed step changed nothing
        np.testing.assert_array_equal(step.sess.variables[k], v)
