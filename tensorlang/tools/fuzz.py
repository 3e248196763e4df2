"""Grammar-based fuzzing with an oracle. `generate(seed)` writes a small random program (a graph of
placeholders, variables, constants, lets and nodes made of the language's operators and ops, most
of them well typed, some deliberately not); `check(text)` says what is wrong with it, if anything:

- no input ever raises anything but a TensorlangError (a traceback is a bug);
- every node's value has the dtype and the shape that compilation inferred (dims bound by feeds);
- the interpreted plan and the generated straight-line code give the same values, bit for bit;
  the --check-numerics loop (no buffer reuse: BLAS may round differently into another buffer)
  and the optimized graph (fusions compute otherwise; fed Fortran-ordered arrays for odd seeds)
  agree up to rounding, and a value finite in the plain graph stays finite in the optimized one;
- `fmt` keeps the meaning: the formatted text compiles to the same names with the same values,
  and formatting it again changes nothing;
- a mutated copy of the program (characters cut, repeated, or replaced by brackets, keywords,
  NUL, escape and bidi characters, huge numbers) compiles, runs and formats with a
  TensorlangError at most.

`python -m tensorlang.tools.fuzz --n 10000 --seed 0` (or `make fuzz N=10000`) runs a batch and
prints each failure with the program that shows it; the test suite runs a fixed-seed batch."""

from __future__ import annotations

import argparse
import random
import sys
import traceback
import warnings
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ..compiler.program import compile as compile_program
from ..errors import TensorlangError, quiet_numpy
from ..frontend.fmt import format_source
from ..ir import dims as D
from ..ir.types import np_dtype
from ..runtime.session import Session, _interpret
from ..training.evaluate import batch_kinds
from ..transforms.passes import optimize_map

UNARY = ("neg", "abs", "exp", "log", "sqrt", "square", "sin", "cos", "tanh", "sigmoid", "relu",
         "softplus", "floor", "round", "sign", "stop_gradient", "logit")
BINARY = ("+", "-", "*", "/", "**", "//", "%")
BINARY_OPS = ("maximum", "minimum", "add", "multiply", "subtract", "divide")
REDUCE = ("sum", "mean", "max", "min", "prod", "logsumexp", "var", "std", "argmax", "argmin")
COMPARE = ("<", "<=", ">", ">=", "==", "!=")
NUMBERS = ("0", "1", "2", "0.5", "-1", "3", "1e-3", "1e30", "2.5", "10")


class Value(NamedTuple):
    """A name in the generated program and the type the generator expects it to have."""

    name: str
    dtype: str
    shape: tuple  # ints, or "N" for the symbolic batch dim


def _dims(shape: Iterable) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


