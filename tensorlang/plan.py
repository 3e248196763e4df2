"""An execution plan: the part of a graph that some fetches need, flattened once into a list of
steps over numbered slots, with each buffer released after its last use. The hot loop touches
no dictionaries and no Node objects."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import dims as D
from .errors import TensorlangError
from .graph import Node

MAX_BINDINGS = 16  # concrete schedules kept per plan (one per distinct size of the attr dims)


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
    symbols: frozenset = frozenset()  # dim names in the needed nodes' shapes (to be bound)
    symbolic: bool = False  # some attributes hold symbolic dims: made concrete per binding
    template: list = field(default_factory=list)  # slots with the constants already in place
    resolutions: int = 0  # how many concrete schedules were made (tests watch the cache)
    binders: dict = field(default_factory=dict)  # per-graph feed analysis (execute.py's)
    _concrete: dict = field(default_factory=dict)

    def concrete_steps(self, env: dict[str, int]) -> list[tuple]:
        """The schedule with symbolic attributes made concrete for these dim sizes, as tuples
        (fn, arity, in0, in1, ins, out, free, k), made once per distinct binding. fn already
        carries the attributes; arity 1 and 2 read in0/in1, others ins; k indexes steps."""
        # the key is the whole binding: attributes may hold atoms like (H + 1)//2 over it
        key = tuple(sorted(env.items())) if self.symbolic else ()
        steps = self._concrete.get(key)
        if steps is None:
            if len(self._concrete) >= MAX_BINDINGS:
                self._concrete.clear()
            steps = [_concrete(s, k, env) for k, s in enumerate(self.steps)]
            self._concrete[key] = steps
            self.resolutions += 1
        return steps


def _concrete(s: Step, k: int, env: dict) -> tuple:
    try:
        attrs = {a: _resolve(v, env) for a, v in s.attrs.items()} if s.symbolic else s.attrs
    except KeyError as e:
        raise TensorlangError(f"{s.node.op}: dim {e.args[0]} is not known at run time (no fed "
                              "placeholder has it)", s.node.span) from None
    fn = functools.partial(s.fn, **attrs) if attrs else s.fn
    n = len(s.ins)
    return (fn, n, s.ins[0] if n else -1, s.ins[1] if n > 1 else -1, s.ins, s.out, s.free, k)


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
    template: list = [None] * len(nodes)
    for s, c in constants:
        template[s] = c
    # `?` dims are placeholders' unknown sizes: bound when fed, never required by name
    symbols = frozenset(s for s in D.symbols([d for n in nodes for d in n.type.shape])
                        if not s.startswith("?") and s.isidentifier())
    return Plan(steps, len(nodes), placeholders, variables, constants,
                [slot[f.id] for f in fetches], nodes, symbols, any(s.symbolic for s in steps),
                template)
