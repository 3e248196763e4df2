"""References for the recurrent family: step-by-step loops over time (no precomputed input
projections, no shared code with tensorlang/ops/recurrent.py)."""

from __future__ import annotations

import numpy as np


def rnn(x, h0, Wx, Wh, b):
    """h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b), one step at a time."""
    dt = np.result_type(x, h0, Wx, Wh, b)
    n, t_count, _ = x.shape
    out = np.zeros((n, t_count, Wh.shape[1]), dt)
    h = h0.astype(dt)
    for t in range(t_count):
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b).astype(dt)
        out[:, t] = h
    return out


def rnn_bptt(hs, Wh, g):
    """dL/da_t, from the last step back: (g_t + dL/da_{t+1} @ Wh^T) * tanh'(a_t)."""
    dt = np.result_type(hs, Wh, g)
    n, t_count, h = hs.shape
    out = np.zeros((n, t_count, h), dt)
    for t in range(t_count - 1, -1, -1):
        dh = g[:, t].copy()
        if t + 1 < t_count:
            dh = dh + out[:, t + 1] @ Wh.T
        out[:, t] = dh * (1 - hs[:, t] ** 2)
    return out


def rnn_grad_x(dA, Wx):
    """dx_t = dA_t @ Wx^T for every step."""
    dt = np.result_type(dA, Wx)
    out = np.zeros((dA.shape[0], dA.shape[1], Wx.shape[0]), dt)
    for t in range(dA.shape[1]):
        out[:, t] = dA[:, t] @ Wx.T
    return out


def rnn_grad_h0(dA, Wh):
    """dh0 = dA_0 @ Wh^T."""
    return (dA[:, 0] @ Wh.T).astype(np.result_type(dA, Wh))


def rnn_grad_Wx(x, dA):
    """sum over steps of x_t^T @ dA_t."""
    out = np.zeros((x.shape[2], dA.shape[2]), np.result_type(x, dA))
    for t in range(x.shape[1]):
        out += x[:, t].T @ dA[:, t]
    return out


def rnn_grad_Wh(h0, hs, dA):
    """sum over steps of h_{t-1}^T @ dA_t, with h_{-1} = h0."""
    out = np.zeros((h0.shape[1], dA.shape[2]), np.result_type(h0, hs, dA))
    prev = h0
    for t in range(dA.shape[1]):
        out += prev.T @ dA[:, t]
        prev = hs[:, t]
    return out


def rnn_grad_b(dA):
    """sum over steps of the column sums of dA_t."""
    out = np.zeros(dA.shape[2], dA.dtype)
    for t in range(dA.shape[1]):
        out += dA[:, t].sum(axis=0)
    return out


REFERENCES = {
    "rnn_grad_b": rnn_grad_b,
    "rnn": rnn,
    "rnn_bptt": rnn_bptt,
    "rnn_grad_x": rnn_grad_x,
    "rnn_grad_h0": rnn_grad_h0,
    "rnn_grad_Wx": rnn_grad_Wx,
    "rnn_grad_Wh": rnn_grad_Wh,
}
