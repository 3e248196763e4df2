"""Gated recurrent layers over x [N, T, D], computed exactly as PyTorch's nn.LSTM and nn.GRU
(one layer, batch_first) with the same weights: gates in PyTorch's order (LSTM i f g o, GRU r z
n), Wx [D, G*H], Wh [H, G*H], LSTM bias b [4H] (PyTorch's b_ih + b_hh), GRU biases bx and bh
[3H] (the reset gate multiplies h @ Whn + bhn, as PyTorch does).

`lstm(x, h0, c0, Wx, Wh, b)` and `gru(x, h0, Wx, Wh, bx, bh)` are made of two nodes: a fused
forward kernel that returns its whole tape [N, T, K*H] (LSTM: h c i f g o; GRU: h r z n and
h @ Whn + bhn), and the slice of the states h. Their gradient is one fused backprop-through-time
kernel giving the gradient of every step's gate pre-activations (dA); every weight's gradient
is then one contraction of dA (rnn.py's rnn_grad_* ops serve any gate count). The BPTT kernels
are first order: differentiating them again is a located error.
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import FRESH, Memory, defop
from ..ir.types import TensorType, is_float, np_dtype, promote


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # exact, and no overflow for any z


def _cast(*arrays):
    dt = np.result_type(*arrays)
    return [np.asarray(a).astype(dt, copy=False) for a in arrays]


# ------------------------------------------------------------------ shape rules
def _check(types, names, gates):
    by = dict(zip(names, types))
    x, h0, wx, wh = by["x"], by["h0"], by["Wx"], by["Wh"]
    if x.rank != 3 or h0.rank != 2 or wx.rank != 2 or wh.rank != 2:
        raise OpError("needs x [N, T, D], h0 [N, H], Wx [D, G*H] and Wh [H, G*H]")
    h = h0.shape[1]
    pairs = [("batch sizes of x and h0", x.shape[0], h0.shape[0]),
             ("input sizes of x and Wx", x.shape[2], wx.shape[0]),
             ("state sizes of h0 and Wh", h, wh.shape[0]),
             (f"Wx's columns and {gates} * H", wx.shape[1], gates * h),
             (f"Wh's columns and {gates} * H", wh.shape[1], gates * h)]
    for t, name in zip(types, names):
        if name in ("c0",):
            pairs.append(("shapes of h0 and c0", t.shape[1] if t.rank == 2 else -1, h))
        if name in ("b", "bx", "bh"):
            if t.rank != 1:
                raise OpError(f"{name} must be a vector [{gates}*H], not {D.shape_str(t.shape)}")
            pairs.append((f"{name}'s size and {gates} * H", t.shape[0], gates * h))
    for what, a, c in pairs:
        if not D.equal(a, c):
            raise OpError(f"{what}: {D.dim_str(a)} and {D.dim_str(c)} differ")
    dtype = promote(*types)
    if not is_float(dtype):
        raise OpError(f"needs float tensors, not {dtype}")
    return dtype, x.shape[0], x.shape[1], h


def _states_infer(names, gates):
    def infer(types):
        dtype, n, t, h = _check(types, names, gates)
        return TensorType(dtype, (n, t, h))
    return infer


def _tape_infer(names, gates, width):
    def infer(types):
        dtype, n, t, h = _check(types, names, gates)
        return TensorType(dtype, (n, t, width * h))
    return infer


# ------------------------------------------------------------------ LSTM kernels
def _lstm_tape(x, h0, c0, wx, wh, b):
    """[N, T, 6H]: every step's h, c and gates i f g o (after their nonlinearities)."""
    x, h, c, wx, wh, b = _cast(x, h0, c0, wx, wh, b)
    n, steps, _ = x.shape
    hs = h.shape[1]
    tape = np.empty((n, steps, 6 * hs), x.dtype)
    a = x @ wx + b  # the input part of every step in one matmul
    for t in range(steps):
        z = a[:, t] + h @ wh
        i, f, o = _sigmoid(z[:, :hs]), _sigmoid(z[:, hs:2 * hs]), _sigmoid(z[:, 3 * hs:])
        g = np.tanh(z[:, 2 * hs:3 * hs])
        c = f * c + i * g
        h = o * np.tanh(c)
        tape[:, t, :hs], tape[:, t, hs:2 * hs] = h, c
        tape[:, t, 2 * hs:] = np.concatenate([i, f, g, o], axis=1)
    return tape


