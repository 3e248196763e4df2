"""The state of a training run beyond its variables: the epoch and step counters, the shuffling
and random-key generators, the history and the watch on the best epoch. A checkpoint written by
`save` carries it (as JSON, beside the variables and the optimizer's state), so `resume`
continues a run exactly where it stopped: 2 epochs and a resume of 2 more give the variables of
4 epochs at once, bit for bit."""

from __future__ import annotations

import numpy as np

from ..errors import CheckpointError
from ..records import field, record
from ..runtime import checkpoint


@record(frozen=False)
class Best:
    """The best epoch by the monitored metric so far, and the epochs since it."""

    value: float | None = None
    epoch: int = 0
    wait: int = 0
    variables: dict = field(default_factory=dict)  # the model's variables at that epoch

    def improved_by(self, value: float, higher: bool) -> bool:
        """value beats the best so far (NaN never does)."""
        if value != value:
            return False
        return self.value is None or (value > self.value if higher else value < self.value)


@record(frozen=False)
class RunState:
    """Where a run stands: `epoch` epochs done, `step` steps taken over the whole run."""

    shuffle: np.random.Generator
    epoch: int = 0
    step: int = 0
    history: list = field(default_factory=list)
    best: Best = field(default_factory=Best)

    @classmethod
    def fresh(cls, seed: int) -> RunState:
        return cls(np.random.default_rng(seed))

    def meta(self, spec, sess, monitor: str | None, optimizer_state: list[str]) -> dict:
        """The JSON part of a checkpoint: everything here, and the session's random keys."""
        return {"graph": spec.graph, "optimizer": {"name": spec.optimizer.name,
                                                   "params": dict(spec.optimizer.params)},
                "epoch": self.epoch, "step": self.step, "history": self.history,
                "shuffle": self.shuffle.bit_generator.state,
                "random": sess.random.generator.bit_generator.state,
                "monitor": monitor, "optimizer_state": optimizer_state,
                "best": {"value": self.best.value, "epoch": self.best.epoch,
                         "wait": self.best.wait}}

    def arrays(self, variables, sess) -> dict:
        """The checkpoint's arrays: every variable of the train graph, and the best epoch's."""
        out = {v.name: sess.variables[v.name] for v in variables}
        out.update({checkpoint.BEST + k: v for k, v in self.best.variables.items()})
        return out


def save(path: str, state: RunState, spec, step, span) -> None:
    """A training checkpoint of the run so far."""
    graph = step.sess.graph
    opt_state = [v.name for v in graph.variables if v.name not in step.model_variables]
    monitor = spec.monitor.name if spec.monitor else None
    checkpoint.save(path, state.arrays(graph.variables, step.sess), span,
                    meta=state.meta(spec, step.sess, monitor, opt_state))


def resume(path: str, spec, step, span) -> tuple[RunState, list[str]]:
    """The run state of a checkpoint written by `save`, its variables and optimizer state put
    into the step's session, and the hyperparameters this run changes; every way the
    checkpoint does not fit this run is listed in one error."""
    ck = checkpoint.read(path, span)
    if not ck.meta:
        raise CheckpointError(f'checkpoint "{path}" holds variables only, no training state to '
                              "resume", span, hint='use load = "..." to start from its variables')
    meta = ck.meta
    problems = _run_problems(meta, spec)
    best = {k[len(checkpoint.BEST):]: v for k, v in ck.arrays.items()
            if k.startswith(checkpoint.BEST)}
    stored = {k: v for k, v in ck.arrays.items() if not k.startswith(checkpoint.BEST)}
    problems += checkpoint.fit_problems(stored, step.sess.graph.variables)
    if problems:
        raise checkpoint.mismatch(path, problems, span)
    for name, value in stored.items():
        step.sess.variables[name] = value
    shuffle = np.random.default_rng()
    shuffle.bit_generator.state = meta["shuffle"]
    step.sess.random.generator.bit_generator.state = meta["random"]
    state = RunState(shuffle, meta["epoch"], meta["step"], list(meta["history"]))
    if spec.monitor and meta.get("monitor") == spec.monitor.name:
        b = meta["best"]
        state.best = Best(b["value"], b["epoch"], b["wait"], best)
    return state, changed(meta, spec)


def _run_problems(meta: dict, spec) -> list[str]:
    problems = []
    if meta.get("graph") != spec.graph:
        problems.append(f'it was written by a run of graph "{meta.get("graph")}", not '
                        f'"{spec.graph}"')
    opt = meta.get("optimizer", {})
    if opt.get("name") != spec.optimizer.name:
        problems.append(f'its optimizer is {opt.get("name")}, this run\'s is '
                        f"{spec.optimizer.name}")
    return problems


def changed(meta: dict, spec) -> list[str]:
    """`lr 0.1 -> 0.01` for every hyperparameter the resumed run sets otherwise."""
    old = meta.get("optimizer", {}).get("params", {})
    return [f"{k} {old[k]!s} -> {v!s}" for k, v in spec.optimizer.params
            if k in old and old[k] != v]
