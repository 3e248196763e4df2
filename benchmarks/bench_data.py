"""Data loading: reading MNIST's gzipped IDX files (the whole 47 MB of training images) with the
loader a data block uses, uncached, median of a few runs. Skipped where MNIST is absent."""

from __future__ import annotations

import statistics
import time

from tensorlang.files import loaders as data

from .bench_memory import mnist_dir

FILES = (("train_images", "train-images-idx3-ubyte.gz"),
         ("test_images", "t10k-images-idx3-ubyte.gz"))


def run(repeats: int = 5) -> list[tuple[str, float, str]]:
    """Rows (name, value, unit): seconds to load each file."""
    where = mnist_dir()
    if where is None:
        return [("idx_load: skipped, MNIST not found (set TENSORLANG_MNIST)", float("nan"), "")]
    rows = []
    for name, file in FILES:
        times = []
        for _ in range(repeats):
            data.clear_cache()
            start = time.perf_counter()
            data.load_idx(str(where / file))
            times.append(time.perf_counter() - start)
        rows.append((f"idx_load_{name}", statistics.median(times) * 1e3, "ms"))
    return rows


if __name__ == "__main__":  # python -m benchmarks data: the same table as make bench
    from benchmarks.__main__ import main

    raise SystemExit(main(["data"]))
