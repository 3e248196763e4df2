"""`tensorlang run`: execute the train/evaluate blocks in file order, one Session per graph."""

from __future__ import annotations

from .context import Context
from .evaluate import run_evaluate
from .train import run_train


def run_program(program, **options) -> list[dict]:
    """Every run block in file order; returns each block's results."""
    ctx = Context(program, **options)
    results = []
    for spec in program.runs:
        if spec.kind == "train":
            results.append(run_train(ctx, spec))
        else:
            results.append(run_evaluate(ctx, spec))
    return results
