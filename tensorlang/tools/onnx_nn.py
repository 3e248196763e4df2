"""The ONNX rules of the neural-network ops: softmax and log_softmax, the losses (with class
ids or rows, on logits or on probabilities, the fused mean and gradient the optimizer makes),
convolution and pooling; see onnx_ops.py for the rest and the helpers."""

from __future__ import annotations

import numpy as np

from ..ir.types import np_dtype
from .onnx_ops import _as, one_hot

RULES: dict = {}  # op -> its ONNX rule (export_onnx.py takes them with onnx_ops.RULES)


def rule(*names: str, **fixed):
    """Register an ONNX rule for these ops (keywords are passed on to it)."""
    def register(fn):
        for n in names:
            RULES[n] = (lambda e, node, ins, _fn=fn, **k: _fn(e, node, ins, **{**fixed, **k}))
        return fn
    return register


@rule("softmax")
def _softmax(e, node, ins):
    return e.op("Softmax", _as(e, node, ins), axis=int(node.attrs["axis"]))


@rule("log_softmax")
def _log_softmax(e, node, ins):
    return e.op("LogSoftmax", _as(e, node, ins), axis=int(node.attrs["axis"]))


def _picked(e, logp, ids):
    """logp[..., ids] along the last axis."""
    index = e.op("Unsqueeze", [e.cast(ids, None, "i64"), e.const(np.asarray([-1], np.int64))])
    picked = e.op("GatherElements", [logp, index], axis=-1)
    return e.op("Squeeze", [picked, e.const(np.asarray([-1], np.int64))])


def _xent(e, node, ins, logp):
    labels = node.inputs[1]
    if labels.type.rank == node.inputs[0].type.rank - 1:
        return e.op("Neg", [_picked(e, logp, ins[1])])
    rows = e.cast(ins[1], labels.dtype, node.dtype)
    return e.op("Neg", [e.op("ReduceSum", [e.op("Mul", [rows, logp]),
                                           e.const(np.asarray([-1], np.int64))], keepdims=0)])


@rule("softmax_cross_entropy")
def _softmax_cross_entropy(e, node, ins):
    x = e.cast(ins[0], node.inputs[0].dtype, node.dtype)
    return _xent(e, node, ins, e.op("LogSoftmax", [x], axis=-1))


@rule("softmax_cross_entropy_mean")
def _sxe_mean(e, node, ins):
    return e.op("ReduceMean", [_softmax_cross_entropy(e, node, ins)], keepdims=0)


@rule("softmax_cross_entropy_grad")
def _sxe_grad(e, node, ins):
    z, ids, g = ins
    p = e.op("Softmax", [z], axis=-1)
    hot = one_hot(e, ids, int(node.inputs[0].type.shape[-1]), node.dtype)
    return e.op("Mul", [e.op("Sub", [p, hot]),
                        e.op("Unsqueeze", [g, e.const(np.asarray([-1], np.int64))])])


def _clipped(e, node, p):
    eps = np.finfo(np_dtype(node.dtype)).eps
    dt = np_dtype(node.dtype)
    return e.op("Clip", [p, e.const(np.asarray(eps, dt)), e.const(np.asarray(1 - eps, dt))])


@rule("cross_entropy")
def _cross_entropy(e, node, ins):
    p = _clipped(e, node, e.cast(ins[0], node.inputs[0].dtype, node.dtype))
    return _xent(e, node, ins, e.op("Log", [p]))


@rule("binary_cross_entropy")
def _binary_cross_entropy(e, node, ins):
    p, y = _as(e, node, ins)
    p = _clipped(e, node, p)
    one = e.const(np.ones((), np_dtype(node.dtype)))
    pos = e.op("Mul", [y, e.op("Log", [p])])
    neg = e.op("Mul", [e.op("Sub", [one, y]), e.op("Log", [e.op("Sub", [one, p])])])
    return e.op("Neg", [e.op("Add", [pos, neg])])


@rule("sigmoid_cross_entropy")
def _sigmoid_cross_entropy(e, node, ins):
    x, y = _as(e, node, ins)
    zero = e.const(np.zeros((), np_dtype(node.dtype)))
    soft = e.op("Softplus", [e.op("Neg", [e.op("Abs", [x])])])
    return e.op("Add", [e.op("Sub", [e.op("Max", [x, zero]), e.op("Mul", [x, y])]), soft])


# ------------------------------------------------------------------ convolution and pooling
def _conv_attrs(node, x_shape, k_shape):
    from ..ops.conv import pads
    s = int(node.attrs.get("stride", 1))
    padding = node.attrs.get("padding", 0)
    (t, b), (left, r) = (pads(padding, int(x_shape[2]), int(k_shape[2]), s),
                         pads(padding, int(x_shape[3]), int(k_shape[3]), s))
    return {"strides": [s, s], "pads": [t, left, b, r]}


