"""Variable initializers: `zeros() ones() full(v) normal(mean, std) uniform(low, high)
glorot_uniform() he_normal()` or a tensor literal; one table, each entry (rng, shape, **kw)."""

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


INITIALIZERS = {
    # name: (rng, shape, **kw) -> float64 array (cast to the variable's dtype by the caller)
    "zeros": lambda rng, shape: np.zeros(shape),
    "ones": lambda rng, shape: np.ones(shape),
    "full": lambda rng, shape, value: np.full(shape, float(value)),
    "normal": lambda rng, shape, mean=0.0, std=1.0: rng.normal(mean, std, size=shape),
    "uniform": lambda rng, shape, low=-1.0, high=1.0: rng.uniform(low, high, size=shape),
    "glorot_uniform": lambda rng, shape: rng.uniform(
        -np.sqrt(6.0 / sum(fans(shape))), np.sqrt(6.0 / sum(fans(shape))), size=shape),
    "he_normal": lambda rng, shape: rng.normal(0.0, np.sqrt(2.0 / fans(shape)[0]), size=shape),
}

PARAMS = {  # the keyword arguments each initializer accepts, with defaults, in order
    "zeros": {}, "ones": {}, "full": {"value": None}, "normal": {"mean": 0.0, "std": 1.0},
    "uniform": {"low": -1.0, "high": 1.0}, "glorot_uniform": {}, "he_normal": {},
}


def initial_value(init: tuple, shape: tuple[int, ...], dtype, rng: np.random.Generator):
    """The initial array for a variable: init is ("literal", array) or (name, kwargs-tuple)."""
    kind, arg = init
    if kind == "literal":
        return np.array(np.broadcast_to(arg, shape), dtype=dtype)
    return INITIALIZERS[kind](rng, shape, **dict(arg)).astype(dtype)
