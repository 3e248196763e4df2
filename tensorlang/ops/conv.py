"""Convolution and pooling over [N, C, H, W]: conv2d, max_pool2d, avg_pool2d, and the internal
adjoint ops their gradients are made of (each with its own vectorized kernel and gradient rule,
so gradients of gradients work).

conv2d padding: an int p (p zeros on every side), "valid" (the same as 0) or "same": the output
is ceil(H / stride) x ceil(W / stride) (H x W at stride 1), padded like TensorFlow: the total
max((out - 1) * stride + KH - H, 0) is split with the odd row/column at the bottom/right.
Pooling has no padding: out = (H - size) // stride + 1, trailing rows/columns left over are
ignored. max_pool2d routes its gradient to the first maximum of each window (row-major order).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import Memory, defop
from ..ir.types import TensorType, is_float, np_dtype, promote
from . import conv_kernels as fast

# ------------------------------------------------------------------ sizes (symbolic or concrete)


def out_dim(n, k, stride: int, padding):
    """Output size of one spatial dim of size n for a window k (ints or Dims)."""
    if padding == "same":
        return D.floordiv(n + (stride - 1), stride)
    p = 0 if padding == "valid" else padding
    return D.floordiv(n + 2 * p - k, stride) + 1


def pads(padding, n: int, k: int, stride: int) -> tuple[int, int]:
    """(before, after) zeros along one concrete spatial dim of size n."""
    if padding == "same":
        total = max((-(-n // stride) - 1) * stride + k - n, 0)
        return total // 2, total - total // 2
    p = 0 if padding == "valid" else padding
    return p, p


def check_rank4(t: TensorType, what: str) -> None:
    if t.rank != 4:
        raise OpError(f"{what} must be rank 4 [N, C, H, W], not {D.shape_str(t.shape)}")


def check_same(what: str, a, b) -> None:
    if D.differ(a, b):
        raise OpError(f"{what} {D.dim_str(a)} and {D.dim_str(b)} differ")


def spatial_out(h, w, kh, kw, stride, padding):
    oh, ow = out_dim(h, kh, stride, padding), out_dim(w, kw, stride, padding)
    for o, n, k, name in ((oh, h, kh, "height"), (ow, w, kw, "width")):
        if D.is_const(o) and o < 1:
            pad = f" padded with {padding}" if padding else ""
            raise OpError(f"window {D.dim_str(k)} is larger than the {name} {D.dim_str(n)}{pad}")
    return oh, ow


def float_result(*types) -> str:
    dtype = promote(*types)
    if not is_float(dtype):
        raise OpError(f"needs float tensors, not {', '.join(t.dtype for t in types)}")
    return dtype


# ------------------------------------------------------------------ attributes, shapes
def sizes(attrs: dict) -> dict:
    """The spatial size attributes of the internal ops (hw, khw) as hashable pairs."""
    for key in ("hw", "khw"):
        if key in attrs:
            attrs[key] = tuple(attrs[key])
            if len(attrs[key]) != 2:
                raise OpError(f"{key} must hold 2 sizes, not {D.shape_str(attrs[key])}")
    return attrs


def _prepare_conv(types, stride=1, padding=0, **attrs):
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise OpError(f"stride must be a positive int, not {stride!r}")
    if padding == "valid":
        padding = 0
    if padding != "same" and (isinstance(padding, bool) or not isinstance(padding, int)
                              or padding < 0):
        raise OpError(f'padding must be an int >= 0, "same" or "valid", not {padding!r}')
    return sizes({**attrs, "stride": stride, "padding": padding})


def _conv_infer(types, stride, padding):
    x, k = types
    check_rank4(x, "x")
    if k.rank != 4:
        raise OpError(f"the kernel must be rank 4 [F, C, KH, KW], not {D.shape_str(k.shape)}")
    n, c, h, w = x.shape
    f, kc, kh, kw = k.shape
    if D.differ(c, kc):
        raise OpError(f"x has {D.dim_str(c)} channels but the kernel expects {D.dim_str(kc)}")
    oh, ow = spatial_out(h, w, kh, kw, stride, padding)
    return TensorType(float_result(x, k), (n, f, oh, ow))


def _grad_input_infer(types, hw, stride, padding):
    g, k = types
    check_rank4(g, "the output gradient")
    check_same("filters", g.shape[1], k.shape[0])
    for a, b in zip(spatial_out(*hw, *k.shape[2:], stride, padding), g.shape[2:]):
        check_same("output sizes", a, b)
    return TensorType(float_result(g, k), (g.shape[0], k.shape[1], *hw))


def _grad_kernel_infer(types, khw, stride, padding):
    x, g = types
    check_rank4(x, "x")
    check_rank4(g, "the output gradient")
    check_same("batch sizes", x.shape[0], g.shape[0])
    for a, b in zip(spatial_out(*x.shape[2:], *khw, stride, padding), g.shape[2:]):
        check_same("output sizes", a, b)
    return TensorType(float_result(x, g), (g.shape[1], x.shape[1], *khw))


# ------------------------------------------------------------------ conv2d: kernels
def _padded(x, kh, kw, stride, padding):
    """x with its zero border, and the output size it gives."""
    h, w = x.shape[2:]
    (t, b), (left, r) = pads(padding, h, kh, stride), pads(padding, w, kw, stride)
    if t or b or left or r:
        x = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)))
    return x, out_dim(h, kh, stride, padding), out_dim(w, kw, stride, padding)


def _windows(x, kh, kw, stride, oh, ow):
    """[N, C, OH, OW, KH, KW]: a view of every window (no copy)."""
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))
    return win[:, :, ::stride, ::stride][:, :, :oh, :ow]


def _im2col(xp, kh, kw, stride, oh, ow):
    """[C*KH*KW, N*OH*OW]: every window as a column; copied with OW innermost, which keeps the
    copy sequential in memory (several times faster than putting the window innermost)."""
    win = _windows(xp, kh, kw, stride, oh, ow).transpose(1, 4, 5, 0, 2, 3)
    return np.ascontiguousarray(win).reshape(-1, xp.shape[0] * oh * ow)


def _flat_g(g):
    """[F, N*OH*OW]: the output gradient with the filters first."""
    return np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(g.shape[1], -1)


def _conv2d(x, k, stride=1, padding=0):
    dt = np.result_type(x, k)
    x, k = x.astype(dt, copy=False), k.astype(dt, copy=False)
    f, _, kh, kw = k.shape
    if stride == 1:  # chunked flat-shift columns (conv_kernels.py): far less memory traffic
        return fast.conv2d(x, k, (pads(padding, x.shape[2], kh, 1),
                                  pads(padding, x.shape[3], kw, 1)))
    xp, oh, ow = _padded(x, kh, kw, stride, padding)
    out = k.reshape(f, -1) @ _im2col(xp, kh, kw, stride, oh, ow)  # [F, N*OH*OW]
    return np.ascontiguousarray(out.reshape(f, x.shape[0], oh, ow).transpose(1, 0, 2, 3))


def _conv2d_grad_input(g, k, hw, stride=1, padding=0):
    dt = np.result_type(g, k)
    g, k = g.astype(dt, copy=False), k.astype(dt, copy=False)
    (h, w), (f, c, kh, kw) = hw, k.shape
    (t, b), (left, r) = pads(padding, h, kh, stride), pads(padding, w, kw, stride)
    if stride == 1:  # chunked flat-shift columns: one contiguous add per offset and image
        return fast.grad_input(g, k, hw, ((t, b), (left, r)))
    n, _, oh, ow = g.shape
    cols = (k.reshape(f, -1).T @ _flat_g(g)).reshape(c, kh, kw, n, oh, ow)
    dxp = np.zeros((c, n, h + t + b, w + left + r), dt)  # channels first, like cols
    # col2im: one strided add per kernel offset (KH*KW slices), never per pixel
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + stride * (oh - 1) + 1:stride,
                j:j + stride * (ow - 1) + 1:stride] += cols[:, i, j]
    return np.ascontiguousarray(dxp[:, :, t:t + h, left:left + w].transpose(1, 0, 2, 3))


def _conv2d_grad_kernel(x, g, khw, stride=1, padding=0):
    dt = np.result_type(x, g)
    x, g = x.astype(dt, copy=False), g.astype(dt, copy=False)
    kh, kw = khw
    if stride == 1:
        return fast.grad_kernel(x, g, khw, (pads(padding, x.shape[2], kh, 1),
                                              pads(padding, x.shape[3], kw, 1)))
    xp, _, _ = _padded(x, kh, kw, stride, padding)
    cols = _im2col(xp, kh, kw, stride, g.shape[2], g.shape[3])
    return (_flat_g(g) @ cols.T).reshape(g.shape[1], x.shape[1], kh, kw)


# ------------------------------------------------------------------ conv2d: working memory
# bytes of the arrays each kernel above holds at its fullest beyond its result, for the memory
# prediction (runtime/memory.py); they follow the kernels' code, chunk sizes included
def _shapes(node, env):
    return [D.evaluate_shape(i.type.shape, env) for i in node.inputs]


def _geometry(x, kshape, attrs):
    """(n, c, hp, wp, oh, ow, kh, kw, f) of a conv of x [N, C, H, W] with a kernel shape."""
    n, c, h, w = x
    f, _, kh, kw = kshape
    s, p = attrs["stride"], attrs["padding"]
    (t, b), (left, r) = pads(p, h, kh, s), pads(p, w, kw, s)
    hp, wp = h + t + b, w + left + r
    return n, c, hp, wp, (hp - kh) // s + 1, (wp - kw) // s + 1, kh, kw, f


def _conv_scratch(node, env) -> int:
    """conv2d and conv2d_bias: the padded images, one chunk's columns and its product."""
    x, k = _shapes(node, env)[:2]
    n, c, hp, wp, oh, ow, kh, kw, f = _geometry(x, k, node.attrs)
    size = np_dtype(node.dtype).itemsize
    if node.attrs["stride"] != 1:
        return size * (n * c * hp * wp + (c * kh * kw + f) * n * oh * ow)
    m = min(n, fast._chunk(c * kh * kw, oh * wp, size))
    columns = c * kh * kw * fast.spread_row_bytes(m * oh * wp, size)
    return size * (n * c * (hp + 1) * wp + f * m * oh * wp) + columns