def _lstm_backward(tape, c0, wh, g):
    """(dA [N, T, 4H], dc0): backprop through time of the gradient g of the tape (its h part,
    and its c part, which is zero unless something reads the cells)."""
    tape, c0, wh, g = _cast(tape, c0, wh, g)
    n, steps, width = tape.shape
    hs = width // 6
    da = np.empty((n, steps, 4 * hs), tape.dtype)
    dh_next = np.zeros((n, hs), tape.dtype)
    dc_next = np.zeros((n, hs), tape.dtype)
    for t in reversed(range(steps)):
        c = tape[:, t, hs:2 * hs]
        i, f, gg, o = (tape[:, t, (2 + k) * hs:(3 + k) * hs] for k in range(4))
        c_prev = tape[:, t - 1, hs:2 * hs] if t else c0
        gi, gf, gg_, go = (g[:, t, (2 + k) * hs:(3 + k) * hs] for k in range(4))
        dh = g[:, t, :hs] + dh_next
        tc = np.tanh(c)
        dc = dh * o * (1 - tc * tc) + dc_next + g[:, t, hs:2 * hs]
        da[:, t, :hs] = (dc * gg + gi) * i * (1 - i)
        da[:, t, hs:2 * hs] = (dc * c_prev + gf) * f * (1 - f)
        da[:, t, 2 * hs:3 * hs] = (dc * i + gg_) * (1 - gg * gg)
        da[:, t, 3 * hs:] = (dh * tc + go) * o * (1 - o)
        dh_next = da[:, t] @ wh.T
        dc_next = dc * f
    return da, dc_next


def _lstm_bptt(tape, c0, wh, g):
    return _lstm_backward(tape, c0, wh, g)[0]


def _lstm_grad_c0(tape, c0, wh, g):
    return _lstm_backward(tape, c0, wh, g)[1]


# ------------------------------------------------------------------ GRU kernels
def _gru_tape(x, h0, wx, wh, bx, bh):
    """[N, T, 5H]: every step's h, gates r z n, and h_{t-1} @ Whn + bhn (what r multiplies)."""
    x, h, wx, wh, bx, bh = _cast(x, h0, wx, wh, bx, bh)
    n, steps, _ = x.shape
    hs = h.shape[1]
    tape = np.empty((n, steps, 5 * hs), x.dtype)
    a = x @ wx + bx
    for t in range(steps):
        gh = h @ wh + bh
        r = _sigmoid(a[:, t, :hs] + gh[:, :hs])
        z = _sigmoid(a[:, t, hs:2 * hs] + gh[:, hs:2 * hs])
        hn = gh[:, 2 * hs:]
        nn_ = np.tanh(a[:, t, 2 * hs:] + r * hn)
        h = (1 - z) * nn_ + z * h
        tape[:, t] = np.concatenate([h, r, z, nn_, hn], axis=1)
    return tape


def _gru_backward(tape, h0, wh, g):
    """(dA [N, T, 6H] = [dAx | dAh], dh0): the gradients of the x-side pre-activations
    (x @ Wx + bx) and of the h-side ones (h @ Wh + bh) of every step."""
    tape, h0, wh, g = _cast(tape, h0, wh, g)
    n, steps, width = tape.shape
    hs = width // 5
    da = np.empty((n, steps, 6 * hs), tape.dtype)
    dh_next = np.zeros((n, hs), tape.dtype)
    for t in reversed(range(steps)):
        r, z, nn_, hn = (tape[:, t, (1 + k) * hs:(2 + k) * hs] for k in range(4))
        h_prev = tape[:, t - 1, :hs] if t else h0
        gr, gz, gn, ghn = (g[:, t, (1 + k) * hs:(2 + k) * hs] for k in range(4))
        dh = g[:, t, :hs] + dh_next
        dan = (dh * (1 - z) + gn) * (1 - nn_ * nn_)
        dar = (dan * hn + gr) * r * (1 - r)
        daz = (dh * (h_prev - nn_) + gz) * z * (1 - z)
        da[:, t, :hs], da[:, t, hs:2 * hs], da[:, t, 2 * hs:3 * hs] = dar, daz, dan
        da[:, t, 3 * hs:4 * hs], da[:, t, 4 * hs:5 * hs] = dar, daz
        da[:, t, 5 * hs:] = dan * r + ghn
        dh_next = dh * z + da[:, t, 3 * hs:] @ wh.T
    return da, dh_next


