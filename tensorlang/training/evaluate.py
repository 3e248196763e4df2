"""`evaluate` blocks, and the evaluation of a train block's validation data: report scalars
averaged over the examples, show tensors gathered over the batches."""

from __future__ import annotations

import numpy as np

from ..compiler.blocks import RunSpec
from ..ir import dims as D
from .context import Context, batches

EVAL_BATCH = 1024


def evaluate(ctx: Context, spec: RunSpec, data_name: str | None = None,
             names: tuple[str, ...] | None = None, batch: int | None = None,
             arrays: dict | None = None) -> dict:
    """Report scalars averaged over the examples; show tensors gathered over the batches.
    `arrays` (checked already) replaces the data block's, as a train block's held-out split."""
    sess = ctx.session(spec)
    if arrays is None:
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
