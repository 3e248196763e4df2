"""tools/memory: the batch binds every placeholder's leading dim, --dim the others, an unbound dim
is a usage error naming it; the step plan is the one the training loop runs (its prediction
equals the runtime's for that plan) and the printed lines say what was predicted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import UsageError
from tensorlang.runtime.memory import predict
from tensorlang.tools.memory import binding, estimate, format_estimates, inference_plan, step_plan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_batch_binds_leading_dims_and_dims_the_rest():
    program = tl.load(str(EXAMPLES / "lstm_first_symbol.tl"))
    graph = program.graphs["memory"]
    assert binding(graph, 32, {}) == {"N": 32}
    assert binding(graph, 32, {"T": 40}) == {"N": 32, "T": 40}
    with pytest.raises(UsageError, match="dim T is not known; give it with --dim T=SIZE"):
        estimate(program, 32)


def test_estimates_grow_with_the_batch_and_match_the_runtimes_replay():
    program = tl.load(str(EXAMPLES / "mnist_mlp.tl"))
    small, big = estimate(program, 16)[0], estimate(program, 256)[0]
    assert small.env == {"N": 16} and big.train.peak > small.train.peak > 0
    assert big.inference.peak > small.inference.peak > 0
    spec = program.runs[0]
    again = predict(step_plan(program, spec), {"N": 256})  # a train graph built anew
    assert (big.train.peak, big.train.inputs, big.train.at.op) == \
        (again.peak, again.inputs, again.at.op)
    again = predict(inference_plan(program.graphs[spec.graph]), {"N": 256})
    assert (big.inference.peak, big.inference.inputs) == (again.peak, again.inputs)
    # the images alone: 784 u8 per example fed, and the variables of both layers
    x = program.graphs[spec.graph].placeholders[0]
    assert big.inference.inputs >= 256 * int(np.prod(x.type.shape[1:]))


def test_the_lines_name_the_graph_the_binding_and_both_runs():
    lines = format_estimates(estimate(tl.load(str(EXAMPLES / "xor.tl")), 4))
    assert lines[0] == "memory of graph xor (N = 4), predicted:"
    assert lines[1].lstrip().startswith("training step") and "allocated" in lines[1]
    assert lines[2].lstrip().startswith("inference") and "the peak at" in lines[2]
