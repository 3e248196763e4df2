"""References for the activations, from their definitions with Python's math module."""

import math

import numpy as np

_vec = np.vectorize

REFERENCES = {
    "erf": lambda x: _vec(math.erf)(x),
    "gelu": lambda x: _vec(lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2))))(x),
    "silu": lambda x: _vec(lambda v: v / (1 + math.exp(-v)))(x),
    "elu": lambda x, alpha=1.0: _vec(lambda v: v if v > 0 else alpha * (math.exp(v) - 1))(x),
    "clip": lambda x, low, high: _vec(lambda v: min(max(v, low), high))(x),
}