@rule("conv2d")
def _conv2d(e, node, ins):
    x, k = node.inputs
    return e.op("Conv", _as(e, node, ins), **_conv_attrs(node, x.type.shape, k.type.shape))


@rule("conv2d_bias")
def _conv2d_bias(e, node, ins):
    x, k, _ = node.inputs
    a, w, b = _as(e, node, ins)
    bias = e.op("Reshape", [b, e.const(np.asarray([-1], np.int64))])
    return e.op("Conv", [a, w, bias], **_conv_attrs(node, x.type.shape, k.type.shape))


def _pool(e, node, ins, kind):
    size = int(node.attrs.get("size", 2))
    stride = int(node.attrs.get("stride") or size)
    x = _as(e, node, ins)[0] if kind == "AveragePool" else ins[0]
    return e.op(kind, [x], kernel_shape=[size, size], strides=[stride, stride])


rule("max_pool2d", kind="MaxPool")(_pool)
rule("avg_pool2d", kind="AveragePool")(_pool)


@rule("rnn")
def _rnn(e, node, ins):
    """SimpleRNN as ONNX's RNN (time-major, as onnxruntime implements it): tanh(x Wx + h Wh +
    b), its W and R the transposed Wx and Wh, its input bias b and a zero recurrent bias."""
    x, h0, wx, wh, b = _as(e, node, ins)
    h = int(node.inputs[1].type.shape[1])
    first = e.const(np.asarray([0], np.int64))
    w = e.op("Unsqueeze", [e.op("Transpose", [wx], perm=[1, 0]), first])
    r = e.op("Unsqueeze", [e.op("Transpose", [wh], perm=[1, 0]), first])
    bias = e.op("Unsqueeze", [e.op("Concat", [b, e.const(np.zeros(h, np_dtype(node.dtype)))],
                                   axis=0), first])
    init = e.op("Unsqueeze", [h0, first])
    xt = e.op("Transpose", [x], perm=[1, 0, 2])
    ys = e.ops("RNN", [xt, w, r, bias, "", init], 1, hidden_size=h,
               activations=["Tanh"])[0]  # [T, 1, N, H]
    ys = e.op("Squeeze", [ys, e.const(np.asarray([1], np.int64))])
    return e.op("Transpose", [ys], perm=[1, 0, 2])


# ------------------------------------------------------------------ convolution, pooling: gradients
def _conv_pads(node, h: int, w: int, kh: int, kw: int):
    from ..ops.conv import pads
    s = int(node.attrs.get("stride", 1))
    padding = node.attrs.get("padding", 0)
    return s, pads(padding, h, kh, s), pads(padding, w, kw, s)


@rule("conv2d_grad_input")
def _conv2d_grad_input(e, node, ins):
    """conv2d's adjoint in x: ConvTranspose with conv2d's kernel, its output padded out to hw."""
    g, k = _as(e, node, ins)
    (h, w), (_, _, kh, kw) = node.attrs["hw"], node.inputs[1].type.shape
    oh, ow = node.inputs[0].type.shape[2:]
    s, (t, b), (left, r) = _conv_pads(node, int(h), int(w), int(kh), int(kw))
    extra = [int(h) - (s * (int(oh) - 1) + int(kh) - t - b),
             int(w) - (s * (int(ow) - 1) + int(kw) - left - r)]
    return e.op("ConvTranspose", [g, k], strides=[s, s], pads=[t, left, b, r],
                output_padding=extra)


@rule("conv2d_grad_kernel")
def _conv2d_grad_kernel(e, node, ins):
    """conv2d's adjoint in k: the batch as channels, x's channels as the batch, g as the kernel
    dilated by the stride; the result cut to the kernel's size."""
    x, g = _as(e, node, ins)
    kh, kw = (int(d) for d in node.attrs["khw"])
    _, _, h, w = node.inputs[0].type.shape
    s, (t, b), (left, r) = _conv_pads(node, int(h), int(w), kh, kw)
    swap = [1, 0, 2, 3]
    out = e.op("Conv", [e.op("Transpose", [x], perm=swap), e.op("Transpose", [g], perm=swap)],
               dilations=[s, s], pads=[t, left, b, r])  # [C, F, >= KH, >= KW]
    cut = e.op("Slice", [out, e.const(np.asarray([0, 0], np.int64)),
                         e.const(np.asarray([kh, kw], np.int64)),
                         e.const(np.asarray([2, 3], np.int64))])
    return e.op("Transpose", [cut], perm=swap)


