"""Compile-time values: `let` constants, literals and their arithmetic, and the conversions that
op attributes need (int, axes, shape, dtype...). Values are Python ints, floats, bools, strings,
symbolic Dims, tuples of values, and Func (a function passed by name)."""

from __future__ import annotations

import operator

from ..errors import ProgramError, did_you_mean
from ..frontend import syntax as S
from ..ir import dims as D
from ..ir.types import DTYPES
from ..records import record
from ..source import Span


@record
class Func:
    """A function passed by name (`activation = relu`): an op, a layer, or `identity`; or a
    layer instance called by its name (`enc(b)`: the same layer and variables, new inputs)."""

    name: str
    span: Span
    instance: str | None = None  # the instance's scope, when a layer instance is called


ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "//": operator.floordiv}
NUM_ONLY = {"/": operator.truediv, "%": operator.mod, "**": operator.pow}
COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge}


def is_static(v) -> bool:
    """True for a compile-time value (not a graph node)."""
    if isinstance(v, tuple):
        return all(is_static(x) for x in v)
    return isinstance(v, (bool, int, float, str, D.Dim, Func)) or v is None


def describe(v) -> str:
    """What a value is, for messages: `the int 3`, `the string "a"`."""
    if isinstance(v, bool):
        return f"the bool {'true' if v else 'false'}"
    if isinstance(v, (int, float)):
        return f"the number {v}"
    if isinstance(v, str):
        return f'the string "{v}"'
    if isinstance(v, D.Dim):
        return f"the dim {v}"
    if isinstance(v, Func):
        return f"the function {v.name}"
    if isinstance(v, tuple):
        return "a list"
    if v is None:
        return "nothing"
    if not hasattr(v, "type"):  # never expected: still a message, not an AttributeError
        return f"a {type(v).__name__}"
    return f"the tensor {getattr(v, 'label', lambda: '?')()} ({v.type})"


def binary(op: str, a, b, span: Span):
    """`a op b` on compile-time values (numbers, dims, strings); ProgramError when undefined."""
    try:
        if isinstance(a, tuple) or isinstance(b, tuple):
            return _elementwise(op, a, b, span)
        if isinstance(a, (str, bool)) or isinstance(b, (str, bool)):
            return _of_words(op, a, b)
        dims = isinstance(a, D.Dim) or isinstance(b, D.Dim)
        if op in ARITH and not (dims and (isinstance(a, float) or isinstance(b, float))):
            return _bounded(ARITH[op](a, b))
        if not dims and op in NUM_ONLY:
            return _bounded(NUM_ONLY[op](a, b)) if op != "**" else _power(a, b)
        if not dims and op in COMPARE:
            return COMPARE[op](a, b)
        raise TypeError
    except ZeroDivisionError:
        raise ProgramError(f"division by zero in a compile-time expression ({op})", span) from None
    except OverflowError:
        raise ProgramError(f"{describe(a)} {op} {describe(b)} is too large for a number", span) \
            from None
    except (TypeError, ValueError):
        raise ProgramError(f"cannot compute {describe(a)} {op} {describe(b)} at compile time",
                           span) from None


def _elementwise(op: str, a, b, span: Span):
    """A list's arithmetic is elementwise and broadcasts, as the same expression in a graph is
    (`let b = [1, 2, 3] * 2` is [2, 4, 6], never the list repeated); lists of numbers only."""
    if op not in ARITH and op not in NUM_ONLY:
        raise TypeError
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) != len(b) and 1 not in (
            len(a), len(b)):
        raise ValueError
    if not isinstance(a, tuple):
        a = (a,) * len(b)
    if not isinstance(b, tuple):
        b = (b,) * len(a)
    if len(a) == 1:
        a = a * len(b)
    if len(b) == 1:
        b = b * len(a)
    if any(isinstance(v, (str, bool, D.Dim, Func)) or v is None for v in a + b):
        raise TypeError
    return tuple(binary(op, x, y, span) for x, y in zip(a, b))


INT_LIMIT = 1 << 63  # compile-time integers beyond i64 fit no dtype


def number(e: S.Number):
    """A number literal's value; an integer no dtype holds is a ProgramError at it."""
    if isinstance(e.value, int) and abs(e.value) >= INT_LIMIT:
        raise ProgramError(f"the number {e.value} is too large: integers go up to "
                           f"{INT_LIMIT - 1} (i64)", e.span,
                           hint="write it as a float (with a . or an exponent)")
    return e.value


