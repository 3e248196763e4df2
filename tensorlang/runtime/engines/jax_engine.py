"""The JAX engine: every plan (forward, gradient nodes, optimizer updates: all tensorlang's own
nodes) as one jax.jit function of (feeds, variables, random keys) -> fetched values, each op
lowered by jax_ops.py. Variables and optimizer state stay on the device between steps: a step's
updated values are device arrays that the next step takes as they are; only what a caller
fetches (the reported scalars) comes to the host.

One compiled function per plan and binding of its dims: a last partial batch has its own
binding, so it is compiled once, the first time it runs, and reused every later epoch (no
padding, no recompiles). x64 is switched on (process-wide, as JAX has it) for a plan holding an
f64, i64 or u64 node, so such values keep their width. With `devices` K > 1 the batch (axis 0 of
every fed placeholder whose first dim is symbolic) is split across K devices through
jax.sharding, variables are replicated, and XLA inserts the sum of the gradients across devices;
a batch that K does not divide (a last partial one) runs replicated, on all K at once."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from ...errors import EngineError, TensorlangError
from ...ir import dims as D
from ...ir.types import np_dtype
from ..plan import MAX_BINDINGS
from .base import Engine
from .jax_ops import lowering

WIDE = frozenset(("f64", "i64", "u64"))


class JaxEngine(Engine):
    """Plans as jax.jit functions, on `devices` of JAX's devices (data parallel when > 1)."""

    name = "jax"

    def __init__(self, devices: int = 1, span=None):
        have = jax.devices()
        if devices > len(have):
            raise EngineError(f"--devices {devices}: JAX sees {len(have)} device"
                              f"{'s' if len(have) != 1 else ''} ({have[0].platform})", span,
                              hint="on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count="
                              f"{devices} emulates {devices} devices")
        jax.config.update("jax_default_matmul_precision", "highest")  # NumPy's, not TF32
        self.devices = devices
        self.mesh = Mesh(np.array(have[:devices]), ("batch",)) if devices > 1 else None
        self.replicated = NamedSharding(self.mesh, P()) if self.mesh else None
        self.split = NamedSharding(self.mesh, P("batch")) if self.mesh else None

    def __repr__(self) -> str:
        return f"JaxEngine(devices={self.devices})"

    def host(self, value):
        """A device array as a NumPy array (one transfer)."""
        return np.asarray(value)

    def first_nonfinite(self, values) -> int | None:
        """Checked on the device: one flag a value comes to the host, not the values (for a
        training loop's check of its results)."""
        flags = [jnp.isfinite(v).all() if jnp.issubdtype(jnp.asarray(v).dtype, jnp.inexact)
                 else jnp.bool_(True) for v in values]
        if not flags:
            return None
        ok = np.asarray(jnp.stack(flags))
        return None if ok.all() else int(np.argmin(ok))

    def check_batch(self, size: int, span=None) -> None:
        """A batch must split evenly across the devices."""
        if self.mesh is not None and size % self.devices:
            raise EngineError(f"a batch of {size} examples does not split across "
                              f"{self.devices} devices", span,
                              hint=f"choose a batch size that is a multiple of {self.devices}")

    def execute(self, session, plan, env, fed, check_numerics):
        """One run of the plan's compiled function; fetched values stay on the device."""
        if check_numerics:  # node by node on the host: the NumPy interpreter names the node
            return session.interpret(plan, env, [(s, self.host(a)) for s, a in fed], True)
        key = tuple(sorted(env.items()))  # shapes differ per binding: one trace each
        fn = plan.compiled.get(key)
        if fn is None:
            if len(plan.compiled) >= MAX_BINDINGS:  # as the NumPy engine bounds its schedules
                plan.compiled.clear()
            fn = plan.compiled[key] = self.compile(plan, env)
        feeds = {s: self._put_feed(a, plan, s) for s, a in fed}
        variables = [self._put(session.variables[v.name]) for _, v in plan.variables]
        keys = [session.random.next() for _ in plan.keys]
        return fn(feeds, variables, keys)

    def _put(self, value):
        if self.mesh is None:
            return value
        if isinstance(value, jax.Array) and value.sharding == self.replicated:
            return value
        return jax.device_put(value, self.replicated)

    def _put_feed(self, arr, plan, slot):
        if self.mesh is None:
            return arr
        shape = plan.nodes[slot].type.shape
        split = arr.ndim and not isinstance(shape[0], int) and arr.shape[0] % self.devices == 0
        return jax.device_put(arr, self.split if split else self.replicated)

    def compile(self, plan, env: dict):
        """The plan for this binding of its dims as one jitted function."""
        if any(n.dtype in WIDE for n in plan.nodes):
            jax.config.update("jax_enable_x64", True)
        steps = [_lowered(s, env) for s in plan.steps]
        run = _function(plan, steps, env)
        if self.mesh is None:
            return jax.jit(run)
        return jax.jit(run, out_shardings=self.replicated)


def _lowered(step, env: dict):
    """(jax function, concrete attributes) of one kernel call; a located EngineError for an op
    the engine has no form of."""
    node = step.node
    try:
        fn = lowering(node.op)
    except KeyError as e:
        raise EngineError(f'op "{node.op}" cannot run on the jax engine: {e.args[0]}',
                          node.span, hint="run this graph with --engine numpy") from None
    attrs = {a: D.resolve(v, env) for a, v in step.attrs.items()} if step.symbolic else step.attrs
    return fn, attrs


def _function(plan, steps: list, env: dict):
    """run(feeds, variables, keys) -> fetched values: the plan's steps over local slots."""
    calls = [(fn, attrs, s.ins, s.out, s.free, s.node) for (fn, attrs), s in zip(steps, plan.steps)]
    var_slots = [s for s, _ in plan.variables]

    def run(feeds: dict, variables: list, keys: list) -> list:
        with warnings.catch_warnings():  # f64 asked for while x64 is off: f32, as intended
            warnings.filterwarnings("ignore", "Explicitly requested dtype")
            return trace(feeds, variables, keys)

    def trace(feeds: dict, variables: list, keys: list) -> list:
        slots = [None] * plan.n_slots
        for s, c in plan.constants:
            slots[s] = jnp.asarray(c)
        for s, a in feeds.items():
            slots[s] = a
        for s, a in zip(var_slots, variables):
            slots[s] = a
        for s, a in zip(plan.keys, keys):
            slots[s] = a
        for fn, attrs, ins, out, free, node in calls:
            slots[out] = _call(fn, attrs, [slots[i] for i in ins], node, env)
            for f in free:
                slots[f] = None
        return [slots[f] for f in plan.fetch_slots]
    return run


def _call(fn, attrs: dict, args: list, node, env: dict):
    """One op traced: its result typed as the node says; a failure is located at the node."""
    try:
        r = jnp.asarray(fn(*args, **attrs))
    except TensorlangError:
        raise
    except Exception as e:  # noqa: BLE001  (anything the tracer raises is this op's failure)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EngineError(f'op "{node.op}" cannot run on the jax engine: {first}', node.span,
                          hint="run this graph with --engine numpy") from None
    want = tuple(D.evaluate(d, env) if not isinstance(d, int) else d for d in node.type.shape)
    if r.shape != want:
        raise EngineError(f'op "{node.op}" on the jax engine gave shape {list(r.shape)}, not '
                          f"{list(want)}", node.span)
    dt = np_dtype(node.dtype)
    return r if r.dtype == dt else r.astype(dt)
