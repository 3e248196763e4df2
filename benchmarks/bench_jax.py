"""The JAX engine beside the NumPy engine and PyTorch eager, in one process: the MLP
784-256-128-10 train step (batch 128, SGD) and the LeNet-style CNN train step (batch 64) of
bench_train, MLP inference at batch 1 and 1024, and the jit compile time of each (the first
call of a plan: tracing plus XLA). `python -m benchmarks.bench_jax` runs it alone; without jax
installed its rows say so.

XLA's CPU thread pool is held to one thread like BLAS in bench_train (BENCH_THREADS=1, set
through XLA_FLAGS before jax starts), so the ratios compare engines, not core counts. A step
includes what `tensorlang run` does around it: the finite checks of the loss and the updates,
which bring a JAX step's values to the host."""

from __future__ import annotations

import importlib.util
import os
import sys
import time

import numpy as np

from . import bench_train as BT


def _one_thread() -> None:
    """XLA's CPU pool held to one thread, as BLAS is (only before jax starts)."""
    if BT.THREADS == 1 and "jax" not in sys.modules:
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                           "intra_op_parallelism_threads=1")


def _step(text: str, engine: str):
    """(session, training step) of bench_train's program on an engine."""
    import tensorlang as tl
    from tensorlang.training.train import TrainingStep, train_graph
    from tensorlang.transforms.passes import optimize_map
    program = tl.compile(text % {"lr": BT.LR})
    spec = program.runs[0]
    sess = tl.Session(program.graphs[spec.graph], seed=0, engine=engine)
    tgraph, updates = train_graph(sess.graph, spec)
    tgraph, moved = optimize_map(tgraph, keep=updates.values())
    updates = {k: moved[v.id] for k, v in updates.items()}
    return sess, TrainingStep(sess.extend(tgraph), spec, updates, False)


def _first(fn) -> float:
    """Milliseconds of one call (the jit compile, for a plan's first call)."""
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1e3


def _train_rows(torch, name: str, text: str, x, y, names, make_torch, repeats: int, inner: int):
    (ns, nstep), (js, jstep) = _step(text, "numpy"), _step(text, "jax")
    feed = {"x": x, "y": y}
    rows = [(f"{name}_jit_compile", _first(lambda: jstep(feed, 1, 1)), "ms")]
    nstep(feed, 1, 1)  # the same first step on both: the same parameters after it
    for n in names:
        np.testing.assert_allclose(np.asarray(js.variables[n]), ns.variables[n], rtol=2e-3,
                                   atol=2e-5)
    fns = {"jax": lambda: jstep(feed, 1, 1), "numpy": lambda: nstep(feed, 1, 1)}
    if torch is not None:
        tm, topt = make_torch(torch, BT.params(ns, names))
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        fns["torch"] = lambda: BT.torch_step(torch, tm, topt, tx, ty)
    return rows + BT.rows_for(name, BT.interleaved(fns, repeats, inner), ours="jax"), ns, js


def _infer_rows(torch, ns, js, repeats: int) -> list[tuple[str, float, str]]:
    rng = np.random.default_rng(2)
    rows = []
    for n in BT.MLP_NAMES:  # the same parameters (the timed steps drift apart in f32 rounding)
        js.assign(n, ns.variables[n])
    tm = BT.torch_mlp(torch, BT.params(ns, BT.MLP_NAMES))[0] if torch is not None else None
    for batch, inner in ((1, 100), (1024, 3)):
        feed = {"x": rng.normal(size=(batch, 784)).astype(np.float32)}
        jplan, nplan = js.plan(["logits"]), ns.plan(["logits"])
        rows.append((f"mlp_infer_b{batch}_jit_compile",
                     _first(lambda p=jplan, f=feed: np.asarray(js.execute(p, f)[0])), "ms"))
        np.testing.assert_allclose(js.run("logits", feed), ns.run("logits", feed), rtol=1e-3,
                                   atol=1e-4)
        fns = {"jax": lambda p=jplan, f=feed: np.asarray(js.execute(p, f)[0]),
               "numpy": lambda p=nplan, f=feed: ns.execute(p, f)}
        if tm is not None:
            tx = torch.from_numpy(feed["x"])

            def infer(tx=tx):
                with torch.no_grad():
                    return tm(tx)
            fns["torch"] = infer
        rows += BT.rows_for(f"mlp_infer_b{batch}", BT.interleaved(fns, repeats, inner), ours="jax")
    return rows


def run(repeats: int = 12) -> list[tuple[str, float, str]]:
    """Rows (name, value, unit)."""
    if importlib.util.find_spec("jax") is None:
        return [("jax", "absent", "pip install 'tensorlang[jax]' to compare")]
    _one_thread()
    import jax
    limiter = BT._limit_blas()
    torch = BT._torch()
    rng = np.random.default_rng(0)
    try:
        x, y = rng.normal(size=(128, 784)).astype(np.float32), rng.integers(0, 10, size=128)
        rows, ns, js = _train_rows(torch, "mlp_step_b128", BT.MLP, x, y, BT.MLP_NAMES,
                                   BT.torch_mlp, repeats, 10)
        rows += _infer_rows(torch, ns, js, repeats)
        x = rng.normal(size=(64, 1, 28, 28)).astype(np.float32)
        y = rng.integers(0, 10, size=64)
        rows += _train_rows(torch, "cnn_step_b64", BT.CNN, x, y, BT.CNN_NAMES, BT.torch_cnn,
                            repeats, 3)[0]
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    rows.append(("jax_version", jax.__version__, f"devices: {jax.devices()[0].platform}"))
    return rows


if __name__ == "__main__":
    for name, value, unit in run():
        shown = f"{value:10.3f}" if isinstance(value, float) else f"{value:>10}"
        print(f"{name:<40} {shown}  {unit}")
