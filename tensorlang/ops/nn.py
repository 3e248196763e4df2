"""Neural-network ops: softmax, log_softmax and the losses.

Every kernel is the fused, stable formulation (max subtraction, log1p of exp(-|x|)), never a
composition through log(softmax): no overflow and no inf/nan for finite inputs of any size.
Losses on probabilities (cross_entropy, binary_cross_entropy) clip p to [eps, 1 - eps] of its
dtype (eps = machine epsilon), so log(0) never happens; the gradient is zero where p is clipped.

Categorical labels are integer class ids of the batch shape (`[N]` for `[N, C]` logits, any int
dtype, u8 included) or rows of the logits' shape (one-hot or soft probabilities; float rows get a
gradient). The binary losses take targets that broadcast to the predictions' shape.
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import defop
from ..ir.types import INTS, TensorType, broadcasts_to, is_float, normalize_axis, np_dtype
from .common import broadcast_float, float_of, product

# ------------------------------------------------------------------ shape rules


def _axis_prepare(types, axis=-1):
    return {"axis": normalize_axis(axis, types[0].rank)}


def _float_same(types, axis):
    t = types[0]
    if t.dtype == "bool":
        raise OpError("needs a numeric tensor, not bool")
    return TensorType(float_of(t), t.shape)


def _categorical(types):
    """Loss per example: the batch shape. Labels are ids [...] (ints) or rows [..., C]."""
    x, y = types
    if x.rank == 0:
        raise OpError("needs class scores along a last axis, not a scalar")
    if x.dtype == "bool":
        raise OpError("needs numeric scores, not bool")
    batch = x.shape[:-1]
    ok = y.rank in (x.rank - 1, x.rank) and all(D.equal(p, q) for p, q in zip(y.shape, x.shape))
    if not ok:
        raise OpError(f"labels must be integer class ids of shape {D.shape_str(batch)} or rows "
                      f"of shape {D.shape_str(x.shape)}, not {D.shape_str(y.shape)}")
    if y.rank == x.rank - 1 and y.dtype not in INTS:
        raise OpError(f"class ids must be integers, not {y.dtype} (cast them, or give one-hot "
                      f"rows of shape {D.shape_str(x.shape)})")
    return TensorType(float_of(x), batch)


def _binary(types):
    """Elementwise loss at the predictions' shape; targets broadcast to it."""
    p, y = types
    if p.dtype == "bool":
        raise OpError("needs numeric predictions, not bool")
    if not broadcasts_to(y.shape, p.shape):
        raise OpError(f"targets {D.shape_str(y.shape)} do not broadcast to the predictions' shape "
                      f"{D.shape_str(p.shape)}")
    return TensorType(float_of(p), p.shape)


def _mse_infer(types):
    return TensorType(broadcast_float(types).dtype, ())


def _one_hot_like_infer(types):
    ids, like = types
    if ids.dtype not in INTS or like.rank != ids.rank + 1 or not all(
            D.equal(p, q) for p, q in zip(ids.shape, like.shape)):
        raise OpError("needs integer ids of the batch shape of `like`")
    return TensorType(float_of(like), like.shape)


# ------------------------------------------------------------------ kernels


def _f(x):
    """x as a float array: ints and bools become the default float (f32)."""
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _shifted(x, axis):
    """x - max(x): every exponent is <= 0, so exp never overflows and the sum is >= 1."""
    return x - np.max(x, axis=axis, keepdims=True)


