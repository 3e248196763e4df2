"""Compile speed: parse + lower + infer of generated programs of about 1k, 10k and 100k nodes
(a few Dense layers, then a long chain and wide sums of elementwise ops), split into parse and
lowering, with the time per node; the time per node should stay flat as programs grow.
Times are CPU seconds of this process (compiling is single-threaded, so on an idle machine they
equal wall time; on a busy one they are much steadier). Run `python -m benchmarks compile`
for a table."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

WIDTH = 20  # terms of each wide sum: 19 add nodes a line
SIZES = (1_000, 10_000, 100_000)


def program(nodes: int) -> str:
    """A one-graph program of about `nodes` nodes: half a chain (4 nodes a line:
    `c = tanh(p) * 0.5 + p`), half wide sums over the chain's values."""
    lines = ["graph big {", "    placeholder x: f32[N, 16]",
             "    h1 = Dense(x, 16, activation = relu)",
             "    h2 = Dense(h1, 16, activation = tanh)",
             "    c0 = Dense(h2, 16)"]
    chain = max(1, nodes // 8)
    for i in range(1, chain + 1):
        lines.append(f"    c{i} = tanh(c{i - 1}) * 0.5 + c{i - 1}")
    for j in range(max(1, nodes // 2 // (WIDTH - 1))):
        terms = " + ".join(f"c{(j * 7 + k * 13) % (chain + 1)}" for k in range(WIDTH))
        lines.append(f"    s{j} = {terms}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def measure(nodes: int, repeats: int) -> dict:
    """Median seconds of parse, lowering (with shape inference) and both, and the node count."""
    from tensorlang.compiler.program import _gc_paused, compile_syntax
    from tensorlang.frontend.parser import parse

    text = program(nodes)
    parse_t, lower_t, count = [], [], 0
    for _ in range(repeats):
        with _gc_paused():  # as tensorlang.compile does
            t0 = time.process_time()
            tree = parse(text, "big.tl")
            t1 = time.process_time()
            prog = compile_syntax(tree, "big.tl")
            t2 = time.process_time()
        parse_t.append(t1 - t0)
        lower_t.append(t2 - t1)
        count = len(prog.graphs["big"].nodes)
        del prog, tree
    p, low = statistics.median(parse_t), statistics.median(lower_t)
    return {"nodes": count, "parse": p, "lower": low, "total": p + low}


def run() -> list[tuple[str, float, str]]:
    """Rows (name, value, unit) for each program size."""
    from tensorlang.frontend.parser import parse
    parse("let a = 1\n")  # the grammar is loaded before the clock starts
    rows = []
    for size in SIZES:
        m = measure(size, repeats=3 if size <= 10_000 else 1)
        tag = f"{size // 1000}k"
        rows += [
            (f"nodes_{tag}", float(m["nodes"]), "nodes"),
            (f"compile_{tag}_total", m["total"], "s"),
            (f"compile_{tag}_parse", m["parse"], "s"),
            (f"compile_{tag}_lower_infer", m["lower"], "s"),
            (f"compile_{tag}_per_node", m["total"] / m["nodes"] * 1e3, "ms/node"),
            (f"lower_{tag}_per_node", m["lower"] / m["nodes"] * 1e3, "ms/node"),
        ]
    return rows


if __name__ == "__main__":  # python -m benchmarks compile: the same table as make bench
    from benchmarks.__main__ import main

    raise SystemExit(main(["compile"]))
