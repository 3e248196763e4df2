"""Grammar-based fuzzing with an oracle. fuzz_programs.generate(seed) writes a small random
program; `check(text)` says what is wrong with how the house handles it, if anything:

- no input ever raises anything but a TensorlangError (a traceback is a bug);
- every node's value has the dtype and the shape that compilation inferred (dims bound by feeds);
- the interpreted plan and the generated straight-line code give the same values, bit for bit;
  the --check-numerics loop (no buffer reuse: BLAS may round differently into another buffer)
  and the optimized graph (fusions compute otherwise; fed Fortran-ordered arrays for odd seeds)
  agree up to rounding, and a value finite in the plain graph stays finite in the optimized one;
- evaluation in batches (training/evaluate.py) gives what one run on the whole block gives;
- `fmt` keeps the meaning: the formatted text compiles to the same names with the same values,
  and formatting it again changes nothing;
- a mutated copy of the program (characters cut, repeated, or replaced by brackets, keywords,
  NUL, escape and bidi characters, huge numbers) compiles, runs and formats with a
  TensorlangError at most.

`python -m tensorlang.tools.fuzz --n 10000 --seed 0` (or `make fuzz N=10000`) runs a batch and
prints each failure with the program that shows it; the test suite runs a fixed-seed batch."""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from collections.abc import Iterable

import numpy as np

from ..compiler.program import compile as compile_program
from ..errors import TensorlangError, quiet_numpy
from ..frontend.fmt import format_source
from ..ir import dims as D
from ..ir.types import np_dtype
from ..runtime.session import Session, _interpret
from ..training.evaluate import batch_kinds
from ..transforms.passes import optimize_map
from .fuzz_programs import generate, mutate


# --------------------------------------------------------------------------------------- oracle
def _feed(graph, rng: np.random.Generator) -> dict:
    """Random values for every placeholder, N bound to one size."""
    n = int(rng.integers(1, 4))
    feed = {}
    for p in graph.placeholders:
        shape = tuple(n if isinstance(d, D.Dim) or not isinstance(d, int) else d
                      for d in p.type.shape)
        dt = np_dtype(p.dtype)
        if dt.kind == "b":
            feed[p.name] = rng.random(shape) < 0.5
        elif dt.kind in "iu":
            low = 0 if p.name.startswith("y") else -3  # y: class ids (2 classes at least)
            feed[p.name] = rng.integers(low, 2 if low == 0 else 4, shape).astype(dt)
        else:
            feed[p.name] = rng.normal(size=shape).astype(dt)
    return feed


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and \
        bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _close(a, b) -> bool:
    """Equal up to float rounding (and in dtype, shape, and where the plain value a is not
    finite, just in shape)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    fin = np.isfinite(a)
    if not np.isfinite(b[fin]).all():
        return False
    x, y = a[fin].astype(np.float64), b[fin].astype(np.float64)
    scale = 1.0 + (np.abs(x).max() if x.size else 0.0)
    # f32 rounding, whatever the output's dtype (an f64 result may come from f32 parts)
    return bool(np.all(np.abs(x - y) <= 1e-3 * (np.abs(x) + scale)))


# ops whose result jumps where their input crosses a point: a rounding difference upstream
# may move it by a whole step, so values after them are compared bit for bit only where the
# schedules are the same (interpreted against generated code)
STEPS = frozenset(("floor_divide", "floor", "round", "sign", "mod", "greater", "greater_equal",
                   "less", "less_equal", "equal", "not_equal", "argmax", "argmin", "argsort",
                   "cast", "sort"))


def _smooth(graph, names: list[str]) -> set[str]:
    """The names whose values depend on no step op (see STEPS)."""
    rough: dict[int, bool] = {}
    for n in graph.nodes:  # topological
        rough[n.id] = n.op in STEPS or any(rough.get(i.id, False) for i in n.inputs)
    return {k for k in names if not rough[graph.node(k).id]}


def _optimized(graph, names: list[str], feed: dict) -> list:
    """The names' values in the optimized graph."""
    opt, mapping = optimize_map(graph, keep=[graph.node(n) for n in names])
    sess = Session(opt, seed=0)
    sess.random.fixed = 12345
    return sess.run([mapping[graph.node(n).id] for n in names], feed)


