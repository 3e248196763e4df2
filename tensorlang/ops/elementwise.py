"""Elementwise ops: unary math, broadcasting binaries, comparisons, where, cast, stop_gradient.

Each table row is one op: name, shape rule, kernel, gradient rule (graph nodes), doc. Gradient
rules return the gradient at the broadcast shape; autodiff sums it back to each input's shape.
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir.opdef import FRESH, defop, writes_into
from ..ir.types import DTYPES, TensorType, broadcast_shapes, is_float, np_dtype
from .common import broadcast, broadcast_float, compare, floating, mask, product, same

# ------------------------------------------------------------------ kernels that need care


def _f(x):
    """x as a float array: ints become the default float (f32)."""
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _sigmoid(x):
    x = _f(x)
    e = np.exp(-np.abs(x))  # never overflows: the exponent is <= 0
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _softplus(x):
    x = _f(x)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _logit(p):
    p = _f(p)
    tiny = np.finfo(p.dtype).tiny
    p = np.clip(p, tiny, 1 - np.finfo(p.dtype).epsneg)  # finite at exactly 0 and 1
    return np.log(p) - np.log1p(-p)


def _leaky_relu(x, alpha=0.01):
    return np.where(x > 0, x, x * np.asarray(alpha, x.dtype))


_ZEROS: dict = {}
"""A 0-d zero per dtype, made once: np.zeros((), dtype) on every call costs a third of a batch-1
relu."""


def _zero(dtype) -> np.ndarray:
    zero = _ZEROS.get(dtype)
    if zero is None:
        zero = _ZEROS[dtype] = np.zeros((), dtype)
        zero.flags.writeable = False
    return zero


def _relu(x, out=None):
    return np.maximum(x, _zero(x.dtype), out=out)


def _round(x):
    return np.round(x)


def _fl(fn):
    """A NumPy ufunc applied in float (ints computed as f32); takes out= like the ufunc."""
    return lambda x, out=None: fn(_f(x), out=out)


def same_dtype(n) -> bool:
    """The planner may pass out= (see registry): every input already has the result's dtype,
    so the ufunc computes in that dtype with or without out."""
    return all(i.dtype == n.dtype for i in n.inputs)


_BITS = {2: np.int16, 4: np.int32, 8: np.int64}


def _is_zero(n) -> bool:
    """A constant +0.0 scalar (the zero side of where in gradient rules)."""
    v = n.attrs.get("value") if n.op == "constant" else None
    return v is not None and v.size == 1 and v.dtype.kind == "f" and \
        not v.view(_BITS[v.itemsize]).any()


def _where(cond, a, b, out=None):
    """np.where; when one side is a +0.0 scalar (relu's and clipping's gradients) the other
    side's bits are masked instead: exact (NaN and -0.0 included) and several times faster,
    since np.where branches per element and mispredicts on a random mask."""
    a, b = np.asarray(a), np.asarray(b)
    for keep, zero, flip in ((a, b, False), (b, a, True)):
        if (zero.size == 1 and zero.ndim <= cond.ndim > 0 and keep.shape == cond.shape
                and keep.dtype == zero.dtype and keep.dtype.kind == "f"
                and not zero.view(_BITS[zero.itemsize]).any()):
            bits = _BITS[keep.itemsize]
            # all ones (-1) where keep is kept, else 0: -cond, or cond - 1 when flipped
            mask = np.subtract(cond, 1, dtype=bits) if flip else np.negative(cond, dtype=bits)
            dst = mask if out is None else out.view(bits)
            np.bitwise_and(keep.view(bits), mask, out=dst)
            return dst.view(keep.dtype) if out is None else out
    r = np.where(cond, a, b)
    if out is None:
        return r
    out[...] = r
    return out


# ------------------------------------------------------------------ cases for generated tests
def _cases(low=-2.0, high=2.0, away_from_zero=False):
    def cases(rng):
        out = []
        for shape in [(), (3,), (2, 3), (2, 1, 4)]:
            x = rng.uniform(low, high, size=shape)
            if away_from_zero:
                x = np.where(np.abs(x) < 0.1, 0.5, x)
            out.append(([x], {}))
        return out
    return cases


def _binary_cases(low=-2.0, high=2.0, positive_b=False, away=False):
    def cases(rng):
        out = []
        for sa, sb in [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2, 2)),
                       ((4, 1, 3), (2, 1))]:
            a = rng.uniform(low, high, size=sa)
            b = rng.uniform(0.5 if positive_b else low, high, size=sb)
            if away:
                b = np.where(np.abs(b) < 0.3, 0.7, b)
            out.append(([a, b], {}))
        return out
    return cases


# ------------------------------------------------------------------ unary ops
def _c(b, v, like):
    return b.constant(v, like.dtype)


def _g_logit(b, n, g):
    """g / (p (1 - p)) where the kernel did not clip p, zero where it did (as the clipped
    losses' gradients): finite at p = 0 and 1, where the value is finite too."""
    p = n.inputs[0]
    if p.dtype != n.dtype:
        p = b.op("cast", p, dtype=n.dtype)
    info = np.finfo(np_dtype(n.dtype))
    pc = b.op("clip", p, low=float(info.tiny), high=float(1 - info.epsneg))
    d = b.op("divide", g, product(b, pc, b.op("subtract", _c(b, 1, n), pc)))
    return b.op("where", b.op("equal", p, pc), d, _c(b, 0, n))


UNARY = [
    # name, infer, kernel, gradient (b, node, g) -> per input, doc
    ("neg", same, np.negative, lambda b, n, g: (b.op("neg", g),), "-x"),
    ("abs", same, np.abs, lambda b, n, g: (product(b, g, b.op("sign", n.inputs[0])),), "|x|"),
    ("exp", floating, _fl(np.exp), lambda b, n, g: (product(b, g, n),), "e to the x"),
    ("log", floating, _fl(np.log), lambda b, n, g: (b.op("divide", g, n.inputs[0]),),
     "natural logarithm"),
    ("sqrt", floating, _fl(np.sqrt),
     lambda b, n, g: (b.op("divide", g, product(b, _c(b, 2, n), n)),), "square root"),
    ("square", same, np.square,
     lambda b, n, g: (product(b, g, _c(b, 2, n), n.inputs[0]),), "x * x"),
    ("sin", floating, _fl(np.sin), lambda b, n, g: (product(b, g, b.op("cos", n.inputs[0])),),
     "sine"),
    ("cos", floating, _fl(np.cos),
     lambda b, n, g: (b.op("neg", product(b, g, b.op("sin", n.inputs[0]))),), "cosine"),
    ("tanh", floating, _fl(np.tanh),
     lambda b, n, g: (product(b, g, b.op("subtract", _c(b, 1, n), b.op("square", n))),),
     "hyperbolic tangent"),
    ("sigmoid", floating, _sigmoid,
     lambda b, n, g: (product(b, g, n, b.op("subtract", _c(b, 1, n), n)),),
     "1 / (1 + exp(-x)), computed without overflow"),
    ("relu", same, _relu,
     lambda b, n, g: (b.op("where", b.op("greater", n.inputs[0], _c(b, 0, n)), g,
                           _c(b, 0, n)),), "max(x, 0)"),
    ("softplus", floating, _softplus,
     lambda b, n, g: (product(b, g, b.op("sigmoid", n.inputs[0])),), "log(1 + exp(x)), stable"),
    ("logit", floating, _logit, lambda b, n, g: (_g_logit(b, n, g),),
     "log(p / (1 - p)), the inverse of sigmoid (p clipped into (0, 1), as its gradient)"),
]
NOT_DIFFERENTIABLE = [
    ("sign", same, np.sign, "-1, 0 or 1"),
    ("floor", same, np.floor, "largest integer <= x"),
    ("round", same, _round, "nearest integer, halves to even"),
]

_DOMAIN = {"log": _cases(0.2, 3.0), "sqrt": _cases(0.2, 3.0), "logit": _cases(0.05, 0.95),
           "abs": _cases(away_from_zero=True), "relu": _cases(away_from_zero=True)}

_NO_OUT = {"sigmoid", "softplus", "logit"}  # composite kernels: fresh, but no out=
for _name, _infer, _kernel, _grad, _doc in UNARY:
    defop(_name, "x", infer=_infer, kernel=_kernel, grad=_grad, doc=_doc, family="elementwise",
          cases=_DOMAIN.get(_name, _cases()),
          memory=FRESH if _name in _NO_OUT else writes_into(same_dtype, inplace=True))
for _name, _infer, _kernel, _doc in NOT_DIFFERENTIABLE:
    defop(_name, "x", infer=_infer, kernel=_kernel, doc=_doc, family="elementwise",
          differentiable=False, cases=_cases(away_from_zero=True))

defop("leaky_relu", "x, alpha: float = 0.01", infer=same, kernel=_leaky_relu,
      grad=lambda b, n, g: (b.op("where", b.op("greater", n.inputs[0], _c(b, 0, n)), g,
                                 product(b, g, _c(b, n.attrs["alpha"], n))),),
      doc="x where x > 0, else alpha * x", family="elementwise",
      cases=lambda rng: [(a, {"alpha": 0.1}) for a, _ in _cases(away_from_zero=True)(rng)])


# ------------------------------------------------------------------ binary ops
def _g_power(b, n, g):
    a, e = n.inputs
    ga = product(b, g, e, b.op("power", a, b.op("subtract", e, _c(b, 1, e))))
    safe_log = b.op("log", b.op("where", b.op("greater", a, _c(b, 0, a)), a, _c(b, 1, a)))
    ge = product(b, g, n, safe_log)
    return ga, ge


def _g_maxmin(cmp):
    def grad(b, n, g):
        a, c = n.inputs
        half = _c(b, 0.5, n)
        tie = mask(b, b.op("equal", a, c), n)
        wa = b.op("add", mask(b, b.op(cmp, a, c), n), product(b, half, tie))
        wc = b.op("subtract", _c(b, 1, n), wa)  # ties split evenly between the operands
        return product(b, g, wa), product(b, g, wc)
    return grad


def _true_divide(a, b, out=None):
    if out is not None:
        return np.true_divide(a, b, out=out)
    out = np.true_divide(a, b)
    return out if a.dtype.kind == "f" or b.dtype.kind == "f" else out.astype(np.float32)


BINARY = [
    # name, symbol, infer, kernel, gradient, doc
    ("add", "+", broadcast, np.add,
     lambda b, n, g: (g, g), "a + b"),
    ("subtract", "-", broadcast, np.subtract,
     lambda b, n, g: (g, b.op("neg", g)), "a - b"),
    ("multiply", "*", broadcast, np.multiply,
     lambda b, n, g: (product(b, g, n.inputs[1]), product(b, g, n.inputs[0])), "a * b"),
    ("divide", "/", broadcast_float, _true_divide,
     lambda b, n, g: (b.op("divide", g, n.inputs[1]),
                      b.op("neg", b.op("divide", product(b, g, n), n.inputs[1]))),
     "a / b (true division: integers give f32)"),
    ("power", "**", broadcast, np.power, _g_power, "a ** b"),
    ("maximum", None, broadcast, np.maximum, _g_maxmin("greater"),
     "elementwise larger of a and b"),
    ("minimum", None, broadcast, np.minimum, _g_maxmin("less"), "elementwise smaller of a and b"),
]
_BCASES = {"divide": _binary_cases(away=True), "power": _binary_cases(0.5, 2.0, positive_b=True)}
for _name, _sym, _infer, _kernel, _grad, _doc in BINARY:
    defop(_name, "a, b", infer=_infer, kernel=_kernel, grad=_grad, doc=_doc,
          family="elementwise", symbol=_sym, promote=(),
          cases=_BCASES.get(_name, _binary_cases()), memory=writes_into(same_dtype, inplace=True))

defop("mod", "a, b", infer=broadcast, kernel=np.mod, symbol="%", promote=(),
      grad=lambda b, n, g: (g, b.op("neg", product(b, g, b.op("floor", b.op(
          "divide", n.inputs[0], n.inputs[1]))))),
      doc="a modulo b (sign of b, like NumPy)", family="elementwise",
      cases=_binary_cases(0.5, 3.0, positive_b=True))
defop("floor_divide", "a, b", infer=broadcast, kernel=np.floor_divide, symbol="//", promote=(),
      differentiable=False, doc="floor(a / b)", family="elementwise",
      cases=_binary_cases(0.5, 3.0, positive_b=True))

COMPARISONS = [("equal", "=="), ("not_equal", "!="), ("less", "<"), ("less_equal", "<="),
               ("greater", ">"), ("greater_equal", ">=")]
for _name, _sym in COMPARISONS:
    defop(_name, "a, b", infer=compare, kernel=getattr(np, _name), symbol=_sym, promote=(),
          differentiable=False, doc=f"a {_sym} b, elementwise, as bool", family="elementwise",
          cases=_binary_cases())


# ------------------------------------------------------------------ where, cast, stop_gradient
def _where_infer(types, **_):
    c, a, b = types
    if c.dtype != "bool":
        raise OpError(f"the condition must be bool, not {c.dtype}")
    return TensorType(broadcast((a, b)).dtype, broadcast_shapes(c.shape, a.shape, b.shape))


def _g_where(b, n, g):
    c = n.inputs[0]
    zero = _c(b, 0, n)
    return None, b.op("where", c, g, zero), b.op("where", c, zero, g)


defop("where", "cond, a, b", infer=_where_infer, kernel=_where, grad=_g_where, promote=(1, 2),
      memory=writes_into(lambda n: n.inputs[1].dtype == n.inputs[2].dtype ==
      n.dtype and (_is_zero(n.inputs[1]) or _is_zero(n.inputs[2])), inplace=True),
      doc="a where cond is true, else b (broadcasting)", family="elementwise",
      cases=lambda rng: [([rng.uniform(size=s) > 0.5, rng.normal(size=s), rng.normal(size=t)], {})
                         for s, t in [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4))]])


