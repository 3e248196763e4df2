"""Memory known before running: the peak of the arrays a plan's run allocates, predicted from the
plan itself (its buffer reuse and where every value dies, plan.py) and the symbolic sizes bound
to numbers (`N = 128`), without running a kernel.

The run is replayed step by step: a step that gets a dead buffer (`out=`) allocates nothing; one
that returns fresh memory (its op's `memory.fresh`, rank >= 1) allocates its result; a view
allocates nothing; a buffer is released when the slot that owns it is freed (views and donated
buffers handed on, as the executor does). During a step its kernel's own working arrays (an op's
`memory.scratch(node, env)`: conv's columns, pooling's masks) count on top. The inputs (feeds,
variables, constants) are there before the run and are counted apart; the fetched values stay.

What is predicted is what tracemalloc sees of NumPy's allocations during one run (the benchmark
bench_memory compares them); small kernels' temporaries that no op declares are left out."""

from __future__ import annotations

import numpy as np

from ..ir import dims as D
from ..ir.graph import Node
from ..ir.types import np_dtype
from ..records import record
from .plan import Plan


@record
class MemoryEstimate:
    """Bytes: `peak` the most the run's own arrays hold at once (results and kernels' working
    arrays), `inputs` the fed, variable and constant arrays it reads, `fetched` what it returns;
    `at` the node whose step reaches the peak."""

    peak: int
    inputs: int
    fetched: int
    at: Node | None

    @property
    def total(self) -> int:
        """The peak with the inputs: what the process holds for the run at its fullest."""
        return self.peak + self.inputs


def nbytes(node: Node, env: dict) -> int:
    """The size in bytes of node's value for these dim sizes."""
    shape = D.evaluate_shape(node.type.shape, env)
    return int(np.prod(shape, dtype=np.int64)) * np_dtype(node.dtype).itemsize


def predict(plan: Plan, env: dict) -> MemoryEstimate:
    """Replay the plan's allocations for these dim sizes (see the module doc)."""
    nodes = plan.nodes
    owned: dict[int, int] = {}  # slot -> bytes of the buffer it owns
    live = peak = 0
    at = None
    for step in plan.steps:
        if step.probe:  # a scalar
            continue
        node, out = step.node, step.out
        if step.donor >= 0:
            owned[out] = owned.pop(step.donor, 0)  # written into a dead buffer: handed on
            fresh = 0
        else:
            fresh = nbytes(node, env) if node.opdef.memory.fresh and node.rank >= 1 else 0
            owned[out] = fresh
        scratch = node.opdef.memory.scratch
        extra = int(scratch(node, env)) if scratch is not None else 0
        if live + fresh + extra > peak:
            peak, at = live + fresh + extra, node
        live += fresh
        for s in step.free:
            live -= owned.pop(s, 0)
    inputs = sum(nbytes(nodes[s], env) for s, _ in plan.placeholders + plan.variables)
    inputs += sum(nbytes(nodes[s], env) for s, _ in plan.constants if nodes[s].rank >= 1)
    fetched = sum(owned.get(s, 0) for s in set(plan.fetch_slots))
    return MemoryEstimate(peak, inputs, fetched, at)
