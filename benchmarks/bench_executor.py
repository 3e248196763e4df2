"""Executor overhead: a chain of elementwise ops on a small tensor through `Session.run`, against
the same chain as straight-line NumPy. The difference per op is what the executor costs on top of
the kernels (binding feeds, walking the plan, calling through the op records)."""

from __future__ import annotations

import statistics
import time

import numpy as np

import tensorlang as tl

N_OPS = 200
SHAPE = (32, 32)
# the chain cycles through these; the NumPy reference below spells out the same ones
CYCLE = ("tanh({y})", "{y} * 0.5", "{y} + 0.25", "neg({y})")


def chain_program(n_ops: int = N_OPS) -> str:
    """A graph `chain` whose node `y{n}` applies n elementwise ops to placeholder x."""
    lines = ["graph chain {", f"    placeholder x: f32[{SHAPE[0]}, {SHAPE[1]}]", "    y0 = x"]
    for i in range(n_ops):
        lines.append(f"    y{i + 1} = " + CYCLE[i % len(CYCLE)].format(y=f"y{i}"))
    lines.append("}")
    return "\n".join(lines) + "\n"


def numpy_chain_source(n_ops: int = N_OPS) -> str:
    """The same chain as straight-line NumPy source: one statement per op, no loop, with the
    constants as 0-d float32 arrays (the fastest way NumPy multiplies a float32 array)."""
    spelled = ("np.tanh({y})", "{y} * HALF", "{y} + QUARTER", "np.negative({y})")
    lines = ["def numpy_chain(x):", "    y = x"]
    lines += ["    y = " + spelled[i % len(spelled)].format(y="y") for i in range(n_ops)]
    lines.append("    return y")
    return "\n".join(lines) + "\n"


def make_numpy_chain(n_ops: int = N_OPS):
    """The straight-line NumPy function for the chain."""
    scope = {"np": np, "HALF": np.asarray(0.5, np.float32),
             "QUARTER": np.asarray(0.25, np.float32)}
    exec(compile(numpy_chain_source(n_ops), "<numpy chain>", "exec"), scope)
    return scope["numpy_chain"]


def _median_us(fn, repeats: int, inner: int) -> float:
    """Median over `repeats` timings of `inner` calls, in microseconds per call."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times) * 1e6


def run(repeats: int = 30, inner: int = 20) -> list[tuple[str, float, str]]:
    """Rows (name, value, unit) for the per-op overhead of Session.run against NumPy."""
    graph = tl.compile(chain_program()).graphs["chain"]
    sess = tl.Session(graph, seed=0)
    x = np.random.default_rng(0).normal(size=SHAPE).astype(np.float32)
    numpy_chain = make_numpy_chain()
    fetch = f"y{N_OPS}"
    got = sess.run(fetch, {"x": x})
    np.testing.assert_allclose(got, numpy_chain(x), rtol=1e-6, atol=1e-6)  # same work
    feed = {"x": x}
    # interleave the two so that machine noise hits both alike
    t_sess, t_np = [], []
    for _ in range(repeats):
        t_sess.append(_median_us(lambda: sess.run(fetch, feed), 1, inner))
        t_np.append(_median_us(lambda: numpy_chain(x), 1, inner))
    s, n = statistics.median(t_sess), statistics.median(t_np)
    return [
        ("session_run_chain", s, "us"),
        ("numpy_chain", n, "us"),
        ("session_per_op", s / N_OPS, "us/op"),
        ("numpy_per_op", n / N_OPS, "us/op"),
        ("executor_overhead_per_op", (s - n) / N_OPS, "us/op"),
        ("ratio_session_to_numpy", s / n, "x"),
    ]


if __name__ == "__main__":  # python -m benchmarks executor: the same table as make bench
    from benchmarks.__main__ import main

    raise SystemExit(main(["executor"]))
