"""The Elman RNN: h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b), all states returned as [N, T, H].

Its gradient is one backprop-through-time pass, the internal op `rnn_bptt`, whose single output
is dA [N, T, H], the gradient with respect to the pre-activations of every step. That is the
only sequential part; each input's gradient is then one contraction of dA (the rnn_grad_* ops,
rnn_grad_b for the bias), so one BPTT serves all five inputs. States and dA are time-major
views, as the gated layers' (gated.py): each step works on contiguous [H, N] blocks.
Second order through the RNN is not provided: the internal ops stop gradients (see below).
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import VIEW, Memory, defop
from ..ir.types import TensorType, is_float, np_dtype, promote


def _match(what: str, a, b) -> None:
    if D.differ(a, b):
        raise OpError(f"{what}: {D.dim_str(a)} and {D.dim_str(b)} differ")


def _ranks(types, names, ranks) -> None:
    for t, name, r in zip(types, names, ranks):
        if t.rank != r:
            raise OpError(f"{name} must have rank {r}, not {D.shape_str(t.shape)}")


def _float(*types) -> str:
    dtype = promote(*types)
    if not is_float(dtype):
        raise OpError(f"needs float tensors, not {', '.join(t.dtype for t in types)}")
    return dtype


def _rnn_infer(types):
    x, h0, wx, wh, b = types
    _ranks(types, ("x [N, T, D]", "h0 [N, H]", "Wx [D, H]", "Wh [H, H]", "b [H]"),
           (3, 2, 2, 2, 1))
    n, t, d = x.shape
    h = wh.shape[1]
    _match("batch sizes of x and h0", n, h0.shape[0])
    _match("input sizes of x and Wx", d, wx.shape[0])
    for what, other in (("h0", h0.shape[1]), ("Wx", wx.shape[1]), ("Wh rows", wh.shape[0]),
                        ("b", b.shape[0])):
        _match(f"state sizes of Wh and {what}", h, other)
    return TensorType(_float(*types), (n, t, h))


def _cast(*arrays):
    dt = np.result_type(*arrays)
    return [a.astype(dt, copy=False) for a in arrays]


def time_major(a):
    """[N, T, K] seen as [T, K, N]: a view, whose steps' [K, N] blocks are contiguous for the
    recurrent kernels' states, tapes and dA (they are made so)."""
    return a.transpose(1, 2, 0)


def stacked_input(h0, d: int):
    """The right operand [H + D + 1, N] of a recurrent step's one matmul, [h; x_t; 1]: h0 in
    place, the ones row set, and room for each step's x_t (the kernel writes h and x_t)."""
    hs, n = h0.shape[1], h0.shape[0]
    hx = np.empty((hs + d + 1, n), h0.dtype)
    hx[:hs], hx[hs + d:] = h0.T, 1
    return hx


def _rnn(x, h0, wx, wh, b):
    """Every state [N, T, H], as a view of a time-major [T, H, N] array (the gated kernels'
    layout: each step's block contiguous), one matmul a step of [Wh; Wx; b] by [h; x_t; 1]."""
    x, h0, wx, wh, b = _cast(x, h0, wx, wh, b)
    n, steps, d = x.shape
    hsz = wh.shape[1]
    w = np.concatenate([wh.T, wx.T, b[:, None]], axis=1)
    hx = stacked_input(h0, d)
    out = np.empty((steps, hsz, n), x.dtype)
    xs = time_major(x)
    for t in range(steps):
        hx[hsz:hsz + d] = xs[t]
        h = np.tanh(np.matmul(w, hx, out=out[t]), out=out[t])
        hx[:hsz] = h
    return out.transpose(2, 0, 1)


def _rnn_bptt(hs, wh, g):
    hs, wh, g = _cast(hs, wh, g)
    n, steps, hsz = hs.shape
    da = np.empty((steps, hsz, n), hs.dtype)
    hp, gp = time_major(hs), time_major(g)
    # carry = Wh @ dA_{t+1} (time-major), the gradient reaching h_t from step t + 1
    carry, u = np.zeros((hsz, n), hs.dtype), np.empty((hsz, n), hs.dtype)
    for t in reversed(range(steps)):
        d = np.add(gp[t], carry, out=da[t])
        d *= np.subtract(1, np.multiply(hp[t], hp[t], out=u), out=u)
        np.matmul(wh, d, out=carry)
    return da.transpose(2, 0, 1)


def _blocked(a):
    """time_major(a) when each step's [K, N] block of it is contiguous (the recurrent kernels'
    tapes and dA, and slices of them along K, are laid out so); else None."""
    v = time_major(a)
    _, k, n = v.shape
    return v if a.size and v.strides[2] == a.itemsize and v.strides[1] == n * a.itemsize else None


