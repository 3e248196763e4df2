"""The nodes that values enter a graph by: placeholders (fed), variables (state), constants."""

from __future__ import annotations

from ..errors import OpError
from ..ir.opdef import defop


def _given(types, **attrs):
    raise OpError("a source node's type is given when it is made")


defop("placeholder", "default: any = None", infer=_given, kernel=None, internal=True,
      differentiable=False, doc="a graph input, fed at run time", family="source")
defop("variable", "init: any, trainable: bool = true", infer=_given, kernel=None, internal=True,
      doc="trainable state, initialized once per session", family="source")
defop("constant", "value: any", infer=_given, kernel=None, internal=True, differentiable=False,
      doc="a compile-time value", family="source")
defop("random_key", "", infer=_given, kernel=None, internal=True, differentiable=False,
      doc="the key random ops draw from: an i64 scalar the session draws afresh for every run",
      family="source")
