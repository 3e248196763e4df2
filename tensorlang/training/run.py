"""`tensorlang run`: execute the train/evaluate blocks in file order, one Session per graph."""

from __future__ import annotations

from .context import Context
from .evaluate import run_evaluate
from .train import TrainResult, run_train


class RunResults(list):
    """Each run block's results in file order (a train block's TrainResult, an evaluate
    block's dict), with `.sessions`: graph name -> its Session, holding the trained variables
    (ready for `Session.run`), and `.histories`: each train block's per-epoch history."""

    def __init__(self, results: list, sessions: dict):
        super().__init__(results)
        self.sessions = sessions
        self.histories = [r.history for r in results if isinstance(r, TrainResult)]


def run_program(program, **options) -> RunResults:
    """Every run block in file order; returns each block's results and the sessions."""
    ctx = Context(program, **options)
    results = []
    for spec in program.runs:
        if spec.kind == "train":
            results.append(run_train(ctx, spec))
        else:
            results.append(run_evaluate(ctx, spec))
    return RunResults(results, ctx.sessions)
