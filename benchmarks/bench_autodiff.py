"""Autodiff: forward + backward of a chain of elementwise ops on a [32, 32] f32 tensor through
`Session.run` (the backward graph built once), against straight-line NumPy with a hand-written
backward, in one run; and how big backward graphs are next to their forward graphs (an MLP
784-256-128-10 and a small CNN)."""

from __future__ import annotations

import statistics
import time

import numpy as np

import tensorlang as tl
from tensorlang.ir.traversal import ancestors
from tensorlang.transforms.autodiff import backward

N_OPS = 200
SHAPE = (32, 32)
# (tensorlang, NumPy forward, NumPy backward: g = d loss / d input of the op, from its output's)
CYCLE = (
    ("tanh({y})", "np.tanh({y})", "g = g * (ONE - {out} * {out})"),
    ("sin({y})", "np.sin({y})", "g = g * np.cos({y})"),
    ("{y} * 1.01", "{y} * K_MUL", "g = g * K_MUL"),
    ("{y} + 0.1", "{y} + K_ADD", ""),
)


def chain_program(n_ops: int = N_OPS) -> str:
    """Graph `chain`: y{n} applies n elementwise ops to x; loss = sum(y{n}); dx = grad(loss, x)."""
    lines = ["graph chain {", f"    placeholder x: f32[{SHAPE[0]}, {SHAPE[1]}]", "    y0 = x"]
    for i in range(n_ops):
        lines.append(f"    y{i + 1} = " + CYCLE[i % len(CYCLE)][0].format(y=f"y{i}"))
    lines += [f"    loss = sum(y{n_ops})", "}"]
    return "\n".join(lines) + "\n"


def numpy_source(n_ops: int = N_OPS) -> str:
    """Straight-line NumPy: the forward chain keeping every value, then the backward by hand."""
    lines = ["def forward_backward(x):", "    y0 = x"]
    for i in range(n_ops):
        lines.append(f"    y{i + 1} = " + CYCLE[i % len(CYCLE)][1].format(y=f"y{i}"))
    lines += [f"    loss = y{n_ops}.sum()", "    g = np.ones_like(x)"]
    for i in reversed(range(n_ops)):
        step = CYCLE[i % len(CYCLE)][2].format(y=f"y{i}", out=f"y{i + 1}")
        if step:
            lines.append("    " + step)
    lines.append("    return loss, g")
    return "\n".join(lines) + "\n"


def make_numpy(n_ops: int = N_OPS):
    """The straight-line NumPy forward + backward function."""
    scope = {"np": np, "ONE": np.asarray(1.0, np.float32), "K_MUL": np.asarray(1.01, np.float32),
             "K_ADD": np.asarray(0.1, np.float32)}
    exec(compile(numpy_source(n_ops), "<numpy chain>", "exec"), scope)
    return scope["forward_backward"]


def _time_us(fn, inner: int) -> float:
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner * 1e6


def chain_rows(repeats: int = 30, inner: int = 10) -> list[tuple[str, float, str]]:
    """Session forward+backward of the chain against NumPy, interleaved, medians."""
    graph = tl.compile(chain_program()).graphs["chain"]
    t0 = time.perf_counter()
    bg = backward(graph, "loss", [graph.node("x")])
    build_ms = (time.perf_counter() - t0) * 1e3
    sess = tl.Session(bg)
    fetch = ["loss", "grad(loss)/x"]
    x = np.random.default_rng(0).normal(size=SHAPE).astype(np.float32)
    feed = {"x": x}
    fb = make_numpy()
    loss, dx = sess.run(fetch, feed)
    ref_loss, ref_dx = fb(x)
    assert dx.dtype == np.float32 == ref_dx.dtype
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-4, atol=1e-5)  # the same work, same answer
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-4)
    t_sess, t_np = [], []
    for _ in range(repeats):  # interleaved, so machine noise hits both alike
        t_sess.append(_time_us(lambda: sess.run(fetch, feed), inner))
        t_np.append(_time_us(lambda: fb(x), inner))
    s, n = statistics.median(t_sess), statistics.median(t_np)
    steps = len(sess.plan(fetch).steps)
    return [
        ("chain200_fwd_bwd_session", s, "us"),
        ("chain200_fwd_bwd_numpy", n, "us"),
        ("chain200_ratio_session_to_numpy", s / n, "x"),
        ("chain200_plan_steps", float(steps), "steps"),
        ("chain200_backward_build", build_ms, "ms"),
    ]


MLP = """
graph mlp {
    placeholder x: f32[N, 784]
    placeholder y: i64[N]
    h1     = Dense(x, 256, activation = relu)
    h2     = Dense(h1, 128, activation = relu)
    logits = Dense(h2, 10)
    loss   = mean(softmax_cross_entropy(logits, y))
}
"""

CNN = """
graph cnn {
    placeholder images: f32[N, 1, 28, 28]
    placeholder y: i64[N]
    c      = Conv2D(images, 8, 3, padding = 1, activation = relu)
    p      = max_pool2d(c, 2)
    logits = Dense(flatten(p), 10)
    loss   = mean(softmax_cross_entropy(logits, y))
}
"""


def size_rows(name: str, text: str) -> list[tuple[str, float, str]]:
    """Forward nodes the loss depends on, backward nodes, and their ratio."""
    try:
        graph = next(iter(tl.compile(text).graphs.values()))
    except tl.TensorlangError as e:  # an op family still missing: say so, do not crash
        return [(f"{name}_backward_graph: not compiled ({e.message})", float("nan"), "")]
    bg = backward(graph, "loss")
    fwd = len(ancestors([graph.node("loss")]))
    bwd = sum(1 for n in bg.nodes if n.is_backward)
    return [(f"{name}_forward_nodes", float(fwd), "nodes"),
            (f"{name}_backward_nodes", float(bwd), "nodes"),
            (f"{name}_backward_to_forward", bwd / fwd, "x")]


def run() -> list[tuple[str, float, str]]:
    """Rows (name, value, unit)."""
    return chain_rows() + size_rows("mlp", MLP) + size_rows("cnn", CNN)


if __name__ == "__main__":  # python -m benchmarks autodiff: the same table as make bench
    from benchmarks.__main__ import main

    raise SystemExit(main(["autodiff"]))
