"""References for the neural ops, from the textbook definitions on small inputs (no max
subtraction, labels turned into rows with an identity matrix)."""

import numpy as np


def _softmax(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def _rows(labels, like):
    if labels.ndim == like.ndim - 1:
        return np.eye(like.shape[-1])[labels.astype(np.int64)]
    return labels.astype(np.float64)


def _clip(p):
    eps = np.finfo(p.dtype).eps
    return np.minimum(np.maximum(p, eps), 1 - eps)


def _softmax_cross_entropy(logits, labels):
    return -(_rows(labels, logits) * np.log(_softmax(logits))).sum(axis=-1)


def _cross_entropy(p, labels):
    return -(_rows(labels, p) * np.log(_clip(p))).sum(axis=-1)


def _binary_cross_entropy(p, y):
    p = _clip(p)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)) + np.zeros(p.shape)


def _sigmoid_cross_entropy(x, y):
    s = 1 / (1 + np.exp(-x))
    return -(y * np.log(s) + (1 - y) * np.log(1 - s)) + np.zeros(x.shape)


REFERENCES = {
    "softmax": _softmax,
    "log_softmax": lambda x, axis=-1: np.log(_softmax(x, axis)),
    "softmax_cross_entropy": _softmax_cross_entropy,
    "cross_entropy": _cross_entropy,
    "binary_cross_entropy": _binary_cross_entropy,
    "sigmoid_cross_entropy": _sigmoid_cross_entropy,
    "mse": lambda a, b: np.mean((a - b + np.zeros(np.broadcast_shapes(a.shape, b.shape))) ** 2),
    "one_hot_like": lambda ids, like: np.eye(like.shape[-1])[ids],
    "element_count": lambda x: np.float64(np.prod(x.shape)),
}
