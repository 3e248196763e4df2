"""The graph IR: immutable typed nodes, a Graph of them in topological order, and the Builder
that types each node as it is made (so every node in every graph is already shape-checked)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import (
    NamingError,
    OpError,
    ProgramError,
    ShapeError,
    TensorlangError,
    did_you_mean,
    quiet_numpy,
)
from ..files.limits import over_budget
from ..records import field, record
from ..source import UNKNOWN, Span
from . import dims as D
from .opdef import REGISTRY, OpDef
from .printing import Namer, format_graph, format_node
from .types import TensorType, from_numpy, promote

_ids = itertools.count()


@record(eq=False, slots=True)
class Node:
    """One value of the dataflow graph: op, inputs (Nodes), attributes, type, place and scope.

    Nodes compare by identity; `id` is unique per process and orders nodes by creation.
    """

    op: str
    inputs: tuple[Node, ...]
    attrs: Mapping[str, Any]
    type: TensorType
    span: Span = UNKNOWN
    scope: str = ""
    name: str | None = None
    id: int = field(default_factory=lambda: next(_ids))

    @property
    def opdef(self) -> OpDef:
        """The op's record."""
        return REGISTRY[self.op]

    @property
    def dtype(self) -> str:
        """The dtype name (`f32`)."""
        return self.type.dtype

    @property
    def shape(self) -> tuple:
        """The shape with symbolic dims as their names: `("N", 4)`."""
        return tuple(d if isinstance(d, int) else D.dim_str(d) for d in self.type.shape)

    @property
    def rank(self) -> int:
        """Number of dims."""
        return self.type.rank

    @property
    def is_source(self) -> bool:
        """A placeholder, variable or constant: a value that enters the graph."""
        return self.op in SOURCE_OPS

    @property
    def is_input(self) -> bool:
        """A placeholder, variable or random key: a value from outside when the graph runs."""
        return self.op in INPUT_OPS

    @property
    def is_backward(self) -> bool:
        """True for nodes made by autodiff."""
        return self.scope == "grad" or self.scope.startswith("grad/")

    def describe(self) -> str:
        """How a user knows this node: its name, else the source text it came from
        (`x @ W`), else the op and its line."""
        if self.name:
            return self.name
        s = self.span
        line = s.source_line()
        if line is not None and s.end_line == s.line and s.end_column > s.column:
            text = line[s.column - 1:s.end_column - 1].strip()
            if text and len(text) <= 40:
                return text
        return f"the {self.op} at line {s.line}" if s.line else f"a {self.op} value"

    def label(self) -> str:
        """The name a user knows this node by, or `%id`."""
        return self.name or f"%{self.id}"

    def __repr__(self) -> str:
        return f"<{self.label()} = {self.op}(...) : {self.type}>"


# the ops values enter a graph by: fed, state, compile-time values, and the key random ops
# draw from (the session feeds a fresh one every run)
SOURCE_OPS = ("placeholder", "variable", "constant", "random_key")
INPUT_OPS = ("placeholder", "variable", "random_key")  # sources not known when compiling
_NO_ATTRS: Mapping[str, Any] = MappingProxyType({})  # shared by every node without attributes