def _gru_bptt(tape, h0, wh, g):
    return _gru_backward(tape, h0, wh, g)[0]


def _gru_grad_h0(tape, h0, wh, g):
    return _gru_backward(tape, h0, wh, g)[1]


# ------------------------------------------------------------------ expansion and gradients
def _last(b, x, start, stop):
    """x[..., start:stop]."""
    return b.op("index", x, items=("...", ("slice", start, stop, None)))


def _expand_lstm(b, inputs):
    tape = b.add("lstm_tape", inputs)
    return _last(b, tape, 0, inputs[1].type.shape[1])


def _expand_gru(b, inputs):
    tape = b.add("gru_tape", inputs)
    return _last(b, tape, 0, inputs[1].type.shape[1])


def _weight_grads(b, x, h0, hs, wx, wh, dax, dah):
    """dx, dWx, dWh and the bias sums from the gate gradients (any gate count)."""
    return (b.op("rnn_grad_x", dax, wx), b.op("rnn_grad_Wx", x, dax),
            b.op("rnn_grad_Wh", h0, hs, dah))


def _g_lstm_tape(b, n, g):
    x, h0, c0, wx, wh, _ = n.inputs
    hsz = h0.type.shape[1]
    da = b.op("lstm_bptt", n, c0, wh, g)
    hs = _last(b, n, 0, hsz)
    dx, dwx, dwh = _weight_grads(b, x, h0, hs, wx, wh, da, da)
    db = b.op("sum", da, axis=(0, 1), keepdims=False)
    return (dx, b.op("rnn_grad_h0", da, wh), b.op("lstm_grad_c0", n, c0, wh, g), dwx, dwh, db)


def _g_gru_tape(b, n, g):
    x, h0, wx, wh, _, _ = n.inputs
    hsz = h0.type.shape[1]
    da = b.op("gru_bptt", n, h0, wh, g)
    dax, dah = _last(b, da, 0, 3 * hsz), _last(b, da, 3 * hsz, 6 * hsz)
    hs = _last(b, n, 0, hsz)
    dx, dwx, dwh = _weight_grads(b, x, h0, hs, wx, wh, dax, dah)
    return (dx, b.op("gru_grad_h0", n, h0, wh, g), dwx, dwh,
            b.op("sum", dax, axis=(0, 1), keepdims=False),
            b.op("sum", dah, axis=(0, 1), keepdims=False))


SECOND_ORDER = ("it is the first-order gradient of a recurrence: gradients of gradients "
                "through lstm, gru, rnn and scan are not supported")


def _bptt_infer(width):
    def infer(types):
        tape, state, wh, g = types
        if tape.rank != 3 or g.rank != 3 or tape.shape[2] != g.shape[2]:
            raise OpError("needs the tape [N, T, K*H] and its gradient of the same shape")
        return TensorType(promote(*types), (tape.shape[0], tape.shape[1], width * state.shape[1]))
    return infer


def _state_grad_infer(types):
    tape, state, wh, g = types
    return TensorType(promote(*types), state.shape)


# ------------------------------------------------------------------ cases
SIZES = [(2, 3, 2, 3), (1, 1, 2, 2), (3, 4, 3, 2)]  # N, T, D, H


def _arrays(rng, n, t, d, h, gates):
    return {"x": rng.normal(size=(n, t, d)), "h0": 0.5 * rng.normal(size=(n, h)),
            "c0": 0.5 * rng.normal(size=(n, h)),
            "Wx": 0.5 * rng.normal(size=(d, gates * h)),
            "Wh": 0.5 * rng.normal(size=(h, gates * h)), "b": 0.1 * rng.normal(size=gates * h),
            "bh": 0.1 * rng.normal(size=gates * h)}


