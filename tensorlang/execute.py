"""Run plans on NumPy arrays. A Session holds a graph's variables (initialized from a seed),
checks every feed against its placeholder, binds symbolic dims consistently, and runs plans."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence

import numpy as np

from . import dims as D
from .errors import DataError, RuntimeNumericsError, TensorlangError, did_you_mean
from .graph import Graph, Node
from .initializers import initial_value
from .plan import Plan, make_plan
from .types import is_float, np_dtype


def castable(src: np.dtype, dst: np.dtype) -> bool:
    """True when feeding an array of src to a placeholder of dst loses nothing a user means:
    safe casts, float to a narrower float, and integers or bools to floats."""
    if np.can_cast(src, dst, "safe"):
        return True
    return dst.kind == "f" and src.kind in "fiub"


class Session:
    """A graph's variables and the means to run it: `run(fetches, feed)`, `assign`."""

    def __init__(self, graph: Graph, seed: int = 0):
        self.graph = graph
        self.seed = seed
        self.variables: dict[str, np.ndarray] = {}
        self._plans: dict[tuple, Plan] = {}
        self.initialize(seed)

    def extend(self, graph: Graph) -> Session:
        """A session over a graph built on this one's (the train graph: forward, gradients,
        optimizer state and updates) that shares this session's variables, so an update made
        through either session is seen by both. Variables new in `graph` (optimizer state) are
        the new session's own, initialized here from their initializers."""
        child = Session.__new__(Session)
        child.graph, child.seed, child._plans = graph, self.seed, {}
        child.variables = SharedVariables(self.variables)
        rng = np.random.default_rng(self.seed)
        for v in graph.variables:
            if v.name not in self.variables:
                shape = tuple(int(d) for d in v.type.shape)
                child.variables.own[v.name] = initial_value(v.attrs["init"], shape,
                                                            np_dtype(v.dtype), rng)
        return child

    # -- variables -------------------------------------------------------------------------------
    def initialize(self, seed: int | None = None) -> None:
        """(Re)initialize every variable from its initializer, in declaration order."""
        rng = np.random.default_rng(self.seed if seed is None else seed)
        for v in self.graph.variables:
            shape = tuple(int(d) for d in v.type.shape)
            self.variables[v.name] = initial_value(v.attrs["init"], shape, np_dtype(v.dtype), rng)

    def assign(self, name: str, value) -> None:
        """Set a variable, checked against its declared dtype and shape."""
        node = self._variable(name)
        arr = np.asarray(value)
        want = tuple(node.type.shape)
        if arr.shape != want:
            raise DataError(f'cannot assign an array of shape {list(arr.shape)} to variable '
                            f'"{name}" of type {node.type}', node.span)
        if not castable(arr.dtype, np_dtype(node.dtype)):
            raise DataError(f'cannot assign {arr.dtype} values to variable "{name}" of type '
                            f'{node.type} without loss', node.span)
        self.variables[name] = arr.astype(np_dtype(node.dtype), copy=True)

    def _variable(self, name: str) -> Node:
        for v in self.graph.variables:
            if v.name == name:
                return v
        raise TensorlangError(f'graph "{self.graph.name}" has no variable "{name}"',
                              hint=did_you_mean(name, self.variables))

    # -- running ---------------------------------------------------------------------------------
    def _node(self, f) -> Node:
        return f if isinstance(f, Node) else self.graph.node(f)

    def plan(self, fetches: Sequence) -> Plan:
        """The (cached) plan for these fetches."""
        nodes = [self._node(f) for f in fetches]
        key = tuple(n.id for n in nodes)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = make_plan(nodes)
        return plan

    def run(self, fetches, feed: Mapping | None = None, *, updates: Mapping | None = None,
            check_numerics: bool = False):
        """Values of the fetches (a name, a Node, or a list of them) for the fed placeholders.
        `updates` maps variable names to nodes whose values become the variables' new values."""
        single = isinstance(fetches, (str, Node))
        fetch_list = [fetches] if single else list(fetches)
        upd = list((updates or {}).items())
        plan = self.plan(fetch_list + [n for _, n in upd])
        values = self.execute(plan, feed or {}, check_numerics)
        for (name, _), value in zip(upd, values[len(fetch_list):]):
            self.variables[name] = value
        out = values[:len(fetch_list)]
        return out[0] if single else out

    def execute(self, plan: Plan, feed: Mapping, check_numerics: bool = False) -> list:
        """Run a plan; returns the fetched arrays."""
        env, fed = self.bind(plan, feed)
        slots: list = [None] * plan.n_slots
        for s, arr in fed:
            slots[s] = arr
        for s, v in plan.variables:
            slots[s] = self.variables[v.name]
        for s, c in plan.constants:
            slots[s] = c
        steps = plan.concrete_steps(env)
        k = 0
        try:
            with np.errstate(all="ignore"):
                if check_numerics:
                    for k, (fn, ins, attrs, out, free) in enumerate(steps):
                        slots[out] = fn(*[slots[i] for i in ins], **attrs)
                        _check_finite(plan, k, slots)
                        for f in free:
                            slots[f] = None
                else:
                    for k, (fn, ins, attrs, out, free) in enumerate(steps):  # noqa: B007
                        slots[out] = fn(*[slots[i] for i in ins], **attrs)
                        for f in free:
                            slots[f] = None
        except TensorlangError:
            raise
        except (ValueError, np.linalg.LinAlgError, IndexError, TypeError, ZeroDivisionError,
                FloatingPointError, MemoryError) as e:
            node = plan.steps[k].node
            raise TensorlangError(f"{node.op} failed at run time: {e}", node.span) from None
        return [slots[s] for s in plan.fetch_slots]

    # -- feeds -----------------------------------------------------------------------------------
    def bind(self, plan: Plan, feed: Mapping) -> tuple[dict[str, int], list]:
        """Check the feeds for a plan against their placeholders and bind the symbolic dims."""
        names = {n.name: n for _, n in plan.placeholders}
        all_names = {n.name for n in self.graph.placeholders}
        for key in feed:
            k = key.name if isinstance(key, Node) else key
            if k not in all_names:
                raise DataError(f'feed for "{k}": graph "{self.graph.name}" has no placeholder '
                                f'"{k}"', self.graph.span, hint=did_you_mean(k, all_names))
        feed = {(k.name if isinstance(k, Node) else k): v for k, v in feed.items()}
        env: dict[str, int] = {}
        where: dict[str, str] = {}
        arrays: list = []
        slots = {node.id: slot for slot, node in plan.placeholders}
        # every fed placeholder binds its dims, needed or not: a gradient such as
        # grad(sum(x), x) = broadcast_to(1, [N, 3]) needs N without needing x itself
        for node in self.graph.placeholders:
            if node.name in feed:
                arr = _as_array(feed[node.name], node)
            elif node.id not in slots:
                continue
            elif node.attrs.get("default") is not None:
                arr = node.attrs["default"]
            else:
                raise DataError(f'placeholder "{node.name}" ({node.type}) is not fed',
                                node.span)
            arr = self._check_feed(node, arr, env, where)
            if node.id in slots:
                arrays.append((slots[node.id], arr))
        missing = {s for s in D.symbols([d for n in plan.nodes for d in n.type.shape])} - set(env)
        for s in sorted(missing):
            if not s.startswith("?") and s.isidentifier():
                raise DataError(f'dim {s} is not known: no fed placeholder has it', names and
                                next(iter(names.values())).span or self.graph.span)
        return env, arrays

    def _check_feed(self, node: Node, arr: np.ndarray, env: dict, where: dict) -> np.ndarray:
        want = node.type
        dt = np_dtype(want.dtype)
        if not castable(arr.dtype, dt):
            raise DataError(f'feed for "{node.name}": {arr.dtype} values do not fit {want} '
                            "without loss", node.span)
        if arr.ndim != want.rank:
            raise DataError(f'feed for "{node.name}": expected {want} (rank {want.rank}), got an '
                            f"array of shape {list(arr.shape)} (rank {arr.ndim})", node.span)
        pending = []
        for axis, (d, size) in enumerate(zip(want.shape, arr.shape)):
            if isinstance(d, int):
                if d != size:
                    raise DataError(f'feed for "{node.name}": expected {want}, got shape '
                                    f"{list(arr.shape)}: dim {axis} is {size}, not {d}",
                                    node.span)
            elif len(d.symbols) == 1 and d == D.Dim.sym(next(iter(d.symbols))):
                name = next(iter(d.symbols))
                if name in env and env[name] != size:
                    shown = "?" if name.startswith("?") else name
                    raise DataError(
                        f'dim {shown} is {env[name]} in "{where[name]}" but {size} in '
                        f'"{node.name}" (both are fed together)', node.span)
                env[name] = size
                where[name] = node.name
            else:
                pending.append((axis, d, size))
        for axis, d, size in pending:
            try:
                value = D.evaluate(d, env)
            except KeyError:
                continue
            if value != size:
                raise DataError(f'feed for "{node.name}": dim {axis} should be {D.dim_str(d)} = '
                                f"{value}, got {size}", node.span)
        if arr.dtype != dt:
            arr = arr.astype(dt)
        return arr


