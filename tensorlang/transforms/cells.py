"""A scan's cell made whole: its one-step graph and, built here by autodiff, the graph of its
vector-Jacobian product (what a scan's gradient runs backwards through time)."""

from __future__ import annotations

from ..errors import TensorlangError
from ..ir.cell import Cell
from ..ir.graph import Builder, Graph, Node
from ..ir.types import is_float
from .autodiff import gradients


def make_cell(layer: str, forward: Graph, x: Node, h: Node, variables: tuple[Node, ...],
              out: Node, key: Node | None) -> Cell:
    """The Cell of a one-step graph; without a gradient (and why) when it cannot be built."""
    if not is_float(out.dtype):
        return Cell(layer, forward, x, h, variables, out, key,
                    no_gradient=f"the cell returns {out.dtype} values, which have no gradient")
    b = Builder(forward.name + " backward", forward)
    u = b.add("placeholder", (), {"default": None}, type=out.type, name="u")
    y = b.op("sum_to", b.op("multiply", out, u), shape=())
    try:
        grads = gradients(b, y, [x, h, *variables], warn_name=lambda n: n.name or n.op)
    except TensorlangError as e:
        return Cell(layer, forward, x, h, variables, out, key, no_gradient=e.message)
    return Cell(layer, forward, x, h, variables, out, key, b.finish(), u, tuple(grads))
