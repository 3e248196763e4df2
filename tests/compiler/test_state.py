"""State variables and `update`: changed only by training steps, after the forward values;
saved and loaded with the other variables; never touched by the optimizer; every misuse a
located error naming both types."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.runtime import checkpoint

COUNTER = """
graph g {{
    placeholder x: f32[N, 2]
    variable w: f32[2] = ones()
    variable steps: f32[] = zeros() state
    variable seen: f32[2] = zeros() state
    update steps = steps + 1
    update seen = seen + sum(x, axis = 0)
    loss = mean((x * w) * steps)
}}

data t {{
    x = [[1, 2], [3, 4], [5, 6], [7, 8]]
}}

train g {{
    data = t
    minimize = loss
    optimizer = sgd(lr = 0.1)
    epochs = 3
    batch = 2
    shuffle = false
    {save}
}}

evaluate g {{
    data = t
    show = [steps, loss]
}}
"""


def _run(text, tmp_path=None):
    path = (tmp_path / "s.tl") if tmp_path else None
    if path:
        path.write_text(text)
        p = tl.load(str(path))
    else:
        p = tl.compile(text)
    return p, p.run(quiet=True, out=io.StringIO())


def test_updates_run_only_in_training_steps_after_the_forward_values():
    p, (trained, shown) = _run(COUNTER.format(save=""))
    assert float(shown["steps"]) == 6  # 3 epochs of 2 steps; evaluate did not add one
    # each step's loss saw the state from before it: step 1 counts 0 (loss 0, so no gradient
    # and w stays ones), step 2 counts 1: mean([5, 6, 7, 8]) = 6.5; over the epoch's 4 examples
    assert trained.history[0]["metrics"]["loss"] == pytest.approx((0 * 2 + 6.5 * 2) / 4)
    x = np.array([[1, 2], [3, 4], [5, 6], [7, 8]], np.float32)
    s = tl.Session(p.graphs["g"])
    s.run("loss", {"x": x})  # a plain run never updates
    assert float(s.variables["steps"]) == 0


def test_state_is_never_touched_by_the_optimizer_and_counts_apart():
    p, _ = _run(COUNTER.format(save=""))
    g = p.graphs["g"]
    assert [v.name for v in g.state] == ["steps", "seen"]
    assert [v.name for v in g.trainable] == ["w"]
    tg = p.training_graph("g")
    assert set(tg.updates) == {"steps", "seen"}


def test_state_is_saved_and_loaded(tmp_path):
    _, (trained, shown) = _run(COUNTER.format(save='save = "s.npz"'), tmp_path)
    with np.load(tmp_path / "s.npz") as z:
        assert float(z["steps"]) == 6
        np.testing.assert_allclose(z["seen"], 3 * np.array([16, 20]))  # every example, 3 times
    g = tl.compile(COUNTER.format(save="")).graphs["g"]
    values = checkpoint.load(str(tmp_path / "s.npz"), g.variables)
    assert float(values["steps"]) == 6


@pytest.mark.parametrize("stmt, message", [
    ("update w = w * 2", 'update: "w" is a trainable variable (f32[2]), not a state variable'),
    ("update x = x", 'update: "x" is a placeholder node (f32[N, 2]), not a state variable'),
    ("update c = 1", 'update: "c" is not a variable of this graph'),
    ("update steps = x", 'update of "steps" (f32[]) with f32[N, 2]: the new value must have '
                         "the variable's exact type"),
    ("update steps = cast(steps, f64)", 'update of "steps" (f32[]) with f64[]'),
    ("update steps = steps + 1\n    update steps = steps + 2",
     'state variable "steps" is updated twice'),
])
def test_update_mistakes_are_located(stmt, message):
    text = ("graph g {\n    placeholder x: f32[N, 2]\n    variable w: f32[2] = ones()\n"
            f"    variable steps: f32[] = zeros() state\n    {stmt}\n}}\n")
    with pytest.raises(tl.TensorlangError) as e:
        tl.compile(text, "s.tl")
    assert message in e.value.message
    assert e.value.span.line >= 5


def test_a_layer_state_is_updated_in_its_own_scope_only():
    text = ("layer Counter(x: [...]) {\n    variable n: f32[] = zeros() state\n"
            "    update n = n + 1\n    return x\n}\n"
            "graph g {\n    placeholder x: f32[3]\n    c = Counter(x)\n    update n = 1\n}\n")
    with pytest.raises(tl.TensorlangError, match='"n" is not a variable of this graph') as e:
        tl.compile(text, "s.tl")
    assert "c.n" in e.value.hint
