"""docs/SPEED.md: the README's speed table, made from one `make bench` run's rows (the table
__main__ prints): each workload's tensorlang time, its reference's, and the ratio, with the
machine, the thread counts and the load it ran under. Rows a partial run lacks are left out."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEED = ROOT / "docs" / "SPEED.md"

# workload, tensorlang row, reference row, what the reference is, unit scale to ms, ratio row
TABLE = (
    ("MLP 784-256-128-10 training step, b128", "train/mlp_step_b128_tensorlang_cpu",
     "train/mlp_step_b128_numpy_cpu", "hand NumPy", 1.0, None),
    ("", "train/mlp_step_b128_tensorlang_cpu", "train/mlp_step_b128_torch_cpu",
     "PyTorch eager", 1.0, None),
    ("the MLP step's finite check of the new values", "train/mlp_step_b128_probed_cpu",
     "train/mlp_step_b128_unprobed_cpu", "the step without it", 1.0, None),
    ("LeNet-style CNN training step, b64", "train/cnn_step_b64_tensorlang_cpu",
     "train/cnn_step_b64_torch_cpu", "PyTorch eager", 1.0, None),
    ("Keras's MNIST convnet step, b128, 1 thread",
     "convnet/convnet_step_b128_1_thread_tensorlang_cpu",
     "convnet/convnet_step_b128_1_thread_torch_cpu", "PyTorch eager", 1.0, None),
    ("Keras's MNIST convnet step, b128, default threads (wall)",
     "convnet/convnet_step_b128_default_threads_tensorlang",
     "convnet/convnet_step_b128_default_threads_torch", "PyTorch eager", 1.0, None),
    ("2-layer LSTM training step, [64, 50, 32], 32 units", "lstm/lstm2_step_b64_t50_tensorlang_cpu",
     "lstm/lstm2_step_b64_t50_torch_cpu", "PyTorch eager", 1.0, None),
    ("MLP inference, batch 1, `Session.run`", "train/mlp_infer_b1_tensorlang_run_cpu",
     "train/mlp_infer_b1_numpy_cpu", "hand NumPy", 1.0, None),
    ("MLP inference, batch 1, `make_callable`", "train/mlp_infer_b1_tensorlang_callable_cpu",
     "train/mlp_infer_b1_numpy_cpu", "hand NumPy", 1.0, None),
    ("MLP inference, batch 1024", "train/mlp_infer_b1024_tensorlang_cpu",
     "train/mlp_infer_b1024_numpy_cpu", "hand NumPy", 1.0, None),
    ("`tensorlang check examples/xor.tl` (whole process)", "startup/process_check_xor",
     "startup/process_import_numpy", '`python -c "import numpy"`', 1.0, None),
    ("200-op chain forward + backward", "train/chain200_fwd_bwd_tensorlang_cpu",
     "train/chain200_fwd_bwd_torch_cpu", "PyTorch eager", 1.0, None),
    ("MLP step, batch 1024 (hidden 256)", None, None, "hand NumPy", 1.0,
     "scaling/scaling_b1024_h256_ratio_to_numpy_cpu"),
    ("MLP step, hidden 2048 (batch 128)", None, None, "hand NumPy", 1.0,
     "scaling/scaling_b128_h2048_ratio_to_numpy_cpu"),
    ("compile 100k nodes", "compile/compile_100k_total", None, "", 1e3, None),
)
MEMORY = ("mlp_b128", "cnn_b64", "convnet_b128", "lstm_b32_t40")


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ms(v: float) -> str:
    return f"{v * 1e3:.0f} us" if v < 1 else f"{v:.2f} ms" if v < 100 else f"{v / 1e3:.2f} s"


def table_lines(values: dict) -> list[str]:
    """The speed table's markdown lines for the rows found (keys `group/name`)."""
    lines = ["| workload | tensorlang | reference | ratio |", "| --- | --- | --- | --- |"]
    for what, ours, ref, ref_name, scale, ratio_row in TABLE:
        if ratio_row is not None:
            if ratio_row in values:
                lines.append(f"| {what} | | {ref_name} | {values[ratio_row]:.2f}x |")
            continue
        if ours not in values or (ref is not None and ref not in values):
            continue
        a = values[ours] * scale
        if ref is None:
            lines.append(f"| {what} | {_ms(a)} | | |")
            continue
        b = values[ref] * scale
        lines.append(f"| {what} | {_ms(a)} | {ref_name} {_ms(b)} | {a / b:.2f}x |")
    return lines


def memory_lines(values: dict) -> list[str]:
    """Predicted against measured peak memory of one training step."""
    lines = []
    for m in MEMORY:
        p, t = (values.get(f"memory/memory_{m}_step_{k}") for k in ("predicted", "tracemalloc"))
        if p is not None and t is not None:
            lines.append(f"| {m.replace('_', ' ')} | {p:.2f} MiB | {t:.2f} MiB | {p / t:.3f} |")
    if lines:
        lines = ["| training step | predicted (`check --batch`) | tracemalloc | ratio |",
                 "| --- | --- | --- | --- |", *lines]
    return lines


def document(rows: list, seconds: float) -> str:
    """SPEED.md's text for the rows of one run (group, name, value, unit)."""
    values = {f"{g}/{n}": v for g, n, v, _ in rows if isinstance(v, float)}
    threads = values.get("train/blas_threads", float("nan"))
    load = values.get("train/load_average_1min", os.getloadavg()[0])
    import numpy as np
    head = [
        "# Speed", "",
        "Made by `make bench` (benchmarks/speed.py) in one run of "
        f"{seconds / 60:.1f} minutes on {time.strftime('%Y-%m-%d', time.gmtime())}: "
        f"{_cpu()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, 1-minute load average {load:.1f} at the end.",
        "",
        f"BLAS runs at {threads:g} thread(s) for every contender (PyTorch too) except in the "
        "rows that say default threads; times are medians of interleaved repetitions in this "
        "process's CPU time (wall time for whole processes and default threads), so that "
        "other work on a shared machine weighs less; a ratio is the median of the repetitions' "
        "own ratios. A ratio below 1 is faster than the reference.", ""]
    body = table_lines(values)
    mem = memory_lines(values)
    if mem:
        body += ["", "Memory known before running: the peak of one training step's own arrays "
                 "as `tensorlang check FILE --batch B` predicts it, against tracemalloc's "
                 "measure of NumPy's allocations during that step.", "", *mem]
    if (ROOT / "docs" / "scaling.png").exists():
        body += ["", "How the MLP step's cost grows with the batch and the hidden size, against "
                 "hand NumPy and the same GEMMs alone:", "", "![scaling](scaling.png)"]
    return "\n".join(head + body) + "\n"


def write(rows: list, seconds: float, path: Path = SPEED) -> None:
    """docs/SPEED.md, written atomically."""
    from tensorlang.files.atomic import write_atomic
    write_atomic(str(path), document(rows, seconds).encode("utf-8"))
