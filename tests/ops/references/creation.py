"""References for the creation ops, from nested Python lists and comprehensions."""

import numpy as np

_NP = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64}


def _filled(shape, value, dtype):
    out = value
    for d in reversed(list(shape)):
        out = [out] * d
    return np.array(out, dtype=_NP[dtype]).reshape(tuple(shape))


REFERENCES = {
    "zeros": lambda shape, dtype="f32": _filled(shape, 0, dtype),
    "ones": lambda shape, dtype="f32": _filled(shape, 1, dtype),
    "full": lambda shape, value, dtype="f32": _filled(shape, value, dtype),
    "eye": lambda n, dtype="f32": np.array([[float(i == j) for j in range(n)] for i in range(n)],
                                           dtype=_NP[dtype]).reshape(n, n),
    "arange": lambda n, dtype="i64": np.array(list(range(n)), dtype=_NP[dtype]),
    "zeros_like": lambda x: x * 0,
    "ones_like": lambda x: x * 0 + 1,
}
