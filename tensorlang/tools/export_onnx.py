"""tensorlang graphs as ONNX models (opset 17; `tensorlang export`, the optional extra
`tensorlang[onnx]`). An inference model holds a graph's outputs (default: every node no other
node consumes), its variables as initializers; a training model (`train`) holds the whole
training step of a train block: its inputs are the data placeholders, then every variable the
step updates (parameters and optimizer state) under its own name with its starting value as an
initializer, and its outputs the loss, the reports and `NAME.new` for every such input, so a
loop feeding each `NAME.new` back as `NAME` trains the model in plain onnxruntime. Symbolic dims
become named `dim_param`s; attributes holding them (reshape's shape) are computed from the
inputs' shapes at run time. Each op's ONNX form is one rule in onnx_ops.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from ..errors import ExportError, TensorlangError
from ..files.atomic import write_atomic
from ..ir import dims as D
from ..ir.graph import Graph, Node
from ..ir.traversal import needed
from ..ir.types import np_dtype
from . import onnx_nn, onnx_ops

OPSET = 17
RULES = {**onnx_ops.RULES, **onnx_nn.RULES}  # op -> its ONNX rule
SOURCES = ("placeholder", "variable", "constant", "random_key")


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ExportError('tensorlang export needs the "onnx" package, which is not installed',
                          hint="install it with: pip install 'tensorlang[onnx]'") from None
    return onnx


class Emitter:
    """The ONNX nodes and initializers of one model as the rules add them."""

    def __init__(self, onnx):
        self.onnx, self.helper = onnx, onnx.helper
        self.nodes: list = []
        self.initializers: list = []
        self.dim_sources: dict[str, tuple[str, int]] = {}  # symbol -> (input name, axis)
        self._count = 0
        self._shapes: dict[str, str] = {}

    def fresh(self, base: str) -> str:
        """A new value name (leading underscore: never one of the graph's own names)."""
        self._count += 1
        return f"_{base}_{self._count}"

    def op(self, kind: str, inputs: Sequence[str], **attrs) -> str:
        """Add an ONNX node with one output; returns the output's name."""
        out = self.fresh(kind.lower())
        self.nodes.append(self.helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def ops(self, kind: str, inputs: Sequence[str], n: int, **attrs) -> list[str]:
        """Add an ONNX node with n outputs; returns their names."""
        outs = [self.fresh(kind.lower()) for _ in range(n)]
        self.nodes.append(self.helper.make_node(kind, list(inputs), outs, **attrs))
        return outs

    def const(self, value, name: str | None = None) -> str:
        """An initializer holding value."""
        name = name or self.fresh("c")
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    def cast(self, x: str, src: str | None, dst: str, always: bool = False) -> str:
        """x as dtype dst (a Cast node unless it already is; src None: unknown, always cast)."""
        if src == dst and not always:
            return x
        return self.op("Cast", [x], to=elem_type(self.onnx, dst))

    def dims(self, shape) -> str:
        """A 1-D int64 tensor of a shape's sizes, symbolic dims read from the inputs' shapes."""
        if all(isinstance(d, int) for d in shape):
            return self.const(np.asarray(shape, np.int64))
        parts = [self.const(np.asarray([d], np.int64)) if isinstance(d, int) else self._dim(d)
                 for d in shape]
        return self.op("Concat", parts, axis=0)

    def _dim(self, d) -> str:
        """A symbolic dim (a polynomial over the inputs' named dims, `T - 1`) as a 1-element
        int64 tensor computed from the inputs' shapes."""
        total = None
        for monomial, coefficient in d.terms:
            term = self.const(np.asarray([coefficient], np.int64))
            for name in monomial:
                term = self.op("Mul", [term, self._named(name, d)])
            total = term if total is None else self.op("Add", [total, term])
        return total

    def _named(self, name: str, d) -> str:
        if name not in self.dim_sources:
            raise TensorlangError(f"dim {D.dim_str(d)} has no ONNX form (only dims that an "
                                  "input has are)")
        source, axis = self.dim_sources[name]
        if source not in self._shapes:
            self._shapes[source] = self.op("Shape", [source])
        return self.op("Gather", [self._shapes[source], self.const(np.asarray([axis], np.int64))])


def elem_type(onnx, dtype: str) -> int:
    """The ONNX element type of a tensorlang dtype."""
    return onnx.helper.np_dtype_to_tensor_dtype(np_dtype(dtype))


def value_info(onnx, name: str, node: Node):
    """An input's or output's type, symbolic dims as named dim_params."""
    shape = [d if isinstance(d, int) else D.dim_str(d) for d in node.type.shape]
    return onnx.helper.make_tensor_value_info(name, elem_type(onnx, node.dtype), shape)


class Outputs(NamedTuple):
    """The values a model returns: (name in the model, node), in order."""

    items: list[tuple[str, Node]]


def default_outputs(graph: Graph) -> list[Node]:
    """Every node no other node consumes (sources aside)."""
    used = {i.id for n in graph.nodes for i in n.inputs}
    return [n for n in graph.nodes if n.id not in used and n.op not in SOURCES]


def inference_model(graph: Graph, variables: Mapping[str, np.ndarray],
                    outputs: Sequence[str] | None = None):
    """The ONNX model of a graph's outputs (names, or the default ones)."""
    fetch = [graph.node(n) for n in outputs] if outputs else default_outputs(graph)
    items = [(n.name or f"{n.op}_{n.id}", n) for n in fetch]
    return build(graph.name, Outputs(items), variables, trained=(),
                 placeholders=graph.placeholders)


def _with_sizes(nodes: list[Node], placeholders: Sequence[Node]) -> list[Node]:
    """The nodes, after the placeholders they do not read but whose dims they need (a gradient
    such as broadcast_to(1, [N, 3]) needs N, not x)."""
    have = {s for n in nodes if n.op == "placeholder" for s in D.symbols(n.type.shape)}
    want = D.symbols([d for n in nodes for d in n.type.shape]) - have
    extra = [p for p in placeholders if p not in nodes and D.symbols(p.type.shape) & want]
    return extra + nodes


def build(name: str, outputs: Outputs, values: Mapping[str, np.ndarray], trained=(),
          placeholders: Sequence[Node] = ()):
    """The checked ONNX model of the nodes the outputs need; variables named in `trained` are
    inputs (with their values as initializers), the others initializers only; `placeholders`
    are the graph's, inputs too where only their sizes are needed."""
    onnx = _onnx()
    e = Emitter(onnx)
    names: dict[int, str] = {}
    inputs = []
    for n in _with_sizes(needed([node for _, node in outputs.items]), placeholders):
        if n.op == "placeholder":
            names[n.id] = n.name
            inputs.append(value_info(onnx, n.name, n))
            for axis, d in enumerate(n.type.shape):
                if not isinstance(d, int) and len(d.symbols) == 1:
                    e.dim_sources.setdefault(D.dim_str(d), (n.name, axis))
        elif n.op == "variable":
            names[n.id] = e.const(np.asarray(values[n.name], np_dtype(n.dtype)), n.name)
            if n.name in trained:
                inputs.append(value_info(onnx, n.name, n))
        elif n.op == "constant":
            names[n.id] = e.const(np.asarray(n.attrs["value"], np_dtype(n.dtype)))
        elif n.op != "random_key":
            names[n.id] = _emit(e, n, [names.get(i.id, "") for i in n.inputs])
    out_infos = []
    for label, node in outputs.items:
        e.nodes.append(onnx.helper.make_node("Identity", [names[node.id]], [label]))
        out_infos.append(value_info(onnx, label, node))
    graph = onnx.helper.make_graph(e.nodes, name, inputs, out_infos, e.initializers)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                   producer_name="tensorlang")
    onnx.checker.check_model(model, full_check=True)
    return model


def _emit(e: Emitter, node: Node, ins: list[str]) -> str:
    rule = RULES.get(node.op)
    if rule is None:
        raise ExportError(f'op "{node.op}" has no ONNX form', node.span,
                          hint="tensorlang export writes the ops that tools/onnx_ops.py and "
                          "onnx_nn.py have rules for")
    try:
        return rule(e, node, ins)
    except TensorlangError as err:
        raise ExportError(f'op "{node.op}": {err.message}', node.span) from None


def write(model, path: str) -> None:
    """Write the model to path atomically (never a half-written .onnx)."""
    write_atomic(path, model.SerializeToString())


def training_model(program, spec, base):
    """The ONNX model of a train block's whole step, its starting values those of the session
    `base` (the graph's variables) and the optimizer state it starts with."""
    from ..runtime.session import Session
    from ..transforms.optimizers import train_graph
    from ..transforms.passes import optimize_map
    tgraph, updates = train_graph(program.training_graph(spec.graph), spec)
    tgraph, moved = optimize_map(tgraph, keep=updates.values())  # as training runs it
    updates = {k: moved[v.id] for k, v in updates.items()}
    sess = base.extend(tgraph) if isinstance(base, Session) else base
    reported = list(dict.fromkeys((spec.minimize, *spec.report)))
    items = [(k, tgraph.node(k)) for k in reported] + [(f"{k}.new", v) for k, v in updates.items()]
    values = {v.name: np.asarray(sess.variables[v.name]) for v in tgraph.variables}
    return build(f"{spec.graph}.train", Outputs(items), values, trained=set(updates),
                 placeholders=tgraph.placeholders)