def _grad_kernel_scratch(node, env) -> int:
    """conv2d_grad_kernel: padded images, the accumulator, one chunk of g and of columns."""
    x, g = _shapes(node, env)
    k = (g[1], x[1], *node.attrs["khw"])
    n, c, hp, wp, oh, ow, kh, kw, f = _geometry(x, k, node.attrs)
    size = np_dtype(node.dtype).itemsize
    if node.attrs["stride"] != 1:
        return size * (n * c * hp * wp + c * kh * kw * n * oh * ow + f * n * oh * ow)
    m = min(n, fast.grad_kernel_chunk(c * kh * kw, f, oh * wp, size))
    columns = c * kh * kw * fast.spread_row_bytes(m * oh * wp, size)
    return size * (n * c * (hp + 1) * wp + 2 * f * c * kh * kw + f * m * oh * wp) + columns


def _grad_input_scratch(node, env) -> int:
    """conv2d_grad_input: stride 1, the padded image gradient (a spare row), one chunk of g
    Wp wide and its columns; else g with the filters first and the columns, then the columns
    with the padded image gradient while the result is copied out."""
    g, k = _shapes(node, env)
    f, c, kh, kw = k
    n, _, oh, ow = g
    x = (n, c, *node.attrs["hw"])
    _, _, hp, wp, *_ = _geometry(x, k, node.attrs)
    size = np_dtype(node.dtype).itemsize
    if node.attrs["stride"] == 1:
        m = min(n, fast.grad_input_chunk(c * kh * kw, oh * wp, size))
        return size * (n * c * (hp + 1) * wp + (f + c * kh * kw) * m * oh * wp)
    cols, flat, dxp = c * kh * kw * n * oh * ow, f * n * oh * ow, c * n * hp * wp
    out = n * c * x[2] * x[3]
    return size * max(flat + cols - out, cols + dxp)


