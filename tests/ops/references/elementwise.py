"""References for the elementwise ops, written from the definitions (float64 math)."""

import math

import numpy as np

_vec = np.vectorize


def _sigmoid(x):
    return _vec(lambda v: 1 / (1 + math.exp(-v)) if v > -700 else 0.0)(x)


def _softplus(x):
    return _vec(lambda v: math.log(1 + math.exp(v)) if v < 30 else v)(x)


REFERENCES = {
    "neg": lambda x: -x,
    "abs": lambda x: np.where(x < 0, -x, x),
    "sign": lambda x: (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype),
    "exp": lambda x: _vec(math.exp)(x),
    "log": lambda x: _vec(math.log)(x),
    "sqrt": lambda x: x ** 0.5,
    "square": lambda x: x * x,
    "sin": lambda x: _vec(math.sin)(x),
    "cos": lambda x: _vec(math.cos)(x),
    "tanh": lambda x: _vec(math.tanh)(x),
    "sigmoid": _sigmoid,
    "relu": lambda x: x * (x > 0),
    "leaky_relu": lambda x, alpha=0.01: np.where(x > 0, x, alpha * x),
    "softplus": _softplus,
    "logit": lambda p: _vec(lambda v: math.log(v / (1 - v)))(p),
    "floor": lambda x: _vec(math.floor)(x).astype(x.dtype),
    "round": lambda x: _vec(round)(x).astype(x.dtype),
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
    "power": lambda a, b: a ** b,
    "maximum": lambda a, b: np.where(a >= b, a, b) + 0 * b,
    "minimum": lambda a, b: np.where(a <= b, a, b) + 0 * b,
    "mod": lambda a, b: a - b * np.floor(a / b),
    "floor_divide": lambda a, b: np.floor(a / b),
    "equal": lambda a, b: a == b,
    "not_equal": lambda a, b: a != b,
    "less": lambda a, b: a < b,
    "less_equal": lambda a, b: a <= b,
    "greater": lambda a, b: a > b,
    "greater_equal": lambda a, b: a >= b,
    "where": lambda c, a, b: c * a + (1 - c) * b,
    "cast": lambda x, dtype: x.astype({"f32": np.float32, "f64": np.float64}[dtype]),
    "stop_gradient": lambda x: x,
    "broadcast_to": lambda x, shape: x + np.zeros(shape),
    "sum_to": lambda x, shape: _sum_to(x, shape),
}


def _sum_to(x, shape):
    out = x
    while out.ndim > len(shape):
        out = out.sum(axis=0)
    for i, d in enumerate(shape):
        if d == 1 and out.shape[i] != 1:
            out = out.sum(axis=i, keepdims=True)
    return out
