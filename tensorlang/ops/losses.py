"""Losses: the cross-entropies on logits and on probabilities, the binary ones, mse, and the
fused kernels the optimizer makes of softmax_cross_entropy with class ids (its mean and its
gradient in one kernel each).

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
from ..ir.opdef import FRESH, IdBound, defop, writes_into
from ..ir.types import INTS, TensorType, broadcasts_to, is_float, np_dtype
from .common import broadcast_float, float_of, product
from .nn import _as, _f, _log_softmax, check_ids, rows, take_ids


# ------------------------------------------------------------------ the losses
def classes(n):
    """The number of classes, the bound of integer class-id labels: the logits' last dim."""
    return n.inputs[0].type.shape[-1]


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


def _pick(x, ids):
    """x[..., ids] per example; an id outside [0, classes) is an error, not a wrap-around."""
    if x.ndim == 2:  # a batch of rows (the common case): plain fancy indexing, far cheaper
        return take_ids(x, ids)
    check_ids(ids, x.shape[-1])
    return np.take_along_axis(x, ids.astype(np.intp)[..., None], axis=-1)[..., 0]


FEW_CLASSES = 64
"""Logits [N, C] with at most this many classes are worked on class-major ([C, N], one copy):
NumPy's reductions along a short last axis run a loop per row (a max over [128, 10] took
6.7 us), along the first axis one vectorized loop per class."""


def _class_major(z, ids) -> np.ndarray | None:
    """z [N, C] as a fresh [C, N] array minus each example's max (None: not a small 2-D batch
    of logits), after checking every id (check_ids's IndexError)."""
    if z.ndim != 2 or z.shape[1] > FEW_CLASSES or not z.size:
        return None
    check_ids(ids, z.shape[1])
    zt = z.T.copy()
    zt -= zt.max(axis=0)
    return zt


def _class_major_losses(z, ids) -> np.ndarray | None:
    """softmax_cross_entropy's per-example losses [N] of few classes, computed class-major
    (None where _class_major does not apply): the fused mean sums exactly these."""
    zt = _class_major(z, ids)
    if zt is None:
        return None
    picked = zt[ids, rows(len(ids))]
    losses = np.log(np.exp(zt).sum(axis=0))  # no out=: the jax engine runs this code too
    losses -= picked
    return losses


def _rows(y, x):
    return y.astype(x.dtype, copy=False)


def _softmax_cross_entropy(logits, labels):
    if labels.ndim == logits.ndim - 1:  # ids: logsumexp(z) - z[id], z = x - max(x), no logp
        x = _f(logits)
        if (losses := _class_major_losses(x, labels)) is not None:
            return losses
        z = x - x.max(axis=-1, keepdims=True)  # methods: a loss is called every step
        return np.asarray(np.log(np.exp(z).sum(axis=-1)) - _pick(z, labels))
    logp = _log_softmax(logits, -1)
    y = _rows(labels, logp)
    # a zero label weighs nothing, even against a log-probability that underflowed to -inf
    # (logits 4e38 apart): 0 * -inf would make the loss NaN
    return np.asarray(0 - np.sum(np.where(y == 0, 0, y * logp), axis=-1))  # 0, never -0


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


defop("softmax_cross_entropy", "logits, labels", infer=_categorical,
      kernel=_softmax_cross_entropy, grad=_g_softmax_cross_entropy, family="nn", memory=FRESH,
      cases=_categorical_cases(lambda rng, s: np.asarray(rng.normal(size=s) * 2)),
      doc="-sum(labels * log_softmax(logits)) over the last axis: one loss per example",
      ids={1: IdBound(classes, "classes of softmax_cross_entropy")})


defop("cross_entropy", "p, labels", infer=_categorical, kernel=_cross_entropy,
      grad=_g_cross_entropy, family="nn", memory=FRESH, cases=_categorical_cases(_probs),
      doc="-sum(labels * log(p)) over the last axis, p clipped to [eps, 1 - eps]; per example",
      ids={1: IdBound(classes, "classes of cross_entropy")})


