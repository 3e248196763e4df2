"""Rendering cost: the forward+backward graph of the MNIST CNN (examples/mnist_cnn.tl) drawn in
full and with --collapse (DOT text, then SVG through the system `dot`), with the node counts that
make the difference; plus a 100-layer Dense stack, where --collapse matters most."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from tensorlang.compiler import program as P
from tensorlang.tools.cli.common import with_gradient as training_graph
from tensorlang.tools.render import pipe, to_dot
from tensorlang.tools.render_layout import layout

ROOT = Path(__file__).resolve().parents[1]
CNN = ROOT / "examples" / "mnist_cnn.tl"
DEEP_LAYERS = 100


def deep_program(layers: int = DEEP_LAYERS) -> str:
    """A stack of `layers` Dense layers of width 8 with an mse loss and a train block."""
    body = "\n".join(f"    l{k} = Dense(l{k - 1}, 8, activation = relu)" for k in range(1, layers))
    return f"""graph deep {{
    placeholder x: f32[N, 8]
    placeholder y: f32[N, 8]
    l0 = Dense(x, 8, activation = relu)
{body}
    loss = mse(l{layers - 1}, y)
}}
data d {{
    x = [[0, 0, 0, 0, 0, 0, 0, 0]]
    y = [[0, 0, 0, 0, 0, 0, 0, 0]]
}}
train deep {{
    data = d
    minimize = loss
    optimizer = sgd(lr = 0.1)
}}
"""


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def _rows(tag: str, graph, repeats: int) -> list[tuple[str, float, str]]:
    rows = []
    for collapse in (False, True):
        name = f"{tag}{' --collapse' if collapse else ''}"
        d = layout(graph, collapse=collapse, legend=False)
        rows.append((f"{name}: drawn nodes", len(d.nodes), "nodes"))
        rows.append((f"{name}: drawn edges", len(d.edges), "edges"))
        dot = to_dot(graph, collapse=collapse)
        rows.append((f"{name}: to_dot", _median_ms(lambda c=collapse: to_dot(graph, collapse=c),
                                                   repeats), "ms"))
        rows.append((f"{name}: dot -Tsvg", _median_ms(lambda s=dot: pipe(s, "svg"),
                                                      max(1, repeats // 3)), "ms"))
    return rows


def run(repeats: int = 6) -> list[tuple[str, float, str]]:
    """Rows (name, value, unit): node counts and render times, full and collapsed."""
    prog = P.load(str(CNN))
    graph = prog.graphs["cnn"]
    full = training_graph(prog, graph)
    rows = [("cnn forward+backward: graph nodes", len(full.nodes), "nodes")]
    rows += _rows("cnn forward+backward", full, repeats)
    deep = P.compile(deep_program(), "deep.tl")
    dfull = training_graph(deep, deep.graphs["deep"])
    rows.append((f"{DEEP_LAYERS} Dense forward+backward: graph nodes", len(dfull.nodes),
                 "nodes"))
    rows += _rows(f"{DEEP_LAYERS} Dense forward+backward", dfull, max(1, repeats // 3))
    return rows


if __name__ == "__main__":  # python -m benchmarks render: the same table as make bench
    from benchmarks.__main__ import main

    raise SystemExit(main(["render"]))