class _Gen:
    """The state of one program being written: its pool of typed names and its lines."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.pool: list[Value] = []
        self.lines: list[str] = []
        self.lets: list[str] = []
        self.count = 0

    def fresh(self, prefix: str = "v") -> str:
        """A new name."""
        self.count += 1
        return f"{prefix}{self.count}"

    def pick(self, pred=None) -> Value:
        """A random value of the pool (one that satisfies pred, when any does)."""
        pool = [v for v in self.pool if pred is None or pred(v)] or self.pool
        return self.rng.choice(pool)

    def shape(self) -> tuple:
        """A small random shape, sometimes led by the symbolic batch dim N."""
        rank = self.rng.choice((0, 1, 1, 2, 2, 3))
        dims = [self.rng.choice((1, 2, 3)) for _ in range(rank)]
        if dims and self.rng.random() < 0.4:
            dims[0] = "N"
        return tuple(dims)

    def sources(self) -> None:
        """Placeholders, variables, constants and lets to start from."""
        if self.rng.random() < 0.5:
            v = Value(self.fresh("y"), "i32", self.shape())
            self.lines.append(f"placeholder {v.name}: i32{_dims(v.shape)}")
            self.pool.append(v)
        for _ in range(self.rng.randint(1, 3)):
            v = Value(self.fresh("x"), self.rng.choice(("f32", "f32", "f64", "i32", "bool")),
                      self.shape())
            self.lines.append(f"placeholder {v.name}: {v.dtype}{_dims(v.shape)}")
            self.pool.append(v)
        if self.rng.random() < 0.6:
            shape = tuple(d for d in self.shape() if d != "N")
            v = Value(self.fresh("w"), "f32", shape)
            init = self.rng.choice(("zeros()", "ones()", "normal()", "uniform()", "full(2)",
                                    "glorot_uniform()"))
            self.lines.append(f"variable {v.name}: f32{_dims(shape)} = {init}")
            self.pool.append(v)
        if self.rng.random() < 0.4:
            n = self.rng.randint(1, 3)
            items = ", ".join(self.rng.choice(NUMBERS) for _ in range(n))
            name = self.fresh("c")
            self.lines.append(f"constant {name} = [{items}]")
            self.pool.append(Value(name, "f32", (n,)))
        if self.rng.random() < 0.4:
            name = self.fresh("k")
            n = self.rng.randint(1, 3)
            items = ", ".join(self.rng.choice(NUMBERS) for _ in range(n))
            self.lets.append(f"let {name} = [{items}] {self.rng.choice(BINARY)} "
                             f"{self.rng.choice(NUMBERS)}")
            self.pool.append(Value(name, "f32", (n,)))

    def expr(self, depth: int = 0) -> tuple[str, Value]:
        """A random expression and the type it is expected to have."""
        r = self.rng.random()
        if depth > 2 or r < 0.25:
            if self.rng.random() < 0.1:
                n = self.rng.choice(NUMBERS)
                return n, Value(n, "f32", ())
            v = self.pick()
            return v.name, v
        maker = self.rng.choice(_MAKERS)
        return maker(self, depth + 1)

    def statement(self) -> None:
        """One new node, or a gradient of one."""
        if self.rng.random() < 0.15 and self.pool:
            y = self.pick(lambda v: v.dtype.startswith("f"))
            x = self.pick(lambda v: v.dtype.startswith("f") and not v.name.startswith("v"))
            text = f"grad(sum({y.name}), {x.name})"
            if self.rng.random() < 0.3:
                text = f"grad(sum({text} * {text}), {x.name})"
            value = Value(self.fresh(), x.dtype, x.shape)
        else:
            text, v = self.expr()
            value = Value(self.fresh(), v.dtype, v.shape)
        self.lines.append(f"{value.name} = {text}")
        self.pool.append(value)

    def program(self) -> str:
        """The whole text."""
        self.sources()
        for _ in range(self.rng.randint(1, 6)):
            self.statement()
        body = "\n".join(f"    {line}" for line in self.lines)
        return "\n".join(self.lets + [f"graph g {{\n{body}\n}}"]) + "\n"


def _floaty(v: Value) -> bool:
    return v.dtype in ("f32", "f64")


def _unary(g: _Gen, depth: int) -> tuple[str, Value]:
    text, v = g.expr(depth)
    op = g.rng.choice(UNARY)
    return f"{op}({text})", v._replace(dtype=v.dtype if _floaty(v) else "f32")


def _partner(g: _Gen, v: Value, depth: int) -> tuple[str, Value]:
    """An operand for v: usually of a shape that broadcasts with it."""
    r = g.rng.random()
    if r < 0.3:
        n = g.rng.choice(NUMBERS)
        return n, Value(n, v.dtype, ())
    if r < 0.8:
        same = [u for u in g.pool if u.shape == v.shape or u.shape == ()]
        if same:
            u = g.rng.choice(same)
            return u.name, u
    return g.expr(depth)


def _binary(g: _Gen, depth: int) -> tuple[str, Value]:
    a, va = g.expr(depth)
    b, vb = _partner(g, va, depth)
    shape = va.shape if len(va.shape) >= len(vb.shape) else vb.shape
    if g.rng.random() < 0.5:
        op = g.rng.choice(BINARY)
        return f"({a} {op} {b})", va._replace(shape=shape)
    return f"{g.rng.choice(BINARY_OPS)}({a}, {b})", va._replace(shape=shape)


def _reduce(g: _Gen, depth: int) -> tuple[str, Value]:
    a, v = g.expr(depth)
    op = g.rng.choice(REDUCE)
    if v.shape and g.rng.random() < 0.6:
        axis = g.rng.randrange(-len(v.shape), len(v.shape))
        keep = g.rng.random() < 0.3
        shape = list(v.shape)
        if keep:
            shape[axis] = 1
        else:
            del shape[axis]
        extra = ", keepdims = true" if keep else ""
        return f"{op}({a}, axis = {axis}{extra})", v._replace(shape=tuple(shape))
    return f"{op}({a})", v._replace(shape=())


def _compare(g: _Gen, depth: int) -> tuple[str, Value]:
    a, va = g.expr(depth)
    b, _ = _partner(g, va, depth)
    cond = f"({a} {g.rng.choice(COMPARE)} {b})"
    if g.rng.random() < 0.5:
        c, _ = _partner(g, va, depth)
        return f"where({cond}, {a}, {c})", va
    return cond, va._replace(dtype="bool")


def _matmul(g: _Gen, depth: int) -> tuple[str, Value]:
    a = g.pick(lambda v: len(v.shape) >= 1)
    last = a.shape[-1] if a.shape else 1
    b = g.pick(lambda v: len(v.shape) in (1, 2) and v.shape[0] == last)
    shape = a.shape[:-1] + b.shape[1:]
    return f"({a.name} @ {b.name})", a._replace(shape=shape)


def _shape_op(g: _Gen, depth: int) -> tuple[str, Value]:
    a, v = g.expr(depth)
    r = g.rng.random()
    if len(v.shape) == 2 and r < 0.25:
        return f"{a}.T", v._replace(shape=v.shape[::-1])
    if r < 0.45 and v.shape:
        i = g.rng.randrange(len(v.shape))
        return f"{a}[{', '.join([':'] * i + [g.rng.choice(('0', '-1', '1:', '::2', ':-1'))])}]", v
    if r < 0.6:
        return f"reshape({a}, [-1])", v._replace(shape=("?",))
    if r < 0.75:
        axis = g.rng.randrange(-1, len(v.shape)) if v.shape else 0
        return f"{g.rng.choice(('softmax', 'log_softmax'))}({a}, axis = {axis})", v
    if r < 0.9:
        b, _ = _partner(g, v, depth)
        return f"{g.rng.choice(('concat', 'stack'))}([{a}, {b}], axis = 0)", v
    dtype = g.rng.choice(("f32", "f64", "i32", "bool"))
    return f"cast({a}, {dtype})", v._replace(dtype=dtype)


def _literal(g: _Gen, depth: int) -> tuple[str, Value]:
    n = g.rng.randint(1, 3)
    items = ", ".join(g.rng.choice(NUMBERS) for _ in range(n))
    if g.rng.random() < 0.5:
        return f"([{items}] {g.rng.choice(BINARY)} {g.rng.choice(NUMBERS)})", Value("", "f32", (n,))
    return f"[{items}]", Value("", "f32", (n,))


def _loss(g: _Gen, depth: int) -> tuple[str, Value]:
    """A loss over logits in some layout (transposed, F-order reshaped) with class-id labels
    (placeholders named y are fed ids in range) or probability rows."""
    z = g.pick(lambda v: _floaty(v) and len(v.shape) >= 1)
    text = z.name
    if len(z.shape) == 3 and g.rng.random() < 0.5:
        text = f"transpose({text}, [1, 0, 2])"
        z = z._replace(shape=(z.shape[1], z.shape[0], z.shape[2]))
    elif len(z.shape) >= 2 and g.rng.random() < 0.3:
        text = f"reshape({text}, {_dims(z.shape)}, order = \"F\")"
    ids = g.pick(lambda v: v.name.startswith("y") and v.shape == z.shape[:-1])
    if not ids.name.startswith("y") or ids.shape != z.shape[:-1]:
        ids = g.pick(lambda v: v.shape == z.shape)
    op = g.rng.choice(("softmax_cross_entropy", "cross_entropy_of_softmax", "mse",
                       "binary_cross_entropy", "sigmoid_cross_entropy"))
    if op == "cross_entropy_of_softmax":
        return f"mean(cross_entropy(softmax({text}), {ids.name}))", Value("", "f32", ())
    if op in ("binary_cross_entropy", "sigmoid_cross_entropy"):
        p = f"sigmoid({text})" if op == "binary_cross_entropy" else text
        return f"mean({op}({p}, sigmoid({text})))", Value("", "f32", ())
    if op == "mse":
        return f"mse({text}, {ids.name})", Value("", "f32", ())
    return f"mean({op}({text}, {ids.name}))", Value("", "f32", ())


def _linalg(g: _Gen, depth: int) -> tuple[str, Value]:
    a = g.pick(lambda v: len(v.shape) == 2 and v.shape[0] == v.shape[1])
    op = g.rng.choice(("trace", "det", "inv", "norm", "transpose", "sort", "argsort", "clip"))
    if op == "clip":
        return f"clip({a.name}, -0.5, 0.5)", a
    shape = () if op in ("trace", "det", "norm") else a.shape
    dtype = "i64" if op == "argsort" else a.dtype
    return f"{op}({a.name})", a._replace(shape=shape, dtype=dtype)


def _layer(g: _Gen, depth: int) -> tuple[str, Value]:
    """A prelude layer, an id-taking op or a random op (its draws fixed by the run key)."""
    x = g.pick(lambda v: _floaty(v) and len(v.shape) >= 1)
    r = g.rng.random()
    if r < 0.4:
        act = g.rng.choice(("identity", "tanh", "relu", "sigmoid"))
        return f"Dense({x.name}, 3, activation = {act})", x._replace(shape=x.shape[:-1] + (3,))
    ids = g.pick(lambda v: v.name.startswith("y"))
    if r < 0.6:
        return f"one_hot({ids.name}, 3)", Value("", "f32", ids.shape + (3,))
    if r < 0.8:
        return f"take({x.name}, {ids.name}, axis = -1)", x
    return f"dropout({x.name}, {g.rng.choice(('0.5', '0', '0.9'))})", x


_MAKERS = (_loss, _loss, _linalg, _layer, _unary, _unary, _binary, _binary, _binary, _reduce,
           _compare, _matmul, _shape_op, _shape_op, _literal)


def generate(seed: int) -> str:
    """The random program of this seed (the same text on every machine)."""
    return _Gen(random.Random(seed)).program()


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


NOISE = ("(", ")", "[", "]", "{", "}", ",", ":", "=", "+", "*", "**", ".", "..", "\n", " ",
         "\t", "#", '"', "\\", "\x00", "\x1b", "\u202e", "\ufeff", "é", "1e999", "-", "?", "@",
         "graph", "layer", "data", "train", "evaluate", "let", "x", "N", "0", "9" * 30, "f32",
         "u8[", "grad(", "placeholder", "variable", "return", "update", "...", "//", "%")


def mutate(text: str, seed: int) -> str:
    """The text with a few random edits (a character range cut, duplicated or replaced by noise:
    brackets, keywords, NUL, escape and bidi characters, huge numbers)."""
    rng = random.Random(seed * 7919 + 1)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(text) + 1)
        j = min(len(text), i + rng.randint(0, 8))
        r = rng.random()
        if r < 0.3:
            text = text[:i] + text[j:]
        elif r < 0.5:
            text = text[:i] + text[i:j] * rng.randint(2, 5) + text[i:]
        else:
            text = text[:i] + rng.choice(NOISE) + text[j:]
    return text


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