def _power(a, b):
    """a ** b, refusing integers no dtype holds before computing them (10 ** 100000)."""
    if isinstance(a, int) and isinstance(b, int) and abs(a) > 1 and b > 64:
        raise OverflowError
    return _bounded(a ** b)


def _bounded(v):
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= INT_LIMIT:
        raise OverflowError
    return v


def _of_words(op: str, a, b):
    """Strings join with +; strings and bools compare with == and !=; TypeError otherwise."""
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if op in ("==", "!="):
        return COMPARE[op](a, b)
    raise TypeError


def to_int(v, span: Span, what: str) -> int:
    """An int (ProgramError for anything else, bools included)."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise ProgramError(f"{what} must be an integer, not {describe(v)}", span)
    return v


def to_number(v, span: Span, what: str) -> int | float:
    """An int or float."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ProgramError(f"{what} must be a number, not {describe(v)}", span)
    return v


def to_float(v, span: Span, what: str) -> float:
    """A float."""
    return float(to_number(v, span, what))


def to_bool(v, span: Span, what: str) -> bool:
    """`true` or `false`."""
    if not isinstance(v, bool):
        raise ProgramError(f"{what} must be true or false, not {describe(v)}", span)
    return v


def to_str(v, span: Span, what: str) -> str:
    """A string."""
    if not isinstance(v, str):
        raise ProgramError(f"{what} must be a string, not {describe(v)}", span)
    return v


def to_axes(v, span: Span, what: str):
    """None, an int, or a tuple of ints."""
    if v is None or (isinstance(v, int) and not isinstance(v, bool)):
        return v
    if isinstance(v, tuple) and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return v
    raise ProgramError(f"{what} must be an axis or a list of axes, not {describe(v)}", span)


def to_shape(v, span: Span, what: str) -> tuple:
    """A tuple of dims (ints, -1, symbolic Dims)."""
    if isinstance(v, (int, D.Dim)) and not isinstance(v, bool):
        v = (v,)
    if isinstance(v, tuple) and all(isinstance(x, (int, D.Dim)) and not isinstance(x, bool)
                                    for x in v):
        return v
    raise ProgramError(f"{what} must be a list of dims like [N, 784], not {describe(v)}", span)


def to_dtype(v, span: Span, what: str) -> str:
    """A dtype name."""
    if isinstance(v, str) and v in DTYPES:
        return v
    raise ProgramError(f"{what} must be a dtype ({', '.join(DTYPES)}), not {describe(v)}", span)


def to_dim(v, span: Span, what: str):
    """A size: a non-negative int or a symbolic dim."""
    if isinstance(v, D.Dim):
        return v
    n = to_int(v, span, what)
    if n < 0:
        raise ProgramError(f"{what} cannot be negative, but it is {n}", span)
    return n


CONVERT = {"int": to_int, "float": to_float, "number": to_number, "bool": to_bool, "str": to_str,
           "axes": to_axes, "axis": lambda v, s, w: None if v is None else to_int(v, s, w),
           "shape": to_shape, "dtype": to_dtype, "any": lambda v, s, w: v,
           "index": lambda v, s, w: v, "dim": to_dim}


def dtype_name(e) -> str | None:
    """The dtype a Name or String spells (`f32`, `"f32"`), else None."""
    if isinstance(e, S.Name) and e.id in DTYPES:
        return e.id
    if isinstance(e, S.String) and e.value in DTYPES:
        return e.value
    return None


def evaluate(e, lets: dict):
    """A compile-time value from literals, lets and their arithmetic."""
    if isinstance(e, (S.Number, S.String, S.Bool)):
        return number(e) if isinstance(e, S.Number) else e.value
    if isinstance(e, S.Name):
        if e.id in lets:
            return lets[e.id]
        raise ProgramError(f'"{e.id}" is not a let constant', e.span,
                           hint=did_you_mean(e.id, lets))
    if isinstance(e, S.ListExpr):
        return tuple(evaluate(x, lets) for x in e.items)
    if isinstance(e, S.UnaryOp):
        v = evaluate(e.operand, lets)
        return v if e.op == "+" else binary("-", 0, v, e.span)
    if isinstance(e, S.BinOp):
        return binary(e.op, evaluate(e.left, lets), evaluate(e.right, lets), e.span)
    raise ProgramError("expected a compile-time value (a literal or a let constant)", e.span)