defop("binary_cross_entropy", "p, y", infer=_binary, kernel=_binary_cross_entropy,
      grad=_g_binary_cross_entropy, family="nn", memory=FRESH,
      cases=_binary_cases(lambda rng, s: rng.uniform(0.05, 0.95, size=s)),
      doc="-(y log(p) + (1 - y) log(1 - p)) elementwise, p clipped to [eps, 1 - eps]")


defop("sigmoid_cross_entropy", "logits, y", infer=_binary, kernel=_sigmoid_cross_entropy,
      grad=_g_sigmoid_cross_entropy, family="nn", memory=FRESH,
      cases=_binary_cases(lambda rng, s: np.asarray(rng.normal(size=s) * 3)),
      doc="binary_cross_entropy(sigmoid(logits), y) elementwise, as max(x, 0) - x y + "
          "log1p(exp(-|x|))")


defop("mse", "a, b", infer=_mse_infer, kernel=_mse, grad=_g_mse, promote=(), family="nn",
      memory=FRESH, cases=_mse_cases,
      doc="mean of (a - b) ** 2 over all elements (broadcasting): a scalar")


# internal helpers of the gradient rules
defop("one_hot_like", "ids, like", infer=_one_hot_like_infer, kernel=_one_hot_like,
      differentiable=False, internal=True, family="nn", memory=FRESH,
      cases=lambda rng: [([_ids(rng, (3,), 4), rng.normal(size=(3, 4))], {})],
      doc="one-hot rows of integer ids, with the class count and float dtype of `like`",
      ids={1: IdBound(classes, "classes of one_hot_like")})


defop("element_count", "x", infer=lambda types: TensorType(float_of(types[0]), ()),
      kernel=lambda x: np.asarray(x.size, x.dtype if x.dtype.kind == "f" else np.float32),
      # a count does not vary with x
      differentiable=False, internal=True, family="nn", memory=FRESH,
      cases=lambda rng: [([rng.normal(size=(2, 3))], {})],
      doc="the number of elements of x, as a float scalar")


# ---------------------------------------------------------- fused: softmax_cross_entropy, ids
def _check_logits_ids(z, ids):
    from ..ir import dims as D
    if not is_float(z.dtype) or z.rank == 0:
        raise OpError("needs float logits")
    if ids.dtype not in INTS or ids.rank != z.rank - 1 or not all(
            D.equal(a, b) for a, b in zip(ids.shape, z.shape)):
        raise OpError("needs integer class ids of the logits' batch shape")


def _sxe_grad_infer(types):
    z, ids, g = types
    _check_logits_ids(z, ids)
    if g.dtype != z.dtype or not broadcasts_to(g.shape, ids.shape):
        raise OpError("the gradient must have the logits' dtype and broadcast to their batch "
                      "shape")
    return TensorType(z.dtype, z.shape)


def _minus_one_hot(p, ids):
    """p[..., ids] -= 1 in place, in any memory layout; an id out of range is an IndexError."""
    c = p.shape[-1]
    if not p.flags.c_contiguous:
        # a transposed or F-ordered p (NumPy keeps z's layout in z - max): reshape(-1, c) would
        # copy, and the update would be lost (the fused gradient was then softmax(z) * g)
        check_ids(ids, c)
        at = ids.astype(np.intp)[..., None]
        np.put_along_axis(p, at, np.take_along_axis(p, at, axis=-1) - 1, axis=-1)
        return
    flat = p.reshape(-1, c)
    ids = ids.reshape(-1)
    if ids.dtype.kind != "u" and ids.size and ids.min() < 0:  # would wrap around
        check_ids(ids, c)
    try:
        flat[rows(len(ids)), ids] -= 1
    except IndexError:
        check_ids(ids, c)
        raise


def _sxe_grad(z, ids, g, out=None):
    """(softmax(z) - one_hot(ids)) * g[..., None], written into one buffer (out may be z)."""
    g = np.asarray(g)
    zt = _class_major(z, ids) if g.ndim <= 1 else None
    if zt is not None:  # few classes: class-major, then one transposing multiply into out
        np.exp(zt, out=zt)
        zt /= zt.sum(axis=0)
        zt[ids, rows(len(ids))] -= 1
        return np.multiply(zt.T, g[..., None], out=out)
    p = np.subtract(z, z.max(axis=-1, keepdims=True), out=out)
    np.exp(p, out=p)
    p /= p.sum(axis=-1, keepdims=True)
    _minus_one_hot(p, ids)  # p is fresh (in z's layout), or out, which the planner owns
    p *= g[..., None]
    return p