@rule("max_pool2d_grad", "max_pool2d_grad_top")
def _max_pool2d_grad(e, node, ins):
    """g added at each window's maximum: MaxPool's indices (flat over the whole tensor), then
    ScatterElements with reduction add into a flat zero tensor of x's size."""
    x, g = ins[0], ins[-1]
    size = int(node.attrs.get("size", 2))
    stride = int(node.attrs.get("stride") or size)
    _, where = e.ops("MaxPool", [x], 2, kernel_shape=[size, size], strides=[stride, stride])
    flat = e.const(np.asarray([-1], np.int64))
    fill = e.onnx.numpy_helper.from_array(np.zeros(1, np_dtype(node.dtype)))
    zeros = e.op("ConstantOfShape", [e.op("Reshape", [e.op("Size", [x]), flat])], value=fill)
    out = e.op("ScatterElements", [zeros, e.op("Reshape", [where, flat]),
                                   e.op("Reshape", [g, flat])], axis=0, reduction="add")
    return e.op("Reshape", [out, e.op("Shape", [x])])


# ------------------------------------------------------------------ gated layers as ONNX Scans
def _tape(e, node, states: list[str], a: str, step) -> str:
    """A recurrent layer's whole tape from an ONNX Scan over the time axis whose body is one
    step (`step(op, const, states, a_t) -> (new states, tape row)`): ONNX's own LSTM and GRU
    return only the states, not the gates that the gradient reads."""
    helper = e.onnx.helper
    dt = helper.np_dtype_to_tensor_dtype(np_dtype(node.dtype))
    names = [e.fresh("state") for _ in states] + [e.fresh("a")]
    nodes: list = []

    def op(kind, inputs, n=1, **attrs):
        outs = [e.fresh(kind.lower()) for _ in range(n)]
        nodes.append(helper.make_node(kind, inputs, outs, **attrs))
        return outs if n > 1 else outs[0]

    def const(value):
        return op("Constant", [], value=e.onnx.numpy_helper.from_array(np.asarray(value)))
    new, row = step(op, const, names[:-1], names[-1])
    outs = [op("Identity", [v]) for v in (*new, row)]
    body = helper.make_graph(nodes, e.fresh("step"),
                             [helper.make_tensor_value_info(n, dt, None) for n in names],
                             [helper.make_tensor_value_info(n, dt, None) for n in outs])
    return e.ops("Scan", [*states, a], len(states) + 1, body=body, num_scan_inputs=1,
                 scan_input_axes=[1], scan_output_axes=[1])[-1]


@rule("lstm_tape")
def _lstm_tape(e, node, ins):
    """[N, T, 6H]: h c i f o g of every step, as ops/gated.py lays the tape out."""
    x, h0, c0, wx, wh, b = _as(e, node, ins)
    hs = int(node.inputs[1].type.shape[1])

    def step(op, const, states, a):
        h, c = states
        z = op("Add", [a, op("MatMul", [h, wh])])
        zi, zf, zg, zo = op("Split", [z, const(np.asarray([hs] * 4, np.int64))], 4, axis=1)
        i, f, o, g = (op("Sigmoid", [zi]), op("Sigmoid", [zf]), op("Sigmoid", [zo]),
                      op("Tanh", [zg]))
        c = op("Add", [op("Mul", [f, c]), op("Mul", [i, g])])
        h = op("Mul", [o, op("Tanh", [c])])
        return (h, c), op("Concat", [h, c, i, f, o, g], axis=1)
    return _tape(e, node, [h0, c0], e.op("Add", [e.op("MatMul", [x, wx]), b]), step)


@rule("gru_tape")
def _gru_tape(e, node, ins):
    """[N, T, 5H]: h r z n and h_{t-1} @ Whn + bhn of every step, as ops/gated.py has it."""
    x, h0, wx, wh, bx, bh = _as(e, node, ins)
    hs = int(node.inputs[1].type.shape[1])
    one = e.const(np.ones((), np_dtype(node.dtype)))

    def step(op, const, states, a):
        (h,) = states
        thirds = const(np.asarray([hs] * 3, np.int64))
        ar, az, an = op("Split", [a, thirds], 3, axis=1)
        gr, gz, hn = op("Split", [op("Add", [op("MatMul", [h, wh]), bh]), thirds], 3, axis=1)
        r, z = op("Sigmoid", [op("Add", [ar, gr])]), op("Sigmoid", [op("Add", [az, gz])])
        n = op("Tanh", [op("Add", [an, op("Mul", [r, hn])])])
        h = op("Add", [op("Mul", [op("Sub", [one, z]), n]), op("Mul", [z, h])])
        return (h,), op("Concat", [h, r, z, n, hn], axis=1)
    return _tape(e, node, [h0], e.op("Add", [e.op("MatMul", [x, wx]), bx]), step)
