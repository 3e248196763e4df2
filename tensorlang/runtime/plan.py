"""An execution plan: the part of a graph that some fetches need, flattened once into a list of
steps over numbered slots, with each buffer released after its last use. The hot loop touches
no dictionaries and no Node objects.

Buffer reuse: a step whose kernel can write into a given array (the op record's `out`) is given a
dead buffer of its result's dtype and shape, chosen here once by liveness: preferably one of its
own inputs dying at that step (the update happens in place, NumPy ufunc style), else one that died
earlier and was kept for it. A buffer counts as dead only when every value that may share its
memory (views made by reshape, transpose, ... of it) is dead, and only buffers that kernels made
fresh are ever written again: never a placeholder's array (the caller's), a variable, a constant,
or anything fetched. Across runs nothing is kept: every run's fetched arrays are its own.

A plan that runs often gets its concrete schedule as generated straight-line code (`runner`,
straightline.py); the loop in execute.py runs it before that, and with --check-numerics."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

from ..errors import TensorlangError
from ..ir import dims as D
from ..ir.graph import Node
from ..ir.traversal import needed
from ..records import field, record
from .finite import square_norm
from .generated import generate

MAX_BINDINGS = 16  # concrete schedules kept per plan (one per distinct size of the attr dims)


class ConcreteCall(NamedTuple):
    """A kernel call with its attributes bound for one binding of the dims: `fn` carries them;
    `kind` 1 and 2 call fn(in0) and fn(in0, in1), 0 calls fn on `ins`, and kind + 3 does the
    same with out=slots[donor]; `free` are the slots dead after it; `k` its step index."""

    fn: Callable
    kind: int
    in0: int
    in1: int
    ins: tuple[int, ...]
    out: int
    free: tuple[int, ...]
    k: int
    donor: int


@record(frozen=False)
class KernelCall:
    """One kernel call: out_slot = fn(*slots[ins], **attrs) (with out=slots[donor] when the step
    reuses a dead buffer); then free the dead slots."""

    fn: object
    ins: tuple[int, ...]
    attrs: dict
    out: int
    free: tuple[int, ...]
    node: Node
    symbolic: bool  # attrs mention symbolic dims: made concrete per run
    donor: int = -1  # the slot of the dead buffer the result is written into, or -1
    probe: bool = False  # a finite probe of node's value (see make_plan), not node's kernel


@record(frozen=False)
class Plan:
    """The flat schedule for one set of fetches."""

    steps: list[KernelCall]
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
    keys: tuple[int, ...] = ()  # slots of the random key: a fresh draw every run
    runs: int = 0  # how many times execute.py ran it (a plan run often gets generated code)
    compiled: dict = field(default_factory=dict)  # other engines' compiled forms (engines/)
    _concrete: dict = field(default_factory=dict)
    _runners: dict = field(default_factory=dict)

    def generated(self, env: dict[str, int]):
        """The concrete schedule for this binding as generated straight-line code (a
        generated.GeneratedCode), made once per binding."""
        key = tuple(sorted(env.items())) if self.symbolic else ()
        run = self._runners.get(key)
        if run is None:
            if len(self._runners) >= MAX_BINDINGS:
                self._runners.clear()
            run = self._runners[key] = generate(self.concrete_steps(env), self.fetch_slots)
        return run

    def concrete_steps(self, env: dict[str, int], reuse: bool = True) -> list[ConcreteCall]:
        """The schedule with symbolic attributes made concrete for these dim sizes, made once
        per distinct binding. Without `reuse` no step writes into a buffer (--check-numerics
        shows every input as it was)."""
        # the key is the whole binding: attributes may hold atoms like (H + 1)//2 over it
        key = (tuple(sorted(env.items())) if self.symbolic else (), reuse)
        steps = self._concrete.get(key)
        if steps is None:
            if len(self._concrete) >= MAX_BINDINGS:
                self._concrete.clear()
            steps = [_concrete(s, k, env, reuse) for k, s in enumerate(self.steps)]
            self._concrete[key] = steps
            self.resolutions += 1
        return steps


def _concrete(s: KernelCall, k: int, env: dict, reuse: bool) -> ConcreteCall:
    try:
        attrs = {a: D.resolve(v, env) for a, v in s.attrs.items()} if s.symbolic else s.attrs
    except KeyError as e:
        raise TensorlangError(f"{s.node.op}: dim {e.args[0]} is not known at run time (no fed "
                              "placeholder has it)", s.node.span) from None
    fn = functools.partial(s.fn, **attrs) if attrs else s.fn
    n = len(s.ins)
    kind = n if n in (1, 2) else 0
    donor = s.donor if reuse else -1
    return ConcreteCall(fn, kind + 3 * (donor >= 0), s.ins[0] if n else -1,
                        s.ins[1] if n > 1 else -1, s.ins, s.out, s.free, k, donor)


def make_plan(fetches: Sequence[Node], reuse: bool = True, probes: Sequence[Node] = ()
              ) -> Plan:
    """Number the needed nodes, order their kernels, compute where each value dies, and (with
    `reuse`) which dead buffer each capable step writes into. Each node of `probes` (fetched)
    gets a finite probe right after the step that makes it (finite.py's square_norm, while the
    value is still in cache): its scalar is fetched after the fetches, in probes' order."""
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
    keys = tuple(slot[n.id] for n in nodes if n.op == "random_key")
    sources = {s for s, _ in placeholders} | {s for s, _ in variables} | set(keys)
    keep |= sources
    donors, dies = (_reuse(op_nodes, slot, last_use, keep) if reuse else ({}, {}))
    dying: dict[int, list[int]] = {}
    for s, k in last_use.items():
        if s not in keep:
            dying.setdefault(dies.get(s, k), []).append(s)
    steps = []
    for k, n in enumerate(op_nodes):
        attrs = dict(n.attrs)
        steps.append(KernelCall(n.opdef.kernel, tuple(slot[i.id] for i in n.inputs), attrs,
                          slot[n.id], tuple(dying.get(k, ())), n,
                          any(D.has_dims(v) for v in attrs.values()), donors.get(k, -1)))
    fetch_slots = [slot[f.id] for f in fetches]
    steps, probe_slots = _with_probes(steps, {slot[p.id]: p for p in probes}, len(nodes))
    template: list = [None] * (len(nodes) + len(probe_slots))
    for s, c in constants:
        template[s] = c
    # `?` dims are placeholders' unknown sizes: bound when fed, never required by name
    symbols = frozenset(s for s in D.symbols([d for n in nodes for d in n.type.shape])
                        if not s.startswith("?") and s.isidentifier())
    return Plan(steps, len(template), placeholders, variables, constants,
                fetch_slots + probe_slots, nodes, symbols, any(s.symbolic for s in steps),
                template, keys=keys)


