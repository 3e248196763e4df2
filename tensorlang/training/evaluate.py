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
    """Report scalars over the examples; show tensors gathered over the batches. A value that
    combines the examples otherwise than row by row or by a mean, sum, max or min over them
    (`std(x)`, `x[:3]`, `softmax(x, axis = 0)`, `x[1:] - x[:-1]`) is computed on the whole block
    in one run, so batching never changes a result. `arrays` (checked already) replaces the
    data block's, as a train block's held-out split."""
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
    kinds = batch_kinds(graph, fetch, batch_dims, set(arrays))
    result: dict = {}
    whole = [k for k in fetch if kinds[k] == "whole"]
    if whole:
        result.update(zip(whole, sess.run(whole, dict(arrays), check_numerics=ctx.check_numerics)))
    parts = [k for k in fetch if kinds[k] != "whole"]
    if parts:
        size = batch or spec.batch or EVAL_BATCH
        result.update(_batched(ctx, sess, arrays, n, parts, kinds, size))
    for k in names:
        result[k] = float(result[k])
    return {k: result[k] for k in fetch}


def _batched(ctx: Context, sess, arrays: dict, n: int, fetch: list, kinds: dict,
             size: int) -> dict:
    """The values of fetches that batches give exactly: rows concatenated, means weighted by
    the batches' sizes, sums added, maxima and minima of the batches' ones."""
    got: dict[str, list] = {k: [] for k in fetch}
    counts: list[int] = []
    for sl in batches(n, size):
        feed = {k: v[sl] for k, v in arrays.items()}
        for k, v in zip(fetch, sess.run(fetch, feed, check_numerics=ctx.check_numerics)):
            got[k].append(v)
        counts.append(len(next(iter(feed.values()))))
    out = {}
    for k in fetch:
        parts, kind = got[k], kinds[k]
        if kind == "rows":
            out[k] = np.concatenate(parts)
        elif kind == "same" or len(parts) == 1:
            out[k] = parts[0]
        elif kind == "mean":
            out[k] = np.average(np.stack(parts), axis=0, weights=counts).astype(parts[0].dtype)
        else:
            out[k] = COMBINE[kind](np.stack(parts), axis=0).astype(parts[0].dtype)
    return out


COMBINE = {"sum": np.sum, "max": np.max, "min": np.min}
MEANS = ("mse", "softmax_cross_entropy_mean")  # ops that are means over all their elements


def batch_kinds(graph, fetch, batch_dims: set, fed: set) -> dict[str, str]:
    """How each fetched value is made from batches of the examples: "same" (no example in it),
    "rows" (one row per example, each from its own example only: concatenated), "mean", "sum",
    "max", "min" (of such rows over the example axis: combined across batches), or "whole" (it
    mixes the examples some other way: computed on the whole block)."""
    rows = _row_wise(graph, batch_dims, fed)
    out = {}
    for k in fetch:
        node = graph.node(k)
        state = rows.get(node.id)
        if state is None:
            out[k] = "same"
        elif state:
            out[k] = "rows"
        elif node.op in ("mean", "sum", "max", "min") and 0 in node.attrs.get("axis", ()) and \
                rows.get(node.inputs[0].id) and not node.attrs.get("keepdims"):
            out[k] = node.op
        elif node.op in MEANS and all(rows.get(i.id) is not False for i in node.inputs):
            out[k] = "mean"  # a mean over every element of row-wise inputs
        else:
            out[k] = "whole"
    return out


def _row_wise(graph, batch_dims: set, fed: set) -> dict[int, bool | None]:
    """node id -> True when row i of its value depends on example i alone (and its first axis
    is the examples'), False when it depends on the examples otherwise, None when on none."""
    state: dict[int, bool | None] = {}
    names = D.symbols(list(batch_dims))
    for node in graph.nodes:  # topological: inputs first
        if node.op == "placeholder":
            state[node.id] = True if node.name in fed and node.rank and \
                node.type.shape[0] in batch_dims else None
            continue
        deps = [state.get(i.id) for i in node.inputs]
        deps = [d for d in deps if d is not None]
        if not deps:
            # no example in it, but a shape that follows the batch's size (the gradient
            # broadcast_to(1, [N]), eye(N)): it differs from batch to batch
            state[node.id] = False if D.symbols(node.type.shape) & names else None
            continue
        # the example axis first and only there: [N, N] (x[:, 0] / x) pairs examples
        state[node.id] = all(deps) and node.rank > 0 and node.type.shape[0] in batch_dims and \
            not D.symbols(node.type.shape[1:]) & names and not _mixes_rows(node)
    return state


def _mixes_rows(node) -> bool:
    """Whether an op on row-wise inputs, keeping the example axis first, still reads across the
    examples: along axis 0 (softmax, sort, take, a reduction, concat), an F-order reshape, a
    transpose that moves axis 0, an index that is not `:` on axis 0."""
    attrs = node.attrs
    for key in ("axis", "axis1", "axis2"):
        v = attrs.get(key)
        if v is not None and 0 in (v if isinstance(v, tuple) else (v,)):
            return True
    if attrs.get("order", "C") != "C" or node.op == "einsum":
        return True
    if node.op == "transpose":
        return attrs["axes"][0] != 0
    if node.op == "index":
        items = attrs["items"]
        return not items or items[0] != ("slice", 0, node.inputs[0].type.shape[0], 1)
    return False


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