CONV_MEMORY = Memory((), scratch=_conv_scratch)


# ------------------------------------------------------------------ conv2d: gradient rules
# conv2d is bilinear: y = A(k) x with A(k)^T = conv2d_grad_input(., k) and the pairing
# <u, conv2d_grad_kernel(x, g)> = <g, conv2d(x, u)>, so the three ops close under grad.
def _conv_attrs(n):
    return {"stride": n.attrs["stride"], "padding": n.attrs["padding"]}


def _g_conv2d(b, n, g):
    x, k = n.inputs
    a = _conv_attrs(n)
    return (b.op("conv2d_grad_input", g, k, hw=tuple(x.type.shape[2:]), **a),
            b.op("conv2d_grad_kernel", x, g, khw=tuple(k.type.shape[2:]), **a))


def _g_conv2d_grad_input(b, n, u):
    g, k = n.inputs
    a = _conv_attrs(n)
    return (b.op("conv2d", u, k, **a),
            b.op("conv2d_grad_kernel", u, g, khw=tuple(k.type.shape[2:]), **a))


def _g_conv2d_grad_kernel(b, n, u):
    x, g = n.inputs
    a = _conv_attrs(n)
    return (b.op("conv2d_grad_input", g, u, hw=tuple(x.type.shape[2:]), **a),
            b.op("conv2d", x, u, **a))


# ------------------------------------------------------------------ conv2d: cases
CONV_CASES = [  # x shape, kernel shape, stride, padding
    ((2, 3, 5, 5), (4, 3, 3, 3), 2, 1),
    ((1, 2, 6, 5), (3, 2, 3, 2), 1, "same"),
    ((2, 1, 7, 6), (2, 1, 3, 3), 2, "same"),
    ((1, 2, 4, 4), (1, 2, 4, 4), 1, "valid"),
    ((2, 2, 5, 4), (3, 2, 2, 3), 1, 0),
]


