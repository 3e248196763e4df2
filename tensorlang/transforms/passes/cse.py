"""Common subexpressions: nodes computing the same op over the same inputs with the same
attributes become one."""

from __future__ import annotations

from .rules import ANY, Pass

CSE = Pass("cse", "merge nodes that compute the same op over the same inputs with the same "
                  "attributes")


@CSE.rule(ANY)
def merge_common_subexpression(b, n, ins, ctx):
    """op(a, b) computed twice -> the first one (never sources: each is its own value)."""
    if n.is_input:
        return None
    same = ctx.existing(n.op, ins, n.attrs)
    return same if same is not None and same.type == n.type else None
