"""Every op of the registry as a jax.numpy function, for the JAX engine (jax_engine.py).

Most NumPy kernels are array code that jax.numpy mirrors, so an op's own kernel is lowered by
re-binding it: the same code object with a namespace where `np` is a shim over jax.numpy (see
`retarget`). The shim drops `out=None`, maps NumPy spellings JAX lacks (`sort(kind="stable")`,
ufunc `dtype=`), and makes the fresh buffers of `np.empty`/`np.zeros` writable (`Buf`: an
indexed write becomes `.at[...].set`), which is how the recurrent tapes fill step by step.
The kernels that rely on NumPy's memory model (views written through, `out=` buffers, bit views,
stride tricks) or check values on the host (class ids) have a jax.numpy rule of their own in
RULES, one function an op. The conformance tests (tests/runtime/engines/) run every op's cases
through both and compare with the NumPy kernel; an op with neither (or in UNSUPPORTED) is a
located error naming the op and the engine. A scan runs its cell's graph through these same
forms inside a lax.scan."""

from __future__ import annotations

import functools
import math
import types
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ...ir.types import np_dtype
from ...ops import REGISTRY
from . import jax_conv, jax_recurrent

UNSUPPORTED: dict[str, str] = {}  # op -> why the JAX engine has no form of it


# ------------------------------------------------------------------ the NumPy shim
def _un(v):
    """A Buf's array; tuples and lists of them item by item."""
    if type(v) is Buf:
        return v.a
    if type(v) in (tuple, list):
        return type(v)(_un(x) for x in v)
    return v


class Buf:
    """A NumPy-style writable array over an immutable jax array: `b[k] = v` becomes
    `b.a = b.a.at[k].set(v)`. Only fresh buffers (np.empty, np.zeros) are Bufs, and a write
    through a view of one would be lost: the kernels that write through views have RULES."""

    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a

    def __setitem__(self, k, v):
        self.a = self.a.at[_un(k)].set(_un(v))

    def __getitem__(self, k):
        return self.a[_un(k)]

    def __getattr__(self, name):
        return getattr(self.a, name)

    def __len__(self):
        return len(self.a)


def _forward(name):
    return lambda self, *args: getattr(self.a, name)(*_un(args))


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lt", "le", "gt", "ge", "eq", "ne"):
    for _form in (f"__{_name}__", f"__r{_name}__"):
        if hasattr(jax.Array, _form):
            setattr(Buf, _form, _forward(_form))
for _form in ("__neg__", "__pos__", "__abs__", "__invert__"):
    setattr(Buf, _form, _forward(_form))
for _name in ("add", "sub", "mul", "truediv", "and", "or"):
    # b += v on a Buf: the whole buffer rebound (b is a name for a fresh buffer)
    setattr(Buf, f"__i{_name}__", lambda self, v, _n=_name: Buf(
        getattr(self.a, f"__{_n}__")(_un(v))))


def _call(fn: Callable, name: str, args, kwargs):
    out = kwargs.pop("out", None)
    if out is not None:
        raise NotImplementedError(f"np.{name}(..., out=...) writes into a buffer")
    if name in ("sort", "argsort") and kwargs.pop("kind", None) is not None:
        kwargs["stable"] = True
    # a NumPy ufunc's dtype= is the dtype it computes in: the inputs cast to it
    dtype = kwargs.pop("dtype", None) if isinstance(getattr(np, name, None), np.ufunc) else None
    if dtype is not None:  # f64 is f32 while x64 is off (as every jax array is then)
        dtype = jax.dtypes.canonicalize_dtype(dtype)
    args = [jnp.asarray(_un(a), dtype) if dtype is not None else _un(a) for a in args]
    return fn(*args, **{k: _un(v) for k, v in kwargs.items()})


class _Ufunc:
    """A jnp ufunc that takes NumPy's keywords, with its methods (reduce, accumulate)."""

    def __init__(self, fn, name):
        self.fn, self.__name__ = fn, name

    def __call__(self, *args, **kwargs):
        return _call(self.fn, self.__name__, args, kwargs)

    def __getattr__(self, name):
        method = getattr(self.fn, name)
        return lambda *a, **k: method(*_un(a), **{x: _un(v) for x, v in k.items()})