def _softmax(x, axis):
    e = np.exp(_shifted(_f(x), axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis):
    z = _shifted(_f(x), axis)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def check_ids(ids, c: int) -> None:
    """IndexError unless every class id is in [0, c): an id out of range is an error, not a
    wrap-around (unsigned ids need only the max checked)."""
    if ids.size and ((ids.dtype.kind != "u" and ids.min() < 0) or ids.max() >= c):
        bad = ids[(ids < 0) | (ids >= c)].flat[0]
        raise IndexError(f"class id {bad} is out of range for {c} classes")


_ROWS: dict[int, np.ndarray] = {}  # np.arange(n) per batch size n, made once


def rows(n: int) -> np.ndarray:
    """np.arange(n), cached: the row index of a batch's fancy indexing."""
    r = _ROWS.get(n)
    if r is None:
        if len(_ROWS) > 64:
            _ROWS.clear()
        r = _ROWS[n] = np.arange(n)
        r.flags.writeable = False
    return r


def take_ids(x, ids):
    """x[i, ids[i]] for a batch of rows x [N, C]; an id outside [0, C) is an IndexError naming
    it (NumPy's own check catches ids >= C; negative ids, which would wrap, are checked here)."""
    if ids.dtype.kind != "u" and ids.size and ids.min() < 0:
        check_ids(ids, x.shape[-1])
    try:
        return x[rows(len(ids)), ids]
    except IndexError:
        check_ids(ids, x.shape[-1])
        raise


def _pick(x, ids):
    """x[..., ids] per example; an id outside [0, classes) is an error, not a wrap-around."""
    if x.ndim == 2:  # a batch of rows (the common case): plain fancy indexing, far cheaper
        return take_ids(x, ids)
    check_ids(ids, x.shape[-1])
    return np.take_along_axis(x, ids.astype(np.intp)[..., None], axis=-1)[..., 0]


def _rows(y, x):
    return y.astype(x.dtype, copy=False)


def _softmax_cross_entropy(logits, labels):
    if labels.ndim == logits.ndim - 1:  # ids: logsumexp(z) - z[id], z = x - max(x), no logp
        x = _f(logits)
        z = x - x.max(axis=-1, keepdims=True)  # methods: a loss is called every step
        return np.asarray(np.log(np.exp(z).sum(axis=-1)) - _pick(z, labels))
    logp = _log_softmax(logits, -1)
    return np.asarray(-np.sum(_rows(labels, logp) * logp, axis=-1))


def _clip(p):
    """p within [eps, 1 - eps] of its float dtype."""
    p = _f(p)
    eps = np.finfo(p.dtype).eps
    return np.clip(p, np.asarray(eps, p.dtype), np.asarray(1 - eps, p.dtype))


def _cross_entropy(p, labels):
    logp = np.log(_clip(p))
    if labels.ndim == logp.ndim - 1:
        return np.asarray(-_pick(logp, labels))
    return np.asarray(-np.sum(_rows(labels, logp) * logp, axis=-1))


def _binary_cross_entropy(p, y):
    p = _clip(p)
    y = _rows(y, p)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def _sigmoid_cross_entropy(x, y):
    x = _f(x)
    y = _rows(y, x)
    zero = np.zeros((), x.dtype)
    return np.maximum(x, zero) - x * y + np.log1p(np.exp(-np.abs(x)))


def _mse(a, b):
    dt = np.result_type(a, b)
    dt = dt if dt.kind == "f" else np.dtype(np.float32)
    d = a.astype(dt, copy=False) - b.astype(dt, copy=False)
    return np.asarray(np.mean(np.square(d)), dt)


def _one_hot_like(ids, like):
    dt = like.dtype if like.dtype.kind == "f" else np.dtype(np.float32)
    return (ids[..., None] == np.arange(like.shape[-1])).astype(dt)


# ------------------------------------------------------------------ gradient rules (graph nodes)


def _as(b, x, dtype):
    """x cast to dtype (a no-op when it already is)."""
    return x if x.dtype == dtype else b.op("cast", x, dtype=dtype)


def _g_softmax(b, n, g):
    """s * (g - sum(g * s))."""
    ax = n.attrs["axis"]
    dot = b.op("sum", product(b, g, n), axis=ax, keepdims=True)
    return (product(b, n, b.op("subtract", g, dot)),)


def _g_log_softmax(b, n, g):
    """g - softmax(x) * sum(g)."""
    x, ax = n.inputs[0], n.attrs["axis"]
    total = b.op("sum", g, axis=ax, keepdims=True)
    return (b.op("subtract", g, product(b, b.op("softmax", x, axis=ax), total)),)


def _per_class(b, g):
    """The per-example gradient with a class axis: g[..., None]."""
    return b.op("expand_dims", g, axis=g.rank)


def _g_softmax_cross_entropy(b, n, g):
    """logits: (softmax(x) * sum(y) - y) * g (= softmax - onehot for ids); labels: -log_softmax."""
    x, y = n.inputs
    ge, last = _per_class(b, g), x.rank - 1
    p = b.op("softmax", x, axis=last)
    if y.rank == x.rank - 1:
        return product(b, b.op("subtract", p, b.op("one_hot_like", y, x)), ge), None
    yf = _as(b, y, n.dtype)
    total = b.op("sum", yf, axis=last, keepdims=True)
    gx = product(b, b.op("subtract", product(b, p, total), yf), ge)
    if not is_float(y.dtype):
        return gx, None
    return gx, product(b, b.op("neg", b.op("log_softmax", x, axis=last)), ge)


def _clipped(b, p, dtype):
    """(clip(p), inside): the clipped node and a bool node, true where p was not clipped."""
    eps = float(np.finfo(np_dtype(dtype)).eps)
    pf = _as(b, p, dtype)
    lo, hi = b.constant(eps, dtype), b.constant(1 - eps, dtype)
    pc = b.op("minimum", b.op("maximum", pf, lo), hi)
    return pc, b.op("equal", pc, pf)


def _g_cross_entropy(b, n, g):
    """p: -y / clip(p) * g where p is not clipped; labels: -log(clip(p)) * g."""
    p, y = n.inputs
    ge = _per_class(b, g)
    pc, inside = _clipped(b, p, n.dtype)
    target = b.op("one_hot_like", y, p) if y.rank == p.rank - 1 else _as(b, y, n.dtype)
    gp = b.op("neg", product(b, b.op("divide", target, pc), ge))
    gp = b.op("where", inside, gp, b.constant(0, n.dtype))
    gy = product(b, b.op("neg", b.op("log", pc)), ge) if is_float(y.dtype) and y.rank == p.rank \
        else None
    return gp, gy


def _g_binary_cross_entropy(b, n, g):
    """p: (p - y) / (p (1 - p)) * g where p is not clipped; y: -logit(p) * g."""
    p, y = n.inputs
    pc, inside = _clipped(b, p, n.dtype)
    yf = _as(b, y, n.dtype)
    one = b.constant(1, n.dtype)
    gp = b.op("divide", product(b, b.op("subtract", pc, yf), g),
              product(b, pc, b.op("subtract", one, pc)))
    gp = b.op("where", inside, gp, b.constant(0, n.dtype))
    gy = product(b, b.op("neg", b.op("logit", pc)), g) if is_float(y.dtype) else None
    return gp, gy


def _g_sigmoid_cross_entropy(b, n, g):
    """logits: (sigmoid(x) - y) * g; y: -x * g."""
    x, y = n.inputs
    xf, yf = _as(b, x, n.dtype), _as(b, y, n.dtype)
    gx = product(b, b.op("subtract", b.op("sigmoid", xf), yf), g)
    gy = b.op("neg", product(b, xf, g)) if is_float(y.dtype) else None
    return gx, gy


def _g_mse(b, n, g):
    """a: 2 (a - b) g / count; b: the negation (count: the elements of the broadcast shape)."""
    a, c = n.inputs
    d = b.op("subtract", _as(b, a, n.dtype), _as(b, c, n.dtype))
    scale = b.op("divide", product(b, b.constant(2, n.dtype), g), b.op("element_count", d))
    ga = product(b, d, scale)
    return ga, b.op("neg", ga)


# ------------------------------------------------------------------ cases


def _axis_cases(rng):
    return [([rng.normal(size=s)], {"axis": ax}) for s, ax in
            [((3,), -1), ((2, 4), -1), ((2, 3, 2), 1), ((1, 3), 0)]]


def _probs(rng, shape):
    e = np.exp(rng.normal(size=shape) * 0.5)
    return e / e.sum(axis=-1, keepdims=True)


def _ids(rng, shape, classes, dtype=np.int64):
    return rng.integers(0, classes, size=shape).astype(dtype)


def _categorical_cases(scores):
    def cases(rng):
        return [([scores(rng, (4, 3)), _ids(rng, (4,), 3)], {}),
                ([scores(rng, (2, 3, 4)), _ids(rng, (2, 3), 4, np.uint8)], {}),
                ([scores(rng, (5,)), _ids(rng, (), 5, np.int32)], {}),
                ([scores(rng, (3, 4)), _probs(rng, (3, 4))], {}),
                ([scores(rng, (2, 3)), rng.uniform(0, 1, size=(2, 3))], {})]
    return cases


def _binary_cases(pred):
    def cases(rng):
        return [([pred(rng, (2, 3)), rng.uniform(0, 1, size=(2, 3))], {}),
                ([pred(rng, (4, 1)), _ids(rng, (4, 1), 2, np.uint8)], {}),
                ([pred(rng, (2, 3)), rng.uniform(0, 1, size=(3,))], {}),
                ([pred(rng, ()), rng.uniform(0, 1, size=())], {})]
    return cases


def _mse_cases(rng):
    return [([rng.normal(size=sa), rng.normal(size=sb)], {}) for sa, sb in
            [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2, 2))]]


