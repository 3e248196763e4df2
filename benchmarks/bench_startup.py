"""Start-up: whole processes timed side by side in one run, `tensorlang check` (and `--help`,
`python -c "import tensorlang"`) against `python -c "import numpy"`, the floor of any NumPy
program. The processes alternate so that the machine's load hits them alike; each row is a
median. Bytecode caches are allowed (a user's installation has them), so the environment's
PYTHONDONTWRITEBYTECODE is dropped and every command runs once before the clock starts."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "import_numpy": ["-c", "import numpy"],
    "import_tensorlang": ["-c", "import tensorlang"],
    "check_xor": ["-m", "tensorlang", "check", "examples/xor.tl"],
    "check_mnist_mlp": ["-m", "tensorlang", "check", "examples/mnist_mlp.tl"],
}


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def whole_process_ms(commands: dict, repeats: int = 15) -> dict[str, float]:
    """Median wall milliseconds of each `python ARGS...` process, run in rotation."""
    env = _env()
    times: dict[str, list[float]] = {k: [] for k in commands}
    names = list(commands)
    for r in range(repeats + 1):
        for k in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, *commands[k]], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r:  # the first round writes the bytecode caches
                times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def run(repeats: int = 15) -> list[tuple[str, float, str]]:
    """Rows (name, value, unit): each process's median and its ratio to importing NumPy."""
    ms = whole_process_ms(COMMANDS, repeats)
    base = ms["import_numpy"]
    rows = [(f"process_{k}", v, "ms") for k, v in ms.items()]
    rows += [(f"process_{k}_ratio_to_import_numpy", v / base, "x")
             for k, v in ms.items() if k != "import_numpy"]
    return rows


if __name__ == "__main__":  # python -m benchmarks startup: the same table as make bench
    from benchmarks.__main__ import main

    raise SystemExit(main(["startup"]))
