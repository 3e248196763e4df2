"""The op registry, filled by importing every family module (one record per op)."""

from ..ir.opdef import REGISTRY, OpDef, Param, defop
from . import (  # noqa: F401  (importing a family registers its ops)
    activations,
    broadcast,
    conv,
    creation,
    einsum,
    elementwise,
    gated,
    linalg,
    losses,
    nn,
    norm,
    pool,
    random,
    recurrent,
    reduce,
    scan,
    shape,
    sorting,
    sources,
)

__all__ = ["REGISTRY", "OpDef", "Param", "defop"]