def _cases(names, gates):
    def cases(rng):
        out = []
        for sizes in SIZES:
            a = _arrays(rng, *sizes, gates)
            a["bx"] = a["b"]
            out.append(([a[k] for k in names], {}))
        return out
    return cases


def _tape_cases(kernel, names, gates):
    def cases(rng):
        out = []
        for arrays, _ in _cases(names, gates)(rng):
            tape = kernel(*arrays)
            state = arrays[2] if kernel is _lstm_tape else arrays[1]
            wh = arrays[4] if kernel is _lstm_tape else arrays[3]
            out.append(([tape, state, wh, rng.normal(size=tape.shape)], {}))
        return out
    return cases


LSTM = ("x", "h0", "c0", "Wx", "Wh", "b")
GRU = ("x", "h0", "Wx", "Wh", "bx", "bh")
defop("lstm", ", ".join(LSTM), infer=_states_infer(LSTM, 4), kernel=None, expand=_expand_lstm,
      promote=(), family="gated", cases=_cases(LSTM, 4),
      doc="LSTM over x [N, T, D] from (h0, c0), every state h_t [N, T, H]; gates i f g o, "
          "exactly as PyTorch's nn.LSTM with b = b_ih + b_hh")
defop("gru", ", ".join(GRU), infer=_states_infer(GRU, 3), kernel=None, expand=_expand_gru,
      promote=(), family="gated", cases=_cases(GRU, 3),
      doc="GRU over x [N, T, D] from h0, every state h_t [N, T, H]; gates r z n, exactly as "
          "PyTorch's nn.GRU (n = tanh(x Wxn + bxn + r * (h Whn + bhn)))")
def _tape_scratch(gates: int):
    """The tape kernels' input part of every step, x @ Wx and x @ Wx + b ([N, T, gates * H]
    each, for the memory prediction)."""
    def scratch(node, env) -> int:
        n, t, width = D.evaluate_shape(node.type.shape, env)
        h = D.evaluate(node.inputs[1].type.shape[-1], env)
        return 2 * n * t * gates * h * np_dtype(node.dtype).itemsize
    return scratch


defop("lstm_tape", ", ".join(LSTM), infer=_tape_infer(LSTM, 4, 6), kernel=_lstm_tape,
      grad=_g_lstm_tape, promote=(), family="gated", internal=True,
      memory=Memory((), scratch=_tape_scratch(4)),
      cases=_cases(LSTM, 4), doc="the LSTM's forward tape [N, T, 6H]: h c i f g o of every step")
defop("gru_tape", ", ".join(GRU), infer=_tape_infer(GRU, 3, 5), kernel=_gru_tape,
      grad=_g_gru_tape, promote=(), family="gated", internal=True,
      memory=Memory((), scratch=_tape_scratch(3)),
      cases=_cases(GRU, 3), doc="the GRU's forward tape [N, T, 5H]: h r z n (h Whn + bhn)")
for _name, _kernel, _infer, _tape, _names, _gates, _doc in (
        ("lstm_bptt", _lstm_bptt, _bptt_infer(4), _lstm_tape, LSTM, 4,
         "LSTM backprop through time: the gradient of every step's gate pre-activations"),
        ("lstm_grad_c0", _lstm_grad_c0, _state_grad_infer, _lstm_tape, LSTM, 4,
         "the LSTM's gradient with respect to its initial cell c0"),
        ("gru_bptt", _gru_bptt, _bptt_infer(6), _gru_tape, GRU, 3,
         "GRU backprop through time: the gradients of every step's x-side and h-side "
         "pre-activations [dAx | dAh]"),
        ("gru_grad_h0", _gru_grad_h0, _state_grad_infer, _gru_tape, GRU, 3,
         "the GRU's gradient with respect to its initial state h0")):
    defop(_name, "tape, state, Wh, g", infer=_infer, kernel=_kernel, grad_missing=SECOND_ORDER,
          promote=(), family="gated", internal=True, memory=FRESH,
          cases=_tape_cases(_tape, _names, _gates), doc=_doc)