def _alloc(make):
    return lambda shape, dtype=float, *a, **k: Buf(make(shape, np_dtype_of(dtype)))


def _alloc_like(make):
    return lambda a, dtype=None, *x, **k: Buf(make(_un(a), dtype))


def np_dtype_of(dtype):
    """NumPy's dtype for `float`, `int`, a dtype or a scalar type."""
    return np.dtype(dtype)


class Shim:
    """`np` for a re-bound kernel: jax.numpy's functions under NumPy's names and keywords;
    dtypes, finfo, iinfo and errstate stay NumPy's."""

    SPECIAL = {"empty": _alloc(jnp.zeros), "zeros": _alloc(jnp.zeros),
               "empty_like": _alloc_like(jnp.zeros_like), "zeros_like": _alloc_like(jnp.zeros_like)}
    KEEP = frozenset(("finfo", "iinfo", "errstate", "dtype", "intp",
                      "newaxis", "pi", "e", "inf", "nan"))

    def __init__(self, module=np, jmodule=jnp):
        self._np, self._jnp = module, jmodule

    @functools.cache  # noqa: B019  (one shim per module, kept for the process)
    def __getattr__(self, name):
        if name in self.SPECIAL and self._np is np:
            return self.SPECIAL[name]
        v = getattr(self._np, name)
        if isinstance(v, type) or name in self.KEEP:
            return v
        j = getattr(self._jnp, name, None)
        if j is None:
            return v
        if isinstance(j, types.ModuleType):
            return Shim(v, j)
        if isinstance(j, jnp.ufunc):
            return _Ufunc(j, name)
        if callable(j):
            return functools.wraps(j)(lambda *a, **k: _call(j, name, a, dict(k)))
        return j


SHIM = Shim()


# ------------------------------------------------------------------ re-binding a kernel
_namespaces: dict[int, dict] = {}
_functions: dict[Callable, Callable] = {}


def _namespace(globals_: dict) -> dict:
    """A module's namespace with np as the shim and its functions re-bound (made once)."""
    ns = _namespaces.get(id(globals_))
    if ns is not None:
        return ns
    ns = _namespaces[id(globals_)] = dict(globals_)
    for k, v in list(ns.items()):
        if v is np:
            ns[k] = SHIM
        elif id(v) in PATCHES:
            ns[k] = PATCHES[id(v)]
        elif isinstance(v, types.FunctionType) and _ours(v):
            ns[k] = retarget(v)
    return ns


def _ours(fn) -> bool:
    return (getattr(fn, "__module__", None) or "").startswith("tensorlang.ops")


def retarget(fn):
    """fn with NumPy replaced by jax.numpy: the same code over the shim (functions of the ops
    package, their closures and partials re-bound too; NumPy functions by name)."""
    if isinstance(fn, functools.partial):
        return functools.partial(retarget(fn.func), *fn.args, **fn.keywords)
    if isinstance(fn, np.ufunc) or (callable(fn) and str(getattr(fn, "__module__", "")
                                                         ).startswith("numpy")):
        where = SHIM.linalg if "linalg" in str(getattr(fn, "__module__", "")) else SHIM
        return getattr(where, fn.__name__)
    if not isinstance(fn, types.FunctionType) or not _ours(fn):
        return fn
    if fn in _functions:
        return _functions[fn]
    closure = None
    if fn.__closure__:
        closure = tuple(types.CellType(retarget(c.cell_contents)) for c in fn.__closure__)
    new = types.FunctionType(fn.__code__, _namespace(fn.__globals__), fn.__name__,
                             fn.__defaults__, closure)
    new.__kwdefaults__ = fn.__kwdefaults__
    _functions[fn] = new
    return new


# ------------------------------------------------------------------ rules of their own
def _no_check(*args, **kwargs):
    """Value checks on the host (class ids in range) have no place in a traced function."""


def _take_ids(x, ids):
    return jnp.take_along_axis(x, ids.astype(jnp.int32)[:, None], axis=-1)[:, 0]


def _patches() -> dict:
    from ...ops import nn
    return {id(nn.check_ids): _no_check, id(nn.take_ids): _take_ids, id(nn.rows): jnp.arange}