def _g_sxe_grad(b, n, u):
    """z: the softmax VJP of v = u * g, s * (v - sum(v * s)); g: sum(u * (s - one_hot))."""
    z, ids, g = n.inputs
    last = z.rank - 1
    s = b.op("softmax", z, axis=last)
    v = b.op("multiply", u, b.op("expand_dims", g, axis=g.rank))
    dot = b.op("sum", b.op("multiply", v, s), axis=last, keepdims=True)
    gz = b.op("multiply", s, b.op("subtract", v, dot))
    gg = b.op("sum", b.op("multiply", u, b.op("subtract", s, b.op("one_hot_like", ids, z))),
              axis=last)
    return gz, None, gg


def _z_g_dtype(n) -> bool:
    return n.inputs[0].dtype == n.inputs[2].dtype == n.dtype


def _sxe_cases(rng):
    return [([rng.normal(size=(4, 3)), rng.integers(0, 3, size=4), rng.normal(size=(4,))], {}),
            ([rng.normal(size=(2, 3, 5)), rng.integers(0, 5, size=(2, 3)).astype(np.uint8),
              rng.normal(size=(1,))], {})]


defop("softmax_cross_entropy_grad", "logits, labels, g", infer=_sxe_grad_infer, kernel=_sxe_grad,
      grad=_g_sxe_grad, internal=True, memory=writes_into(_z_g_dtype, inplace=True),
      family="nn", fused=True, cases=_sxe_cases,
      doc="(softmax(logits) - one_hot(labels)) * g[..., None] in one kernel, g per example: the "
          "gradient of softmax_cross_entropy with class ids (made by the fusion pass)",
      ids={1: IdBound(classes, "classes of softmax_cross_entropy_grad")})


def _sxe_mean_infer(types):
    _check_logits_ids(*types)
    return TensorType(types[0].dtype, ())


def _sxe_mean(z, ids):
    """mean(softmax_cross_entropy(z, ids)) as one kernel: logsumexp(z) - z[id], averaged like
    np.mean (summed in z's dtype, divided in f64)."""
    if (losses := _class_major_losses(z, ids)) is not None:  # few classes
        return _mean_of(losses, ids.size, z.dtype)
    z = z - z.max(axis=-1, keepdims=True)
    losses = np.log(np.exp(z).sum(axis=-1))
    c = z.shape[-1]
    flat, ids = z.reshape(-1, c), ids.reshape(-1)
    if ids.dtype.kind != "u" and ids.size and ids.min() < 0:
        check_ids(ids, c)
    try:
        picked = flat[rows(len(ids)), ids]
    except IndexError:
        check_ids(ids, c)
        raise
    losses = losses.reshape(-1)
    losses -= picked  # the per-example losses, exactly as softmax_cross_entropy computes them
    return _mean_of(losses, ids.size, z.dtype)


def _mean_of(losses, count: int, dtype) -> np.ndarray:
    """The per-example losses summed in their dtype, divided by count in f64, as dtype."""
    return np.asarray(np.true_divide(np.add.reduce(losses), count, dtype=np.float64), dtype)


def _g_sxe_mean(b, n, g):
    z, ids = n.inputs
    count = b.op("size_of", ids, axis=tuple(range(ids.rank)), dtype=n.dtype)
    return b.op("softmax_cross_entropy_grad", z, ids, b.op("divide", g, count)), None


defop("softmax_cross_entropy_mean", "logits, labels", infer=_sxe_mean_infer, kernel=_sxe_mean,
      grad=_g_sxe_mean, internal=True, family="nn", fused=True, memory=FRESH,
      cases=lambda rng: [([rng.normal(size=(5, 4)) * 3, rng.integers(0, 4, size=5)], {}),
                         ([rng.normal(size=(2, 3, 6)), rng.integers(0, 6, size=(2, 3))], {})],
      doc="mean(softmax_cross_entropy(logits, labels)) with class ids in one kernel (made by "
          "the fusion pass)",
      ids={1: IdBound(classes, "classes of softmax_cross_entropy_mean")})
