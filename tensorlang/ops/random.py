"""Random ops: random_uniform, random_normal, dropout, categorical.

Every random op's first input is the graph's key (an i64 scalar the session draws afresh for
every run from its seeded generator) and its `salt` attribute is its own number in the graph;
its draws are those of NumPy's PCG64 seeded with (key, salt). So one run of a plan sees fresh
draws, the same seed replays a whole run bit for bit, and a gradient that needs the forward's
draws (dropout's mask) calls the op again with the same key and salt. Shapes may hold symbolic
dims (made concrete per run like the creation ops'). None is constant-folded or merged by CSE.
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import FRESH, defop
from ..ir.types import TensorType, is_float, normalize_axis, np_dtype
from .creation import _dtype, _size


def generator(key, salt: int) -> np.random.Generator:
    """The draws of one random op in one run."""
    return np.random.default_rng((int(key), int(salt)))


def _key_type(t: TensorType) -> None:
    if t.dtype != "i64" or t.rank != 0:
        raise OpError(f"the key must be an i64 scalar, not {t}")


# ------------------------------------------------------------------ random_uniform, random_normal
def _shaped_prepare(types, shape, dtype="f32", salt=0, **params):
    return {"shape": tuple(_size(d) for d in shape), "dtype": dtype, "salt": salt, **params}


def _shaped_infer(types, shape, dtype="f32", salt=0, **params):
    _key_type(types[0])
    dt = _dtype(dtype)
    if not is_float(dt):
        raise OpError(f"draws are floats: dtype {dt} is not one")
    return TensorType(dt, tuple(shape))


def _uniform(key, shape, low=0.0, high=1.0, dtype="f32", salt=0):
    if not high >= low:
        raise ValueError(f"random_uniform needs low <= high, got low {low} and high {high}")
    return generator(key, salt).uniform(low, high, size=shape).astype(np_dtype(dtype))


def _normal(key, shape, mean=0.0, std=1.0, dtype="f32", salt=0):
    if not std >= 0:
        raise ValueError(f"random_normal needs std >= 0, got {std}")
    return generator(key, salt).normal(mean, std, size=shape).astype(np_dtype(dtype))


def _shaped_cases(**params):
    return lambda rng: [([np.int64(7)], {"shape": (3, 4), "salt": 1, **params}),
                        ([np.int64(11)], {"shape": (5,), "salt": 2, "dtype": "f64", **params})]


# ------------------------------------------------------------------ dropout
def _dropout_prepare(types, rate, salt=0):
    if not 0 <= rate < 1:
        raise OpError(f"the rate must lie in [0, 1), not {rate}")
    return {"rate": float(rate), "salt": salt}


def _dropout_infer(types, rate, salt=0):
    key, x = types
    _key_type(key)
    if not is_float(x.dtype):
        raise OpError(f"dropout needs a float tensor, not {x.dtype}")
    return TensorType(x.dtype, x.shape)


def _dropout(key, x, rate, salt=0):
    """x with each element zeroed with probability rate, the others scaled by 1 / (1 - rate)."""
    if rate == 0:
        return x.copy()
    keep = generator(key, salt).random(x.shape) >= rate
    return np.where(keep, x * np.asarray(1 / (1 - rate), x.dtype), np.zeros((), x.dtype))


def _g_dropout(b, n, g):
    """The same mask on the gradient: dropout of g with the forward's key and salt."""
    key = n.inputs[0]
    return None, b.add("dropout", (key, g), {"rate": n.attrs["rate"], "salt": n.attrs["salt"]})


# ------------------------------------------------------------------ categorical
def _categorical_prepare(types, axis=-1, salt=0):
    return {"axis": normalize_axis(axis, types[1].rank), "salt": salt}


def _categorical_infer(types, axis, salt=0):
    key, logits = types
    _key_type(key)
    if not is_float(logits.dtype):
        raise OpError(f"categorical samples from float logits, not {logits.dtype}")
    if logits.rank == 0:
        raise OpError("categorical needs logits with a class axis, not a scalar")
    if D.is_const(logits.shape[axis]) and logits.shape[axis] == 0:
        raise OpError("categorical needs at least one class")
    return TensorType("i64", tuple(d for k, d in enumerate(logits.shape) if k != axis))


def _categorical(key, logits, axis=-1, salt=0):
    """One class id per row, drawn with probabilities softmax(logits) along axis (the Gumbel
    maximum: argmax of logits + Gumbel noise; -inf logits are never drawn)."""
    u = generator(key, salt).random(logits.shape)
    with np.errstate(divide="ignore"):
        gumbel = -np.log(-np.log(u))  # u = 0 gives -inf: that class is not drawn
    return np.argmax(logits.astype(np.float64) + gumbel, axis=axis).astype(np.int64)


# ------------------------------------------------------------------ the records
defop("random_uniform", "key: key, shape: shape, low: float = 0.0, high: float = 1.0, "
      'dtype: dtype = "f32"', prepare=_shaped_prepare, infer=_shaped_infer, kernel=_uniform,
      differentiable=False, random=True, family="random", memory=FRESH,
      cases=_shaped_cases(low=-1.0, high=2.0),
      doc="independent draws from U(low, high) of the given shape, fresh every run")
defop("random_normal", "key: key, shape: shape, mean: float = 0.0, std: float = 1.0, "
      'dtype: dtype = "f32"', prepare=_shaped_prepare, infer=_shaped_infer, kernel=_normal,
      differentiable=False, random=True, family="random", memory=FRESH,
      cases=_shaped_cases(mean=1.0, std=2.0),
      doc="independent draws from N(mean, std^2) of the given shape, fresh every run")
defop("dropout", "key: key, x, rate: float", prepare=_dropout_prepare, infer=_dropout_infer,
      kernel=_dropout, grad=_g_dropout, random=True, inference_identity=True,
      family="random", memory=FRESH,
      cases=lambda rng: [([np.int64(3), rng.normal(size=(4, 5))], {"rate": 0.5, "salt": 1}),
                         ([np.int64(4), rng.normal(size=(6,))], {"rate": 0.2, "salt": 2})],
      doc="in training, each element of x zeroed with probability rate and the rest scaled by "
          "1 / (1 - rate); outside training x itself")
defop("categorical", "key: key, logits, axis: axis = -1", prepare=_categorical_prepare,
      infer=_categorical_infer, kernel=_categorical, differentiable=False, random=True,
      family="random", memory=FRESH,
      cases=lambda rng: [([np.int64(5), rng.normal(size=(4, 3))], {"axis": -1, "salt": 1}),
                         ([np.int64(6), rng.normal(size=(2, 5, 3))], {"axis": 1, "salt": 2})],
      doc="one class id drawn per row with probabilities softmax(logits) along axis "
          "(sampling a sequence one symbol at a time)")