# ------------------------------------------------------------------ the records

defop("softmax", "x, axis: axis = -1", prepare=_axis_prepare, infer=_float_same, kernel=_softmax,
      grad=_g_softmax, family="nn", fresh=True, cases=_axis_cases,
      doc="exp(x) / sum(exp(x)) along axis, computed with the max subtracted")
defop("log_softmax", "x, axis: axis = -1", prepare=_axis_prepare, infer=_float_same,
      kernel=_log_softmax, grad=_g_log_softmax, family="nn", fresh=True, cases=_axis_cases,
      doc="x - logsumexp(x) along axis, stable")
defop("softmax_cross_entropy", "logits, labels", infer=_categorical,
      kernel=_softmax_cross_entropy, grad=_g_softmax_cross_entropy, family="nn", fresh=True,
      cases=_categorical_cases(lambda rng, s: np.asarray(rng.normal(size=s) * 2)),
      doc="-sum(labels * log_softmax(logits)) over the last axis: one loss per example")
defop("cross_entropy", "p, labels", infer=_categorical, kernel=_cross_entropy,
      grad=_g_cross_entropy, family="nn", fresh=True, cases=_categorical_cases(_probs),
      doc="-sum(labels * log(p)) over the last axis, p clipped to [eps, 1 - eps]; per example")
