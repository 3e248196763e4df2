"""Gated recurrent layers over x [N, T, D], computed exactly as PyTorch's nn.LSTM and nn.GRU
(one layer, batch_first) with the same weights: gates in PyTorch's order (LSTM i f g o, GRU r z
n), Wx [D, G*H], Wh [H, G*H], LSTM bias b [4H] (PyTorch's b_ih + b_hh), GRU biases bx and bh
[3H] (the reset gate multiplies h @ Whn + bhn, as PyTorch does).

`lstm(x, h0, c0, Wx, Wh, b)` and `gru(x, h0, Wx, Wh, bx, bh)` are made of two nodes: a fused
forward kernel that returns its whole tape [N, T, K*H] (LSTM: h c i f o g; GRU: h r z n and
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
from .recurrent import stacked_input, time_major


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
# The LSTM kernels keep every per-step quantity gate-major: the tape [N, T, 6H] they return is
# a view of a [T, 6H, N] array (a time-major, transposed layout), so that each step's h, c and
# gates are contiguous [H, N] blocks and the per-step work is a few whole-block NumPy calls
# (strided [N, H] slices cost four times as much a call). The tape holds the gates as i f o g,
# the three sigmoids together; dA, like the weights, has PyTorch's order i f g o, and comes
# back in the same layout; the rnn_grad_* contractions read both layouts.
def _tape_order(hs: int) -> np.ndarray:
    """The tape's gate rows (i f o g) as indices into PyTorch's order (i f g o)."""
    return np.r_[0:2 * hs, 3 * hs:4 * hs, 2 * hs:3 * hs]


def _halved(wx, wh, b, hs):
    """Wx^T, Wh^T and b [4H, 1] in the tape's gate order with the sigmoid gates' rows (i f o)
    halved: one tanh of every gate then gives tanh(z / 2) for those, and sigmoid(z) =
    (1 + tanh(z / 2)) / 2 (halving is exact in binary floating point, so this is the same
    number as halving z)."""
    rows = _tape_order(hs)
    s = np.ones(4 * hs, wx.dtype)
    s[:3 * hs] = 0.5
    return wx.T[rows] * s[:, None], wh.T[rows] * s[:, None], (b[rows] * s)[:, None]


def _lstm_tape(x, h0, c0, wx, wh, b):
    """[N, T, 6H]: every step's h, c and gates i f o g (after their nonlinearities)."""
    x, h0, c0, wx, wh, b = _cast(x, h0, c0, wx, wh, b)
    n, steps, _ = x.shape
    hs = h0.shape[1]
    wxt, wht, bt = _halved(wx, wh, b, hs)
    tape = np.empty((steps, 6 * hs, n), x.dtype)
    xs, d = time_major(x), x.shape[2]
    w = np.concatenate([wht, wxt, bt], axis=1)  # [4H, H + D + 1]: one matmul a step ...
    hx = stacked_input(h0, d)  # ... of [h; x_t; 1]
    c, tmp = c0.T, np.empty((hs, n), x.dtype)
    for t in range(steps):
        z = tape[t, 2 * hs:]
        hx[hs:hs + d] = xs[t]
        np.matmul(w, hx, out=z)
        np.tanh(z, out=z)
        sig = z[:3 * hs]  # i f o
        sig *= 0.5
        sig += 0.5
        c_new = tape[t, hs:2 * hs]
        np.multiply(z[hs:2 * hs], c, out=c_new)
        np.multiply(z[:hs], z[3 * hs:], out=tmp)
        c_new += tmp
        np.tanh(c_new, out=tmp)
        hx[:hs] = np.multiply(z[2 * hs:3 * hs], tmp, out=tape[t, :hs])
        c = c_new
    return tape.transpose(2, 0, 1)


BPTT_CHUNK_ELEMENTS = 1 << 18
"""About how many elements of dA one chunk of steps of the LSTM's BPTT holds: its factors are
made a chunk at a time (in cache while its steps use them)."""


