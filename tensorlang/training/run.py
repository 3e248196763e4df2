"""`tensorlang run`: execute the train/evaluate blocks in file order, one Session per graph."""

from __future__ import annotations

import os
import sys

import numpy as np

from ..compiler.blocks import RunSpec
from ..compiler.datablocks import load_field
from ..ir import dims as D
from ..runtime.session import Session
from . import checkpoint
from .loaders import check_same_length

EVAL_BATCH = 1024


class Context:
    """What the run blocks of one program share: sessions, loaded data, options, output."""

    def __init__(self, program, seed=None, epochs=None, quiet=False, out=None,
                 check_numerics=False, progress=None, log_every=1):
        self.program = program
        self.log_every = log_every  # print every k-th epoch line (and the first and last)
        self.seed = seed
        self.epochs = epochs
        self.quiet = quiet
        self.out = out or sys.stdout
        self.check_numerics = check_numerics
        self.progress = progress
        self.sessions: dict[str, Session] = {}
        self._data: dict[str, dict] = {}
        self._spans: dict[str, dict] = {}
        self._checked: dict[tuple[str, str], dict] = {}

    def print(self, text: str = "") -> None:
        """A line of output (suppressed by --quiet for progress-like lines only)."""
        print(text, file=self.out, flush=True)

    def session(self, spec: RunSpec) -> Session:
        """The graph's session, made on first use (seeded by --seed, else the block's seed)."""
        if spec.graph not in self.sessions:
            seed = self.seed if self.seed is not None else (spec.seed or 0)
            self.sessions[spec.graph] = Session(self.program.graphs[spec.graph], seed=seed)
        return self.sessions[spec.graph]

    def data(self, name: str, session: Session | None = None) -> dict[str, np.ndarray]:
        """The arrays of a data block, loaded once. Given a session, they are also checked
        against its graph's placeholders (once per graph) and cast to their dtypes, and a
        field that does not fit is an error located at the field."""
        if name not in self._data:
            block = self.program.data[name]
            fields = {f.name: (load_field(f, self.program.lets, self.program.base_dir), f.span)
                      for f in block.fields}
            check_same_length(fields, name, block.span)
            self._data[name] = {k: v for k, (v, _) in fields.items()}
            self._spans[name] = {k: s for k, (_, s) in fields.items()}
        if session is None:
            return self._data[name]
        key = (session.graph.name, name)
        if key not in self._checked:
            self._checked[key] = session.check_fields(self._data[name], self._spans[name])
        return self._checked[key]

    def restore(self, spec: RunSpec) -> Session:
        """The block's session, its variables restored from `load` when the block has one."""
        sess = self.session(spec)
        if spec.load:
            values = checkpoint.load(self.path(spec.load), sess.graph.variables,
                                     spec.spans["load"])
            for k, v in values.items():
                sess.assign(k, v)
        return sess

    def path(self, p: str) -> str:
        """A checkpoint path relative to the .tl file."""
        return p if os.path.isabs(p) else os.path.join(self.program.base_dir, p)


def batches(n: int, size: int | None, order=None):
    """(start, stop) or index arrays covering n examples in batches of size (last one partial)."""
    size = size or n
    for start in range(0, n, size):
        yield slice(start, min(start + size, n)) if order is None else order[start:start + size]


def evaluate(ctx: Context, spec: RunSpec, data_name: str | None = None,
             names: tuple[str, ...] | None = None, batch: int | None = None) -> dict:
    """Report scalars averaged over the examples; show tensors gathered over the batches."""
    sess = ctx.session(spec)
    arrays = ctx.data(data_name or spec.data, sess)
    names = names if names is not None else spec.report
    show = () if names is not spec.report and data_name else spec.show
    fetch = list(dict.fromkeys(list(names) + list(show)))
    n = len(next(iter(arrays.values())))
    graph = sess.graph
    batch_dims = {d for p in graph.placeholders if p.name in arrays and p.type.shape
                  for d in [p.type.shape[0]] if isinstance(d, D.Dim)}
    sums = {k: 0.0 for k in names}
    shown: dict[str, list] = {k: [] for k in show}
    counts: list[int] = []
    for sl in batches(n, batch or spec.batch or EVAL_BATCH):
        feed = {k: v[sl] for k, v in arrays.items()}
        values = sess.run(fetch, feed, check_numerics=ctx.check_numerics)
        count = len(next(iter(feed.values())))
        got = dict(zip(fetch, values))
        for k in names:
            sums[k] += float(got[k]) * count
        for k in show:
            shown[k].append(got[k])
        counts.append(count)
    result = {k: sums[k] / n for k in names}
    for k in show:
        node = graph.node(k)
        per_example = node.rank > 0 and node.type.shape[0] in batch_dims
        if per_example:
            result[k] = np.concatenate(shown[k])
        elif all(np.array_equal(shown[k][0], v) for v in shown[k][1:]):
            result[k] = shown[k][0]  # the same in every batch (a variable, a constant)
        else:  # averaged over the examples like a report: batches weigh by their size
            result[k] = np.average(np.stack(shown[k]), axis=0, weights=counts)
    return result


def format_shown(name: str, value) -> str:
    """`p = [[0.02], [0.97], ...]`, readable at any size."""
    arr = np.asarray(value)
    if arr.ndim == 0 and arr.dtype.kind == "f":
        return f"{name} = {float(arr):.6g}"
    body = np.array2string(arr, precision=4, suppress_small=True, threshold=200, edgeitems=4,
                           max_line_width=100, separator=", ")
    pad = " " * (len(name) + 3)
    return f"{name} = " + body.replace("\n", "\n" + pad)


def run_evaluate(ctx: Context, spec: RunSpec) -> dict:
    """An evaluate block: optionally load a checkpoint, then report and show."""
    ctx.restore(spec)
    result = evaluate(ctx, spec)
    head = f"evaluate {spec.graph} on {spec.data}"
    parts = [f"{k} {result[k]:.4f}" for k in spec.report]
    ctx.print(head + (":  " + "  ".join(parts) if parts else ""))
    for k in spec.show:
        ctx.print(format_shown(k, result[k]))
    return result


def run_program(program, **options) -> list[dict]:
    """Every run block in file order; returns each block's results."""
    ctx = Context(program, **options)
    results = []
    for spec in program.runs:
        if spec.kind == "train":
            from .train import run_train
            results.append(run_train(ctx, spec))
        else:
            results.append(run_evaluate(ctx, spec))
    return results
