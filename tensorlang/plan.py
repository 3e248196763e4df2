"""An execution plan: the part of a graph that some fetches need, flattened once into a list of
steps over numbered slots, with each buffer released after its last use. The hot loop touches
no dictionaries and no Node objects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import dims as D
from .graph import Node


def _has_dims(value) -> bool:
    if isinstance(value, D.Dim):
        return True
    if isinstance(value, tuple):
        return any(_has_dims(v) for v in value)
    return False


def _resolve(value, env):
    if isinstance(value, D.Dim):
        return D.evaluate(value, env)
    if isinstance(value, tuple):
        return tuple(_resolve(v, env) for v in value)
    return value


@dataclass
class Step:
    """One kernel call: out_slot = fn(*slots[ins], **attrs); then free the dead slots."""

    fn: object
    ins: tuple[int, ...]
    attrs: dict
    out: int
    free: tuple[int, ...]
    node: Node
    symbolic: bool  # attrs mention symbolic dims: made concrete per run


@dataclass
class Plan:
    """The flat schedule for one set of fetches."""

    steps: list[Step]
    n_slots: int
    placeholders: list[tuple[int, Node]]
    variables: list[tuple[int, Node]]
    constants: list[tuple[int, object]]
    fetch_slots: list[int]
    nodes: list[Node]

    def concrete_steps(self, env: dict[str, int]) -> list[tuple]:
        """(fn, ins, attrs, out, free) tuples with symbolic attributes made concrete."""
        key = tuple(sorted(env.items()))
        if getattr(self, "_env_key", None) != key:
            self._env_key = key
            self._concrete = [
                (s.fn, s.ins, {k: _resolve(v, env) for k, v in s.attrs.items()}
                 if s.symbolic else s.attrs, s.out, s.free) for s in self.steps]
        return self._concrete


def needed(fetches: Sequence[Node]) -> list[Node]:
    """The nodes the fetches depend on, in topological (creation) order."""
    seen: dict[int, Node] = {}
    stack = list(fetches)
    while stack:
        n = stack.pop()
        if n.id not in seen:
            seen[n.id] = n
            stack.extend(n.inputs)
    return sorted(seen.values(), key=lambda n: n.id)


def make_plan(fetches: Sequence[Node]) -> Plan:
    """Number the needed nodes, order their kernels, and compute where each value dies."""
    nodes = needed(fetches)
    slot = {n.id: i for i, n in enumerate(nodes)}
    last_use: dict[int, int] = {}
    op_nodes = [n for n in nodes if n.opdef.kernel is not None]
    for k, n in enumerate(op_nodes):
        for i in n.inputs:
            last_use[slot[i.id]] = k
    keep = {slot[f.id] for f in fetches}
    placeholders, variables, constants = [], [], []
    for n in nodes:
        if n.op == "placeholder":
            placeholders.append((slot[n.id], n))
        elif n.op == "variable":
            variables.append((slot[n.id], n))
        elif n.op == "constant":
            constants.append((slot[n.id], n.attrs["value"]))
            keep.add(slot[n.id])
    sources = {s for s, _ in placeholders} | {s for s, _ in variables}
    keep |= sources
    dying: dict[int, list[int]] = {}
    for s, k in last_use.items():
        if s not in keep:
            dying.setdefault(k, []).append(s)
    steps = []
    for k, n in enumerate(op_nodes):
        attrs = dict(n.attrs)
        steps.append(Step(n.opdef.kernel, tuple(slot[i.id] for i in n.inputs), attrs,
                          slot[n.id], tuple(dying.get(k, ())), n,
                          any(_has_dims(v) for v in attrs.values())))
    return Plan(steps, len(nodes), placeholders, variables, constants,
                [slot[f.id] for f in fetches], nodes)
