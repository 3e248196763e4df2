"""`tensorlang check FILE --batch B`: the predicted peak memory of one training step (the first
train block of each graph: forward, gradients, optimizer updates, as `tensorlang run` compiles
it) and of inference (the graph's outputs, inference mode) at batch B, from the plans' buffer
reuse and the symbolic sizes (runtime/memory.py), before anything runs.

B binds every placeholder's leading dim; other dims are bound with `--dim NAME=SIZE` (a sequence
length T), and a dim left unbound is a usage error that names it."""

from __future__ import annotations

from ..errors import UsageError
from ..ir import dims as D
from ..ir.graph import Graph
from ..ir.printing import outputs
from ..records import record
from ..runtime.memory import MemoryEstimate, predict
from ..runtime.plan import Plan, make_plan
from ..transforms.optimizers import train_graph
from ..transforms.passes import optimize_map


@record
class GraphMemory:
    """One graph's predictions at one binding of its dims (`train` None: no train block)."""

    graph: str
    env: dict
    inference: MemoryEstimate
    train: MemoryEstimate | None


def step_graph(program, spec) -> tuple[Graph, list]:
    """(train graph, fetches) of one training step of a train block: the train graph optimized
    the way the training loop does it; the minimized and reported values, then the new
    variables."""
    tgraph, updates = train_graph(program.training_graph(spec.graph), spec)
    tgraph, moved = optimize_map(tgraph, keep=updates.values())
    names = list(dict.fromkeys((spec.minimize, *spec.report)))
    return tgraph, [tgraph.node(n) for n in names] + [moved[v.id] for v in updates.values()]


def step_plan(program, spec) -> Plan:
    """The plan of one training step of a train block (step_graph's fetches)."""
    return make_plan(step_graph(program, spec)[1])


def inference_plan(graph: Graph) -> Plan:
    """The plan of the graph's outputs (what it computes), in inference mode."""
    return make_plan(outputs(graph))


def binding(graph: Graph, batch: int, dims: dict[str, int]) -> dict[str, int]:
    """Dim sizes: every placeholder's leading symbolic dim is the batch, then `dims`."""
    env: dict[str, int] = {}
    for p in graph.placeholders:
        shape = p.type.shape
        if shape and isinstance(shape[0], D.Dim) and len(shape[0].symbols) == 1:
            env[next(iter(shape[0].symbols))] = batch
    env.update(dims)
    return env


def _checked(plan: Plan, env: dict, graph: Graph) -> dict:
    missing = sorted(plan.symbols - env.keys())
    if missing:
        raise UsageError(f'graph "{graph.name}": dim {missing[0]} is not known; give it with '
                         f"--dim {missing[0]}=SIZE")
    return env


def estimate(program, batch: int, dims: dict[str, int] | None = None) -> list[GraphMemory]:
    """The predictions for every graph of a compiled program."""
    dims = dims or {}
    out = []
    for name, graph in program.graphs.items():
        env = binding(graph, batch, dims)
        infer = inference_plan(graph)
        spec = next((s for s in program.runs if s.graph == name and s.kind == "train"), None)
        train = None
        if spec is not None:
            plan = step_plan(program, spec)
            train = predict(plan, _checked(plan, env, graph))
        out.append(GraphMemory(name, env, predict(infer, _checked(infer, env, graph)), train))
    return out


def mib(n: int) -> str:
    """Bytes as MiB with two decimals (KiB below one MiB)."""
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"


def format_estimates(estimates: list[GraphMemory]) -> list[str]:
    """The lines check prints: per graph, the step's and inference's peak and inputs."""
    lines = []
    for g in estimates:
        bound = ", ".join(f"{k} = {v}" for k, v in sorted(g.env.items()))
        lines.append(f"memory of graph {g.graph} ({bound}), predicted:")
        for what, e in (("training step", g.train), ("inference", g.inference)):
            if e is None:
                continue
            where = f"; the peak at {e.at.describe()}" if e.at is not None else ""
            lines.append(f"  {what:<13}  {mib(e.total)} = {mib(e.peak)} allocated + "
                         f"{mib(e.inputs)} of feeds and variables{where}")
    return lines
