"""A scan's cell: the one-step graph of a layer `Cell(x: [N, D], h: [N, H])` and the graph of
its vector-Jacobian product, held by a `scan` node's `cell` attribute. The scan node's inputs
are (xs, h0, the cell's variables in order, and the random key when the cell draws); the cell
graph's sources are placeholders `x` and `h` and those variables, matched by position."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..records import record
from . import dims as D
from .constant import run

if TYPE_CHECKING:
    from .graph import Graph, Node

STEP_KEY = 1_000_003  # step t of a scan draws with key + STEP_KEY * (t + 1)


@record(eq=False)
class Cell:
    """The forward graph of one step (x, h, variables -> out), and its backward graph (x, h,
    variables, u -> the gradients u^T d out / d(x, h, variables)) or why there is none."""

    layer: str
    forward: Graph
    x: Node
    h: Node
    variables: tuple[Node, ...]
    out: Node
    key: Node | None
    backward: Graph | None = None
    u: Node | None = None
    grads: tuple[Node, ...] = ()  # d x, d h, then one per variable
    no_gradient: str | None = None

    def __str__(self) -> str:
        return f"cell({self.layer}, {len(self.forward.nodes)} nodes)"

    def env(self, x_shape, h_shape) -> dict[str, int]:
        """Concrete sizes of the cell's symbolic dims, read off the step's x and h."""
        env: dict[str, int] = {}
        for node, shape in ((self.x, x_shape), (self.h, h_shape)):
            for d, n in zip(node.type.shape, shape):
                if isinstance(d, D.Dim) and len(d.symbols) == 1 and \
                        d == D.Dim.sym(next(iter(d.symbols))):
                    env[next(iter(d.symbols))] = int(n)
        return env

    def step(self, x, h, variables, key, env) -> object:
        """h after one step: the forward graph on this step's x and h."""
        values = self._sources(x, h, variables, key)
        return run(self.forward.nodes, values, env)[self.out.id]

    def vjp(self, x, h, variables, key, u, env) -> list:
        """The gradients of u . out with respect to x, h and each variable, for one step."""
        values = self._sources(x, h, variables, key)
        values[self.u.id] = u
        values = run(self.backward.nodes, values, env)
        return [values[g.id] for g in self.grads]

    def _sources(self, x, h, variables, key) -> dict:
        values = {self.x.id: x, self.h.id: h}
        values.update({v.id: a for v, a in zip(self.variables, variables)})
        if self.key is not None:
            values[self.key.id] = key
        return values
