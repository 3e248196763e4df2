"""Normalization ops, built from other ops (their gradients come from those ops'):
channel_mean and channel_var (over every axis but axis 1: the features of [N, C], the channels
of [N, C, H, W]) and batch_norm(x, mean, var, gamma, beta, eps), which BatchNorm is written with
(the per-channel vectors may be of another float dtype than x: they are cast to x's).
"""

from __future__ import annotations

from ..errors import OpError
from ..ir import dims as D
from ..ir.opdef import defop
from ..ir.types import TensorType, is_float
from .common import float_of


def _channel_axes(rank: int) -> tuple[int, ...]:
    return (0, *range(2, rank))


def _channels(x: TensorType):
    if x.rank < 2:
        raise OpError(f"needs [N, C, ...] (rank 2 or more), not {D.shape_str(x.shape)}")
    return x.shape[1]


def _per_channel_infer(types):
    x = types[0]
    return TensorType(float_of(x), (_channels(x),))


def _channel_mean(b, inputs):
    x = inputs[0]
    return b.op("mean", x, axis=_channel_axes(x.rank), keepdims=False)


def _channel_var(b, inputs):
    x = inputs[0]
    return b.op("var", x, axis=_channel_axes(x.rank), keepdims=False)


def _bn_infer(types, eps):
    x, *vectors = types
    if not is_float(x.dtype):
        raise OpError(f"batch_norm normalizes a float tensor, not {x.dtype}")
    c = _channels(x)
    for name, v in zip(("mean", "var", "gamma", "beta"), vectors):
        if v.rank != 1 or not D.equal(v.shape[0], c) or not is_float(v.dtype):
            raise OpError(f"{name} must be a float vector [{D.dim_str(c)}] (one per channel of "
                          f"x), not {v}")
    if not eps > 0:
        raise OpError(f"eps must be positive, not {eps}")
    return TensorType(x.dtype, x.shape)


def _bn(b, inputs, eps):
    """gamma * (x - mean) / sqrt(var + eps) + beta, each vector seen as [1, C, 1, ...]."""
    x, mean, var, gamma, beta = inputs
    view = (1, x.type.shape[1]) + (1,) * (x.rank - 2)

    def channel(v):  # [C] as [1, C, 1, ...], in x's dtype
        v = v if v.dtype == x.dtype else b.op("cast", v, dtype=x.dtype)
        return b.op("reshape", v, shape=view)

    scale = b.op("divide", channel(gamma),
                 b.op("sqrt", b.op("add", channel(var), b.constant(eps, x.dtype))))
    centred = b.op("subtract", x, channel(mean))
    return b.op("add", b.op("multiply", centred, scale), channel(beta))


def _cases(rng):
    return [([rng.normal(size=(5, 3))], {}), ([rng.normal(size=(2, 3, 4, 4))], {})]


def _bn_cases(rng):
    out = []
    for shape in ((6, 3), (2, 3, 4, 2)):
        c = shape[1]
        out.append(([rng.normal(size=shape), rng.normal(size=c), rng.uniform(0.5, 2, size=c),
                     rng.normal(size=c), rng.normal(size=c)], {"eps": 1e-5}))
    return out


defop("channel_mean", "x", infer=_per_channel_infer, kernel=None, expand=_channel_mean,
      family="norm", cases=_cases,
      doc="the mean over every axis but axis 1: one value per feature of [N, C] or channel of "
          "[N, C, H, W]")
defop("channel_var", "x", infer=_per_channel_infer, kernel=None, expand=_channel_var,
      family="norm", cases=_cases,
      doc="the variance (population, ddof = 0) over every axis but axis 1")
defop("batch_norm", "x, mean, var, gamma, beta, eps: float = 1e-5", infer=_bn_infer, kernel=None,
      expand=_bn, family="norm", cases=_bn_cases,
      doc="gamma * (x - mean) / sqrt(var + eps) + beta, the vectors [C] applied along axis 1")