def _with_probes(steps: list[KernelCall], probed: dict[int, Node], first: int
                 ) -> tuple[list[KernelCall], list[int]]:
    """The steps with a probe after the step writing each probed slot (a source's probe comes
    first), and the probes' slots (numbered from `first`), in probed's order."""
    if not probed:
        return steps, []
    where = {s: first + i for i, s in enumerate(probed)}
    made = {st.out for st in steps}
    out = [KernelCall(square_norm, (s,), {}, p, (), probed[s], False, probe=True)
           for s, p in where.items() if s not in made]
    for st in steps:
        out.append(st)
        if st.out in where:
            out.append(KernelCall(square_norm, (st.out,), {}, where[st.out], (), st.node, False,
                                  probe=True))
    return out, list(where.values())


NEVER = 1 << 60  # the death step of a buffer that outlives the run (fetched, or the caller's)


def _reuse(op_nodes: list[Node], slot: dict, last_use: dict, keep: set
           ) -> tuple[dict[int, int], dict[int, int]]:
    """Buffer reuse by liveness: (step -> donor slot, slot -> the step that frees it, where that
    differs from its last use). A buffer is a slot whose kernel returns fresh memory (an op's
    `memory`, rank >= 1); it dies after the last use of every value that may view it. A step that
    can take `out=` gets a dead buffer of its dtype and shape: one of its inputs dying right there
    (in place) when one fits, else the most recently dead one kept for it. A buffer kept for a
    later step is freed there instead of at its death."""
    roots, owner = _buffers(op_nodes, slot)
    death = _deaths(op_nodes, slot, roots, last_use, keep)
    dead_at: dict[int, list[int]] = {}
    for r, k in death.items():
        if k < NEVER:
            dead_at.setdefault(k, []).append(r)
    pool: dict[tuple, list[int]] = {}
    donors: dict[int, int] = {}
    dies: dict[int, int] = {r: k for r, k in death.items() if k < NEVER}
    for k, n in enumerate(op_nodes):
        memory = n.opdef.memory
        if memory.out is not None and n.rank >= 1 and memory.out(n):
            key = (n.dtype, tuple(n.type.shape))
            ins = [slot[i.id] for i in n.inputs]
            donor = _in_place(ins, key, k, owner, death, roots) if memory.inplace else None
            if donor is None and pool.get(key):
                donor = pool[key].pop()
            if donor is not None:
                donors[k] = donor
                dies[donor] = k
        for r in dead_at.get(k, ()):
            if r != donors.get(k):  # dead now: kept for a later step that can take it
                pool.setdefault(owner[r], []).append(r)
    return donors, dies


def _buffers(op_nodes: list[Node], slot: dict) -> tuple[dict[int, frozenset], dict[int, tuple]]:
    """(slot -> the buffers its value may share memory with, buffer slot -> its (dtype, shape))."""
    roots: dict[int, frozenset] = {}
    owner: dict[int, tuple] = {}
    for n in op_nodes:
        s, memory = slot[n.id], n.opdef.memory
        if memory.fresh:  # new memory: a buffer of its own (0-d: none)
            roots[s] = frozenset((s,)) if n.rank >= 1 else frozenset()
            if n.rank >= 1:
                owner[s] = (n.dtype, tuple(n.type.shape))
        else:  # may be a view of the inputs it names (or an input itself)
            viewed = n.inputs if memory.views is None else [n.inputs[k] for k in memory.views]
            roots[s] = frozenset().union(*(roots.get(slot[i.id], ()) for i in viewed))
    return roots, owner


def _deaths(op_nodes, slot, roots, last_use, keep) -> dict[int, int]:
    """buffer -> the step after which no value that may view it is used (NEVER: kept)."""
    step_of = {slot[n.id]: k for k, n in enumerate(op_nodes)}
    death: dict[int, int] = {}
    for s, rs in roots.items():
        end = NEVER if s in keep else last_use.get(s, step_of[s])
        for r in rs:
            death[r] = max(death.get(r, -1), end)
    return death


def _in_place(ins, key, k, owner, death, roots) -> int | None:
    """An input buffer of the result's dtype and shape that dies at step k and that no other
    input views: the result may overwrite it."""
    return next((r for r in ins if r in owner and owner[r] == key and death[r] == k
                 and all(r not in roots.get(i, ()) for i in ins if i != r)), None)
