"""References for the conv family: direct loops over output positions and windows (no im2col,
no window views), the independent check of the vectorized kernels in tensorlang/ops/conv.py."""

from __future__ import annotations

import numpy as np


def _pad_amounts(padding, n, k, stride):
    """TensorFlow's rule for "same"; an int pads both sides."""
    if padding == "same":
        out = -(-n // stride)
        total = max((out - 1) * stride + k - n, 0)
        return total // 2, total - total // 2
    if padding == "valid":
        return 0, 0
    return padding, padding


def _zero_padded(x, kh, kw, stride, padding):
    n, c, h, w = x.shape
    t, b = _pad_amounts(padding, h, kh, stride)
    left, r = _pad_amounts(padding, w, kw, stride)
    xp = np.zeros((n, c, h + t + b, w + left + r), x.dtype)
    xp[:, :, t:t + h, left:left + w] = x
    return xp, (t, left)


def conv2d(x, k, stride=1, padding=0):
    """out[n, f, i, j] = sum of the window at (i*stride, j*stride) times k[f]."""
    dt = np.result_type(x, k)
    kh, kw = k.shape[2:]
    xp, _ = _zero_padded(x.astype(dt), kh, kw, stride, padding)
    oh = (xp.shape[2] - kh) // stride + 1
    ow = (xp.shape[3] - kw) // stride + 1
    out = np.zeros((x.shape[0], k.shape[0], oh, ow), dt)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            for f in range(k.shape[0]):
                out[:, f, i, j] = (patch * k[f]).sum(axis=(1, 2, 3))
    return out


def conv2d_grad_input(g, k, hw, stride=1, padding=0):
    """Each output position's gradient times k, added back onto its window."""
    dt = np.result_type(g, k)
    (h, w), (kh, kw) = hw, k.shape[2:]
    n, f_count, oh, ow = g.shape
    xp, (t, left) = _zero_padded(np.zeros((n, k.shape[1], h, w), dt), kh, kw, stride, padding)
    for i in range(oh):
        for j in range(ow):
            for f in range(f_count):
                xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += \
                    g[:, f, i, j][:, None, None, None] * k[f]
    return xp[:, :, t:t + h, left:left + w].copy()


def conv2d_grad_kernel(x, g, khw, stride=1, padding=0):
    """Each output position's gradient times its input window, summed."""
    dt = np.result_type(x, g)
    kh, kw = khw
    xp, _ = _zero_padded(x.astype(dt), kh, kw, stride, padding)
    out = np.zeros((g.shape[1], x.shape[1], kh, kw), dt)
    for i in range(g.shape[2]):
        for j in range(g.shape[3]):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            for f in range(g.shape[1]):
                out[f] += (g[:, f, i, j][:, None, None, None] * patch).sum(axis=0)
    return out


def _each_window(shape, size, stride):
    """(n, c, i, j, rows, cols) for every window of every image and channel."""
    n_, c_, h, w = shape
    for i in range((h - size) // stride + 1):
        for j in range((w - size) // stride + 1):
            rows = slice(i * stride, i * stride + size)
            cols = slice(j * stride, j * stride + size)
            for n in range(n_):
                for c in range(c_):
                    yield n, c, i, j, rows, cols


def _pooled_shape(shape, size, stride):
    return (*shape[:2], (shape[2] - size) // stride + 1, (shape[3] - size) // stride + 1)


def max_pool2d(x, size=2, stride=None):
    """The largest value of each window."""
    stride = stride or size
    out = np.zeros(_pooled_shape(x.shape, size, stride), x.dtype)
    for n, c, i, j, rows, cols in _each_window(x.shape, size, stride):
        out[n, c, i, j] = x[n, c, rows, cols].max()
    return out


def avg_pool2d(x, size=2, stride=None):
    """The mean of each window."""
    stride = stride or size
    dt = x.dtype if x.dtype.kind == "f" else np.float32
    out = np.zeros(_pooled_shape(x.shape, size, stride), dt)
    for n, c, i, j, rows, cols in _each_window(x.shape, size, stride):
        out[n, c, i, j] = x[n, c, rows, cols].astype(dt).sum() / (size * size)
    return out


def _first_max(window):
    """(row, col) of the first maximum, scanning row by row."""
    best = None
    for r in range(window.shape[0]):
        for q in range(window.shape[1]):
            if best is None or window[r, q] > window[best]:
                best = (r, q)
    return best


def max_pool2d_grad(x, g, size=2, stride=None):
    """Each window's gradient added at its first maximum."""
    stride = stride or size
    out = np.zeros(x.shape, g.dtype)
    for n, c, i, j, rows, cols in _each_window(x.shape, size, stride):
        r, q = _first_max(x[n, c, rows, cols])
        out[n, c, rows.start + r, cols.start + q] += g[n, c, i, j]
    return out


def max_pool2d_pick(x, u, size=2, stride=None):
    """u at the first maximum of each window of x."""
    stride = stride or size
    out = np.zeros(_pooled_shape(x.shape, size, stride), u.dtype)
    for n, c, i, j, rows, cols in _each_window(x.shape, size, stride):
        r, q = _first_max(x[n, c, rows, cols])
        out[n, c, i, j] = u[n, c, rows.start + r, cols.start + q]
    return out


def avg_pool2d_grad(g, hw, size=2, stride=None):
    """Each window's gradient shared evenly by its size * size cells."""
    stride = stride or size
    out = np.zeros((*g.shape[:2], *hw), g.dtype)
    for n, c, i, j, rows, cols in _each_window(out.shape, size, stride):
        out[n, c, rows, cols] += g[n, c, i, j] / (size * size)
    return out


REFERENCES = {
    "conv2d": conv2d,
    "conv2d_grad_input": conv2d_grad_input,
    "conv2d_grad_kernel": conv2d_grad_kernel,
    "max_pool2d": max_pool2d,
    "avg_pool2d": avg_pool2d,
    "max_pool2d_grad": max_pool2d_grad,
    "max_pool2d_pick": max_pool2d_pick,
    "avg_pool2d_grad": avg_pool2d_grad,
}