def _lstm_backward(tape, c0, wh, g):
    """(dA [N, T, 4H], dc0): backprop through time of the gradient g of the tape: of its h part
    only ([N, T, H], the usual case) or of all of it ([N, T, 6H]: its c and gate parts too).

    The factors of dA that the recurrence does not change are made first, for a chunk of steps
    in a few calls (_lstm_coefficients, while they stay in cache), so each step is 7 small
    calls: dh from the next step's dA, dc from dh, and dA = dc * P (i f g) and dh * P (o)."""
    tape, c0, wh, g = _cast(tape, c0, wh, g)
    n, steps, _ = tape.shape
    hs = c0.shape[1]
    tp, gp, full = time_major(tape), time_major(g), g.shape[2] != hs
    da = np.empty((steps, 4 * hs, n), tape.dtype)
    f = tp[:, 3 * hs:4 * hs]
    dh, dc = np.empty((hs, n), tape.dtype), np.empty((hs, n), tape.dtype)
    dc_next = np.zeros((hs, n), tape.dtype)
    chunk = max(1, BPTT_CHUNK_ELEMENTS // max(1, 4 * hs * n))
    for stop in range(steps, 0, -chunk):
        start = max(0, stop - chunk)
        q, extra = _lstm_coefficients(tp, c0, gp if full else None, start, stop, da[start:stop])
        gs = gp[start:stop]
        if not gs[0].flags.c_contiguous:  # each step's block of g read as one
            gs = np.ascontiguousarray(gs)
        for t in reversed(range(start, stop)):
            k = t - start
            if t + 1 < steps:
                np.add(np.matmul(wh, da[t + 1], out=dh), gs[k, :hs], out=dh)
            else:
                dh[...] = gs[k, :hs]
            np.multiply(dh, q[k], out=dc)  # dc = dh o (1 - tanh(c)^2) + dc_next (+ g's c)
            dc += dc_next
            if full:
                dc += gs[k, hs:2 * hs]
            d = da[t]
            by_dc = d[:3 * hs].reshape(3, hs, n)  # i f g: one broadcast multiply
            by_dc *= dc
            d[3 * hs:] *= dh
            if full:
                d += extra[k]
            np.multiply(dc, f[t], out=dc_next)
    return da.transpose(2, 0, 1), np.ascontiguousarray(dc_next.T)


def _lstm_coefficients(tp, c0, g_full, start, stop, p):
    """For steps start..stop-1 at once, from the time-major tape tp [T, 6H, N] (gates i f o g):
    dA's factors, written into p [stop - start, 4H, N] in dA's order i f g o (g s_i',
    c_{t-1} s_f', i (1 - g^2), tanh(c) s_o', with s' = s (1 - s) for the sigmoids); returns dh's
    share in dc, q = o (1 - tanh(c)^2) [stop - start, H, N], and with the whole tape's gradient
    its own gate gradients times their derivatives in dA's order (else None)."""
    hs = c0.shape[1]
    part = tp[start:stop]
    c, i, o, gg = (part[:, k * hs:(k + 1) * hs] for k in (1, 2, 4, 5))
    for d, s in ((p[:, :2 * hs], part[:, 2 * hs:4 * hs]), (p[:, 3 * hs:], o)):  # s (1 - s)
        np.subtract(1, s, out=d)
        d *= s
    dg = p[:, 2 * hs:3 * hs]
    np.subtract(1, np.multiply(gg, gg, out=dg), out=dg)  # 1 - g^2
    extra = None
    if g_full is not None:
        extra = np.empty_like(p)
        gates = g_full[start:stop]
        for rows, tape_rows in ((slice(0, 2 * hs), slice(2 * hs, 4 * hs)),  # i f, g, o
                                (slice(2 * hs, 3 * hs), slice(5 * hs, 6 * hs)),
                                (slice(3 * hs, 4 * hs), slice(4 * hs, 5 * hs))):
            np.multiply(gates[:, tape_rows], p[:, rows], out=extra[:, rows])
    p[:, :hs] *= gg
    p[1:, hs:2 * hs] *= c[:-1]
    p[0, hs:2 * hs] *= tp[start - 1, hs:2 * hs] if start else c0.T
    dg *= i
    q = np.tanh(c)
    p[:, 3 * hs:] *= q
    np.multiply(q, q, out=q)
    np.subtract(1, q, out=q)
    q *= o
    return q, extra


def _lstm_backward_scratch(node, env) -> int:
    """lstm_bptt and lstm_grad_c0: a chunk of steps' q [H, N] and copy of g's steps (made when
    g's steps are not contiguous blocks: counted always, so this is an upper bound), and with
    the whole tape's gradient that chunk's own share of dA [4H, N]."""
    n, t, width = D.evaluate_shape(node.inputs[0].type.shape, env)
    g_width = D.evaluate_shape(node.inputs[3].type.shape, env)[2]
    hs = width // 6
    steps = min(max(t, 1), max(1, BPTT_CHUNK_ELEMENTS // max(1, 4 * hs * n)))
    blocks = 1 + g_width // hs + (4 if g_width == width else 0)  # q, g's copy, extra
    return np_dtype(node.dtype).itemsize * n * steps * hs * blocks


def _lstm_bptt(tape, c0, wh, g):
    return _lstm_backward(tape, c0, wh, g)[0]


def _lstm_grad_c0(tape, c0, wh, g):
    return _lstm_backward(tape, c0, wh, g)[1]


# ------------------------------------------------------------------ GRU kernels
def _gru_tape(x, h0, wx, wh, bx, bh):
    """[N, T, 5H]: every step's h, gates r z n, and h_{t-1} @ Whn + bhn (what r multiplies);
    laid out time-major as the LSTM's tape is."""
    x, h0, wx, wh, bx, bh = _cast(x, h0, wx, wh, bx, bh)
    n, steps, d = x.shape
    hs = h0.shape[1]
    half = np.ones(3 * hs, x.dtype)
    half[:2 * hs] = 0.5  # r and z: sigmoids through one tanh, as in the LSTM
    w = np.zeros((6 * hs, hs + d + 1), x.dtype)  # [h; x_t; 1] -> [h-side; x-side] at once
    w[:3 * hs, :hs], w[:3 * hs, -1] = wh.T, bh
    w[3 * hs:, hs:hs + d], w[3 * hs:, -1] = wx.T * half[:, None], bx * half
    w[:2 * hs] *= 0.5
    tape = np.empty((steps, 5 * hs, n), x.dtype)
    hx, both = stacked_input(h0, d), np.empty((6 * hs, n), x.dtype)
    xs = time_major(x)
    for t in range(steps):
        hx[hs:hs + d] = xs[t]
        np.matmul(w, hx, out=both)
        rz, n_, hn = tape[t, hs:3 * hs], tape[t, 3 * hs:4 * hs], tape[t, 4 * hs:]
        np.add(both[:2 * hs], both[3 * hs:5 * hs], out=rz)
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        hn[...] = both[2 * hs:3 * hs]
        np.multiply(rz[:hs], hn, out=n_)
        n_ += both[5 * hs:]
        np.tanh(n_, out=n_)
        h = tape[t, :hs]  # h = n + z (h_prev - n)
        np.subtract(hx[:hs], n_, out=h)
        h *= rz[hs:]
        h += n_
        hx[:hs] = h
    return tape.transpose(2, 0, 1)


def _gru_backward(tape, h0, wh, g):
    """(dA [N, T, 6H] = [dAx | dAh], dh0): the gradients of the x-side pre-activations
    (x @ Wx + bx) and of the h-side ones (h @ Wh + bh) of every step, time-major as dA of the
    LSTM is; g is the gradient of the tape's states [N, T, H] or of the whole tape."""
    tape, h0, wh, g = _cast(tape, h0, wh, g)
    n, steps, _ = tape.shape
    hs = h0.shape[1]
    tp, gp, full = time_major(tape), time_major(g), g.shape[2] != hs
    da = np.empty((steps, 6 * hs, n), tape.dtype)
    dh, u = np.empty((hs, n), tape.dtype), np.empty((hs, n), tape.dtype)
    dh_next = np.zeros((hs, n), tape.dtype)
    for t in reversed(range(steps)):
        r, z, nn_, hn = (tp[t, (1 + k) * hs:(2 + k) * hs] for k in range(4))
        h_prev = tp[t - 1, :hs] if t else h0.T
        np.add(gp[t, :hs], dh_next, out=dh)
        d = da[t]
        dar, daz, dan = d[:hs], d[hs:2 * hs], d[2 * hs:3 * hs]
        np.subtract(1, z, out=dan)  # dan = (dh (1 - z) + gn) (1 - n^2)
        dan *= dh
        if full:
            dan += gp[t, 3 * hs:4 * hs]
        dan *= np.subtract(1, np.multiply(nn_, nn_, out=u), out=u)
        np.multiply(dan, hn, out=dar)  # dar = (dan hn + gr) r (1 - r)
        if full:
            dar += gp[t, hs:2 * hs]
        dar *= r
        dar *= np.subtract(1, r, out=u)
        np.subtract(h_prev, nn_, out=daz)  # daz = (dh (h_prev - n) + gz) z (1 - z)
        daz *= dh
        if full:
            daz += gp[t, 2 * hs:3 * hs]
        daz *= z
        daz *= np.subtract(1, z, out=u)
        d[3 * hs:5 * hs] = d[:2 * hs]
        np.multiply(dan, r, out=d[5 * hs:])
        if full:
            d[5 * hs:] += gp[t, 4 * hs:]
        np.multiply(dh, z, out=dh_next)
        dh_next += np.matmul(wh, d[3 * hs:], out=u)
    return da.transpose(2, 0, 1), np.ascontiguousarray(dh_next.T)


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


def _states_gradient(g, hsz):
    """The gradient of the tape's states [N, T, H] when g is nothing more (the index_grad of
    the tape's h slice, as the lstm node's expansion makes it); else g itself."""
    if g.op != "index_grad" or len(g.attrs["items"]) != 3:
        return g
    whole = [("slice", 0, d, 1) for d in g.attrs["shape"][:2]]
    if list(g.attrs["items"]) == [*whole, ("slice", 0, hsz, 1)]:
        return g.inputs[0]
    return g


def _g_lstm_tape(b, n, g):
    x, h0, c0, wx, wh, _ = n.inputs
    hsz = h0.type.shape[1]
    g = _states_gradient(g, hsz)
    da = b.op("lstm_bptt", n, c0, wh, g)
    hs = _last(b, n, 0, hsz)
    dx, dwx, dwh = _weight_grads(b, x, h0, hs, wx, wh, da, da)
    db = b.op("rnn_grad_b", da)
    return (dx, b.op("rnn_grad_h0", da, wh), b.op("lstm_grad_c0", n, c0, wh, g), dwx, dwh, db)


def _g_gru_tape(b, n, g):
    x, h0, wx, wh, _, _ = n.inputs
    hsz = h0.type.shape[1]
    g = _states_gradient(g, hsz)
    da = b.op("gru_bptt", n, h0, wh, g)
    dax, dah = _last(b, da, 0, 3 * hsz), _last(b, da, 3 * hsz, 6 * hsz)
    hs = _last(b, n, 0, hsz)
    dx, dwx, dwh = _weight_grads(b, x, h0, hs, wx, wh, dax, dah)
    return (dx, b.op("gru_grad_h0", n, h0, wh, g), dwx, dwh,
            b.op("sum", dax, axis=(0, 1), keepdims=False),
            b.op("sum", dah, axis=(0, 1), keepdims=False))


SECOND_ORDER = ("it is the first-order gradient of a recurrence: gradients of gradients "
                "through lstm, gru, rnn and scan are not supported")


def _bptt_infer(width, states_only=False):
    """dA's type; with states_only, g may also be the gradient of the states alone [N, T, H]."""
    def infer(types):
        tape, state, wh, g = types
        widths = (tape.shape[2], state.shape[1]) if states_only else (tape.shape[2],)
        if tape.rank != 3 or g.rank != 3 or not any(D.equal(g.shape[2], w) for w in widths):
            raise OpError("needs the tape [N, T, K*H] and its gradient of the same shape"
                          + (" (or that of its states [N, T, H])" if states_only else ""))
        return TensorType(promote(*types), (tape.shape[0], tape.shape[1], width * state.shape[1]))
    return infer


def _state_grad_infer(types):
    _bptt_infer(0, states_only=True)(types)
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
            # the gradient of the states alone
            out.append(([tape, state, wh, rng.normal(size=tape.shape[:2] + state.shape[1:])], {}))
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
defop("lstm_tape", ", ".join(LSTM), infer=_tape_infer(LSTM, 4, 6), kernel=_lstm_tape,
      grad=_g_lstm_tape, promote=(), family="gated", internal=True,
      memory=FRESH,
      cases=_cases(LSTM, 4), doc="the LSTM's forward tape [N, T, 6H]: h c i f o g of every step")
defop("gru_tape", ", ".join(GRU), infer=_tape_infer(GRU, 3, 5), kernel=_gru_tape,
      grad=_g_gru_tape, promote=(), family="gated", internal=True,
      memory=FRESH,
      cases=_cases(GRU, 3), doc="the GRU's forward tape [N, T, 5H]: h r z n (h Whn + bhn)")
LSTM_BACKWARD = Memory((), scratch=_lstm_backward_scratch)
for _name, _kernel, _infer, _tape, _names, _gates, _memory, _doc in (
        ("lstm_bptt", _lstm_bptt, _bptt_infer(4, states_only=True), _lstm_tape, LSTM, 4,
         LSTM_BACKWARD,
         "LSTM backprop through time: the gradient of every step's gate pre-activations"),
        ("lstm_grad_c0", _lstm_grad_c0, _state_grad_infer, _lstm_tape, LSTM, 4, LSTM_BACKWARD,
         "the LSTM's gradient with respect to its initial cell c0"),
        ("gru_bptt", _gru_bptt, _bptt_infer(6, states_only=True), _gru_tape, GRU, 3, FRESH,
         "GRU backprop through time: the gradients of every step's x-side and h-side "
         "pre-activations [dAx | dAh]"),
        ("gru_grad_h0", _gru_grad_h0, _state_grad_infer, _gru_tape, GRU, 3, FRESH,
         "the GRU's gradient with respect to its initial state h0")):
    defop(_name, "tape, state, Wh, g", infer=_infer, kernel=_kernel, grad_missing=SECOND_ORDER,
          promote=(), family="gated", internal=True, memory=_memory,
          cases=_tape_cases(_tape, _names, _gates), doc=_doc)