def _grad_x(da, wx):
    da, wx = _cast(da, wx)
    tm = _blocked(da)
    if tm is not None:  # dx in the same layout, one matmul a step batched
        return np.matmul(wx, tm).transpose(2, 0, 1)
    return da @ wx.T


def _grad_h0(da, wh):
    da, wh = _cast(da, wh)
    return da[:, :1].sum(axis=1) @ wh.T  # dA_0 (zeros when T is 0)


CHUNK_ELEMENTS = 1 << 16
"""How many elements of per-step products _sum_over_steps makes in one batched matmul."""


def _chunk_steps(a: int, b: int) -> int:
    """How many steps' [b, a] products make one chunk of _sum_over_steps."""
    return max(1, CHUNK_ELEMENTS // max(1, a * b))


def _sum_over_steps(left, right, out):
    """out + sum over t of left_t @ right_t^T, for [T, A, N] and [T, B, N] stacks of blocks
    (summed as [B, A], which suits BLAS better with these layouts): the products of a chunk of
    steps in one batched matmul, then summed, so a few calls per chunk rather than per step.
    Each block of right is a BLAS operand as it is; left's blocks are too when their rows run
    along A ([N, A] row-major, as x [N, T, D] is), else (blocks [A, N] with N contiguous, as the
    states in a tape are) a chunk of them is copied into that layout first: OpenBLAS multiplies
    by a row-major [N, A] operand up to 1.8 times as fast as by its transpose here."""
    acc = np.ascontiguousarray(out.T)
    k = _chunk_steps(*acc.shape)
    steps, a, n = left.shape
    products = np.empty((min(k, steps), *acc.shape), acc.dtype)
    rows = (np.empty((min(k, steps), n, a), left.dtype)
            if steps and a > 1 and left.strides[2] == left.itemsize else None)
    for s in range(0, steps, k):
        m = min(k, steps - s)
        lt = left[s:s + m].transpose(0, 2, 1)
        if rows is not None:
            np.copyto(rows[:m], lt)
            lt = rows[:m]
        part = np.matmul(right[s:s + m], lt, out=products[:m])
        acc += part[0] if m == 1 else part.sum(axis=0)
    return np.ascontiguousarray(acc.T)


def _sum_scratch(node, env) -> int:
    """rnn_grad_Wx and rnn_grad_Wh: one chunk's products, their sum and the accumulator, and
    one chunk of the left operand's blocks copied (counted always: an upper bound)."""
    shapes = [D.evaluate_shape(i.type.shape, env) for i in node.inputs]
    steps, a, b, n = shapes[-1][1], shapes[0][-1], shapes[-1][2], shapes[-1][0]
    k = min(max(steps, 1), _chunk_steps(a, b))
    return np_dtype(node.dtype).itemsize * ((k + 2) * a * b + k * n * a)


def _grad_wx(x, da):
    x, da = _cast(x, da)
    out = np.zeros((x.shape[2], da.shape[2]), da.dtype)
    return _sum_over_steps(time_major(x), time_major(da), out)


def _grad_wh(h0, hs, da):
    h0, hs, da = _cast(h0, hs, da)  # the state entering step t is h0, then h_{t-1}
    first = h0.T @ da[:, :1].sum(axis=1)
    return _sum_over_steps(time_major(hs)[:-1], time_major(da)[1:], first)


def _grad_b(da):
    da = np.asarray(da)
    tm = _blocked(da)
    if tm is not None:  # the steps' blocks added first, then each row: both contiguous
        return tm.sum(axis=0).sum(axis=1)
    return da.sum(axis=(0, 1))


def _g_rnn(b, n, g):
    x, h0, wx, wh, _ = n.inputs
    da = b.op("rnn_bptt", n, wh, g)
    return (b.op("rnn_grad_x", da, wx), b.op("rnn_grad_h0", da, wh),
            b.op("rnn_grad_Wx", x, da), b.op("rnn_grad_Wh", h0, n, da), b.op("rnn_grad_b", da))


# ------------------------------------------------------------------ shape rules of the helpers
def _seq(t: TensorType, name: str):
    if t.rank != 3:
        raise OpError(f"{name} must be [N, T, H], not {D.shape_str(t.shape)}")
    return t.shape


def _bptt_infer(types):
    hs, wh, g = types
    _seq(hs, "the states")
    for a, c in zip(hs.shape, _seq(g, "the gradient")):
        _match("states and gradient", a, c)
    _match("state sizes of the states and Wh", hs.shape[2], wh.shape[0])
    return TensorType(_float(*types), hs.shape)


def _grad_x_infer(types):
    da, wx = types
    n, t, h = _seq(da, "dA")
    _match("state sizes of dA and Wx", h, wx.shape[1])
    return TensorType(_float(*types), (n, t, wx.shape[0]))


def _grad_h0_infer(types):
    da, wh = types
    n, _, h = _seq(da, "dA")
    _match("state sizes of dA and Wh", h, wh.shape[1])
    return TensorType(_float(*types), (n, wh.shape[0]))


def _grad_wx_infer(types):
    x, da = types
    _match("steps of x and dA", _seq(x, "x")[1], _seq(da, "dA")[1])
    return TensorType(_float(*types), (x.shape[2], da.shape[2]))


def _grad_b_infer(types):
    n, t, g = _seq(types[0], "dA")
    return TensorType(_float(*types), (g,))


def _grad_wh_infer(types):
    h0, hs, da = types
    _match("state sizes of h0 and the states", h0.shape[1], _seq(hs, "the states")[2])
    return TensorType(_float(*types), (h0.shape[1], _seq(da, "dA")[2]))


# ------------------------------------------------------------------ cases
RNN_SIZES = [(2, 3, 2, 3), (1, 1, 1, 2), (3, 4, 3, 2)]  # N, T, D, H


def _rnn_arrays(rng, n, t, d, h):
    return {"x": rng.normal(size=(n, t, d)), "h0": 0.5 * rng.normal(size=(n, h)),
            "Wx": 0.5 * rng.normal(size=(d, h)), "Wh": 0.5 * rng.normal(size=(h, h)),
            "b": 0.1 * rng.normal(size=(h,)), "dA": rng.normal(size=(n, t, h)),
            "hs": np.tanh(rng.normal(size=(n, t, h)))}


def _cases_of(*names):
    def cases(rng):
        out = []
        for sizes in RNN_SIZES:
            a = _rnn_arrays(rng, *sizes)
            out.append(([a[k] for k in names], {}))
        return out
    return cases


def _bptt_cases(rng):
    return [([a["hs"], a["Wh"], a["dA"]], {})
            for a in (_rnn_arrays(rng, *s) for s in RNN_SIZES)]


defop("rnn", "x, h0, Wx, Wh, b", infer=_rnn_infer, kernel=_rnn, grad=_g_rnn, promote=(),
      family="recurrent", cases=_cases_of("x", "h0", "Wx", "Wh", "b"),
      doc="Elman RNN over x [N, T, D]: every state h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)")

# The gradient helpers are first order only: differentiating them again would need an adjoint
# recurrence for rnn_bptt (and shifted-in-time contractions); a second derivative through an rnn
# is a located error (never a silent zero).
SECOND_ORDER = ("it is the first-order gradient of a recurrence: gradients of gradients "
                "through lstm, gru, rnn and scan are not supported")
HELPERS = [
    # name, signature, shape rule, kernel, case inputs, doc
    ("rnn_bptt", "hs, Wh, g", _bptt_infer, _rnn_bptt, None,
     "backprop through time: the gradient with respect to each step's pre-activation"),
    ("rnn_grad_x", "dA, Wx", _grad_x_infer, _grad_x, ("dA", "Wx"), "dA @ Wx^T: rnn's dx"),
    ("rnn_grad_h0", "dA, Wh", _grad_h0_infer, _grad_h0, ("dA", "Wh"), "dA_0 @ Wh^T: rnn's dh0"),
    ("rnn_grad_Wx", "x, dA", _grad_wx_infer, _grad_wx, ("x", "dA"),
     "sum over N, T of x_t^T dA_t: rnn's dWx"),
    ("rnn_grad_Wh", "h0, hs, dA", _grad_wh_infer, _grad_wh, ("h0", "hs", "dA"),
     "sum over N, T of h_{t-1}^T dA_t: rnn's dWh"),
    ("rnn_grad_b", "dA", _grad_b_infer, _grad_b, ("dA",), "sum over N, T of dA: a bias's gradient"),
]


ALWAYS_NEW = ("rnn_grad_Wx", "rnn_grad_Wh")  # summed into an array of their own
SUMMED = Memory((), scratch=_sum_scratch)
for _name, _sig, _infer, _kernel, _inputs, _doc in HELPERS:
    defop(_name, _sig, infer=_infer, kernel=_kernel, doc=_doc, family="recurrent",
          internal=True, grad_missing=SECOND_ORDER, promote=(),
          memory=SUMMED if _name in ALWAYS_NEW else VIEW,
          cases=_bptt_cases if _inputs is None else _cases_of(*_inputs))
