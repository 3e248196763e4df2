"""References for lstm and gru: one step at a time from the PyTorch equations, in float64, with
math-module sigmoids (the tape and BPTT kernels are checked by gradients and against torch)."""

import math

import numpy as np


def _sig(z):
    return np.vectorize(lambda v: 1 / (1 + math.exp(-v)))(z)


def _lstm(x, h0, c0, wx, wh, b):
    h, c, hs = h0, c0, []
    n = h0.shape[1]
    for t in range(x.shape[1]):
        z = x[:, t] @ wx + h @ wh + b
        i, f, g, o = _sig(z[:, :n]), _sig(z[:, n:2 * n]), np.tanh(z[:, 2 * n:3 * n]), \
            _sig(z[:, 3 * n:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1)


def _gru(x, h0, wx, wh, bx, bh):
    h, hs = h0, []
    n = h0.shape[1]
    for t in range(x.shape[1]):
        gx, gh = x[:, t] @ wx + bx, h @ wh + bh
        r, z = _sig(gx[:, :n] + gh[:, :n]), _sig(gx[:, n:2 * n] + gh[:, n:2 * n])
        new = np.tanh(gx[:, 2 * n:] + r * gh[:, 2 * n:])
        h = (1 - z) * new + z * h
        hs.append(h)
    return np.stack(hs, axis=1)


REFERENCES = {"lstm": _lstm, "gru": _gru}
