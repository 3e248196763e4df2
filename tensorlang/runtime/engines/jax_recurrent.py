"""The recurrent kernels (rnn, the LSTM and GRU tapes and their backprop through time) as
lax.scan loops for the JAX engine: the same arithmetic as ops/recurrent.py and ops/gated.py,
step by step, but compiled as one loop body instead of T unrolled steps (an unrolled T = 100
LSTM takes XLA minutes to compile)."""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

RULES: dict = {}  # op -> its lax.scan form (jax_ops.py takes them into its RULES)


def rule(name: str):
    """Register the JAX form of a recurrent op."""
    def register(fn):
        RULES[name] = fn
        return fn
    return register


def _cast(*arrays):
    dt = jnp.result_type(*arrays)
    return [a.astype(dt) for a in arrays]


def _time_major(x):
    return jnp.swapaxes(x, 0, 1)  # [N, T, ...] <-> [T, N, ...]


def _sigmoid(z):
    return 0.5 * (1 + jnp.tanh(0.5 * z))


@rule("rnn")
def _rnn(x, h0, wx, wh, b):
    x, h0, wx, wh, b = _cast(x, h0, wx, wh, b)

    def step(h, a):
        h = jnp.tanh(a + h @ wh)
        return h, h
    return _time_major(lax.scan(step, h0, _time_major(x @ wx + b))[1])


@rule("rnn_bptt")
def _rnn_bptt(hs, wh, g):
    hs, wh, g = _cast(hs, wh, g)

    def step(carry, hg):
        h, gt = hg
        da = (gt + carry) * (1 - h * h)
        return da @ wh.T, da
    carry = jnp.zeros((hs.shape[0], hs.shape[2]), hs.dtype)
    return _time_major(lax.scan(step, carry, (_time_major(hs), _time_major(g)), reverse=True)[1])


# The contractions of dA: the NumPy kernels read the LSTM's time-major layout, which has no
# meaning for a JAX array (XLA chooses layouts itself), so here they are the plain formulas.
@rule("rnn_grad_x")
def _grad_x(da, wx):
    da, wx = _cast(da, wx)
    return da @ wx.T


@rule("rnn_grad_Wx")
def _grad_wx(x, da):
    x, da = _cast(x, da)
    return jnp.tensordot(x, da, axes=([0, 1], [0, 1]))


@rule("rnn_grad_Wh")
def _grad_wh(h0, hs, da):
    h0, hs, da = _cast(h0, hs, da)
    return h0.T @ da[:, :1].sum(axis=1) + jnp.tensordot(hs[:, :-1], da[:, 1:],
                                                        axes=([0, 1], [0, 1]))


@rule("rnn_grad_b")
def _grad_b(da):
    return da.sum(axis=(0, 1))


def _whole_tape_gradient(g, hs: int, width: int):
    """g as the gradient of the whole tape [N, T, width * H]: when it is that of the states
    alone [N, T, H], the rest of the tape's is zero."""
    if g.shape[2] != hs:
        return g
    return jnp.concatenate([g, jnp.zeros(g.shape[:2] + ((width - 1) * hs,), g.dtype)], axis=2)


@rule("lstm_tape")
def _lstm_tape(x, h0, c0, wx, wh, b):
    x, h0, c0, wx, wh, b = _cast(x, h0, c0, wx, wh, b)
    hs = h0.shape[1]

    def step(state, a):
        h, c = state
        z = a + h @ wh
        i, f, o = _sigmoid(z[:, :hs]), _sigmoid(z[:, hs:2 * hs]), _sigmoid(z[:, 3 * hs:])
        g = jnp.tanh(z[:, 2 * hs:3 * hs])
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), jnp.concatenate([h, c, i, f, o, g], axis=1)  # ops/gated.py's tape
    return _time_major(lax.scan(step, (h0, c0), _time_major(x @ wx + b))[1])


