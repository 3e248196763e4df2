"""Fast paths of the conv family's kernels (conv.py calls them where they apply).

Stride-1 conv2d and its kernel and input gradients work on "flat shift" columns built (or, for
the input gradient, added back) chunk by chunk, so that each chunk's columns are still in cache
when the next step reads them: the columns of a whole batch are C*KH*KW times bigger than the
images, and writing them all out and reading them back is what made the plain im2col slow.

With stride 1, the window offset (i, j) of a zero-padded image flattened row by row is a single
contiguous run: output position p = oh * Wp + ow reads xflat[i * Wp + j + p]. Computing every p in
[0, OH * Wp), the positions with ow >= OW included (they are dropped from the result), makes each
column row one contiguous copy instead of OH short ones (and the input gradient's col2im one
contiguous add per offset). The padded image gets one extra zero row so that the last runs stay
inside it."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

CHUNK_BYTES = 1 << 20  # one chunk's columns: about L2 (1 MiB a core here); 256 KiB was slower


def padded_flat(x: np.ndarray, pads) -> tuple[np.ndarray, int, int]:
    """x zero-padded by ((top, bottom), (left, right)) plus one spare bottom row, flattened per
    image and channel: ([N, C, (Hp + 1) * Wp], Hp, Wp)."""
    (t, b), (left, r) = pads
    n, c, h, w = x.shape
    hp, wp = h + t + b, w + left + r
    xp = np.zeros((n, c, hp + 1, wp), x.dtype)
    xp[:, :, t:t + h, left:left + w] = x
    return xp.reshape(n, c, -1), hp, wp


def spread_rows(rows: int, length: int, dtype) -> np.ndarray:
    """An empty [rows, length] array whose rows start an odd number of 64-byte lines apart, so
    that a GEMM reading down its columns spreads them over the cache's sets: rows a multiple of
    4 KiB apart all fall in one set of L1 (measured: OpenBLAS's [6, 25] @ [25, 8 * 896], the
    LeNet conv's columns of 8 images, rows 7 * 4 KiB apart, took 96 us packed and 55 us
    spread)."""
    size = np.dtype(dtype).itemsize
    return np.empty((rows, spread_row_bytes(length, size) // size), dtype)[:, :length]


def spread_row_bytes(length: int, itemsize: int) -> int:
    """The bytes from one row of spread_rows to the next: an odd multiple of 64."""
    return -(-length * itemsize // 128) * 128 + 64


def _shaped(a: np.ndarray, shape) -> np.ndarray:
    """A view of a with this shape (an error, never a silent copy, if none exists)."""
    v = a.view()
    v.shape = shape
    return v


def _columns(xf: np.ndarray, kh: int, kw: int, wp: int, oh: int) -> np.ndarray:
    """[C*KH*KW, n*L] (L = OH*Wp, rows spread): row (c, i, j) holds image m's run
    xf[m, c, i*Wp + j:][:L]."""
    n, c, _ = xf.shape
    s = xf.strides
    view = as_strided(xf, (c, kh, kw, n, oh * wp), (s[1], wp * s[2], s[2], s[0], s[2]),
                      writeable=False)
    out = spread_rows(c * kh * kw, n * oh * wp, xf.dtype)
    np.copyto(_shaped(out, view.shape), view)
    return out


THIN_ROWS = 64
"""Columns with fewer rows than this (C*KH*KW: a first layer's 25 or 9) make a product that
reads each column once and does little with it: its chunks take half of CHUNK_BYTES (measured:
LeNet's first convolution 0.66 -> 0.48 ms; with 11 images a chunk OpenBLAS's [6, 25] @ [25, N]
fell to a third of its speed, and from time to time to 2 ms)."""


def _chunk(rows: int, run: int, itemsize: int) -> int:
    """How many images one chunk of conv2d's columns holds."""
    budget = CHUNK_BYTES // 2 if rows < THIN_ROWS else CHUNK_BYTES
    return max(1, budget // max(1, rows * run * itemsize))


def conv2d(x: np.ndarray, k: np.ndarray, pads, bias: np.ndarray | None = None) -> np.ndarray:
    """[N, F, OH, OW]: the stride-1 cross-correlation of x [N, C, H, W] (same dtype as k), plus
    bias [F, 1] when given (added to each chunk's product while it is in cache)."""
    f, c, kh, kw = k.shape
    xf, hp, wp = padded_flat(x, pads)
    oh, ow = hp - kh + 1, wp - kw + 1
    n = x.shape[0]
    out = np.empty((n, f, oh, ow), x.dtype)
    km = k.reshape(f, -1)
    step = _chunk(c * kh * kw, oh * wp, x.itemsize)
    for a in range(0, n, step):
        e = min(a + step, n)
        r = km @ _columns(xf[a:e], kh, kw, wp, oh)  # [F, m*OH*Wp]
        if bias is not None:
            r += bias
        out[a:e] = r.reshape(f, e - a, oh, wp)[:, :, :, :ow].transpose(1, 0, 2, 3)
    return out


GRAD_KERNEL_CHUNK_BYTES = 1 << 19
"""Bytes of one chunk of grad_kernel's columns and output gradient together: both are read by
its product, so together they stay within L2 (measured: 1 MiB was up to 1.8x slower, 256 KiB
slower too)."""


def grad_kernel_chunk(rows: int, f: int, run: int, itemsize: int) -> int:
    """How many images one chunk of grad_kernel holds (rows of columns and f of g, run wide)."""
    return max(1, GRAD_KERNEL_CHUNK_BYTES // max(1, (rows + f) * run * itemsize))


def grad_kernel(x: np.ndarray, g: np.ndarray, khw, pads) -> np.ndarray:
    """[F, C, KH, KW]: the gradient of the stride-1 conv2d with respect to its kernel, for the
    output gradient g [N, F, OH, OW] (x and g of one dtype). Each chunk adds columns @ g^T
    ([C*KH*KW, F]): OpenBLAS runs this long-K product with the columns as its left operand up
    to twice as fast as g @ columns^T."""
    kh, kw = khw
    xf, _, wp = padded_flat(x, pads)
    n, f, oh, ow = g.shape
    rows = x.shape[1] * kh * kw
    step = grad_kernel_chunk(rows, f, oh * wp, x.itemsize)
    acc = np.zeros((rows, f), g.dtype)
    # g laid out like the columns (filters first, Wp wide); the dropped positions stay zero
    gf = np.zeros((f, min(step, n), oh, wp), g.dtype)
    for a in range(0, n, step):
        e = min(a + step, n)
        part = gf[:, :e - a]
        part[:, :, :, :ow] = g[a:e].transpose(1, 0, 2, 3)
        acc += _columns(xf[a:e], kh, kw, wp, oh) @ part.reshape(f, -1).T
    return np.ascontiguousarray(acc.T).reshape(f, x.shape[1], kh, kw)


GRAD_INPUT_CHUNK_BYTES = 2 * CHUNK_BYTES  # its columns; measured: 1 and 4 MiB were slower


def grad_input_chunk(rows: int, run: int, itemsize: int) -> int:
    """How many images one chunk of grad_input's columns holds."""
    return max(1, GRAD_INPUT_CHUNK_BYTES // max(1, rows * run * itemsize))


def grad_input(g: np.ndarray, k: np.ndarray, hw, pads) -> np.ndarray:
    """[N, C, H, W]: the gradient of the stride-1 conv2d with respect to its input, for the
    output gradient g [N, F, OH, OW] (g and k of one dtype). The columns k^T g of a chunk of
    images are laid out Wp wide, as conv2d's are, so each kernel offset (i, j) adds one
    contiguous run of OH * Wp to every flattened padded image (col2im without short rows)."""
    (h, w), (f, c, kh, kw) = hw, k.shape
    (t, b), (left, r) = pads
    n, _, oh, ow = g.shape
    hp, wp = h + t + b, w + left + r
    run = oh * wp
    km = k.reshape(f, -1).T  # [C*KH*KW, F]
    step = grad_input_chunk(c * kh * kw, run, g.itemsize)
    dxp = np.zeros((n, c, (hp + 1) * wp), g.dtype)  # a spare row: the last runs stay inside
    gw = np.zeros((f, min(step, n), oh, wp), g.dtype)  # the dropped positions stay zero
    for a in range(0, n, step):
        e = min(a + step, n)
        part = gw[:, :e - a]
        part[:, :, :, :ow] = g[a:e].transpose(1, 0, 2, 3)
        cols = (km @ part.reshape(f, -1)).reshape(c, kh, kw, e - a, run)
        d = dxp[a:e].transpose(1, 0, 2)  # [C, m, (Hp + 1) * Wp], like the columns
        for i in range(kh):
            for j in range(kw):
                at = i * wp + j
                d[:, :, at:at + run] += cols[:, i, j]
        del cols  # before the next chunk's are made: one chunk's columns at a time
    dxp = dxp.reshape(n, c, hp + 1, wp)
    return np.ascontiguousarray(dxp[:, :, t:t + h, left:left + w])


# ------------------------------------------------------------------ max pooling's gradient
INT_OF = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}


POOL_GRAD_CHUNK_BYTES = 2 << 20
"""Bytes of x per chunk of images of a big tiled max-pool gradient: each window offset reads x
again, so a chunk stays in cache for all of them (measured: 1 MiB and whole were slower)."""


def pool_grad_chunk(n: int, image_bytes: int) -> int:
    """How many images one chunk of the tiled max-pool gradient takes: all of them when x is
    at most four chunks (splitting a small x costs more calls than the cache saves)."""
    if n * image_bytes <= 4 * POOL_GRAD_CHUNK_BYTES:
        return max(n, 1)
    return max(1, POOL_GRAD_CHUNK_BYTES // max(1, image_bytes))


def tiled_max_grad(x: np.ndarray, g: np.ndarray, size: int, top: np.ndarray, at,
                   out: np.ndarray | None = None) -> np.ndarray:
    """max_pool2d_grad for windows that tile the image (stride = size), without branches: per
    window offset, the cells holding their window's first maximum (top) get g's bits, the others
    +0.0. The comparisons write 0/1 straight into an integer mask, and g's bits times the mask
    are exact for every value (a select with np.where mispredicts on every random mask). `at(a,
    i, j)` is the strided view of a at offset (i, j) of every window; the result goes into out
    (of x's shape and g's dtype) when given."""
    oh, ow = g.shape[2:]
    whole = x.shape[2] == oh * size and x.shape[3] == ow * size
    if out is None:
        out = (np.empty if whole else np.zeros)(x.shape, g.dtype)
    elif not whole:
        out[...] = 0  # trailing cells get nothing
    bits = INT_OF[g.itemsize]
    gbits = g.view(bits)
    hit = np.empty(g.shape, bits)
    found = None
    last = size * size - 1
    for k in range(size * size):
        i, j = divmod(k, size)
        np.equal(at(x, i, j), top, out=hit)
        if found is None:
            found = hit.copy()
        else:
            np.greater(hit, found, out=hit)  # and not found before: the first maximum wins
            if k < last:
                found |= hit
        np.multiply(gbits, hit, out=at(out, i, j).view(bits))
    return out
