"""training/state.py: the watch on the best epoch and the hyperparameters a resume changes."""

from types import SimpleNamespace

from tensorlang.compiler.run_keys import Optimizer
from tensorlang.training.state import Best, RunState, changed


def test_best_improves_only_in_its_direction_and_never_by_nan():
    best = Best()
    assert best.improved_by(1.0, higher=False)
    best.value = 1.0
    assert best.improved_by(0.5, higher=False) and not best.improved_by(1.5, higher=False)
    assert best.improved_by(1.5, higher=True) and not best.improved_by(0.5, higher=True)
    assert not best.improved_by(float("nan"), higher=False)


def test_fresh_states_with_one_seed_shuffle_alike():
    a, b = RunState.fresh(3), RunState.fresh(3)
    assert (a.shuffle.permutation(10) == b.shuffle.permutation(10)).all()
    assert (a.epoch, a.step, a.history) == (0, 0, [])


def test_changed_lists_only_the_differing_hyperparameters():
    spec = SimpleNamespace(optimizer=Optimizer("adam", (("lr", 0.01), ("beta1", 0.9))))
    meta = {"optimizer": {"name": "adam", "params": {"lr": 0.001, "beta1": 0.9}}}
    assert changed(meta, spec) == ["lr 0.001 -> 0.01"]
