"""The declarations of lowering: placeholders, variables with their initializers, and
constants. Functions of the lowering `lw` (compiler.lower.GraphLowering)."""

from __future__ import annotations

import numpy as np

from ..errors import ProgramError, ShapeError, did_you_mean
from ..frontend import syntax as S
from ..ir import dims as D
from ..ir.constant import evaluate as evaluate_constant
from ..ir.graph import Node
from ..ir.types import DEFAULT_FLOAT, TensorType, np_dtype
from ..ops.initializers import INITIALIZERS
from . import static as C
from .binding import REQUIRED, bind, parameters


def placeholder(lw, s: S.Placeholder) -> None:
    t = lw.type_of(s.type, f'placeholder "{s.name}"')
    if lw.scope.is_layer:
        raise ProgramError("placeholders belong in graphs, not layers", s.span)
    default = None
    if s.default is not None:
        default = literal_array(lw, s.default, t.dtype)
        if default.ndim != t.rank or any(isinstance(d, int) and d != n
                                         for d, n in zip(t.shape, default.shape)):
            raise ShapeError(f'the default of placeholder "{s.name}" has shape '
                             f"{list(default.shape)}, which does not fit {t}", s.default.span)
    node = lw.b.add("placeholder", (), {"default": default}, type=t, span=s.span,
                      name=lw.scope.qualify(s.name))
    lw.define(s.name, node, s.span)

def variable(lw, s: S.Variable) -> None:
    name = lw.scope.qualify(s.name)
    t = lw.type_of(s.type, f'variable "{name}"', concrete=True)
    init = initializer(lw, s.init, t)
    node = lw.b.add("variable", (), {"init": init, "trainable": not s.frozen}, type=t,
                      span=s.span, name=name)
    lw.define(s.name, node, s.span)

def initializer(lw, e, t: TensorType) -> tuple:
    """("literal", array) or (initializer name, ((key, value), ...))."""
    if isinstance(e, S.Call) and isinstance(e.func, S.Name) and e.func.id in INITIALIZERS:
        name = e.func.id
        params = parameters(INITIALIZERS[name], skip=2)  # after (rng, shape)
        given = bind(f"{name}()", params, e.args, e.kwargs, e.span)
        missing = [k for k, v in params.items() if v is REQUIRED and k not in given]
        if missing:
            raise ProgramError(f"{name}() needs {', '.join(missing)}", e.span)
        kw = {k: C.to_number(lw.value(a), a.span, f"{name}'s {k}") for k, a in given.items()}
        return (name, tuple({**{k: v for k, v in params.items() if v is not REQUIRED},
                             **kw}.items()))
    if isinstance(e, (S.Number, S.ListExpr, S.UnaryOp, S.Bool)):
        arr = literal_array(lw, e, t.dtype)
        try:
            np.broadcast_to(arr, t.shape)
        except ValueError:
            raise ShapeError(f"the initial value has shape {list(arr.shape)}, which does "
                             f"not fit {t}", e.span) from None
        return ("literal", arr)
    fname = e.func.id if isinstance(e, S.Call) and isinstance(e.func, S.Name) else None
    raise ProgramError("a variable's initial value is an initializer call like "
                       "glorot_uniform() or a tensor literal", e.span,
                       hint=did_you_mean(fname, INITIALIZERS) if fname else
                       f"initializers: {', '.join(INITIALIZERS)}")

def literal_array(lw, e, dtype: str) -> np.ndarray:
    """A tensor literal (number or nested list) as an array of dtype."""
    v = lw.value(e)
    if not C.is_static(v) or isinstance(v, (str, D.Dim, C.Func)):
        raise ProgramError(f"expected a tensor literal, not {C.describe(v)}", e.span)
    try:
        arr = np.array(v, dtype=np_dtype(dtype))
    except (ValueError, TypeError):
        raise ProgramError("a tensor literal must be a rectangular list of numbers",
                           e.span) from None
    arr.flags.writeable = False
    return arr

def constant(lw, s: S.Constant) -> None:
    v = lw.value(s.value)
    if isinstance(v, Node):
        arr = evaluate_constant(v, s.value.span)
    else:
        arr = literal_array(lw, s.value, (s.type.dtype or DEFAULT_FLOAT) if s.type else
                                 DEFAULT_FLOAT)
    if s.type is not None:
        t = lw.type_of(s.type, f'constant "{s.name}"', concrete=True)
        if arr.shape != tuple(t.shape):
            raise ShapeError(f'constant "{s.name}" has shape {list(arr.shape)}, not the '
                             f"declared {t}", s.value.span)
        arr = arr.astype(np_dtype(t.dtype))
    node = lw.b.constant(arr, None if s.type is None else s.type.dtype or DEFAULT_FLOAT,
                           span=s.span, name=lw.scope.qualify(s.name))
    lw.define(s.name, node, s.span)
