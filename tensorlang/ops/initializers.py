"""Variable initializers: one function each, `(rng, shape, **hyperparameters) -> float64 array`
(cast to the variable's dtype by `initial_value`); a function's signature is what the language
accepts (`normal(mean = 0, std = 1)`), or a tensor literal."""

from __future__ import annotations

import numpy as np


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out): [In, Out] for dense weights, [F, C, KH, KW] for conv kernels."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def zeros(rng, shape):
    """All zeros."""
    return np.zeros(shape)


def ones(rng, shape):
    """All ones."""
    return np.ones(shape)


def full(rng, shape, value):
    """Every element `value`."""
    return np.full(shape, float(value))


def normal(rng, shape, mean=0.0, std=1.0):
    """Independent draws from N(mean, std^2)."""
    return rng.normal(mean, std, size=shape)


def uniform(rng, shape, low=-1.0, high=1.0):
    """Independent draws from U(low, high)."""
    return rng.uniform(low, high, size=shape)


def glorot_uniform(rng, shape):
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    limit = np.sqrt(6.0 / max(sum(fans(shape)), 1))  # a zero-size shape: no draws, no 6 / 0
    return rng.uniform(-limit, limit, size=shape)


def he_normal(rng, shape):
    """N(0, 2 / fan_in) (He et al., 2015), for relu layers."""
    return rng.normal(0.0, np.sqrt(2.0 / max(fans(shape)[0], 1)), size=shape)


def forget_bias(rng, shape, value=1.0):
    """An LSTM bias [4H] (gates i f g o): `value` on the forget gate, zeros elsewhere, so the
    cell keeps what it holds from the start (Jozefowicz et al., 2015; Keras's default)."""
    out = np.zeros(shape)
    quarter = shape[0] // 4
    out[quarter:2 * quarter] = value
    return out


# hyperparameters with a domain: (initializer, name) -> (test, the domain in words)
DOMAINS = {
    ("normal", "std"): (lambda v: v >= 0, "0 or more"),
}


def domain_problem(name: str, kwargs: dict) -> str | None:
    """What is wrong with an initializer's hyperparameters (None: nothing): a negative std, an
    empty uniform range, a value that is not finite."""
    for key, value in kwargs.items():
        if not np.isfinite(value):
            return f"{name}'s {key} must be a finite number, not {value}"
        test, words = DOMAINS.get((name, key), (None, None))
        if test is not None and not test(value):
            return f"{name}'s {key} must be {words}, not {value}"
    if name == "uniform" and kwargs.get("low", -1.0) > kwargs.get("high", 1.0):
        return f"uniform's low ({kwargs.get('low', -1.0)}) is above its high " \
               f"({kwargs.get('high', 1.0)})"
    return None


INITIALIZERS = {f.__name__: f for f in (zeros, ones, full, normal, uniform, glorot_uniform,
                                        he_normal, forget_bias)}


def initial_value(init: tuple, shape: tuple[int, ...], dtype, rng: np.random.Generator):
    """The initial array for a variable: init is ("literal", array) or (name, kwargs-tuple)."""
    kind, arg = init
    if kind == "literal":
        return np.array(np.broadcast_to(arg, shape), dtype=dtype)
    return INITIALIZERS[kind](rng, shape, **dict(arg)).astype(dtype)
