"""`tensorlang gradcheck`: compare the symbolic gradient of each train block's loss (or of the
scalars named with `--of`) with central finite differences, in float64.

The graph is compiled in f32; `retype` rebuilds it in f64 so that differences of size 1e-6 are
meaningful. The gradient is built on the f64 graph by the same autodiff that training uses.

Random inputs respect the declared types: every symbolic dim gets a small size (3), float
placeholders draw from uniform(0.1, 0.9) (inside the domain of log, sqrt and of probabilities
used as labels), bool placeholders are fair coins, and integer placeholders draw from [0, k),
where k is found from how the placeholder is used (see `class_bound`). Variables start from
their initializers plus a little noise (std 0.05), so that zero-initialized biases do not put
relu or max exactly on a kink where finite differences are meaningless.
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError, did_you_mean
from ..ir import dims as D
from ..ir.graph import Builder, Graph, Node
from ..ir.traversal import needed, users
from ..ir.types import is_float, np_dtype
from ..records import record
from ..runtime.session import Session
from ..transforms.autodiff import gradients
from ..transforms.retype import retype

TO_F64 = {"f16": "f64", "f32": "f64"}
DIM_SIZE = 3
SAMPLES = 50  # entries checked per variable (all of them when it has fewer)
EPS, RTOL, ATOL = 1e-6, 1e-4, 1e-6
@record(frozen=False)
class Row:
    """The comparison for one (loss, variable) pair."""

    loss: str
    variable: str
    shape: str
    checked: int
    size: int
    max_abs: float
    max_rel: float
    ok: bool
    worst: tuple = ()  # (index, symbolic, numeric) of the worst entry


# ------------------------------------------------------------------ random inputs
def class_bound(graph: Graph, ph: Node, env: dict) -> tuple[int, str] | None:
    """(k, why) when the integer placeholder's values must lie in [0, k): the bound an op's
    record gives for the integer-id input it reaches (one_hot's depth, the axis take gathers
    from, the classes of a loss with class-id labels), followed through ops that preserve
    values (reshape, index, casts between integers...); the smallest bound wins."""
    readers = users(graph.nodes)
    bounds: list[tuple[int, str]] = []
    frontier, seen = [ph], {ph.id}
    while frontier:
        f = frontier.pop()
        for u in readers.get(f.id, []):
            for pos in (k for k, i in enumerate(u.inputs) if i is f):
                ids = u.opdef.ids.get(pos)
                if ids is not None:
                    bounds.append((D.evaluate(ids.bound(u), env),
                                   f"{ids.what} at line {u.span.line}"))
            if u.opdef.preserves_values and not is_float(u.dtype) and u.dtype != "bool" \
                    and u.id not in seen:
                seen.add(u.id)
                frontier.append(u)
    return min(bounds) if bounds else None


def dim_env(placeholders, size: int = DIM_SIZE) -> dict[str, int]:
    """A size for every symbolic dim, large enough that every derived dim (`T - 1`) is >= 1."""
    names = sorted({s for p in placeholders for s in D.symbols(p.type.shape)
                    if s.isidentifier() or s.startswith("?")})
    for k in range(size, size + 16):
        env = dict.fromkeys(names, k)
        if all(D.evaluate(d, env) >= 1 for p in placeholders for d in p.type.shape):
            return env
    raise UsageError("gradcheck: cannot choose dim sizes that make every placeholder non-empty")


def random_feeds(graph: Graph, placeholders, rng: np.random.Generator) -> tuple[dict, list]:
    """Feeds for the placeholders (those without a default) and a line describing each."""
    env = dim_env(placeholders)
    feeds, notes = {}, []
    for p in placeholders:
        if p.attrs.get("default") is not None:
            notes.append(f"{p.name}: its default")
            continue
        shape = D.evaluate_shape(p.type.shape, env)
        t = f"{p.dtype}{list(shape)}"
        if is_float(p.dtype):
            feeds[p.name] = rng.uniform(0.1, 0.9, size=shape).astype(np_dtype(p.dtype))
            notes.append(f"{p.name}: {t} uniform(0.1, 0.9)")
        elif p.dtype == "bool":
            feeds[p.name] = rng.random(size=shape) < 0.5
            notes.append(f"{p.name}: {t} random bools")
        else:
            found = class_bound(graph, p, env)
            k, why = found or ((256, "any u8") if p.dtype == "u8" else (4, "no bound found"))
            feeds[p.name] = rng.integers(0, k, size=shape).astype(np_dtype(p.dtype))
            notes.append(f"{p.name}: {t} integers in [0, {k}) ({why})")
    return feeds, notes


def rows_of(data: dict, placeholders, rng: np.random.Generator, rows: int = DIM_SIZE,
            label: str = "the data") -> tuple[dict, list] | None:
    """Feeds made of a few random examples (rows) of a data block, when it has a field for every
    placeholder without a default; None otherwise."""
    need = [p for p in placeholders if p.attrs.get("default") is None]
    if not need or any(p.name not in data for p in need):
        return None
    n = min(len(data[p.name]) for p in need)
    pick = np.sort(rng.choice(n, size=min(rows, n), replace=False))
    feeds = {p.name: np.asarray(data[p.name])[pick] for p in need}
    where = ", ".join(str(int(i)) for i in pick)
    return feeds, [f"{p.name}: {p.dtype}{list(feeds[p.name].shape)} examples {where} of {label}"
                   for p in need]


# ------------------------------------------------------------------ the check
def check(graph: Graph, losses, seed: int = 0, samples: int = SAMPLES, progress=None,
          warn=None, data: dict | None = None, data_label: str = "the data"
          ) -> tuple[list[Row], list[str]]:
    """Compare d loss / d x (x: every float trainable variable, or every float placeholder in a
    graph without variables) with central differences in f64. The inputs are a few examples of
    `data` (arrays by placeholder name) when it feeds every placeholder, else random. Returns
    the rows and a description of the inputs."""
    g = retype(graph, TO_F64)
    rng = np.random.default_rng(seed)
    b = Builder(g.name, g)
    per_loss = []
    for name in losses:
        _scalar(graph, name)  # checked on the graph as the user wrote it (f32, not f64)
        y = g.names[name]
        xs = [v for v in g.trainable if is_float(v.dtype)]
        xs = xs or [p for p in g.placeholders if is_float(p.dtype)]
        before = len(b.warnings)
        per_loss.append((name, y, xs, gradients(b, y, xs, warn_name=lambda n: n.label())))
        for w in b.warnings[before:]:
            (warn or (lambda name, w: None))(name, w)
    gb = b.finish()
    sess = Session(gb, seed=seed)
    sess.random.fixed = seed  # random ops (dropout) draw the same every run: differences mean

    for v in gb.variables:
        value = sess.variables[v.name]
        if is_float(v.dtype):
            sess.variables[v.name] = value + rng.normal(0.0, 0.05, size=value.shape)
    phs = [n for n in needed([n for _, y, xs, gs in per_loss for n in (y, *gs)])
           if n.op == "placeholder"]
    from_data = rows_of(data, phs, rng, label=data_label) if data is not None else None
    feeds, notes = from_data or random_feeds(gb, phs, rng)
    total = sum(min(samples, np.size(sess.variables[x.name] if x.op == "variable"
                                     else feeds.get(x.name, ())))
                for _, _, xs, _ in per_loss for x in xs)
    advance = (progress or (lambda total: (lambda: None)))(total)
    rows = []
    for name, y, xs, gs in per_loss:
        symbolic = sess.run(gs, feeds)
        for x, sym in zip(xs, symbolic):
            rows.append(_compare(sess, feeds, name, y, x, np.asarray(sym), rng, samples, advance))
    return rows, notes


def _scalar(g: Graph, name: str) -> Node:
    if name not in g.names:
        raise UsageError(f'gradcheck: graph "{g.name}" has no node "{name}"',
                         hint=did_you_mean(name, g.names))
    y = g.names[name]
    if y.rank != 0 or not is_float(y.dtype):
        raise UsageError(f'gradcheck: "{name}" is {y.type}; gradcheck differentiates float '
                         "scalars",
                         hint=f"name a scalar such as mean({name})" if y.rank else None)
    return y


def _compare(sess: Session, feeds: dict, loss: str, y: Node, x: Node, sym: np.ndarray,
             rng, samples: int, advance) -> Row:
    is_var = x.op == "variable"
    # an ndarray even for a scalar (a NumPy scalar takes no item assignment)
    base = np.asarray(sess.variables[x.name] if is_var else feeds.get(x.name, np.zeros(0)))
    flat = np.arange(base.size)
    if base.size > samples:
        flat = np.sort(rng.choice(base.size, size=samples, replace=False))

    def value_at(arr):
        if is_var:
            sess.variables[x.name] = arr
            return float(sess.run(y, feeds))
        return float(sess.run(y, {**feeds, x.name: arr}))

    worst, worst_excess, max_abs, max_rel = (), -np.inf, 0.0, 0.0
    try:
        for k in flat:
            idx = np.unravel_index(k, base.shape)
            h = EPS * max(1.0, abs(float(base[idx])))
            hi, lo = base.copy(), base.copy()
            hi[idx] += h
            lo[idx] -= h
            num = (value_at(hi) - value_at(lo)) / (2 * h)
            s = float(sym[idx])
            err = abs(s - num)
            excess = err - (ATOL + RTOL * abs(num)) if np.isfinite(err) else np.inf
            if excess > worst_excess:
                worst, worst_excess = (tuple(int(i) for i in idx), s, num), excess
            scale = max(abs(s), abs(num))
            max_abs = max(max_abs, err) if np.isfinite(err) else np.inf
            max_rel = max(max_rel, err / scale if scale > ATOL else 0.0)
            advance()
    finally:
        if is_var:
            sess.variables[x.name] = base
    return Row(loss, x.name, D.shape_str(x.type.shape), len(flat), int(base.size), max_abs,
               max_rel, bool(worst_excess <= 0), worst)


# ------------------------------------------------------------------ the command
def format_rows(rows: list[Row]) -> str:
    """The table `gradcheck` prints: one line per (loss, variable)."""
    table = [("loss", "variable", "shape", "checked", "max abs error", "max rel error", "ok")]
    for r in rows:
        table.append((r.loss, r.variable, r.shape, f"{r.checked}/{r.size}", f"{r.max_abs:.2e}",
                      f"{r.max_rel:.2e}", "ok" if r.ok else "FAILED"))
    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(t, widths)).rstrip() for t in table]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