def _check_batches(graph, names: list[str], feed: dict, whole: list) -> list[str]:
    """Evaluation in batches (training/evaluate.py) must give what one run on the whole block
    gives: every value it does not compute whole is rebuilt here from batches of 2 examples as
    its kind says (rows concatenated, means weighted, sums added...) and compared."""
    fed = {p.name for p in graph.placeholders if p.rank and isinstance(p.type.shape[0], D.Dim)}
    dims = {p.type.shape[0] for p in graph.placeholders if p.name in fed}
    if len(dims) != 1 or len(next(feed[k] for k in fed)) < 2:
        return []
    kinds = batch_kinds(graph, names, dims, fed)
    parts = [k for k in names if kinds[k] != "whole"]
    if not parts:
        return []
    n = len(feed[next(iter(fed))])
    got: dict[str, list] = {k: [] for k in parts}
    counts = []
    sess = Session(graph, seed=0)
    sess.random.fixed = 12345
    for start in range(0, n, 2):
        batch = {k: (v[start:start + 2] if k in fed else v) for k, v in feed.items()}
        for k, v in zip(parts, sess.run(parts, batch)):
            got[k].append(v)
        counts.append(min(2, n - start))
    problems = []
    values = dict(zip(names, whole))
    smooth = _smooth(graph, names)
    for k in parts:
        vs, kind = got[k], kinds[k]
        if kind == "rows":
            rebuilt = np.concatenate(vs)
        elif kind == "same":
            rebuilt = vs[0]
        elif kind == "mean":
            rebuilt = np.average(np.stack(vs), axis=0, weights=counts).astype(vs[0].dtype)
        else:
            rebuilt = {"sum": np.sum, "max": np.max, "min": np.min}[kind](
                np.stack(vs), axis=0).astype(vs[0].dtype)
        if k in smooth and not _close(values[k], rebuilt):  # BLAS may round rows otherwise
            problems.append(f"{k}: evaluated in batches as {kind}, it is another value")
    return problems


def _run_three_ways(graph, names: list[str], feed: dict) -> list:
    """Values of the names run interpreted, as generated code, and with --check-numerics'
    loop (no buffer reuse): a problem string when they differ, else the values."""
    sess = Session(graph, seed=0)
    sess.random.fixed = 12345
    plan = sess.plan(names)
    first = sess.execute(plan, feed)
    env, _ = sess.bind(plan, feed)
    plan.runs = 1 << 30  # next run: generated code
    second = sess.execute(plan, feed)
    plan.runs = 0
    steps = plan.concrete_steps(env, reuse=False)
    slots = plan.template.copy()
    for s, arr in sess.bind(plan, feed)[1]:
        slots[s] = arr
    for s, v in plan.variables:
        slots[s] = sess.variables[v.name]
    for s in plan.keys:
        slots[s] = sess.random.next()
    with quiet_numpy():
        _interpret(plan, steps, slots, False)
    third = [slots[s] for s in plan.fetch_slots]
    return [first, second, third, env]


def _check_types(graph, names: list[str], values: list, env: dict) -> list[str]:
    problems = []
    for name, value in zip(names, values):
        node = graph.node(name)
        if not isinstance(value, np.ndarray):
            problems.append(f"{name}: value is a {type(value).__name__}, not an ndarray")
            continue
        if value.dtype != np_dtype(node.dtype):
            problems.append(f"{name}: inferred {node.dtype}, ran {value.dtype}")
        try:
            want = tuple(int(D.resolve(d, env)) for d in node.type.shape)
        except (KeyError, TypeError, ValueError):
            want = None  # a `?` dim: only the rank is known
        if len(value.shape) != node.rank or (want is not None and value.shape != want):
            problems.append(f"{name}: inferred {node.type}, ran shape {list(value.shape)}")
    return problems


def _values(text: str, seed: int) -> tuple[object, list[str], list] | None:
    """Compile and run the graph: (graph, names, values), or None when the program is rejected
    (a TensorlangError at compile or run time)."""
    try:
        program = compile_program(text, "<fuzz>")
    except TensorlangError:
        return None
    graph = program.graphs["g"]
    names = [k for k, n in graph.names.items() if n.op not in ("placeholder",)]
    feed = _feed(graph, np.random.default_rng(seed))
    try:
        first, second, third, env = _run_three_ways(graph, names, feed)
    except TensorlangError:
        return graph, names, None
    return graph, names, [first, second, third, env]


