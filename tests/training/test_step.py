"""training/step.py: the finite check, and a step that feeds its learning rate."""

import numpy as np
import pytest

from tensorlang.errors import RuntimeNumericsError
from tensorlang.training.context import Context
from tensorlang.training.step import training_step

from .test_train import X, Y, grad, linear


def test_a_nan_in_one_element_of_a_new_value_stops_the_step_by_name(monkeypatch):
    """The finite check sees every element of every new value: a NaN planted in one element of
    the step's results is found, the step is refused, the variables are those from before."""
    p = linear(epochs=1)
    ctx = Context(p)
    spec = p.runs[0]
    step = training_step(ctx, spec, ctx.restore(spec))
    real = step.sess.execute

    def planted(plan, feed, check_numerics=False):
        values = real(plan, feed, check_numerics)
        if not check_numerics:
            w = len(step.names) + step.targets.index("w")
            values[w] = np.array(values[w], copy=True)
            values[w][-1] = np.nan  # the last element of w's new value
        return values

    monkeypatch.setattr(step.sess, "execute", planted)
    before = {k: v.copy() for k, v in step.sess.variables.items()}
    with pytest.raises(RuntimeNumericsError, match="update is not finite in epoch 1, step 1"):
        step({"x": X, "y": Y}, 1, 1)
    for k, v in before.items():
        np.testing.assert_array_equal(step.sess.variables[k], v)


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
