"""How cost grows with work: the MLP training step (784-H-H-10, SGD) at batch sizes 16..4096
(H = 256) and hidden sizes 64..2048 (batch 128), through tensorlang's compiled step and hand
NumPy (bench_train's NumpyMLP, generalized), side by side in one run; at each point the ratio,
and the achieved GFLOP/s of both next to plain GEMMs of the same sizes (the step's eight matrix
products alone: the machine's limit for this workload). Draws docs/scaling.png (matplotlib, when
installed). BLAS at BENCH_THREADS threads (default 1), CPU time (see bench_train)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from . import bench_train as B

ROOT = Path(__file__).resolve().parents[1]
PNG = ROOT / "docs" / "scaling.png"
BATCHES = (16, 64, 256, 1024, 4096)
HIDDENS = (64, 256, 1024, 2048)
IN, OUT = 784, 10

MLP = """
graph mlp {
    placeholder x: f32[N, 784]
    placeholder y: i64[N]
    h1     = Dense(x, %(h)d, activation = relu)
    h2     = Dense(h1, %(h)d, activation = relu)
    logits = Dense(h2, 10)
    loss   = mean(softmax_cross_entropy(logits, y))
}
data d {
    x = [[0.0]]
    y = [0]
}
train mlp {
    data      = d
    minimize  = loss
    optimizer = sgd(lr = %(lr)s)
}
"""


def step_flops(n: int, h: int) -> int:
    """Multiply-adds x 2 of the step's matrix products: 3 forward, 5 backward (no dx)."""
    fwd = IN * h + h * h + h * OUT
    return 2 * n * (fwd + 2 * (h * h + h * OUT) + IN * h)


def gemms(n: int, h: int):
    """The step's eight matrix products as plain np.matmul calls on arrays of their sizes."""
    rng = np.random.default_rng(0)

    def m(*shape):
        return rng.normal(size=shape).astype(np.float32)
    x, w1, w2, w3 = m(n, IN), m(IN, h), m(h, h), m(h, OUT)
    a1, a2, d3 = m(n, h), m(n, h), m(n, OUT)

    def run():
        x @ w1, a1 @ w2, a2 @ w3                    # forward
        a2.T @ d3, d3 @ w3.T, a1.T @ a2, a2 @ w2.T   # backward through layers 3 and 2
        x.T @ a1                                     # layer 1's kernel gradient
    return run


def point(n: int, h: int, repeats: int) -> dict:
    """Milliseconds (CPU) of tensorlang, hand NumPy and the GEMMs at batch n, hidden h."""
    sess, step = B.compiled_step(MLP.replace("%(h)d", str(h)))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, IN)).astype(np.float32)
    y = rng.integers(0, OUT, size=n)
    hand = B.NumpyMLP(B.params(sess, B.MLP_NAMES))
    feed = {"x": x, "y": y}
    B._check_step(step, feed, lambda: (hand.step(x, y), [hand.W1, hand.b1, hand.W2, hand.b2,
                                                         hand.W3, hand.b3])[1], B.MLP_NAMES,
                  sess)
    inner = max(1, int(2e8 // step_flops(n, h)))  # about 20 ms a timing at 10 GFLOP/s
    ms = B.interleaved({"tensorlang": lambda: step(feed, 1, 1), "numpy": lambda: hand.step(x, y),
                        "gemm": gemms(n, h)}, repeats, inner)
    return {k: c for k, (_, c) in ms.items()}


def sweep(repeats: int = 6) -> list[tuple[str, int, int, dict]]:
    """(which sweep, batch, hidden, ms) for every point of both sweeps."""
    out = [("batch", n, 256, point(n, 256, repeats)) for n in BATCHES]
    out += [("hidden", 128, h, point(128, h, repeats)) for h in HIDDENS]
    return out


def rows_of(points) -> list[tuple[str, float, str]]:
    """Ratio to NumPy and GFLOP/s of each contender at every point."""
    rows = []
    for _, n, h, ms in points:
        at = f"scaling_b{n}_h{h}"
        flops = step_flops(n, h)
        rows.append((f"{at}_ratio_to_numpy_cpu", ms["tensorlang"] / ms["numpy"], "x cpu"))
        rows += [(f"{at}_{k}_gflops", flops / ms[k] / 1e6, "GFLOP/s") for k in ms]
    return rows


def draw(points, path: Path = PNG) -> bool:
    """The two sweeps as a PNG: ratios on top, GFLOP/s below. False without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tensorlang.files.atomic import write_atomic
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex="col")
    for col, (which, label) in enumerate((("batch", "batch (hidden 256)"),
                                          ("hidden", "hidden size (batch 128)"))):
        pts = [p for p in points if p[0] == which]
        xs = [p[1] if which == "batch" else p[2] for p in pts]
        top, low = axes[0][col], axes[1][col]
        top.plot(xs, [p[3]["tensorlang"] / p[3]["numpy"] for p in pts], "o-",
                 label="tensorlang / hand NumPy")
        top.axhline(1.0, color="gray", lw=0.8)
        top.set_ylabel("step time ratio")
        top.legend()
        for k, style in (("gemm", "k--"), ("numpy", "s-"), ("tensorlang", "o-")):
            low.plot(xs, [step_flops(p[1], p[2]) / p[3][k] / 1e6 for p in pts], style,
                     label="plain GEMMs" if k == "gemm" else k)
        low.set_ylabel("GFLOP/s")
        low.set_xlabel(label)
        low.set_xscale("log", base=2)
        low.legend()
    fig.suptitle(f"MLP 784-H-H-10 training step, BLAS at {B.THREADS} thread(s), CPU time")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    write_atomic(str(path), buf.getvalue())
    return True


def run(repeats: int = 6) -> list[tuple[str, float, str]]:
    """Rows (name, value, unit), and docs/scaling.png."""
    limiter = B._limit_blas()
    try:
        points = sweep(repeats)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    rows = rows_of(points)
    drawn = draw(points)
    rows.append(("scaling_png", str(PNG.relative_to(ROOT)) if drawn else "no matplotlib", ""))
    return rows


if __name__ == "__main__":  # python -m benchmarks scaling: the same table as make bench
    from benchmarks.__main__ import main

    raise SystemExit(main(["scaling"]))