def _cast_infer(types, dtype):
    if dtype not in DTYPES:
        raise OpError(f'unknown dtype "{dtype}"')
    return TensorType(dtype, types[0].shape)


def _g_cast(b, n, g):
    x = n.inputs[0]
    if is_float(x.dtype) and is_float(n.dtype):
        return (b.op("cast", g, dtype=x.dtype),)
    return (None,)


defop("cast", "x, dtype: dtype", infer=_cast_infer,
      kernel=lambda x, dtype: x.astype(np_dtype(dtype), copy=False), grad=_g_cast,
      doc="x converted to dtype (gradients flow between float dtypes only)",
      family="elementwise",
      cases=lambda rng: [([rng.normal(size=(2, 3))], {"dtype": "f32"}),
                         ([rng.normal(size=(3,))], {"dtype": "f64"})],
      preserves_values=True)

defop("stop_gradient", "x", infer=lambda types: types[0], kernel=lambda x: x,
      differentiable=False, doc="x, but no gradient flows back through it",
      family="elementwise", cases=_cases())


# ------------------------------------------------------------------ fused: relu's gradient
def _all_same_dtype(n) -> bool:
    return all(i.dtype == n.dtype for i in n.inputs)


_BITS = {2: np.int16, 4: np.int32, 8: np.int64}