def _lstm_backward(tape, c0, wh, g):
    tape, c0, wh, g = _cast(tape, c0, wh, g)
    hs = tape.shape[2] // 6
    g = _whole_tape_gradient(g, hs, 6)
    t_tape, t_g = _time_major(tape), _time_major(g)
    c_prev = jnp.concatenate([c0[None], t_tape[:-1, :, hs:2 * hs]], axis=0)[:len(t_tape)]

    def step(carry, inputs):
        dh_next, dc_next = carry
        tp, gt, cp = inputs
        c = tp[:, hs:2 * hs]
        i, f, o, gg = (tp[:, (2 + k) * hs:(3 + k) * hs] for k in range(4))
        gi, gf, go, gg_ = (gt[:, (2 + k) * hs:(3 + k) * hs] for k in range(4))
        dh = gt[:, :hs] + dh_next
        tc = jnp.tanh(c)
        dc = dh * o * (1 - tc * tc) + dc_next + gt[:, hs:2 * hs]
        da = jnp.concatenate([(dc * gg + gi) * i * (1 - i), (dc * cp + gf) * f * (1 - f),
                              (dc * i + gg_) * (1 - gg * gg), (dh * tc + go) * o * (1 - o)],
                             axis=1)
        return (da @ wh.T, dc * f), da
    zero = jnp.zeros((tape.shape[0], hs), tape.dtype)
    (_, dc0), da = lax.scan(step, (zero, zero), (t_tape, t_g, c_prev), reverse=True)
    return _time_major(da), dc0


@rule("lstm_bptt")
def _lstm_bptt(tape, c0, wh, g):
    return _lstm_backward(tape, c0, wh, g)[0]


@rule("lstm_grad_c0")
def _lstm_grad_c0(tape, c0, wh, g):
    return _lstm_backward(tape, c0, wh, g)[1]


@rule("gru_tape")
def _gru_tape(x, h0, wx, wh, bx, bh):
    x, h0, wx, wh, bx, bh = _cast(x, h0, wx, wh, bx, bh)
    hs = h0.shape[1]

    def step(h, a):
        gh = h @ wh + bh
        r = _sigmoid(a[:, :hs] + gh[:, :hs])
        z = _sigmoid(a[:, hs:2 * hs] + gh[:, hs:2 * hs])
        hn = gh[:, 2 * hs:]
        n = jnp.tanh(a[:, 2 * hs:] + r * hn)
        h = (1 - z) * n + z * h
        return h, jnp.concatenate([h, r, z, n, hn], axis=1)
    return _time_major(lax.scan(step, h0, _time_major(x @ wx + bx))[1])


def _gru_backward(tape, h0, wh, g):
    tape, h0, wh, g = _cast(tape, h0, wh, g)
    hs = tape.shape[2] // 5
    g = _whole_tape_gradient(g, hs, 5)
    t_tape, t_g = _time_major(tape), _time_major(g)
    h_prev = jnp.concatenate([h0[None], t_tape[:-1, :, :hs]], axis=0)[:len(t_tape)]

    def step(dh_next, inputs):
        tp, gt, hp = inputs
        r, z, n, hn = (tp[:, (1 + k) * hs:(2 + k) * hs] for k in range(4))
        gr, gz, gn, ghn = (gt[:, (1 + k) * hs:(2 + k) * hs] for k in range(4))
        dh = gt[:, :hs] + dh_next
        dan = (dh * (1 - z) + gn) * (1 - n * n)
        dar = (dan * hn + gr) * r * (1 - r)
        daz = (dh * (hp - n) + gz) * z * (1 - z)
        dah = jnp.concatenate([dar, daz, dan * r + ghn], axis=1)
        return dh * z + dah @ wh.T, jnp.concatenate([dar, daz, dan, dah], axis=1)
    dh0, da = lax.scan(step, jnp.zeros((tape.shape[0], hs), tape.dtype), (t_tape, t_g, h_prev),
                       reverse=True)
    return _time_major(da), dh0


@rule("gru_bptt")
def _gru_bptt(tape, h0, wh, g):
    return _gru_backward(tape, h0, wh, g)[0]


@rule("gru_grad_h0")
def _gru_grad_h0(tape, h0, wh, g):
    return _gru_backward(tape, h0, wh, g)[1]
