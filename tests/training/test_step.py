"""training/step.py: the finite check, and a step that feeds its learning rate."""

import numpy as np
import pytest

from tensorlang.errors import RuntimeNumericsError
from tensorlang.training.context import Context
from tensorlang.training.step import training_step

from .test_train import X, Y, grad, linear


def _planted_step(target: str, plant):
    """The linear program's training step with the kernel that makes `target`'s new value
    changed by plant(value) (in place) after it runs, as if the kernel had made it so."""
    p = linear(epochs=1)
    ctx = Context(p)
    spec = p.runs[0]
    step = training_step(ctx, spec, ctx.restore(spec))
    assert step.probed  # NumPy's plans carry the probes the check relies on first
    update = step.fetch[len(step.names) + step.targets.index(target)]
    call = next(c for c in step.plan.steps if c.node is update and not c.probe)
    kernel = call.fn

    def planted(*args, **kwargs):
        value = np.array(kernel(*args, **kwargs), copy=True)
        plant(value)
        return value
    call.fn = planted
    return step, update


@pytest.mark.parametrize("target, index", [("w", 0), ("w", 1), ("b", ())])
def test_a_nan_in_one_element_of_a_new_value_stops_the_step_by_name(target, index):
    """The finite check sees every element of every new value as the kernels make it (on NumPy
    through the plan's probes, right after each update): a NaN made in one element of one
    update is found, the step is refused naming the update's node, and the variables are those
    from before."""
    step, update = _planted_step(target, lambda v: v.__setitem__(index, np.nan))
    before = {k: v.copy() for k, v in step.sess.variables.items()}
    with pytest.raises(RuntimeNumericsError, match="in epoch 1, step 1") as e:
        step({"x": X, "y": Y}, 1, 1)
    assert e.value.span == update.span and "NaN" in e.value.message
    for k, v in before.items():
        np.testing.assert_array_equal(step.sess.variables[k], v)


def test_finite_values_whose_squares_overflow_pass_the_check():
    """A probe (a square norm) overflows for huge finite values: the exact check then decides,
    and the step goes through."""
    huge = np.finfo(np.float64).max / 4
    step, _ = _planted_step("w", lambda v: v.__setitem__(..., huge))
    step({"x": X, "y": Y}, 1, 1)
    assert (step.sess.variables["w"] == huge).all()


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


def test_a_finite_step_reads_its_new_values_only_through_the_probes(monkeypatch):
    """On NumPy the new values' check is their probes, made while each is in cache; the
    element-by-element check runs on the reported values alone when every probe is finite."""
    p = linear(epochs=1)
    ctx = Context(p)
    spec = p.runs[0]
    step = training_step(ctx, spec, ctx.restore(spec))
    engine = step.sess.engine
    seen = []
    real = engine.first_nonfinite
    monkeypatch.setattr(engine, "first_nonfinite", lambda values: seen.append(len(values))
                        or real(values))
    step({"x": X, "y": Y}, 1, 1)
    assert seen == [len(step.names)] and len(step.probed) == len(step.targets) == 2
