"""Front-end speed: parsing a generated 10,000-line program, loading the grammar in a fresh
process (with and without the parse-table cache), and the start-up cost of importing the parser
against importing NumPy. Run `python -m benchmarks parse` for a table."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

BLOCK = """\
# block {i}: a small classifier
layer Block{i}(x: [..., In], units, activation = relu) {{
    variable W: [In, units] = glorot_uniform()
    variable b: [units] = zeros()
    return activation(x @ W + b)
}}

graph model{i} {{
    placeholder x: f32[N, 784]                 # images, flattened
    placeholder y: i64[N]
    constant scale: f32[] = 1.0 / 255
    h1   = Block{i}(x * scale, 128)
    h2   = Dense(h1, 64, activation = tanh)
    p    = softmax(Dense(h2, 10), axis = -1)
    loss = mean(cross_entropy(p, y)) + 1e-4 * sum(h1.W ** 2)
    acc  = mean(argmax(p, axis = 1) == y)
    part = reshape(x[:, 0:392], [N, 14, 28])[..., ::2, -1]
}}

data set{i} {{
    x = idx("data/mnist/t10k-images-idx3-ubyte.gz")[:8000]
    y = idx("data/mnist/t10k-labels-idx1-ubyte.gz")[:8000]
}}

train model{i} {{
    data      = set{i}
    minimize  = loss
    optimizer = adam(lr = 1e-3)
    epochs    = 3
    batch     = 128
    report    = [loss, acc]
}}
"""


def program(lines: int = 10_000) -> str:
    """A realistic program of about `lines` lines: layers, graphs, data and train blocks."""
    per = BLOCK.count("\n") + 1
    return "\n".join(BLOCK.format(i=i) for i in range(lines // per + 1))


def _python(code: str, env_extra: dict | None = None) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env_extra or {}))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True)
    return done.stdout


def _wall(code: str, repeats: int = 5) -> float:
    """Median wall time of `python -c code` in fresh processes, in ms."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _python(code)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def _import_self_ms(module: str, repeats: int = 5) -> float:
    """Median of `-X importtime`'s cumulative time for one module (with what it imports first):
    the front end's own share of `import tensorlang`, whatever the package __init__ pulls in."""
    times = []
    for _ in range(repeats):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                             capture_output=True, text=True, env=env, cwd=ROOT, check=True).stderr
        rows = [line.split("|") for line in err.splitlines() if line.startswith("import time:")]
        times += [int(r[1]) / 1e3 for r in rows if r[2].strip() == module]
    return statistics.median(times)


LOAD = """\
import time
t0 = time.perf_counter()
from tensorlang.frontend.parser import parse
t1 = time.perf_counter()
parse("let a = 1\\n")
t2 = time.perf_counter()
print((t2 - t1) * 1e3)
"""


def run() -> list[tuple[str, float, str]]:
    """Rows (name, value, unit): parse time and rate, grammar load, import start-up."""
    from tensorlang.frontend.fmt import format_program
    from tensorlang.frontend.parser import parse

    text = program()
    lines = text.count("\n") + 1
    parse(text)  # the grammar is loaded before the clock starts
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        tree = parse(text)
        times.append(time.perf_counter() - t0)
    t_parse = statistics.median(times)
    t0 = time.perf_counter()
    format_program(tree)
    t_fmt = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as empty:  # no cached table: what a first run ever costs
        cold = float(_python(LOAD, {"XDG_CACHE_HOME": empty}))
    _python(LOAD)  # make sure the user's cache holds the table
    warm = statistics.median(float(_python(LOAD)) for _ in range(5))
    return [
        (f"parse_{lines}_lines", t_parse, "s"),
        ("parse_rate", lines / t_parse, "lines/s"),
        (f"format_{lines}_lines", t_fmt, "s"),
        ("grammar_load_first_parse_no_cache", cold, "ms"),
        ("grammar_load_first_parse_cached", warm, "ms"),
        ("python_-c_pass", _wall("pass"), "ms"),
        ("python_-c_import_lark", _wall("import lark"), "ms"),
        ("python_-c_import_tensorlang.parser", _wall("import tensorlang.frontend.parser"), "ms"),
        ("import_tensorlang.parser_own_share", _import_self_ms("tensorlang.frontend.parser"), "ms"),
        ("python_-c_import_numpy", _wall("import numpy"), "ms"),
    ]


if __name__ == "__main__":  # python -m benchmarks parse: the same table as make bench
    from benchmarks.__main__ import main

    raise SystemExit(main(["parse"]))
