"""References for the fused ops the optimization passes make."""

import numpy as np


def _softmax_cross_entropy_grad(z, ids, g):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True) - np.eye(z.shape[-1])[ids]) * g


REFERENCES = {
    "linear": lambda x, w, b: x @ w + b,
    "softmax_cross_entropy_grad": _softmax_cross_entropy_grad,
    "relu_grad": lambda x, g: g * (x > 0),
}