class SharedVariables(MutableMapping):
    """The variables of an extended session: the base session's dict (shared, written through)
    and the extension's own (optimizer state), seen as one mapping."""

    def __init__(self, base: MutableMapping):
        self.base = base
        self.own: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.own[name] if name in self.own else self.base[name]

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        (self.base if name in self.base and name not in self.own else self.own)[name] = value

    def __delitem__(self, name: str) -> None:
        del (self.own if name in self.own else self.base)[name]

    def __iter__(self):
        yield from self.base
        yield from (k for k in self.own if k not in self.base)

    def __len__(self) -> int:
        return len(self.base) + sum(1 for k in self.own if k not in self.base)


def _as_array(value, node: Node) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise DataError(f'feed for "{node.name}": not a rectangular array ({e})',
                        node.span) from None
    if arr.dtype == object:
        raise DataError(f'feed for "{node.name}": not a rectangular numeric array', node.span)
    return arr


def _check_finite(plan: Plan, k: int, slots: list) -> None:
    step = plan.steps[k]
    value = slots[step.out]
    if not is_float(step.node.dtype) or np.all(np.isfinite(value)):
        return
    raise nonfinite_error(step.node, value, [slots[i] for i in step.ins])


def nonfinite_error(node: Node, value: np.ndarray,
                    inputs: Sequence[np.ndarray]) -> RuntimeNumericsError:
    """A located error naming the node that first produced NaN/Inf and its inputs' ranges."""
    ranges = []
    for i, (inp, arr) in enumerate(zip(node.inputs, inputs)):
        a = np.asarray(arr)
        if a.size and a.dtype.kind in "fiu":
            ranges.append(f"input {i} ({inp.label()}: {inp.type}) ranges over "
                          f"[{np.nanmin(a):.4g}, {np.nanmax(a):.4g}]")
    what = "NaN" if np.isnan(value).any() else "Inf"
    return RuntimeNumericsError(
        f"{node.op} produced {what} ({node.label()}: {node.type})", node.span,
        notes=tuple((r, None) for r in ranges))


def evaluate_constant(node: Node, span=None) -> np.ndarray:
    """The value of a node that depends on constants only (compile-time evaluation)."""
    plan = make_plan([node])
    if plan.placeholders or plan.variables:
        src = (plan.placeholders or plan.variables)[0][1]
        raise TensorlangError(f'not a constant expression: it depends on "{src.label()}"',
                              span or node.span)
    slots: list = [None] * plan.n_slots
    for s, c in plan.constants:
        slots[s] = c
    with np.errstate(all="ignore"):
        for fn, ins, attrs, out, _ in plan.concrete_steps({}):
            slots[out] = fn(*[slots[i] for i in ins], **attrs)
    value = np.array(slots[plan.fetch_slots[0]])
    value.flags.writeable = False
    return value
