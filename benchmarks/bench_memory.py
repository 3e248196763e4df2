"""Peak memory of one MNIST MLP epoch on the full 60,000 training images through `tensorlang run
examples/mnist_mlp.tl --epochs 1` (the test set validated and evaluated too), as the maximum
resident set size of a fresh process, next to the same process after only loading the data (the
IDX arrays: about 55 MB of uint8 images) and after only importing tensorlang. The difference
between the last two is what training itself holds: parameters, optimizer state, the batch's
buffers (reused by the plan) and evaluation batches.

MNIST is looked for where the tests look: $TENSORLANG_MNIST, else shared/data/mnist beside the
repository; without it the rows say so instead of measuring.

And memory known before running: the peak that `tensorlang check --batch` predicts for one
training step (runtime/memory.py) next to the peak tracemalloc measures of NumPy's allocations
during that step, for the benchmarks' MLP (784-256-128-10, b128) and LeNet-style CNN (b64), Keras's
convnet (b128) and the LSTM example (b32, T = 40)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

# each runs in a fresh interpreter and prints its own peak RSS (KiB on Linux) last
IMPORT_ONLY = "import tensorlang"
LOAD_ONLY = """
import tensorlang as tl
from tensorlang.training.context import Context
program = tl.load({path!r}, overrides={{"mnist": {mnist!r}}})
ctx = Context(program, quiet=True)
for spec in program.runs:
    ctx.data(spec.data)
    if spec.validate:
        ctx.data(spec.validate)
"""
EPOCH = """
import sys
from tensorlang.tools.cli import main
code = main(["run", {path!r}, "--epochs", "1", "--quiet", "--set", "mnist=" + {mnist!r}])
if code:
    sys.exit(code)
"""
PEAK = "\nimport resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"


def mnist_dir() -> Path | None:
    """The MNIST folder, or None when it is not there."""
    env = os.environ.get("TENSORLANG_MNIST")
    where = Path(env) if env else ROOT.parent / "shared" / "data" / "mnist"
    return where if all((where / f).is_file() for f in FILES) else None


def peak_mib(code: str) -> tuple[float, float, str]:
    """(peak RSS in MiB, seconds, the output) of code run in a fresh Python process."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("BENCH_THREADS", "1"))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code + PEAK], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=1800)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[-500:]}")
    lines = done.stdout.strip().splitlines()
    return int(lines[-1]) / 1024, seconds, "\n".join(lines[:-1])


LSTM_DATA = (('npz(data_file, "x_train")', "[[0]]"), ('npz(data_file, "y_train")', "[0]"),
             ('npz(data_file, "x_test")', "[[0]]"), ('npz(data_file, "y_test")', "[0]"))


def _models():
    """(name, program text, feed) of the models whose step's memory is predicted."""
    from . import bench_convnet as CV
    from . import bench_train as B
    rng = np.random.default_rng(0)
    lstm = (ROOT / "examples" / "lstm_first_symbol.tl").read_text()
    for a, b in LSTM_DATA:
        lstm = lstm.replace(a, b)

    def images(n, *shape):
        return {"x": rng.normal(size=(n, *shape)).astype(np.float32),
                "y": rng.integers(0, 10, n)}
    return [("mlp_b128", B.MLP % {"lr": B.LR}, images(128, 784)),
            ("cnn_b64", B.CNN % {"lr": B.LR}, images(64, 1, 28, 28)),
            ("convnet_b128", CV.CONVNET % {"lr": B.LR}, images(128, 1, 28, 28)),
            ("lstm_b32_t40", lstm, {"ids": rng.integers(0, 4, (32, 40)),
                                    "first": rng.integers(0, 4, 32)})]


def traced_peak(run) -> int:
    """The most that run()'s new allocations held at once, by tracemalloc (median of 3)."""
    run()
    peaks = []
    for _ in range(3):
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            values = run()
            peaks.append(tracemalloc.get_traced_memory()[1] - before)
        finally:
            tracemalloc.stop()
        del values
    return int(np.median(peaks))


def predicted_rows() -> list[tuple[str, float, str]]:
    """Predicted and measured peaks of one training step, and their ratio."""
    import tensorlang as tl
    from tensorlang.runtime.memory import predict
    from tensorlang.tools.memory import binding, step_graph

    rows = []
    for name, text, feed in _models():
        program = tl.compile(text, f"{name}.tl")
        spec = next(s for s in program.runs if s.kind == "train")
        graph = program.graphs[spec.graph]
        sess = tl.Session(graph, seed=0)
        tgraph, fetch = step_graph(program, spec)
        step = sess.extend(tgraph)
        plan = step.plan(fetch)
        dims = {"T": feed["ids"].shape[1]} if "ids" in feed else {}
        got = predict(plan, binding(graph, len(next(iter(feed.values()))), dims))
        real = traced_peak(lambda step=step, plan=plan, feed=feed: step.execute(plan, feed))
        rows += [(f"memory_{name}_step_predicted", got.peak / 2**20, "MiB"),
                 (f"memory_{name}_step_tracemalloc", real / 2**20, "MiB"),
                 (f"memory_{name}_step_predicted_over_measured", got.peak / real, "x")]
    return rows


def run() -> list[tuple[str, float, str]]:
    """Rows (name, value, unit)."""
    rows = predicted_rows()
    return rows + _epoch_rows()


def _epoch_rows() -> list[tuple[str, float, str]]:
    where = mnist_dir()
    if where is None:
        return [("mnist_mlp_epoch_peak_rss: skipped, MNIST not found (set TENSORLANG_MNIST)",
                 float("nan"), "")]
    path = str(ROOT / "examples" / "mnist_mlp.tl")
    base, _, _ = peak_mib(IMPORT_ONLY)
    data, _, _ = peak_mib(LOAD_ONLY.format(path=path, mnist=str(where)))
    epoch, seconds, out = peak_mib(EPOCH.format(path=path, mnist=str(where)))
    acc = next((line.split("acc")[-1].strip() for line in reversed(out.splitlines())
                if line.startswith("evaluate")), "?")
    return [
        ("import_tensorlang_peak_rss", base, "MiB"),
        ("mnist_data_loaded_peak_rss", data, "MiB"),
        ("mnist_mlp_epoch_peak_rss", epoch, "MiB"),
        ("mnist_mlp_epoch_over_data", epoch - data, "MiB"),
        ("mnist_mlp_epoch_process_seconds", seconds, "s"),
        ("mnist_mlp_one_epoch_test_acc", float(acc) if acc != "?" else float("nan"), ""),
    ]


if __name__ == "__main__":  # python -m benchmarks memory: the same table as make bench
    from benchmarks.__main__ import main

    raise SystemExit(main(["memory"]))
