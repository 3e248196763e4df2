"""The graph IR: immutable typed nodes, a Graph of them in topological order, and the Builder
that types each node as it is made (so every node in every graph is already shape-checked)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import NameError_, OpError, ShapeError, TensorlangError, did_you_mean
from ..source import UNKNOWN, Span
from . import dims as D
from .opdef import REGISTRY, OpDef
from .types import TensorType, from_numpy, promote

_ids = itertools.count()


@dataclass(frozen=True, eq=False, slots=True)
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


SOURCE_OPS = ("placeholder", "variable", "constant")
_NO_ATTRS: Mapping[str, Any] = MappingProxyType({})  # shared by every node without attributes


@dataclass(frozen=True, eq=False)
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

    def node(self, name: str) -> Node:
        """The node a name refers to (`"h"`, `"h.W"`); NameError_ with a hint when unknown."""
        if name in self.names:
            return self.names[name]
        raise NameError_(f'graph "{self.name}" has no node "{name}"', self.span,
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
        """Variables that `train` updates (not frozen)."""
        return tuple(v for v in self.variables if v.attrs.get("trainable", True))

    def verify(self) -> None:
        """Check the invariants: topological order, known ops, types that the rules reproduce."""
        seen: set[int] = set()
        for n in self.nodes:
            if n.op not in REGISTRY:
                raise AssertionError(f"{n!r}: unknown op {n.op}")
            for i in n.inputs:
                if i.id not in seen:
                    raise AssertionError(f"{n!r}: input {i!r} is not defined before it")
            if n.op not in SOURCE_OPS:
                t = REGISTRY[n.op].infer(tuple(i.type for i in n.inputs), **n.attrs)
                if (t.dtype, t.shape) != (n.type.dtype, n.type.shape):
                    raise AssertionError(f"{n!r}: the shape rule gives {t}")
            seen.add(n.id)
        for name, n in self.names.items():
            if n.id not in seen:
                raise AssertionError(f"name {name} refers to a node outside the graph")

    def __str__(self) -> str:
        from .printing import format_graph
        return format_graph(self)

    def _repr_svg_(self) -> str:
        from ..tools.render import to_svg
        return to_svg(self)


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
        self.span: Span = graph.span if graph else UNKNOWN
        self.graph_span = self.span
        self.scope = ""
        self.pin: Span | None = None  # when set, every new node gets this span (prelude layers)
        self._named: set[int] = {n.id for n in self.names.values()}
        self._types: dict[TensorType, TensorType] = {}

    # -- the one way to make a node -------------------------------------------------------------
    def add(self, op: str, inputs: Sequence = (), attrs: Mapping | None = None, *,
            span: Span | None = None, scope: str | None = None, name: str | None = None,
            type: TensorType | None = None) -> Node:
        """A new node of `op`, typed by the op's shape rule (ShapeError at `span` on a mismatch).
        Inputs are Nodes or literals (numbers, bools, arrays), which become constants."""
        opdef = REGISTRY[op]
        span = self.pin or span or self.span
        inputs = self._materialize_weak(opdef, list(inputs), span)
        attrs = dict(attrs or {})
        types = tuple(i.type for i in inputs)
        try:
            if opdef.prepare:
                attrs = opdef.prepare(types, **attrs)
            if type is None:
                type = opdef.infer(types, **attrs)
        except OpError as e:
            raise ShapeError(f"{op}: {_operands(opdef, types)}: {e}", span) from None
        # one object per distinct type: most nodes share a few, and fewer objects make the
        # garbage collector's full passes over a large graph cheaper
        type = self._types.setdefault(type, type)
        node = Node(op, tuple(inputs), MappingProxyType(attrs) if attrs else _NO_ATTRS, type, span,
                    self.scope if scope is None else scope, name)
        self.nodes.append(node)
        return node

    def _materialize_weak(self, opdef: OpDef, inputs: list, span: Span) -> list[Node]:
        """Number literals (raw Python numbers, bools or arrays among the inputs) become
        constants; in ops that promote, they take the dtype of the tensors they meet
        (`x * 2` stays f32)."""
        raw = [i for i, x in enumerate(inputs) if not isinstance(x, Node)]
        if not raw:
            return inputs
        weak = {i: weak_type(inputs[i]) for i in raw}
        types = [weak[i] if i in weak else x.type for i, x in enumerate(inputs)]
        target: dict[int, str] = {i: t.dtype for i, t in weak.items()}
        if opdef.promote is not None:
            idx = [i for i in (opdef.promote or range(len(inputs))) if i < len(inputs)]
            group = [types[i] for i in idx]
            dt = promote(*group)
            target.update({i: dt for i in idx if i in weak})
            # a float literal meeting integer tensors gives the default float, but NumPy
            # computes i32 * f32 in f64: the integer tensors are cast first (`i * 2.5`: f32)
            for i in idx:
                if i not in weak and types[i].dtype != dt and \
                        np.promote_types(_np(types[i].dtype), _np(dt)) != _np(dt):
                    inputs[i] = self.add("cast", (inputs[i],), {"dtype": dt}, span=span)
        for i in raw:
            inputs[i] = self.constant(inputs[i], target[i], weak=types[i].weak and all(
                types[j].weak for j in range(len(types))), span=span)
        return inputs

    # -- conveniences ---------------------------------------------------------------------------
    def constant(self, value: Any, dtype: str | None = None, *, weak: bool = False,
                 span: Span | None = None, name: str | None = None) -> Node:
        """A constant node holding a NumPy array (read-only)."""
        arr = np.array(value, dtype=None if dtype is None else np.dtype(_np(dtype)))
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
            raise NameError_(f'"{name}" is already defined', span,
                             notes=((f'"{name}" was first defined here', first.span),))
        if node.name is None and self.nodes and self.nodes[-1] is node \
                and node.id not in self._named:
            # the node was just made for this name and nothing refers to it yet: name it
            node = Node(node.op, node.inputs, node.attrs, node.type, node.span, node.scope, name,
                        node.id)  # not dataclasses.replace: this runs once per named node
            self.nodes[-1] = node
        self.names[name] = node
        self._named.add(node.id)
        return node

    def finish(self) -> Graph:
        """The Graph made so far (nodes in creation order, which is topological)."""
        return Graph(self.name, tuple(self.nodes), MappingProxyType(dict(self.names)),
                     self.graph_span, tuple(self.warnings), tuple(self.dims),
                     MappingProxyType(dict(self.layers)))

    def fail(self, message: str, span: Span | None = None, hint: str | None = None):
        """Raise a located TensorlangError."""
        raise TensorlangError(message, span or self.span, hint=hint)


def weak_type(value) -> TensorType:
    """The type of a literal: bools are strong; ints and floats are weak (i64, f32)."""
    arr = np.asarray(value)
    if arr.dtype == np.bool_:
        return TensorType("bool", arr.shape)
    return TensorType("f32" if arr.dtype.kind == "f" else "i64", arr.shape, True)


def _np(dtype: str):
    from .types import NUMPY
    return NUMPY[dtype]