defop("binary_cross_entropy", "p, y", infer=_binary, kernel=_binary_cross_entropy,
      grad=_g_binary_cross_entropy, family="nn", fresh=True,
      cases=_binary_cases(lambda rng, s: rng.uniform(0.05, 0.95, size=s)),
      doc="-(y log(p) + (1 - y) log(1 - p)) elementwise, p clipped to [eps, 1 - eps]")
defop("sigmoid_cross_entropy", "logits, y", infer=_binary, kernel=_sigmoid_cross_entropy,
      grad=_g_sigmoid_cross_entropy, family="nn", fresh=True,
      cases=_binary_cases(lambda rng, s: np.asarray(rng.normal(size=s) * 3)),
      doc="binary_cross_entropy(sigmoid(logits), y) elementwise, as max(x, 0) - x y + "
          "log1p(exp(-|x|))")
defop("mse", "a, b", infer=_mse_infer, kernel=_mse, grad=_g_mse, promote=(), family="nn",
      fresh=True, cases=_mse_cases,
      doc="mean of (a - b) ** 2 over all elements (broadcasting): a scalar")

# internal helpers of the gradient rules
defop("one_hot_like", "ids, like", infer=_one_hot_like_infer, kernel=_one_hot_like,
      differentiable=False, internal=True, family="nn", fresh=True,
      cases=lambda rng: [([_ids(rng, (3,), 4), rng.normal(size=(3, 4))], {})],
      doc="one-hot rows of integer ids, with the class count and float dtype of `like`")
defop("element_count", "x", infer=lambda types: TensorType(float_of(types[0]), ()),
      kernel=lambda x: np.asarray(x.size, x.dtype if x.dtype.kind == "f" else np.float32),
      differentiable=False, internal=True, family="nn", fresh=True,  # a count does not vary with x
      cases=lambda rng: [([rng.normal(size=(2, 3))], {})],
      doc="the number of elements of x, as a float scalar")
