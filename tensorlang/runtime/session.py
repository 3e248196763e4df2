"""Run plans. A Session holds a graph's variables (initialized from a seed), checks every feed
against its placeholder, binds symbolic dims consistently, and runs plans on its engine: the
NumPy interpreter here by default, or another engine of engines/ (`engine="jax"`)."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence

import numpy as np

from ..errors import DataError, RuntimeNumericsError, TensorlangError, did_you_mean, quiet_numpy
from ..ir import dims as D
from ..ir.graph import Graph, Node
from ..ir.types import is_float, np_dtype
from ..ops.initializers import initial_value
from . import checkpoint, engines, heap
from .plan import Plan, make_plan
from .prepared import PreparedCall
from .quiet import call_quietly


def castable(src: np.dtype, dst: np.dtype) -> bool:
    """True when feeding an array of src to a placeholder of dst loses nothing a user means:
    safe casts, float to a narrower float, and integers or bools to floats."""
    if np.can_cast(src, dst, "safe"):
        return True
    return dst.kind == "f" and src.kind in "fiub"


def fits(arr: np.ndarray, dst: np.dtype) -> bool:
    """castable, or integers into a narrower integer type whose range holds every value
    (NumPy's default int64, e.g. `np.array([0, 1])`, fed to an i32 placeholder)."""
    if castable(arr.dtype, dst):
        return True
    if arr.dtype.kind in "iu" and dst.kind in "iu":
        if arr.size == 0:
            return True
        info = np.iinfo(dst)
        return bool(info.min <= arr.min() and arr.max() <= info.max)
    return False


# A plan gets generated code after WARM + steps // STEPS_PER_RUN runs through the loop below:
# generating costs about 80 us a step once and saves about 0.5 us a step every run, so a big plan
# that runs only a few times (a one-off evaluation of a 10k-node graph) never pays for it.
WARM = 2
STEPS_PER_RUN = 50


class RandomKeys:
    """The session's seeded generator of run keys: every run of a plan with random ops draws
    one fresh key (random ops derive their draws from it and their salt). `fixed` replays one
    key on every run (gradient checks need the same draws twice)."""

    def __init__(self, seed: int):
        self.generator = np.random.default_rng((int(seed), 0x72616E64))  # apart from init's
        self.fixed: int | None = None

    def next(self) -> np.ndarray:
        """The key for the next run."""
        key = self.fixed if self.fixed is not None else \
            int(self.generator.integers(0, np.iinfo(np.int64).max))
        return np.asarray(key, np.int64)


class Session:
    """A graph's variables and the means to run it: `run(fetches, feed)`, `assign`. `engine`
    names what runs its plans ("numpy", the default, or "jax"), `devices` how many devices
    a batch is split across (engines/)."""

    def __init__(self, graph: Graph, seed: int = 0, engine=None, devices: int | None = None):
        self.graph = graph
        self.seed = seed
        self.engine = engines.get(engine, devices)
        self.variables: dict[str, np.ndarray] = {}
        self._plans: dict[tuple, Plan] = {}
        self.random = RandomKeys(seed)
        self.initialize(seed)

    def extend(self, graph: Graph) -> Session:
        """A session over a graph built on this one's (the train graph: forward, gradients,
        optimizer state and updates) that shares this session's variables, so an update made
        through either session is seen by both. Variables new in `graph` (optimizer state) are
        the new session's own, initialized here from their initializers."""
        child = Session.__new__(Session)
        child.graph, child.seed, child._plans = graph, self.seed, {}
        child.engine = self.engine
        child.random = self.random  # one generator: a step and an evaluation draw in turn
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
        if not fits(arr, np_dtype(node.dtype)):
            raise DataError(f'cannot assign {arr.dtype} values to variable "{name}" of type '
                            f'{node.type} without loss', node.span)
        self.variables[name] = arr.astype(np_dtype(node.dtype), copy=True)

    def save(self, path: str) -> None:
        """Write every variable of the graph (a train graph's optimizer state too) to an `.npz`
        checkpoint, atomically; plain NumPy reads it back by name."""
        checkpoint.save(path, {v.name: self.variables[v.name] for v in self.graph.variables})

    def load(self, path: str) -> None:
        """Restore every variable of the graph from a checkpoint, after checking all of them
        (names, dtypes, shapes: every problem in one CheckpointError)."""
        for name, value in checkpoint.load(path, self.graph.variables).items():
            self.assign(name, value)

    def _variable(self, name: str) -> Node:
        for v in self.graph.variables:
            if v.name == name:
                return v
        raise TensorlangError(f'graph "{self.graph.name}" has no variable "{name}"',
                              hint=did_you_mean(name, self.variables))

    # -- running ---------------------------------------------------------------------------------
    def _node(self, f) -> Node:
        return f if isinstance(f, Node) else self.graph.node(f)

    def plan(self, fetches: Sequence, probes: Sequence = ()) -> Plan:
        """The (cached) plan for these fetches (names or Nodes); with `probes` (some of the
        fetches), a finite probe of each right after it is made, fetched after the fetches
        (plan.make_plan: checking a training step's new values while they are in cache)."""
        key = (tuple(fetches), tuple(probes)) if probes else tuple(fetches)
        plan = self._plans.get(key)
        if plan is None:
            nodes = [self._node(f) for f in fetches]
            probed = [self._node(f) for f in probes]
            ids = (tuple(n.id for n in nodes), tuple(n.id for n in probed)) if probes else \
                tuple(n.id for n in nodes)
            plan = self._plans.get(ids) or (make_plan(nodes, probes=probed) if probed else
                                            make_plan(nodes))
            self._plans[key] = self._plans[ids] = plan
        return plan

    def make_callable(self, fetches, feeds: Sequence[str] | None = None) -> PreparedCall:
        """A prepared, reusable call for these fetches (a name, a Node, or a list of them):
        `call(*arrays)` with the arrays in `feeds` order (default: the placeholders the fetches
        need that have no default, in declaration order), or by name, returns what
        `run(fetches, feed)` returns. The plan and its generated code are made once, and a
        call whose arrays have the last checked call's dtypes and shapes skips the feed checks
        (see prepared.py)."""
        return PreparedCall(self, fetches, feeds)

    def run(self, fetches, feed: Mapping | None = None, *, updates: Mapping | None = None,
            check_numerics: bool = False):
        """Values of the fetches (a name, a Node, or a list of them) for the fed placeholders.
        `updates` maps variable names to nodes whose values become the variables' new values."""
        single = isinstance(fetches, (str, Node))
        if feed is not None and not isinstance(feed, Mapping):
            raise TypeError(f"Session.run: feed must be a mapping from placeholder names to "
                            f"arrays, not a {type(feed).__name__}")
        if not single and (not isinstance(fetches, (list, tuple)) or
                           not all(isinstance(f, (str, Node)) for f in fetches)):
            raise TypeError("Session.run: fetches must be a name, a Node or a list of them, "
                            f"not {type(fetches).__name__}")
        fetch_list = [fetches] if single else list(fetches)
        if updates:
            upd = list(updates.items())
            for name, node in upd:
                self._check_update(name, self._node(node))
            fetch_list += [n for _, n in upd]
        plan = self.plan(fetch_list)
        values = self.execute(plan, feed or {}, check_numerics)
        if updates:
            k = len(fetch_list) - len(upd)
            for (name, _), value in zip(upd, values[k:]):
                self.variables[name] = value  # stays on the engine's device
            values = values[:k]
        if self.engine is not engines.NUMPY:
            values = [self.engine.host(v) for v in values]
        return values[0] if single else values

    def _check_update(self, name: str, node: Node) -> None:
        var = self._variable(name)
        a, b = node.type.shape, var.type.shape
        if node.dtype != var.dtype or len(a) != len(b) or not all(map(D.equal, a, b)):
            raise TensorlangError(f'update of variable "{name}" ({var.type}) with '
                                  f"{node.label()} of type {node.type}", var.span)

    def execute(self, plan: Plan, feed: Mapping, check_numerics: bool = False) -> list:
        """Run a plan on the session's engine; returns the fetched arrays (the engine's own:
        NumPy arrays, or device arrays on the jax engine)."""
        env, fed = self.bind(plan, feed)
        return self.engine.execute(self, plan, env, fed, check_numerics)

    def interpret(self, plan: Plan, env: dict, fed: list, check_numerics: bool = False) -> list:
        """Run a plan on NumPy (the numpy engine; any engine's --check-numerics run)."""
        slots = plan.template.copy()  # the constants are in place already
        for s, arr in fed:
            slots[s] = arr
        variables = self.variables
        host = None if self.engine is engines.NUMPY else self.engine.host
        for s, v in plan.variables:
            slots[s] = variables[v.name] if host is None else host(variables[v.name])
        for s in plan.keys:
            slots[s] = self.random.next()
        plan.runs += 1
        if plan.runs == 2:  # a plan run again: its next runs reuse what this one frees
            heap.keep_for(plan, env)
        if plan.runs > WARM + len(plan.steps) // STEPS_PER_RUN and not check_numerics:
            return _arrays(self._run_generated(plan, env, slots))
        if check_numerics:
            check_constants(plan)
        steps = plan.concrete_steps(env, reuse=not check_numerics)
        with quiet_numpy():
            _interpret(plan, steps, slots, check_numerics)
        return _arrays([slots[s] for s in plan.fetch_slots])

    def _run_generated(self, plan: Plan, env: dict, slots: list, run=None) -> list:
        """A plan run often enough runs as generated straight-line code (generated.py); `run`:
        the plan's code for env when the caller holds it already (a PreparedCall)."""
        run = run or plan.generated(env)
        try:
            return call_quietly(run, slots)
        except TensorlangError:
            raise
        except KERNEL_ERRORS as e:
            k = run.step_at(e.__traceback__)
            if k is None:
                raise
            raise kernel_error(plan.steps[k].node, e) from None

    # -- feeds -----------------------------------------------------------------------------------
    def bind(self, plan: Plan, feed: Mapping) -> tuple[dict[str, int], list]:
        """Check the feeds for a plan against their placeholders and bind the symbolic dims."""
        binder = plan.binders.get(self.graph)
        if binder is None:
            binder = plan.binders[self.graph] = _Binder(self.graph, plan)
        if feed and not binder.names.issuperset(feed):
            feed = binder.by_name(feed)
        env: dict[str, int] = {}
        where: dict[str, str] = {}
        pending: list = []
        arrays: list = []
        # every fed placeholder binds its dims, needed or not: a gradient such as
        # grad(sum(x), x) = broadcast_to(1, [N, 3]) needs N without needing x itself
        for spec, slot in binder.placeholders:
            value = feed.get(spec.name, _UNFED)
            if value is _UNFED:
                if slot is None:
                    continue
                value = spec.default
                if value is None:
                    raise DataError(f'placeholder "{spec.name}" ({spec.node.type}) is not fed',
                                    spec.node.span)
            arr = spec.check(value, env, where, pending)
            if slot is not None:
                arrays.append((slot, arr))
        if pending:
            _check_pending(pending, env)
        if binder.symbols and not binder.symbols <= env.keys():
            raise binder.unknown_dim(env)
        return env, arrays

    def check_fields(self, arrays: Mapping[str, np.ndarray], spans: Mapping) -> dict:
        """Whole data-block fields checked against their placeholders (dtype, rank, dims) and
        cast to the placeholders' dtypes; a misfit is a DataError at the field's span."""
        env: dict[str, int] = {}
        where: dict[str, str] = {}
        out = {}
        by_name = {p.name: p for p in self.graph.placeholders}
        for name, arr in arrays.items():
            node = by_name.get(name)
            if node is None:  # runblocks rejects such fields; keep them as they are
                out[name] = arr
                continue
            pending: list = []
            try:
                out[name] = _FeedSpec(node).check(arr, env, where, pending)
                _check_pending(pending, env)
            except DataError as e:
                raise DataError(e.message.replace(f'feed for "{name}"', f'data field "{name}"'),
                                spans.get(name) or e.span, hint=e.hint,
                                notes=((f'placeholder "{name}" is declared {node.type} here',
                                        node.span),)) from None
        return out

def _arrays(values: list) -> list:
    """Fetched values as arrays: a 0-d result of a NumPy kernel is a NumPy scalar."""
    return [v if type(v) is np.ndarray else np.asarray(v) for v in values]


_UNFED = object()
KERNEL_ERRORS = (ValueError, np.linalg.LinAlgError, IndexError, TypeError, ArithmeticError,
                 MemoryError)  # what a NumPy kernel raises on values its shape rule let through


def kernel_error(node: Node, e: Exception) -> TensorlangError:
    """A kernel's failure, located at the node's source."""
    return TensorlangError(f"{_what(node)} failed at run time: {e}", node.span)


def _interpret(plan: Plan, steps: list, slots: list, check_numerics: bool) -> None:
    """Run the concrete steps over the slots; a kernel's failure is located at its node."""
    k = 0
    try:
        # kind-specialized calls: no argument lists or keyword dicts built per step; kinds 4
        # and 5 write into the dead buffer in slot o (see plan.py)
        for fn, kind, a, b, ins, out, free, k, o in steps:  # noqa: B007
            if kind == 2:
                slots[out] = fn(slots[a], slots[b])
            elif kind == 1:
                slots[out] = fn(slots[a])
            elif kind == 5:
                slots[out] = fn(slots[a], slots[b], out=slots[o])
            elif kind == 4:
                slots[out] = fn(slots[a], out=slots[o])
            elif kind == 0:
                slots[out] = fn(*[slots[i] for i in ins])
            else:
                slots[out] = fn(*[slots[i] for i in ins], out=slots[o])
            if check_numerics:
                _check_finite(plan, k, slots, fn)
            for f in free:
                slots[f] = None
    except KERNEL_ERRORS as e:
        raise kernel_error(plan.steps[k].node, e) from None


class _FeedSpec:
    """A placeholder's type taken apart once, so checking a feed against it is a few compares:
    dtype, rank, fixed dims, plain symbolic dims (bound on first sight), and dim expressions
    (`N + 1`, checked once every placeholder has bound its dims)."""

    def __init__(self, node: Node):
        self.node, self.name = node, node.name
        self.dt = np_dtype(node.dtype)
        self.rank = node.type.rank
        self.default = node.attrs.get("default")
        self.fixed, self.simple, self.exprs = [], [], []
        for axis, d in enumerate(node.type.shape):
            if isinstance(d, int):
                self.fixed.append((axis, d))
            elif len(d.symbols) == 1 and d == D.Dim.sym(next(iter(d.symbols))):
                self.simple.append((axis, next(iter(d.symbols))))
            else:
                self.exprs.append((axis, d))

    def check(self, value, env: dict, where: dict, pending: list) -> np.ndarray:
        """The fed value as an array of the placeholder's dtype, its dims bound in env."""
        arr = value if type(value) is np.ndarray else _as_array(value, self.node)
        dt, want = self.dt, self.node.type
        if arr.dtype != dt and not fits(arr, dt):
            raise DataError(f'feed for "{self.name}": {arr.dtype} values do not fit {want} '
                            "without loss", self.node.span,
                            hint="integer placeholders take integer data; cast in the graph "
                            "or declare the placeholder as a float" if dt.kind in "iub" and
                            arr.dtype.kind == "f" else None)
        if arr.ndim != self.rank:
            raise DataError(f'feed for "{self.name}": expected {want} (rank {self.rank}), got an '
                            f"array of shape {list(arr.shape)} (rank {arr.ndim})", self.node.span)
        shape = arr.shape
        for axis, d in self.fixed:
            if shape[axis] != d:
                raise DataError(f'feed for "{self.name}": expected {want}, got shape '
                                f"{list(shape)}: dim {axis} is {shape[axis]}, not {d}",
                                self.node.span)
        for axis, name in self.simple:
            size = shape[axis]
            have = env.get(name)
            if have is None:
                env[name] = size
                where[name] = self.name
            elif have != size:
                shown = "?" if name.startswith("?") else name
                raise DataError(f'dim {shown} is {have} in "{where[name]}" but {size} in '
                                f'"{self.name}" (both are fed together)', self.node.span)
        for axis, d in self.exprs:
            pending.append((self, axis, d, shape[axis]))
        if arr.dtype != dt:
            arr = arr.astype(dt)
        return arr


def _check_pending(pending: list, env: dict) -> None:
    """Dims written as expressions (`N + 1`), once every plain dim is bound; an expression
    over a dim no placeholder binds is left to the kernels' shape checks."""
    for spec, axis, d, size in pending:
        try:
            value = D.evaluate(d, env)
        except KeyError:
            continue
        if value != size:
            raise DataError(f'feed for "{spec.name}": dim {axis} should be {D.dim_str(d)} = '
                            f"{value}, got {size}", spec.node.span)


class _Binder:
    """What bind needs to know about one plan in one graph, worked out on first use: every
    placeholder's FeedSpec with its slot in the plan (None when the plan does not need it)."""

    def __init__(self, graph: Graph, plan: Plan):
        self.graph = graph
        slots = {node.id: slot for slot, node in plan.placeholders}
        self.placeholders = [(_FeedSpec(p), slots.get(p.id)) for p in graph.placeholders]
        self.names = frozenset(p.name for p in graph.placeholders)
        self.symbols = plan.symbols
        self.plan = plan

    def by_name(self, feed: Mapping) -> dict:
        """The feed keyed by placeholder name (Nodes allowed as keys); unknown names rejected."""
        out = {}
        for key, value in feed.items():
            k = key.name if isinstance(key, Node) else key
            if k not in self.names:
                raise DataError(f'feed for "{k}": graph "{self.graph.name}" has no placeholder '
                                f'"{k}"', self.graph.span, hint=did_you_mean(str(k), self.names))
            out[k] = value
        return out

    def unknown_dim(self, env: dict) -> DataError:
        """The error for a dim that the plan needs and that no fed placeholder bound."""
        s = min(self.symbols - env.keys())
        users = [n for n in self.plan.nodes if s in D.symbols(n.type.shape)]
        having = [spec.name for spec, _ in self.placeholders
                  if s in D.symbols(spec.node.type.shape)]
        return DataError(f"dim {s} is not known: no fed placeholder has it",
                         users[0].span if users else self.graph.span,
                         hint=f"feed {' or '.join(f'{h!r}' for h in having)}, which "
                         f"{'has' if len(having) == 1 else 'have'} it" if having else None)


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


def _what(node: Node) -> str:
    """The op a user wrote: an internal op (a fusion, a gradient helper) is named by the source
    text it came from."""
    if node.opdef.internal and node.span.source_line() is not None:
        return f"{node.describe()} ({node.op})"
    return node.op


def _as_array(value, node: Node) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise DataError(f'feed for "{node.name}": not a rectangular array ({e})',
                        node.span) from None
    if arr.dtype == object:
        raise DataError(f'feed for "{node.name}": not a rectangular numeric array', node.span)
    return arr


def _check_finite(plan: Plan, k: int, slots: list, fn=None) -> None:
    step = plan.steps[k]
    if step.probe:  # a probe's square may overflow for finite values: not a node's value
        return
    value = slots[step.out]
    node = step.node
    if node.dtype in INT_RANGES and node.op in INT_DIVISIONS:
        divisor = slots[step.ins[1]]
        if np.any(np.asarray(divisor) == 0):
            raise RuntimeNumericsError(f"{node.op}: integer division by zero "
                                       f"({node.describe()}: {node.type}); NumPy gives 0 there",
                                       node.span)
    if node.dtype in INT_RANGES and node.op in INT_WRAPS and fn is not None:
        _check_overflow(node, fn, [slots[i] for i in step.ins])
    if not is_float(node.dtype) or np.all(np.isfinite(value)):
        return
    raise nonfinite_error(node, value, [slots[i] for i in step.ins])


INT_DIVISIONS = ("floor_divide", "mod")
INT_WRAPS = ("add", "subtract", "multiply", "power", "neg", "abs", "sum", "prod", "matmul",
             "dot", "square")  # integer ops whose result NumPy wraps around silently
INT_RANGES = {"i32": np.iinfo(np.int32), "i64": np.iinfo(np.int64), "u8": np.iinfo(np.uint8)}


def _check_overflow(node: Node, fn, inputs: list) -> None:
    """--check-numerics: an integer result that wrapped around. The kernel is run again on the
    inputs as float64 (exact to 2**53, and near enough beyond to tell the range), and a true
    value outside the dtype's range is an error at the node."""
    with quiet_numpy():
        exact = np.asarray(fn(*[np.asarray(a, np.float64) for a in inputs]), np.float64)
    info = INT_RANGES[node.dtype]
    bad = (exact < info.min) | (exact > info.max)
    if np.any(bad):
        big = exact[bad].flat[0]
        raise RuntimeNumericsError(f"{node.op}: integer overflow ({node.describe()}: "
                                   f"{node.type}): the true value {big:.6g} is outside "
                                   f"{node.dtype}'s range, and NumPy wraps it around",
                                   node.span, hint="cast to a wider integer or to a float first")


def check_constants(plan: Plan) -> None:
    """--check-numerics: a constant that is NaN or Inf (`[1, 2] / 0` folded at compile time,
    `log(0)`) is reported at its source like a value a kernel made."""
    for node in plan.nodes:
        if node.op == "constant" and is_float(node.dtype) and \
                not np.all(np.isfinite(node.attrs["value"])):
            raise nonfinite_error(node, node.attrs["value"], [])


def nonfinite_error(node: Node, value: np.ndarray,
                    inputs: Sequence[np.ndarray]) -> RuntimeNumericsError:
    """A located error naming the node that first produced NaN/Inf and its inputs' ranges."""
    ranges = []
    for i, (inp, arr) in enumerate(zip(node.inputs, inputs)):
        a = np.asarray(arr)
        if a.size and a.dtype.kind in "fiu":
            ranges.append(f"input {i} ({inp.describe()}: {inp.type}) ranges over "
                          f"[{np.nanmin(a):.4g}, {np.nanmax(a):.4g}]")
    what = "NaN" if np.isnan(value).any() else "Inf"
    if node.op == "constant":
        return RuntimeNumericsError(f"the constant {node.describe()} ({node.type}) is {what}",
                                    node.span)
    where = " in the gradient (the backward pass of this line)" if node.is_backward else ""
    return RuntimeNumericsError(
        f"{node.op} produced {what}{where} ({node.describe()}: {node.type})", node.span,
        notes=tuple((r, None) for r in ranges))