@record(eq=False)
class Graph:
    """A compiled, shape-checked graph: nodes in topological order and the names users gave."""

    name: str
    nodes: tuple[Node, ...]
    names: Mapping[str, Node]
    span: Span = UNKNOWN
    warnings: tuple = ()
    dims: tuple[str, ...] = ()  # symbolic dim names declared by placeholders
    # layer instances: scope ("h", "o.inner") -> (layer name, id of the node it returned)
    layers: Mapping[str, tuple[str, int]] = field(default_factory=lambda: MappingProxyType({}))
    # state variable name -> the node holding its value after a training step (`update`)
    updates: Mapping[str, Node] = field(default_factory=lambda: MappingProxyType({}))
    # a layer instance applied again by name: its scope -> the scope whose variables it uses
    shared: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    training: bool = False  # compiled in training mode (`training` true: a train block's step)

    def node(self, name: str) -> Node:
        """The node a name refers to (`"h"`, `"h.W"`); NamingError with a hint when unknown."""
        if name in self.names:
            return self.names[name]
        raise NamingError(f'graph "{self.name}" has no node "{name}"', self.span,
                         hint=did_you_mean(name, self.names))

    def _of(self, op: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.op == op)

    @property
    def placeholders(self) -> tuple[Node, ...]:
        """Placeholder nodes in declaration order."""
        return self._of("placeholder")

    @property
    def variables(self) -> tuple[Node, ...]:
        """Variable nodes in declaration order."""
        return self._of("variable")

    @property
    def trainable(self) -> tuple[Node, ...]:
        """Variables that `train` updates (not frozen, not state)."""
        return tuple(v for v in self.variables if v.attrs.get("trainable", True))

    @property
    def state(self) -> tuple[Node, ...]:
        """State variables: changed only by `update`, in training steps."""
        return tuple(v for v in self.variables if v.attrs.get("state", False))

    def with_nodes(self, nodes, names: Mapping[str, Node] | None = None,
                   moved: Mapping[int, Node] | None = None) -> Graph:
        """This graph over other nodes (a rewrite's result): the name, span, warnings, dims and
        layers carry over; `moved` maps old node ids to their replacements, so the layers keep
        pointing at the values they returned."""
        moved = moved or {}
        layers = {scope: (layer, moved[out].id if out in moved else out)
                  for scope, (layer, out) in self.layers.items()}
        updates = {k: moved.get(v.id, v) for k, v in self.updates.items()}
        return Graph(self.name, tuple(nodes), MappingProxyType(dict(
            self.names if names is None else names)), self.span, self.warnings, self.dims,
            MappingProxyType(layers), MappingProxyType(updates), self.shared, self.training)

    def verify(self) -> None:
        """Check the invariants: topological order, known ops, types that the rules reproduce,
        names that refer to nodes of the graph. A failure is a located VerifyError that shows
        the node among its neighbours as `tensorlang ir` prints them."""
        seen: set[int] = set()
        for k, n in enumerate(self.nodes):
            problem = _problem(n, seen)
            if problem:
                raise VerifyError(self, k, problem)
            seen.add(n.id)
        for name, n in self.names.items():
            if n.id not in seen:
                raise VerifyError(self, None, f'the name "{name}" refers to a node outside the '
                                              "graph")
        for name, n in self.updates.items():
            if n.id not in seen:
                raise VerifyError(self, None, f'the update of "{name}" is a node outside the '
                                              "graph")

    def __str__(self) -> str:
        return format_graph(self)

    def _repr_svg_(self) -> str:
        from ..tools.render import to_svg
        return to_svg(self)


def _problem(n: Node, seen: set[int]) -> str | None:
    """What is wrong with node n given the ids defined before it, or None."""
    if n.op not in REGISTRY:
        return f"unknown op {n.op}"
    for k, i in enumerate(n.inputs):
        if i.id not in seen:
            return f"its input {k} ({i.op}: {i.type}) is not defined before it"
    if n.is_source:
        return None
    try:
        t = REGISTRY[n.op].infer(tuple(i.type for i in n.inputs), **n.attrs)
    except OpError as e:
        return f"its shape rule rejects its inputs: {e}"
    if (t.dtype, t.shape) != (n.type.dtype, n.type.shape):
        return f"it is typed {n.type} but the shape rule of {n.op} gives {t}"
    return None