PATCHES = _patches()
RULES: dict[str, Callable] = {}


def rule(*names: str):
    """Register a jax.numpy function as the JAX form of these ops."""
    def register(fn):
        for n in names:
            RULES[n] = fn
        return fn
    return register


def _key(key, salt):
    return jax.random.fold_in(jax.random.key(key), salt)


@rule("random_uniform")
def _uniform(key, shape, low=0.0, high=1.0, dtype="f32", salt=0):
    return jax.random.uniform(_key(key, salt), tuple(shape), np_dtype(dtype), low, high)


@rule("random_normal")
def _normal(key, shape, mean=0.0, std=1.0, dtype="f32", salt=0):
    dt = np_dtype(dtype)
    return (mean + std * jax.random.normal(_key(key, salt), tuple(shape), dt)).astype(dt)


@rule("dropout")
def _dropout(key, x, rate, salt=0):
    if rate == 0:
        return x
    keep = jax.random.uniform(_key(key, salt), x.shape) >= rate
    return jnp.where(keep, x * jnp.asarray(1 / (1 - rate), x.dtype), jnp.zeros((), x.dtype))


@rule("categorical")
def _categorical(key, logits, axis=-1, salt=0):
    return jax.random.categorical(_key(key, salt), logits, axis=axis).astype(jnp.int64)


def _float(x):
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


@rule("erf")
def _erf(x):
    return jax.scipy.special.erf(_float(x))


@rule("gelu")
def _gelu(x):
    x = _float(x)
    return 0.5 * x * (1 + jax.scipy.special.erf(x / jnp.asarray(math.sqrt(2), x.dtype)))


@rule("one_hot")
def _one_hot(i, depth, dtype="f32"):
    """Rows of the identity (NumPy's kernel refuses an id out of range on the host; a traced
    id cannot be looked at, so here such an id gives a row of zeros)."""
    return (i[..., None] == jnp.arange(depth)).astype(np_dtype(dtype))


@rule("where")
def _where(cond, a, b, out=None):
    return jnp.where(cond, a, b)


@rule("relu_grad")
def _relu_grad(x, g, out=None):
    return jnp.where(x > 0, g, jnp.zeros((), g.dtype))


@rule("einsum")
def _einsum(*operands, spec):
    dt = jnp.result_type(*operands)
    return jnp.einsum(spec, *operands, precision=lax.Precision.HIGHEST).astype(dt)


@rule("softmax_cross_entropy_mean")
def _sxe_mean(z, ids):
    z = z - z.max(axis=-1, keepdims=True)
    losses = jnp.log(jnp.exp(z).sum(axis=-1)) - jnp.take_along_axis(
        z, ids.astype(jnp.int32)[..., None], axis=-1)[..., 0]
    return (jnp.sum(losses) / ids.size).astype(z.dtype)


@rule("softmax_cross_entropy_grad")
def _sxe_grad(z, ids, g, out=None):
    p = jax.nn.softmax(z, axis=-1)
    p = p - jax.nn.one_hot(ids, z.shape[-1], dtype=z.dtype)
    return p * g[..., None]


# ------------------------------------------------------------------ scatters and recurrences
@rule("index_grad")
def _index_grad(g, shape, items):
    from ...ops.shape import _key as basic_key
    key = basic_key(np.empty(tuple(shape), np.bool_), items)  # only its shape is read
    return jnp.zeros(tuple(shape), g.dtype).at[key].set(g)


@rule("take_grad")
def _take_grad(g, indices, shape, axis=None):
    if axis is None:
        flat = jnp.zeros(math.prod(shape), g.dtype).at[indices.reshape(-1)].add(g.reshape(-1))
        return flat.reshape(shape)
    rows = g.reshape(tuple(shape[:axis]) + (indices.size,) + tuple(shape[axis + 1:]))
    moved = jnp.zeros((shape[axis], *shape[:axis], *shape[axis + 1:]), g.dtype)
    moved = moved.at[indices.reshape(-1)].add(jnp.moveaxis(rows, axis, 0))
    return jnp.moveaxis(moved, 0, axis)


