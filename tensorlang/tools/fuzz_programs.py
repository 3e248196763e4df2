"""The fuzzer's programs: `generate(seed)` writes a small random program (a graph of
placeholders, variables, constants, lets and nodes made of the language's operators, ops, layers
and losses, most of them well typed, some deliberately not), the same text on every machine;
`mutate(text, seed)` damages one (characters cut, repeated, or replaced by brackets, keywords,
NUL, escape and bidi characters, huge numbers). tools/fuzz.py judges what the house makes of
them."""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import NamedTuple

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
