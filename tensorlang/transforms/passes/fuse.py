"""Fusion: patterns of several nodes that one fused kernel computes (the fused ops live beside
their families in ops/). For one op, the rules are tried in the order below."""

from __future__ import annotations

import numpy as np

from ...ir.types import broadcasts_to, is_float
from .rules import Pass, all_equal, same_type

FUSE = Pass("fuse", "several nodes into one fused kernel: losses, matmul + bias, conv + bias, "
                    "relu's and pooling's gradients, transposed matmuls")


@FUSE.rule("log")
def log_softmax(b, n, ins, ctx):
    """log(softmax(z)) -> log_softmax(z): no log of an underflowed 0."""
    if ins[0].op == "softmax":
        return b.add("log_softmax", (ins[0].inputs[0],), dict(ins[0].attrs), span=n.span)
    return None


@FUSE.rule("mean")
def softmax_cross_entropy_mean(b, n, ins, ctx):
    """mean(softmax_cross_entropy(z, ids)) over every example, when nothing else reads the
    per-example losses -> softmax_cross_entropy_mean(z, ids): no loss vector in between."""
    sxe = ins[0]
    if ctx.uses[n.inputs[0].id] != 1 or sxe.op != "softmax_cross_entropy":
        return None
    z, ids = sxe.inputs
    if ids.rank != z.rank - 1 or tuple(n.attrs["axis"]) != tuple(range(sxe.rank)) or \
            n.attrs["keepdims"] or n.dtype != sxe.dtype or not is_float(z.dtype) or \
            z.dtype != n.dtype:
        return None
    return b.add("softmax_cross_entropy_mean", sxe.inputs, {}, span=n.span)


def _conv_bias_shape(bias, conv) -> bool:
    """bias is [F, 1, 1] (or [1, F, 1, 1]) for conv's F filters: a bias per output channel."""
    shape = tuple(bias.type.shape)
    return shape[-3:] == (conv.type.shape[1], 1, 1) and all(d == 1 for d in shape[:-3])


@FUSE.rule("add")
def conv2d_bias(b, n, ins, ctx):
    """conv2d(x, k) + bias per filter -> conv2d_bias(x, k, bias): the bias is added while each
    chunk of the result is in cache."""
    for conv, bias in (ins, ins[::-1]):
        if conv.op == "conv2d" and bias.rank in (3, 4) and same_type(conv, n) and \
                bias.dtype == n.dtype and _conv_bias_shape(bias, conv):
            return b.add("conv2d_bias", (*conv.inputs, bias), dict(conv.attrs), span=n.span)
    return None


@FUSE.rule("add")
def linear(b, n, ins, ctx):
    """matmul(x, W) + b of matrices -> linear(x, W, b): one allocation, the bias added in place."""
    for mm, bias in (ins, ins[::-1]):
        if mm.op == "matmul" and mm.rank == 2 and all(i.rank == 2 for i in mm.inputs) and \
                bias.rank <= 2 and same_type(mm, n) and bias.dtype == n.dtype:
            return b.add("linear", (*mm.inputs, bias), {}, span=n.span)
    return None


def _is_t(n) -> bool:
    """A transpose of a matrix."""
    return n.op == "transpose" and n.rank == 2 and tuple(n.attrs["axes"]) == (1, 0)


@FUSE.rule("matmul")
def matmul_t(b, n, ins, ctx):
    """matmul(transpose(a), c) and the like, of matrices -> matmul_t(a, c, ta, tc): the operand
    is read transposed, with no transpose step (a weight's gradient every training step)."""
    if not all(i.rank == 2 for i in ins) or not any(_is_t(i) for i in ins) or \
            not all(i.dtype == n.dtype for i in ins):
        return None
    (a, ta), (c, tc) = ((i.inputs[0], True) if _is_t(i) else (i, False) for i in ins)
    return b.add("matmul_t", (a, c), {"ta": ta, "tb": tc}, span=n.span)


def _relu_mask(n, ins) -> bool:
    """where(x > 0, g, +0.0) with x, g and the result of one dtype and shape: relu's gradient."""
    cond, g, zero = ins
    return (cond.op == "greater" and all_equal(cond.inputs[1], 0.0) and
            cond.inputs[1].rank == 0 and zero.op == "constant" and zero.rank == 0 and
            not np.signbit(zero.attrs["value"]) and all_equal(zero, 0.0) and
            same_type(cond.inputs[0], n) and same_type(g, n))


@FUSE.rule("where")
def relu_grad_before_pooling(b, n, ins, ctx):
    """where(x > 0, g, 0) with g max pooling's gradient of relu(x) (or x) -> max_pool2d_grad_top(
    r, top, relu_grad(top, g')): pooling routes g' only to cells holding their window's maximum,
    which are > 0 exactly where that maximum is, so relu's mask is applied to the pooled
    gradient (a quarter of the cells for 2 x 2 windows) before it is spread."""
    if not _relu_mask(n, ins) or ins[1].op != "max_pool2d_grad_top" or \
            ctx.uses[n.inputs[1].id] != 1:
        return None
    x = ins[0].inputs[0]
    pooled, top, small = ins[1].inputs
    if pooled is not x and pooled is not ctx.existing("relu", (x,)):
        return None
    masked = b.add("relu_grad", (top, small), {}, span=n.span)
    return b.add("max_pool2d_grad_top", (pooled, top, masked), dict(ins[1].attrs),
                 span=ins[1].span)


@FUSE.rule("where")
def relu_grad(b, n, ins, ctx):
    """where(x > 0, g, 0) -> relu_grad(relu(x), g) when relu(x) is computed anyway (x > 0 exactly
    where relu(x) > 0, NaN included): x then dies at relu, which may overwrite it."""
    if not _relu_mask(n, ins):
        return None
    x = ins[0].inputs[0]
    relu = ctx.existing("relu", (x,))
    return b.add("relu_grad", (relu if relu is not None else x, ins[1]), {}, span=n.span)


@FUSE.rule("multiply")
def softmax_cross_entropy_grad(b, n, ins, ctx):
    """(softmax(z) - one_hot_like(ids, z)) * expand_dims(g, -1) -> softmax_cross_entropy_grad(z,
    ids, g): the gradient of softmax_cross_entropy with class ids in one buffer, not four."""
    for diff, g in (ins, ins[::-1]):
        if diff.op != "subtract" or not same_type(diff, n) or g.op != "expand_dims" or \
                g.attrs["axis"] != (g.rank - 1,) or g.dtype != n.dtype:
            continue
        s, hot = diff.inputs
        if s.op != "softmax" or hot.op != "one_hot_like" or s.attrs["axis"] != s.rank - 1:
            continue
        z, ids, per_example = s.inputs[0], hot.inputs[0], g.inputs[0]
        if hot.inputs[1] is z and z.dtype == n.dtype and ids.rank == z.rank - 1 and \
                broadcasts_to(per_example.type.shape, ids.type.shape):
            return b.add("softmax_cross_entropy_grad", (z, ids, per_example), {}, span=n.span)
    return None


@FUSE.rule("max_pool2d_grad")
def max_pool2d_grad_top(b, n, ins, ctx):
    """max_pool2d_grad(x, g) -> max_pool2d_grad_top(x, top, g) when top = max_pool2d(x) is in
    the graph: the gradient does not compute the maxima again."""
    x, g = ins
    attrs = {"size": n.attrs["size"], "stride": n.attrs["stride"]}
    top = ctx.existing("max_pool2d", (x,), attrs)
    if top is None:
        return None
    return b.add("max_pool2d_grad_top", (x, top, g), dict(n.attrs), span=n.span)