@rule("scatter_along_axis")
def _scatter_along_axis(g, indices, shape, axis):
    where = list(jnp.indices(indices.shape, sparse=True))
    where[axis] = indices
    return jnp.zeros(tuple(shape), g.dtype).at[tuple(where)].add(g)


# ------------------------------------------------------------------ scan: a cell's graph per step
def _run_cell(nodes, values: dict, env: dict) -> dict:
    """The cell graph's values, every op through its JAX form (ir/constant.py's run, traced)."""
    from ...ir import dims as D
    for n in nodes:
        if n.id in values:
            continue
        if n.op == "constant":
            values[n.id] = jnp.asarray(n.attrs["value"])
            continue
        attrs = {k: D.resolve(v, env) for k, v in n.attrs.items()}
        values[n.id] = jnp.asarray(lowering(n.op)(*[values[i.id] for i in n.inputs], **attrs))
    return values


def _cell_sources(cell, x, h, variables, key) -> dict:
    values = {cell.x.id: x, cell.h.id: h, **{v.id: a for v, a in zip(cell.variables, variables)}}
    if cell.key is not None:
        values[cell.key.id] = key
    return values


def _step_keys(key, steps: int):
    from ...ir.cell import STEP_KEY
    if key is None:
        return jnp.zeros(steps, jnp.int64)
    return key + STEP_KEY * (jnp.arange(steps, dtype=jnp.int64) + 1)


@rule("scan")
def _scan(*inputs, cell):
    from ...ops.scan import _parts
    xs, h0, variables, key = _parts(cell, inputs)
    env = cell.env((xs.shape[0], xs.shape[2]), h0.shape)

    def step(h, xk):
        values = _cell_sources(cell, xk[0], h, variables, xk[1])
        h = _run_cell(cell.forward.nodes, values, env)[cell.out.id].astype(h0.dtype)
        return h, h
    keys = _step_keys(key, xs.shape[1])
    return jnp.swapaxes(lax.scan(step, h0, (jnp.swapaxes(xs, 0, 1), keys))[1], 0, 1)


@rule("scan_grad")
def _scan_grad(*inputs, cell):
    from ...ops.scan import _parts
    *ins, hs, g = inputs
    xs, h0, variables, key = _parts(cell, ins)
    env = cell.env((xs.shape[0], xs.shape[2]), h0.shape)
    h_prev = jnp.concatenate([h0[:, None], hs[:, :-1]], axis=1)[:, :xs.shape[1]]

    def step(carry, at):
        x, hp, gt, k = at
        values = _cell_sources(cell, x, hp, variables, k)
        values[cell.u.id] = gt + carry[0]
        values = _run_cell(cell.backward.nodes, values, env)
        gx, dh, *gv = [values[n.id] for n in cell.grads]
        return (dh.astype(g.dtype), *[a + b for a, b in zip(carry[1:], gv)]), gx
    zeros = (jnp.zeros(h0.shape, g.dtype), *[jnp.zeros(v.shape, g.dtype) for v in variables])
    t = lambda a: jnp.swapaxes(a, 0, 1)  # noqa: E731
    (dh0, *sums), gxs = lax.scan(step, zeros, (t(xs), t(h_prev), t(g),
                                                _step_keys(key, xs.shape[1])), reverse=True)
    dt = jnp.result_type(xs, h0, *variables, g)
    return jnp.concatenate([p.astype(dt).ravel() for p in (t(gxs), dh0, *sums)])


@rule("scan_part")
def _scan_part(packed, start, shape):
    return packed[start:start + math.prod(shape)].reshape(tuple(shape))


RULES.update(jax_recurrent.RULES)
RULES.update(jax_conv.RULES)


def lowering(op: str) -> Callable:
    """The jax.numpy function for an op (KeyError naming why, for an op it cannot run)."""
    if op in UNSUPPORTED:
        raise KeyError(UNSUPPORTED[op])
    fn = RULES.get(op)
    if fn is not None:
        return fn
    kernel = REGISTRY[op].kernel
    if kernel is None:
        raise KeyError("it has no kernel")
    inner = retarget(kernel)
    return functools.wraps(kernel)(lambda *a, **k: _un(inner(*a, **k)))
