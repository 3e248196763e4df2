"""References for the random ops: the contract's draws (PCG64 seeded with the run's key and the
op's salt) turned into values by the definitions, written independently of the kernels."""

import numpy as np


def _rng(key, salt):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(key), int(salt)])))


def _dropout(key, x, rate, salt=0):
    u = _rng(key, salt).random(x.shape)
    return np.array([v / (1 - rate) if keep else 0.0 for v, keep in
                     zip(x.ravel(), (u >= rate).ravel())]).reshape(x.shape)


def _categorical(key, logits, axis=-1, salt=0):
    u = _rng(key, salt).random(logits.shape)
    scores = np.moveaxis(logits - np.log(-np.log(u)), axis, -1)
    return scores.argmax(axis=-1)


REFERENCES = {
    "random_uniform": lambda key, shape, low=0.0, high=1.0, dtype="f32", salt=0:
        low + (high - low) * _rng(key, salt).random(shape),
    "random_normal": lambda key, shape, mean=0.0, std=1.0, dtype="f32", salt=0:
        mean + std * _rng(key, salt).standard_normal(shape),
    "dropout": _dropout,
    "categorical": _categorical,
}
