"""The one text form of a Graph (like a jaxpr): deterministic names, types, attributes and the
source line of every node. Used by `tensorlang ir`, by `check`'s table, by errors and by golden
tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import dims as D

if TYPE_CHECKING:
    from .graph import Graph, Node


class Namer:
    """Deterministic names: a node's user name, else `%k` numbered in graph order."""

    def __init__(self, graph: Graph):
        self.names: dict[int, str] = {}
        given: dict[int, str] = {}
        for name, n in graph.names.items():
            given.setdefault(n.id, name)
        k = 0
        for n in graph.nodes:
            if n.name or n.id in given:
                self.names[n.id] = n.name or given[n.id]
            else:
                self.names[n.id] = f"%{k}"
                k += 1

    def __call__(self, n: Node) -> str:
        return self.names.get(n.id, f"%?{n.id}")


def format_attr(v) -> str:
    """An attribute value as the language would write it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, D.Dim):
        return D.dim_str(v)
    if isinstance(v, tuple):
        return "[" + ", ".join(format_attr(x) for x in v) + "]"
    if isinstance(v, np.ndarray):
        if v.size <= 8:
            return np.array2string(v, separator=", ", threshold=8).replace("\n", "")
        return f"<{v.dtype}{list(v.shape)}>"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return f'"{v}"'
    if v is None:
        return "none"
    return str(v)


def format_init(init: tuple) -> str:
    """`glorot_uniform()`, `normal(mean = 0.0, std = 0.1)`, or a literal."""
    kind, arg = init
    if kind == "literal":
        return format_attr(np.asarray(arg))
    return f"{kind}(" + ", ".join(f"{k} = {format_attr(v)}" for k, v in arg) + ")"


def format_node(n: Node, name: Namer, file: str | None = None) -> str:
    """One line: `h: f32[N, 4] = tanh %4    # line 7 [h]`."""
    t = str(n.type)
    if n.op == "placeholder":
        rhs = "placeholder" + (f" = {format_attr(n.attrs['default'])}"
                               if n.attrs.get("default") is not None else "")
    elif n.op == "variable":
        kind = variable_kind(n)
        rhs = f"variable {format_init(n.attrs['init'])}" + (
            "" if kind == "trainable" else f" {kind}")
    elif n.op == "constant":
        rhs = f"constant {format_attr(n.attrs['value'])}"
    else:
        args = " ".join(name(i) for i in n.inputs)
        attrs = " ".join(f"{k}={format_attr(v)}" for k, v in n.attrs.items())
        rhs = " ".join(p for p in (n.op, args, attrs) if p)
    where = ""
    if n.span.line:
        where = f"line {n.span.line}" if n.span.file == file else \
            f"{n.span.file}:{n.span.line}"
    scope = f"[{n.scope}]" if n.scope else ""
    tail = " ".join(p for p in (where, scope) if p)
    line = f"{name(n)}: {t} = {rhs}"
    return f"{line:<60}  # {tail}" if tail else line


def format_graph(graph: Graph, nodes=None, backward: bool = True) -> str:
    """The whole graph, one node a line, inputs before their users."""
    name = Namer(graph)
    lines = [f"graph {graph.name} {{"]
    for n in nodes if nodes is not None else graph.nodes:
        if not backward and n.is_backward:
            continue
        lines.append("    " + format_node(n, name, graph.span.file))
        cell = n.attrs.get("cell")
        if hasattr(cell, "forward"):  # a scan: its step's graph, once, under it
            lines += ["        " + line for line in format_cell(cell, graph.span.file)]
    lines += [f"    update {var} = {name(node)}" for var, node in graph.updates.items()]
    lines.append("}")
    return "\n".join(lines)


def format_cell(cell, file: str | None = None) -> list[str]:
    """A scan's cell as lines: its inputs x and h, its nodes, and what it returns."""
    name = Namer(cell.forward)
    head = f"cell {cell.layer}({name(cell.x)}: {cell.x.type}, {name(cell.h)}: {cell.h.type}) {{"
    body = ["    " + format_node(m, name, file) for m in cell.forward.nodes
            if m is not cell.x and m is not cell.h]
    return [head, *body, f"    return {name(cell.out)}", "}"]


def param_count(graph: Graph, scope: str | None = None, trainable: bool | None = None,
                kind: str | None = None) -> int:
    """Number of variable elements (in a scope, or all), of one kind ("trainable", "frozen",
    "state") or every kind; `trainable=True/False` is kind "trainable" / the other two."""
    total = 0
    for v in graph.variables:
        if scope is not None and not (v.name.startswith(scope + ".")):
            continue
        if trainable is not None and v.attrs.get("trainable", True) != trainable:
            continue
        if kind is not None and variable_kind(v) != kind:
            continue
        total += int(D.volume(v.type.shape))
    return total


def variable_kind(v: Node) -> str:
    """ "trainable", "frozen" or "state" (changed only by `update`)."""
    if v.attrs.get("state", False):
        return "state"
    return "trainable" if v.attrs.get("trainable", True) else "frozen"


def outputs(graph: Graph) -> list[Node]:
    """Named nodes that no other forward node uses: what a graph computes."""
    used = {i.id for n in graph.nodes if not n.is_backward for i in n.inputs}
    return [n for n in graph.nodes if n.name and n.id not in used
            and not n.is_source]
