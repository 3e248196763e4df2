"""Peak memory of one MNIST MLP epoch on the full 60,000 training images through `tensorlang run
examples/mnist_mlp.tl --epochs 1` (the test set validated and evaluated too), as the maximum
resident set size of a fresh process, next to the same process after only loading the data (the
IDX arrays: about 55 MB of uint8 images) and after only importing tensorlang. The difference
between the last two is what training itself holds: parameters, optimizer state, the batch's
buffers (reused by the plan) and evaluation batches.

MNIST is looked for where the tests look: $TENSORLANG_MNIST, else shared/data/mnist beside the
repository; without it the rows say so instead of measuring."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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


def run() -> list[tuple[str, float, str]]:
    """Rows (name, value, unit)."""
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
