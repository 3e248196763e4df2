"""Activations beyond the elementwise basics: erf, gelu (the exact erf form, PyTorch's default),
silu, elu(x, alpha) and clip(x, low, high). Gradient rules are graph nodes, so gradients of
gradients work.

NumPy has no erf; `erf` below is computed to double precision by two expansions: the power
series 2/sqrt(pi) exp(-x^2) sum_n (2x^2)^n x / (1 3 5 ... (2n+1)), whose terms are all positive
(no cancellation), for |x| < 2.5, and the continued fraction erfc(x) = exp(-x^2) / sqrt(pi) /
(x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))), evaluated from its tail, beyond.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import OpError
from ..ir.opdef import FRESH, defop
from ..ir.types import TensorType, is_float
from .common import floating, product, same

SERIES_TERMS = 60  # (2x^2)^n / (1 3 ... (2n+1)) at |x| = 2.5 is below 1e-17 of the sum by then
FRACTION_DEPTH = 60  # levels of the continued fraction; it converges faster the larger |x|
SWITCH = 2.5


def _f(x):
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _erf64(x: np.ndarray) -> np.ndarray:
    """erf of a float64 array (see the module doc)."""
    a = np.abs(x)
    out = np.empty_like(a)
    near = a < SWITCH
    s = a[near]
    if s.size:
        term = s.copy()
        total = s.copy()
        two_s2 = 2 * s * s
        for n in range(1, SERIES_TERMS):
            term *= two_s2 / (2 * n + 1)
            total += term
        out[near] = 2 / math.sqrt(math.pi) * np.exp(-s * s) * total
    far = ~near & ~np.isnan(a)
    t = a[far]
    if t.size:
        tail = t.copy()
        for k in range(FRACTION_DEPTH, 0, -1):
            tail = t + (k / 2) / tail
        out[far] = 1 - np.exp(-t * t) / (math.sqrt(math.pi) * tail)
    out[np.isnan(a)] = np.nan
    return np.copysign(out, x)


def _erf(x):
    x = _f(x)
    return _erf64(x.astype(np.float64)).astype(x.dtype, copy=False)


def _gelu(x):
    x = _f(x)
    x64 = x.astype(np.float64)
    return (0.5 * x64 * (1 + _erf64(x64 / math.sqrt(2)))).astype(x.dtype, copy=False)


def _silu(x):
    x = _f(x)
    e = np.exp(-np.abs(x))  # x * sigmoid(x) without overflow
    return x * np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _elu(x, alpha=1.0):
    x = _f(x)
    return np.where(x > 0, x, np.asarray(alpha, x.dtype) * np.expm1(np.minimum(x, 0)))


def _clip(x, low, high):
    return np.clip(x, np.asarray(low).astype(x.dtype), np.asarray(high).astype(x.dtype))


def _clip_prepare(types, low, high):
    if low > high:
        raise OpError(f"clip: low ({low}) is above high ({high})")
    return {"low": low, "high": high}


# ------------------------------------------------------------------ gradient rules
def _c(b, v, like):
    return b.constant(v, like.dtype)


def _g_erf(b, n, g):
    x = n.inputs[0]
    bell = b.op("exp", b.op("neg", b.op("square", x)))
    return (product(b, g, _c(b, 2 / math.sqrt(math.pi), n), bell),)


def _g_gelu(b, n, g):
    """d/dx x Phi(x) = Phi(x) + x phi(x)."""
    x = n.inputs[0]
    cdf = product(b, _c(b, 0.5, n), b.op("add", _c(b, 1, n), b.op(
        "erf", product(b, x, _c(b, 1 / math.sqrt(2), n)))))
    pdf = product(b, _c(b, 1 / math.sqrt(2 * math.pi), n),
                  b.op("exp", product(b, _c(b, -0.5, n), b.op("square", x))))
    return (product(b, g, b.op("add", cdf, product(b, x, pdf))),)


def _g_silu(b, n, g):
    """d/dx x s(x) = s(x) (1 + x (1 - s(x)))."""
    x = n.inputs[0]
    s = b.op("sigmoid", x)
    inner = b.op("add", _c(b, 1, n), product(b, x, b.op("subtract", _c(b, 1, n), s)))
    return (product(b, g, s, inner),)


def _g_elu(b, n, g):
    """1 where x > 0, else alpha exp(x) = elu(x) + alpha."""
    x, alpha = n.inputs[0], n.attrs["alpha"]
    slope = b.op("where", b.op("greater", x, _c(b, 0, x)), _c(b, 1, n),
                 b.op("add", n, _c(b, alpha, n)))
    return (product(b, g, slope),)


def _g_clip(b, n, g):
    """g where low <= x <= high (PyTorch's clamp passes the gradient at the bounds too)."""
    x = n.inputs[0]
    inside = b.op("multiply", b.op("cast", b.op("greater_equal", x, _c(b, n.attrs["low"], x)),
                                   dtype=g.dtype),
                  b.op("cast", b.op("less_equal", x, _c(b, n.attrs["high"], x)), dtype=g.dtype))
    return (product(b, g, inside),)


def _float_only(types, **attrs):
    if not is_float(types[0].dtype) and types[0].dtype == "bool":
        raise OpError("needs a numeric tensor, not bool")
    return floating(types)


def _clip_infer(types, low, high):
    t = same(types)
    return TensorType(t.dtype, t.shape)


def _cases(low=-3.0, high=3.0, **attrs):
    def cases(rng):
        return [([rng.uniform(low, high, size=s)], dict(attrs)) for s in [(), (5,), (2, 3)]]
    return cases


def _off_kink(x):
    """x with no element within 0.1 of 0, where elu's second derivative jumps."""
    return np.where(np.abs(x) < 0.1, 0.4, x)


def _clip_cases(rng):
    x = rng.uniform(-2, 2, size=(3, 4))
    x = np.where(np.abs(np.abs(x) - 1) < 0.1, 0.3, x)  # not on a bound: finite differences
    return [([x], {"low": -1.0, "high": 1.0}), ([rng.uniform(-1, 3, size=(5,))],
                                                {"low": 0.0, "high": 2.0})]


defop("erf", "x", infer=_float_only, kernel=_erf, grad=_g_erf, family="activations",
      memory=FRESH, cases=_cases(-4.0, 4.0),
      doc="the error function 2/sqrt(pi) int_0^x exp(-t^2) dt")
defop("gelu", "x", infer=_float_only, kernel=_gelu, grad=_g_gelu, family="activations",
      memory=FRESH, cases=_cases(),
      doc="x * Phi(x), Phi the standard normal CDF (exact, with erf: PyTorch's default gelu)")
defop("silu", "x", infer=_float_only, kernel=_silu, grad=_g_silu, family="activations",
      memory=FRESH, cases=_cases(), doc="x * sigmoid(x) (also called swish)")
defop("elu", "x, alpha: float = 1.0", infer=_float_only, kernel=_elu, grad=_g_elu,
      family="activations", memory=FRESH,
      cases=lambda rng: [([_off_kink(rng.uniform(-3, 3, size=s))], {"alpha": al})
                         for s, al in (((2, 5), 1.0), ((4,), 0.5))],
      doc="x where x > 0, else alpha * (exp(x) - 1)")
defop("clip", "x, low: number, high: number", infer=_clip_infer, kernel=_clip, grad=_g_clip,
      prepare=_clip_prepare, promote=None, family="activations", memory=FRESH,
      cases=_clip_cases, doc="x limited to [low, high] elementwise (NumPy's clip)")