class VerifyError(TensorlangError):
    """A graph breaks an invariant of the IR: a bug in the pass or transformation that made it.
    The message names the node as `tensorlang ir` prints it and shows it in context."""

    kind = "internal error"
    CONTEXT = 2  # nodes shown before and after the failing one

    def __init__(self, graph: Graph, at: int | None, problem: str):
        name = Namer(graph)
        lines = []
        if at is not None:
            node = graph.nodes[at]
            lo, hi = max(0, at - self.CONTEXT), min(len(graph.nodes), at + self.CONTEXT + 1)
            for k in range(lo, hi):
                mark = "> " if k == at else "  "
                lines.append(mark + format_node(graph.nodes[k], name, graph.span.file))
            what = f'graph "{graph.name}" is malformed at {name(node)}: {problem}'
            span = node.span if node.span.line else graph.span
        else:
            what, span = f'graph "{graph.name}" is malformed: {problem}', graph.span
        super().__init__(what, span, notes=tuple((line, None) for line in lines))
        self.problem = problem


def _operands(op: OpDef, types: Sequence[TensorType]) -> str:
    sep = f" {op.symbol} " if op.symbol and len(types) == 2 else ", "
    return sep.join(str(t) for t in types)


class Builder:
    """Makes typed nodes; the only way nodes are created. Remembers the current span and scope,
    so lowering and autodiff place every node at a source line and in a scope."""

    def __init__(self, name: str, graph: Graph | None = None):
        self.name = name
        self.nodes: list[Node] = list(graph.nodes) if graph else []
        self.names: dict[str, Node] = dict(graph.names) if graph else {}
        self.warnings: list = list(graph.warnings) if graph else []
        self.dims: list[str] = list(graph.dims) if graph else []
        self.layers: dict[str, tuple[str, int]] = dict(graph.layers) if graph else {}
        self.updates: dict[str, Node] = dict(graph.updates) if graph else {}
        self.shared: dict[str, str] = dict(graph.shared) if graph else {}
        self.training = graph.training if graph else False
        self._salt = max((n.attrs.get("salt", 0) for n in self.nodes if n.opdef.random),
                         default=0)
        self.span: Span = graph.span if graph else UNKNOWN
        self.graph_span = self.span
        self.scope = ""
        self.pin: Span | None = None  # when set, every new node gets this span (prelude layers)
        self._named: set[int] = {n.id for n in self.names.values()}
        self._has: set[int] = {n.id for n in self.nodes}
        self._types: dict[TensorType, TensorType] = {}

    def snapshot(self) -> tuple:
        """Everything a restore() puts back: lowering tries a branch, then forgets it."""
        return (len(self.nodes), dict(self.names), dict(self.layers), len(self.warnings),
                dict(self.updates), dict(self.shared), self._salt, set(self._named))

    def restore(self, snap: tuple) -> None:
        """Forget every node, name, layer, warning and update made since the snapshot."""
        count, names, layers, warnings, updates, shared, salt, named = snap
        self._has.difference_update(n.id for n in self.nodes[count:])
        del self.nodes[count:]
        del self.warnings[warnings:]
        self.names, self.layers, self.updates, self.shared = names, layers, updates, shared
        self._salt, self._named = salt, named

    def check(self, op: str, inputs: Sequence = (), attrs: Mapping | None = None, *,
              span: Span | None = None) -> TensorType:
        """The type `add` would give, or its ShapeError; nothing is added."""
        snap = self.snapshot()
        try:
            return self.add(op, inputs, attrs, span=span).type
        finally:
            self.restore(snap)

    def random_key(self) -> Node:
        """The graph's one key node: random ops draw from it (the session feeds a fresh key
        every run)."""
        for n in self.nodes:
            if n.op == "random_key":
                return n
        return self.add("random_key", (), {}, type=TensorType("i64", ()), scope="",
                        span=self.graph_span)

    @classmethod
    def rewriting(cls, graph: Graph) -> Builder:
        """An empty builder for a new version of `graph` (finished with graph.with_nodes)."""
        b = cls(graph.name)
        b.graph_span = b.span = graph.span
        return b

    # -- the one way to make a node -------------------------------------------------------------
    def add(self, op: str, inputs: Sequence = (), attrs: Mapping | None = None, *,
            span: Span | None = None, scope: str | None = None, name: str | None = None,
            type: TensorType | None = None) -> Node:
        """A new node of `op`, typed by the op's shape rule (ShapeError at `span` on a mismatch).
        Inputs are Nodes or literals (numbers, bools, arrays), which become constants."""
        opdef = REGISTRY[op]
        span = self.pin or span or self.span
        attrs = dict(attrs or {})
        if opdef.random:
            inputs, attrs = self._keyed(opdef, list(inputs), attrs)
        inputs = self._materialize_weak(opdef, list(inputs), span)
        types = tuple(i.type for i in inputs)
        try:
            if opdef.prepare:
                attrs = opdef.prepare(types, **attrs)
            if type is None:
                type = opdef.infer(types, **attrs)
        except OpError as e:
            raise ShapeError(f"{op}: {_operands(opdef, types)}: {e}", span) from None
        _within_budget(op, type, span)
        if opdef.expand is not None:
            return self._expanded(opdef, inputs, attrs, type, span)
        # one object per distinct type: most nodes share a few, and fewer objects make the
        # garbage collector's full passes over a large graph cheaper
        type = self._types.setdefault(type, type)
        node = Node(op, tuple(inputs), MappingProxyType(attrs) if attrs else _NO_ATTRS, type, span,
                    self.scope if scope is None else scope, name)
        self.nodes.append(node)
        self._has.add(node.id)
        return node

    def adopt(self, node: Node) -> Node:
        """Put an existing, already typed node into this graph (a node a rewrite keeps or
        reuses); a node already here is left where it is."""
        if node.id not in self._has:
            self.nodes.append(node)
            self._has.add(node.id)
        return node

    def with_inputs(self, node: Node, inputs: Sequence[Node]) -> Node:
        """node over new inputs of the same types (a new node, added here), or node itself
        (adopted) when the inputs are the ones it has."""
        if len(inputs) == len(node.inputs) and all(a is b for a, b in zip(inputs, node.inputs)):
            return self.adopt(node)
        return self.adopt(Node(node.op, tuple(inputs), node.attrs, node.type, node.span,
                               node.scope, node.name))

    def contains(self, node: Node) -> bool:
        """True when node is part of the graph being built."""
        return node.id in self._has

    def rename(self, node: Node, name: str) -> Node:
        """The node under a name of its own (the same id and place in the graph): only for a node
        nothing refers to by its old self yet, like a replacement a rewrite just made."""
        named = Node(node.op, node.inputs, node.attrs, node.type, node.span, node.scope, name,
                     node.id)  # not dataclasses.replace: this runs once per named node
        k = next(k for k in range(len(self.nodes) - 1, -1, -1) if self.nodes[k].id == node.id)
        self.nodes[k] = named
        return named

    def mark(self) -> int:
        """A position in the node list (for discard_unused)."""
        return len(self.nodes)

    def discard_unused(self, since: int, keep: set[int]) -> None:
        """Drop the nodes made after `since` whose ids are not in `keep` (parts of a gradient
        nobody asked for)."""
        dropped = [n.id for n in self.nodes[since:] if n.id not in keep]
        self.nodes[since:] = [n for n in self.nodes[since:] if n.id in keep]
        self._has.difference_update(dropped)

    def _expanded(self, opdef: OpDef, inputs: list, attrs: dict, type: TensorType,
                  span: Span) -> Node:
        """The nodes an op made of other ops expands to (at the op's span)."""
        saved = self.span
        self.span = span
        try:
            out = opdef.expand(self, inputs, **attrs)
        finally:
            self.span = saved
        if (out.dtype, out.type.shape) != (type.dtype, type.shape):
            raise AssertionError(f"{opdef.name} expanded to {out.type}, its rule gives {type}")
        return out

    def _keyed(self, opdef: OpDef, inputs: list, attrs: dict) -> tuple[list, dict]:
        """A random op's inputs with the graph's key first (unless given, as a gradient rule
        that repeats the forward's draws does) and its salt (a new one unless given)."""
        if len(inputs) < len(opdef.tensor_params):
            inputs = [self.random_key(), *inputs]
        if "salt" not in attrs:
            self._salt += 1
            attrs["salt"] = self._salt
        return inputs, attrs

    def _materialize_weak(self, opdef: OpDef, inputs: list, span: Span) -> list[Node]:
        """Number literals (raw Python numbers, bools or arrays among the inputs) become
        constants; in ops that promote, they take the dtype of the tensors they meet
        (`x * 2` stays f32), and tensors whose dtype NumPy would promote past the node's are
        cast to it first (`i * 2.5` and `abs(-1) * x` compute in f32, as their type says)."""
        raw = [i for i, x in enumerate(inputs) if not isinstance(x, Node)]
        if not raw and (opdef.promote is None or len(inputs) < 2):
            return inputs
        weak = {i: weak_type(inputs[i]) for i in raw}
        types = [weak[i] if i in weak else x.type for i, x in enumerate(inputs)]
        target: dict[int, str] = {i: t.dtype for i, t in weak.items()}
        if opdef.promote is not None:
            idx = [i for i in (opdef.promote or range(len(inputs))) if i < len(inputs)]
            dt = promote(*[types[i] for i in idx])
            target.update({i: dt for i in idx if i in weak})
            for i in idx:
                # NumPy computes i32 * f32 in f64 (and a weak i64 with an i32 in i64)
                if i not in weak and types[i].dtype != dt and \
                        np.promote_types(_np(types[i].dtype), _np(dt)) != _np(dt):
                    inputs[i] = self.add("cast", (inputs[i],), {"dtype": dt}, span=span)
        for i in raw:
            if not _fits(inputs[i], target[i]):
                target[i] = self._too_big(opdef, inputs[i], target[i], types, i, span)
            inputs[i] = self.constant(inputs[i], target[i], weak=types[i].weak and all(
                types[j].weak for j in range(len(types))), span=span)
        return inputs

    def _too_big(self, opdef: OpDef, value, dtype: str, types: list, i: int, span: Span) -> str:
        """An integer literal beyond the range of the integer dtype it meets: NumPy 2's rule
        for Python integers. Where the op's result is a float anyway (`images / 256` on u8) the
        literal keeps its own i64; elsewhere (`images + 256`) it is an error, as in NumPy."""
        try:
            out = opdef.infer(tuple(TensorType(dtype, t.shape) if j == i else t
                                    for j, t in enumerate(types)))
        except OpError:
            out = None
        if out is not None and np.dtype(_np(out.dtype)).kind == "f":
            return "i64"
        info = np.iinfo(_np(dtype))
        raise ShapeError(f"{opdef.name}: the number {np.asarray(value).flat[0]} is out of range "
                         f"for {dtype} ({info.min} to {info.max}), the dtype of the tensor it "
                         "meets (NumPy 2 refuses it too)", span,
                         hint="cast the tensor first, e.g. cast(x, i32), or write a float")

    # -- conveniences ---------------------------------------------------------------------------
    def constant(self, value: Any, dtype: str | None = None, *, weak: bool = False,
                 span: Span | None = None, name: str | None = None) -> Node:
        """A constant node holding a NumPy array (read-only)."""
        with quiet_numpy():
            arr = np.array(value, dtype=None if dtype is None else np.dtype(_np(dtype)))
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            _overflowed(value, arr, span or self.span)
        if dtype is None:
            dtype = from_numpy(arr.dtype)
            if dtype == "f64" and weak:
                dtype, arr = "f32", arr.astype(np.float32)
        arr.flags.writeable = False
        t = TensorType(dtype, arr.shape, weak)
        return self.add("constant", (), {"value": arr}, span=span, name=name, type=t)

    def op(self, name: str, *inputs: Node, **attrs) -> Node:
        """`b.op("sum", x, axis=0)`: the short form used by gradient rules."""
        return self.add(name, inputs, attrs)

    def bind(self, name: str, node: Node, span: Span) -> Node:
        """Give a node a user-visible name; a second definition is an error at `span`."""
        if name in self.names:
            first = self.names[name]
            raise NamingError(f'"{name}" is already defined', span,
                             notes=((f'"{name}" was first defined here', first.span),))
        if node.name is None and self.nodes and self.nodes[-1] is node \
                and node.id not in self._named:
            # the node was just made for this name and nothing refers to it yet: name it
            node = self.rename(node, name)
        self.names[name] = node
        self._named.add(node.id)
        return node

    def finish(self) -> Graph:
        """The Graph made so far (nodes in creation order, which is topological)."""
        return Graph(self.name, tuple(self.nodes), MappingProxyType(dict(self.names)),
                     self.graph_span, tuple(self.warnings), tuple(self.dims),
                     MappingProxyType(dict(self.layers)), MappingProxyType(dict(self.updates)),
                     MappingProxyType(dict(self.shared)), self.training)

    def fail(self, message: str, span: Span | None = None, hint: str | None = None):
        """Raise a located TensorlangError."""
        raise TensorlangError(message, span or self.span, hint=hint)


