"""The op record and the registry: an op is defined once, with its signature, shape rule, NumPy
kernel, gradient rule and doc. Everything else (lowering, autodiff, executor, printer, renderer,
generated tests) is generic over REGISTRY.

A signature reads like the language: `"x, axis: axes = None, keepdims: bool = false"`.
A parameter without a kind is a tensor input; `tensors` is a list of tensor inputs; the other
kinds are compile-time attributes: int, float, bool, str, axes (None, an int or a list of ints),
axis (an int), shape (a list of dims, -1 allowed), dtype (a dtype name), index (basic-index
items, internal), any (a constant value).

Contracts:
- `infer(types, **attrs) -> TensorType`: the shape rule; raises errors.OpError(detail).
- `prepare(types, **attrs) -> dict` (optional): normalizes attributes once types are known
  (negative axes made positive, defaults that depend on the input); its result is what `infer`,
  `kernel` and `grad` receive and what the node stores.
- `kernel(*arrays, **attrs) -> np.ndarray`: the NumPy implementation; must return exactly the
  inferred dtype and shape. Attributes holding symbolic dims are made concrete before the call.
- `grad(b, node, g) -> tuple`: builds gradient nodes with the Builder `b` (graph.Builder),
  returning one entry per tensor input: a Node, or None for no gradient.
- `cases(rng) -> list[(arrays, attrs)]`: concrete inputs inside the op's domain, for the tests
  generated from the registry.
- `memory` (a Memory): which inputs the kernel's result may share memory with (by default any:
  reshape, transpose and indexing return views), or none (FRESH: a new array every call, which the
  planner may write a later result into once it is dead); with `writes_into(when)`, the kernel
  also accepts `out=` for the nodes `when(node)` holds for: an array of the node's exact dtype and
  shape that it writes the whole result into and returns (NumPy ufunc style), and with `inplace`
  that array may be one of the inputs (read elementwise before each element is written).
- `ids` (optional): integer-id inputs and their bound, {input index: IdBound} (one_hot's depth,
  the classes of a loss, the axis take gathers from).
- `preserves_values`: the result holds only values of its first input (reshape, indexing...), so
  a bound on an input's values holds for the result.
- `random`: the op draws random numbers. Its first input is a `key` (an i64 scalar the session
  draws afresh for every run, the graph's one `random_key` node) and its `salt` attribute tells
  the op's draws from other random ops' in the same run; kernel(key, ..., salt=...) is a pure
  function of them, so a gradient that needs the same draws (dropout's mask) calls the op again
  with the same key and salt. Random ops are never constant-folded or merged.
- `expand(b, inputs, **attrs) -> Node` (optional): the op is made of other ops; the Builder
  types it by its own shape rule (so mistakes name this op), then builds the nodes expand makes
  instead of a node of its own (batch_norm, lstm). Such an op has no kernel.
- `inference_identity`: outside training (evaluation, validation, Session.run) the op is its
  first tensor input itself (dropout); lowering decides, by the compile-time mode.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from ..records import field, record

REQUIRED = object()
ATTR_KINDS = ("int", "float", "bool", "str", "axes", "axis", "shape", "dtype", "index", "any",
              "number", "dim")
TENSOR_KINDS = ("tensor", "tensors", "key")  # key: a random op's draw key, supplied by the Builder


@record
class Param:
    """One parameter of an op: its name, kind and default (REQUIRED when it has none)."""

    name: str
    kind: str = "tensor"
    default: Any = REQUIRED
    star: bool = False  # `*operands: tensors`: the rest of the positional arguments

    @property
    def is_tensor(self) -> bool:
        """True for tensor inputs (`tensor` or `tensors`)."""
        return self.kind in TENSOR_KINDS


@record
class Memory:
    """How an op's result relates to its inputs' memory (see the module doc): `views` lists the
    inputs the result may view (None: any of them; (): none, a new array), `out` says for which
    nodes the kernel takes `out=`, and `inplace` whether that buffer may be an input."""

    views: tuple[int, ...] | None = None
    out: Callable | None = None
    inplace: bool = False
    scratch: Callable | None = None  # scratch(node, env) -> bytes of the kernel's own working
    # arrays at their most (beyond its result), for the memory prediction (runtime/memory.py)

    @property
    def fresh(self) -> bool:
        """The result never shares memory with an input."""
        return self.views == ()


VIEW = Memory()
FRESH = Memory(views=())


def writes_into(when: Callable = lambda node: True, inplace: bool = False) -> Memory:
    """A fresh result that the kernel may also write into a given buffer (`out=`) for the nodes
    `when(node)` holds for; with inplace, that buffer may be one of the inputs."""
    return Memory((), when, inplace)


@record
class IdBound:
    """The exclusive upper bound of an integer-id input's values: `bound(node)` (a dim), and what
    it is, for messages (`depth of one_hot`)."""

    bound: Callable
    what: str


@record
class OpDef:
    """One op: everything the compiler, executor and autodiff know about it."""

    name: str
    params: tuple[Param, ...]
    infer: Callable
    kernel: Callable | None
    doc: str
    family: str
    grad: Callable | None = None
    differentiable: bool = True  # False: the op stops gradients (argmax, comparisons, floor...)
    prepare: Callable | None = None
    cases: Callable | None = None
    promote: tuple[int, ...] | None = None  # inputs that share a dtype (weak literals adapt);
    # () means all inputs, None means number literals keep their own dtype
    symbol: str | None = None  # infix spelling for messages and the printer (`+`, `@`)
    internal: bool = False  # not callable by name from a .tl file (constants, placeholders...)
    fused: bool = False  # made by the fusion pass from several nodes, never written by users
    memory: Memory = VIEW  # see the module doc: views of inputs, fresh arrays, out= buffers
    ids: Mapping[int, IdBound] = field(default_factory=dict)  # integer-id inputs: their bound
    preserves_values: bool = False  # the result holds only values of the first input
    random: bool = False  # draws random numbers: a `key` input, a `salt`; never folded or merged
    inference_identity: bool = False  # outside training the op is its first tensor input
    expand: Callable | None = None  # built from other ops: expand(b, inputs, **attrs) -> Node
    # why a differentiable op has no gradient rule: a gradient that must flow through it is a
    # located error saying this (gradients of gradients through recurrences), never a zero
    grad_missing: str | None = None

    @property
    def is_source(self) -> bool:
        """Placeholders, variables and constants: the ops values enter a graph by."""
        return self.family == "source"

    @property
    def tensor_params(self) -> tuple[Param, ...]:
        """The tensor inputs, in order."""
        return tuple(p for p in self.params if p.is_tensor)

    @property
    def attr_params(self) -> tuple[Param, ...]:
        """The compile-time attributes, in order."""
        return tuple(p for p in self.params if not p.is_tensor)

    @property
    def variadic(self) -> bool:
        """True when the op takes a list of tensors (concat, stack)."""
        return any(p.kind == "tensors" for p in self.params)

    def signature(self) -> str:
        """The signature as a user reads it: `sum(x, axis = None, keepdims = false)` (a random
        op's key is not written by users)."""
        parts = []
        for p in self.params:
            if p.kind == "key":
                continue
            s = p.name if p.kind in ("tensor",) else (
                f"{p.name}..." if p.star else f"[{p.name}...]" if p.kind == "tensors" else p.name)
            if p.default is not REQUIRED:
                d = p.default
                d = "false" if d is False else "true" if d is True else d
                s += f" = {d}"
            parts.append(s)
        return f"{self.name}({', '.join(parts)})"


REGISTRY: dict[str, OpDef] = {}


@functools.cache  # 143 ops, 74 distinct signatures; the Params are frozen, so shared safely
def parse_signature(sig: str) -> tuple[Param, ...]:
    """Params from `"x, axis: axes = None, keepdims: bool = false"`."""
    out = []
    for part in filter(None, (p.strip() for p in sig.split(","))):
        default: Any = REQUIRED
        if "=" in part:
            part, dtext = (s.strip() for s in part.split("=", 1))
            default = _literal(dtext)
        name, _, kind = (s.strip() for s in part.partition(":"))
        kind = kind or "tensor"
        if kind not in ATTR_KINDS + TENSOR_KINDS:
            raise ValueError(f"unknown parameter kind {kind!r} in {sig!r}")
        if name.startswith("*") and kind != "tensors":
            raise ValueError(f"only a list of tensors takes the rest of the arguments: {sig!r}")
        out.append(Param(name.lstrip("*"), kind, default, star=name.startswith("*")))
    return tuple(out)


def _literal(text: str) -> Any:
    table = {"None": None, "none": None, "true": True, "false": False}
    if text in table:
        return table[text]
    if text.startswith('"'):
        return text.strip('"')
    try:
        return int(text)
    except ValueError:
        return float(text)


def defop(name: str, sig: str, *, infer: Callable, kernel: Callable | None, doc: str,
          family: str, **extra) -> OpDef:
    """Define and register one op; a second definition of the same name is a bug."""
    if name in REGISTRY:
        raise ValueError(f"op {name!r} is defined twice")
    op = OpDef(name, parse_signature(sig), infer, kernel, doc, family, **extra)
    REGISTRY[name] = op
    return op


def get(name: str) -> OpDef:
    """The op record for a name (KeyError when there is none)."""
    return REGISTRY[name]