def _relu_grad(x, g, out=None):
    """g where x > 0, else +0.0: where(x > 0, g, 0) in two passes. g's bits times the 1/0 of
    the comparison are g's bits or +0.0 (exact for every value, NaN and infinities included;
    np.where would branch on a random mask)."""
    if np.ndim(g) == 0 or np.shape(x) != np.shape(g) or x.dtype.kind != "f" or \
            g.dtype.kind != "f":
        r = np.where(x > 0, g, _zero(g.dtype))
        if out is None:
            return r
        out[...] = r
        return out
    bits = _BITS[g.itemsize]
    # a bool mask (a quarter of an int32 one: measured, writing an int32 mask into a cold out
    # made the [128, 128] gradient 22 us against 11); out may be x or g, read before written
    mask = np.greater(x, _zero(x.dtype))
    res = np.multiply(g.view(bits), mask, out=None if out is None else out.view(bits))
    return res.view(g.dtype) if out is None else out


def _relu_grad_infer(types):
    x, g = types
    from ..ir import dims as D
    if not is_float(g.dtype) or x.rank != g.rank or not all(
            D.equal(a, b) for a, b in zip(x.shape, g.shape)):
        raise OpError("needs a float gradient of x's shape")
    return TensorType(g.dtype, g.shape)


defop("relu_grad", "x, g", infer=_relu_grad_infer, kernel=_relu_grad, internal=True,
      memory=writes_into(_all_same_dtype, inplace=True), family="elementwise", fused=True,
      grad=lambda b, n, u: (None, b.op("relu_grad", n.inputs[0], u)),
      cases=lambda rng: [([rng.normal(size=(3, 4)), rng.normal(size=(3, 4))], {}),
                         ([rng.normal(size=(5,)), rng.normal(size=(5,))], {})],
      doc="g where x > 0, else 0: relu's gradient in one kernel (made by the fusion pass)")