def _conv_cases(rng):
    return [([rng.normal(size=xs), rng.normal(size=ks)], {"stride": s, "padding": p})
            for xs, ks, s, p in CONV_CASES]


def _out_shape(xs, ks, s, p):
    return (xs[0], ks[0], out_dim(xs[2], ks[2], s, p), out_dim(xs[3], ks[3], s, p))


def _grad_input_cases(rng):
    return [([rng.normal(size=_out_shape(xs, ks, s, p)), rng.normal(size=ks)],
             {"hw": xs[2:], "stride": s, "padding": p}) for xs, ks, s, p in CONV_CASES[:4]]


def _grad_kernel_cases(rng):
    return [([rng.normal(size=xs), rng.normal(size=_out_shape(xs, ks, s, p))],
             {"khw": ks[2:], "stride": s, "padding": p}) for xs, ks, s, p in CONV_CASES[:4]]


_CONV = "stride: int = 1, padding: any = 0"
defop("conv2d", f"x, k, {_CONV}", infer=_conv_infer, kernel=_conv2d, grad=_g_conv2d,
      prepare=_prepare_conv, promote=(), family="conv", memory=CONV_MEMORY, cases=_conv_cases,
      doc='2-D cross-correlation of x [N, C, H, W] with k [F, C, KH, KW] (padding int, '
          '"same" or "valid")')
defop("conv2d_grad_input", f"g, k, hw: shape, {_CONV}", infer=_grad_input_infer,
      kernel=_conv2d_grad_input, grad=_g_conv2d_grad_input, prepare=_prepare_conv,
      promote=(), family="conv", memory=Memory((), scratch=_grad_input_scratch), internal=True,
      cases=_grad_input_cases,
      doc="the gradient of conv2d with respect to x (its adjoint; col2im)")
defop("conv2d_grad_kernel", f"x, g, khw: shape, {_CONV}", infer=_grad_kernel_infer,
      kernel=_conv2d_grad_kernel, grad=_g_conv2d_grad_kernel, prepare=_prepare_conv,
      promote=(), family="conv", memory=Memory((), scratch=_grad_kernel_scratch), internal=True,
      cases=_grad_kernel_cases,
      doc="the gradient of conv2d with respect to k")


# ------------------------------------------------------------------ fused: conv2d + bias
def _conv_bias_infer(types, stride, padding):
    x, k, bias = types
    out = _conv_infer((x, k), stride=stride, padding=padding)
    if bias.dtype != out.dtype or tuple(bias.shape)[-3:] != (k.shape[0], 1, 1) or \
            any(d != 1 for d in tuple(bias.shape)[:-3]) or bias.rank > 4:
        raise OpError("the bias must be [F, 1, 1] of the result's dtype")
    return out


def _conv_bias(x, k, bias, stride=1, padding=0):
    """conv2d(x, k) + bias, the bias added to each chunk while it is in cache."""
    if stride == 1 and x.dtype == k.dtype == bias.dtype:
        kh, kw = k.shape[2:]
        return fast.conv2d(x, k, (pads(padding, x.shape[2], kh, 1),
                                  pads(padding, x.shape[3], kw, 1)), bias.reshape(-1, 1))
    out = _conv2d(x, k, stride, padding)
    out += bias
    return out


def _g_conv_bias(b, n, g):
    x, k, _ = n.inputs
    a = {"stride": n.attrs["stride"], "padding": n.attrs["padding"]}
    return (b.op("conv2d_grad_input", g, k, hw=tuple(x.type.shape[2:]), **a),
            b.op("conv2d_grad_kernel", x, g, khw=tuple(k.type.shape[2:]), **a), g)


def _conv_bias_cases(rng):
    return [([rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3)),
              rng.normal(size=(3, 1, 1))], {"stride": 1, "padding": 1}),
            ([rng.normal(size=(1, 1, 6, 5)), rng.normal(size=(2, 1, 2, 3)),
              rng.normal(size=(2, 1, 1))], {"stride": 2, "padding": "same"})]


defop("conv2d_bias", "x, k, b, stride: int = 1, padding: any = 0", infer=_conv_bias_infer,
      kernel=_conv_bias, grad=_g_conv_bias, prepare=_prepare_conv, promote=(), internal=True,
      memory=CONV_MEMORY, family="conv", fused=True, cases=_conv_bias_cases,
      doc="conv2d(x, k) + b with b [F, 1, 1], the bias added while each chunk is in cache (made "
          "by the fusion pass)")
