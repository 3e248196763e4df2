"""Constant folding: a small node whose inputs are all constants becomes a constant."""

from __future__ import annotations

from ...ir import constant
from ...ir import dims as D
from .rules import ANY, Pass

FOLD_LIMIT = 1 << 16  # fold constants up to this many elements; bigger ones stay computed

FOLD = Pass("fold_constants", "evaluate at compile time every small node whose inputs are all "
                              "constants")


@FOLD.rule(ANY)
def fold_constant(b, n, ins, ctx):
    """op(constants) -> the constant it computes, when its shape is concrete and at most
    FOLD_LIMIT elements."""
    if n.is_source or not ins or not all(i.op == "constant" for i in ins):
        return None
    if any(isinstance(d, D.Dim) for d in n.type.shape) or D.volume(n.type.shape) > FOLD_LIMIT:
        return None
    value = constant.apply(n, [i.attrs["value"] for i in ins])
    return b.constant(value, n.dtype, span=n.span, name=n.name)