def check(text: str, seed: int = 0) -> list[str]:
    """What is wrong with how the house handles this program (empty: nothing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a raw Python warning reaching the user is a problem
        try:
            return _check(text, seed)
        except Exception as e:  # noqa: BLE001 - any non-TensorlangError is the finding
            return ["traceback: " + "".join(traceback.format_exception_only(type(e), e)).strip()]


def _check(text: str, seed: int) -> list[str]:
    got = _values(text, seed)
    if got is None:
        return []
    graph, names, runs = got
    problems: list[str] = []
    if runs is not None:
        first, second, third, env = runs
        problems += _check_types(graph, names, first, env)
        problems += [f"{n}: interpreted and generated code differ" for n, a, b in
                     zip(names, first, second) if not _same(a, b)]
        smooth = _smooth(graph, names)
        problems += _check_batches(graph, names, _feed(graph, np.random.default_rng(seed)),
                                   first)
        problems += [f"{n}: buffer reuse changed the value" for n, a, b in
                     zip(names, first, third) if n in smooth and not _close(a, b)]
        try:
            feed = _feed(graph, np.random.default_rng(seed))
            if seed % 2:  # the optimized graph on Fortran-ordered feeds: layouts must not matter
                feed = {k: np.asfortranarray(v) if v.ndim >= 2 else v for k, v in feed.items()}
            opt = _optimized(graph, names, feed)
        except TensorlangError as e:
            opt = None
            problems.append(f"the optimized graph fails where the plain one runs: {e.message}")
        problems += [f"{n}: the optimized graph gives another value" for n, a, b in
                     zip(names, first, opt or first) if n in smooth and not _close(a, b)]
    formatted = format_source(text, "<fuzz>")
    if format_source(formatted, "<fuzz>") != formatted:
        problems.append("fmt is not idempotent")
    again = _values(formatted, seed)
    if again is None or again[1] != names:
        problems.append("fmt changed what compiles")
    elif (again[2] is None) != (runs is None) or (runs is not None and not all(
            _same(a, b) for a, b in zip(runs[0], again[2][0]))):
        problems.append("fmt changed a value")
    return problems


def minimize(text: str, seed: int, keep=None) -> str:
    """The text with every statement line left out whose absence keeps a problem (`keep`:
    which problems count; by default any), one line at a time until none can go."""
    keep = keep or (lambda problems: bool(problems))
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        trial = lines[:i] + lines[i + 1:]
        if not lines[i].strip().endswith(("{", "}")) and keep(check("\n".join(trial) + "\n", seed)):
            lines = trial
        else:
            i += 1
    return "\n".join(lines) + "\n"


def check_mutant(text: str, seed: int = 0) -> list[str]:
    """A mutated program must compile, run (interpreted) and format without a traceback."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            try:
                program = compile_program(text, "<fuzz>")
                graph = next(iter(program.graphs.values()), None)
                if graph is not None:
                    names = [k for k, n in graph.names.items() if n.op != "placeholder"]
                    Session(graph).run(names, _feed(graph, np.random.default_rng(seed)))
            except TensorlangError:
                pass
            try:
                format_source(text, "<fuzz>")
            except TensorlangError:
                pass
        except Exception as e:  # noqa: BLE001 - any non-TensorlangError is the finding
            return ["mutant traceback: " + "".join(
                traceback.format_exception_only(type(e), e)).strip()]
    return []


def fuzz(seeds: Iterable[int], mutants: bool = True) -> dict[int, list[str]]:
    """The failures of the programs of these seeds (and, with `mutants`, of a mutated copy of
    each): seed -> problems."""
    out = {}
    for seed in seeds:
        text = generate(seed)
        problems = check(text, seed)
        if mutants:
            problems += check_mutant(mutate(text, seed), seed)
        if problems:
            out[seed] = problems
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m tensorlang.tools.fuzz --n N --seed S`: exit 1 when any program fails."""
    parser = argparse.ArgumentParser(prog="python -m tensorlang.tools.fuzz",
                                     description="fuzz the compiler with generated programs")
    parser.add_argument("--n", type=int, default=1000, help="how many programs")
    parser.add_argument("--seed", type=int, default=0, help="the first program's seed")
    args = parser.parse_args(argv)
    failures = fuzz(range(args.seed, args.seed + args.n))
    for seed, problems in failures.items():
        mutant = any(p.startswith("mutant") for p in problems)
        print(f"--- seed {seed}{' (mutated)' if mutant else ', minimized'}:")
        print(mutate(generate(seed), seed) if mutant else minimize(generate(seed), seed))
        for p in problems:
            print(f"  {p}")
    print(f"{args.n} programs, {len(failures)} failing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