def _within_budget(op: str, t: TensorType, span: Span) -> None:
    """A node whose concrete shape needs more memory than the budget (files/limits.py) is a
    ShapeError when it is made, at `check` time, never a MemoryError (or a machine brought to its
    knees) at run time. Symbolic dims are bound by fed data, which its loader bounds."""
    shape = t.shape
    if not shape or not all(type(d) is int for d in shape):
        return
    n = 1
    for d in shape:
        n *= d
    nbytes = n * np.dtype(_np(t.dtype)).itemsize
    problem = over_budget(nbytes) if nbytes > MIN_CHECKED else None
    if problem:
        what = "a variable" if op == "variable" else f"{op}'s result"
        raise ShapeError(f"{what} of type {t} takes {problem}", span,
                         hint="a smaller shape, or a larger budget: TENSORLANG_MEMORY_BUDGET=64G")


MIN_CHECKED = 1 << 20  # below a MiB no budget is asked about (the environment is not read)


def _fits(value, dtype: str) -> bool:
    """Whether every integer of a literal lies in an integer dtype's range (other literals and
    dtypes: True)."""
    arr = np.asarray(value)
    dt = np.dtype(_np(dtype))
    if arr.dtype.kind not in "iu" or dt.kind not in "iu" or arr.size == 0:
        return True
    info = np.iinfo(dt)
    return bool(info.min <= arr.min() and arr.max() <= info.max)


def _overflowed(value, arr: np.ndarray, span: Span) -> None:
    """A finite number too large for the constant's dtype is an error, not an inf."""
    src = np.asarray(value, dtype=np.float64) if np.asarray(value).dtype.kind in "iuf" else arr
    bad = np.isfinite(src) & ~np.isfinite(arr)
    if bad.any():
        big = src[bad].flat[0]
        raise ProgramError(f"the number {big:g} is too large for {from_numpy(arr.dtype)} (its "
                           f"largest is {np.finfo(arr.dtype).max:.4g})", span,
                           hint="declare the value f64, or scale it down")


def weak_type(value) -> TensorType:
    """The type of a literal: bools are strong; ints and floats are weak (i64, f32)."""
    arr = np.asarray(value)
    if arr.dtype == np.bool_:
        return TensorType("bool", arr.shape)
    return TensorType("f32" if arr.dtype.kind == "f" else "i64", arr.shape, True)


def _np(dtype: str):
    from .types import NUMPY
    return NUMPY[dtype]

