"""The declarations of lowering: placeholders, variables with their initializers, and
constants. Functions of the lowering `lw` (compiler.lower.GraphLowering)."""

from __future__ import annotations

import numpy as np

from ..errors import NamingError, ProgramError, ShapeError, did_you_mean
from ..frontend import syntax as S
from ..ir import dims as D
from ..ir.constant import evaluate as evaluate_constant
from ..ir.graph import Node
from ..ir.types import DEFAULT_FLOAT, TensorType, np_dtype
from ..ops.initializers import INITIALIZERS, domain_problem
from ..records import replace
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
    if lw.scope.shared_from is not None:  # a layer applied again by name: its own variables
        lw.define(s.name, lw.b.names[f"{lw.scope.shared_from}.{s.name}"], s.span)
        return
    attrs = {"init": init, "trainable": not (s.frozen or s.state)}
    if s.state:
        attrs["state"] = True
    node = lw.b.add("variable", (), attrs, type=t, span=s.span, name=name)
    lw.define(s.name, node, s.span)


def update(lw, s: S.Update) -> None:
    """`update NAME = EXPR`: in training mode, the state variable NAME's value after the step;
    checked (and then dropped) in inference mode, where updates never run."""
    var = _state_variable(lw, s)
    first = lw.update_spans.get(var.name)
    if first is not None:
        raise ProgramError(f'state variable "{var.name}" is updated twice', s.span,
                           notes=(("its first update is here", first),),
                           hint="one update a state variable a step (a layer applied again by "
                                "name updates its state in its first application only)"
                           if lw.scope.shared_from else "one update a state variable a step")
    lw.update_spans[var.name] = s.span
    snap = None if lw.training else lw.b.snapshot()
    v = lw.value(s.value)
    value = lw.b.constant(v, var.dtype, span=s.value.span) if _literal(v) else \
        lw.tensor(v, s.value.span)
    if value.dtype != var.dtype or value.rank != var.rank or not all(
            D.equal(a, b) for a, b in zip(value.type.shape, var.type.shape)):
        raise ShapeError(f'update of "{var.name}" ({var.type}) with {value.type}: the new value '
                         "must have the variable's exact type", s.value.span,
                         notes=((f'"{var.name}" is declared {var.type} here', var.span),))
    if snap is None:
        lw.b.updates[var.name] = value
    else:
        lw.b.restore(snap)


def _literal(v) -> bool:
    return isinstance(v, (bool, int, float, np.ndarray)) or (
        isinstance(v, tuple) and not any(isinstance(x, Node) for x in v))


def _state_variable(lw, s: S.Update) -> Node:
    """The state variable an update names, in the update's own scope."""
    target = lw.scope.locals.get(s.name)
    where = replace(s.span, end_line=s.span.line,
                                end_column=s.span.column + len("update ") + len(s.name))
    if target is None:
        owners = [n for n in lw.b.names if n.endswith("." + s.name)]
        lw.check_defined_later(s.name, s.span)
        raise NamingError(f'update: "{s.name}" is not a variable of this '
                          f"{'layer' if lw.scope.is_layer else 'graph'}", where,
                          hint=f'a state variable is updated in its own scope ("{owners[0]}" '
                               "belongs to a layer instance)" if owners else None)
    if not isinstance(target, Node) or target.op != "variable":
        what = f"a {target.op} node ({target.type})" if isinstance(target, Node) else \
            C.describe(target)
        raise ProgramError(f'update: "{s.name}" is {what}, not a state variable', where)
    if not target.attrs.get("state", False):
        kind = "a trainable" if target.attrs.get("trainable", True) else "a frozen"
        raise ProgramError(f'update: "{target.name}" is {kind} variable ({target.type}), not a '
                           "state variable", where,
                           notes=((f'"{target.name}" is declared here', target.span),),
                           hint="declare it `variable NAME: TYPE = INIT state` to change it "
                                "with update; the optimizer changes trainable variables")
    return target


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
        problem = domain_problem(name, {**{k: v for k, v in params.items()
                                            if v is not REQUIRED}, **kw})
        if problem:
            raise ProgramError(problem, e.span)
        if name == "full":  # the one initializer whose value is written into the variable as is
            lossless(np.array(kw["value"]), np.array(kw["value"]).astype(np_dtype(t.dtype)),
                      t.dtype, given["value"].span)
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
        exact = np.array(v)
        with np.errstate(all="ignore"):  # an overflow is reported by lossless() below
            arr = exact.astype(np_dtype(dtype))
    except (ValueError, TypeError, OverflowError):
        exact = None
    if exact is None or exact.dtype == object:
        raise ProgramError("a tensor literal must be a rectangular list of numbers",
                           e.span) from None
    lossless(exact, arr, dtype, e.span)
    arr.flags.writeable = False
    return arr


def lossless(exact: np.ndarray, arr: np.ndarray, dtype: str, span) -> None:
    """A ProgramError when writing the literal values `exact` as dtype changed one of them
    (declarations never cast lossily: 1.5 is no i32, 300 is no u8)."""
    if exact.size == 0 or exact.dtype == arr.dtype:
        return
    if arr.dtype.kind in "iub":
        back = arr.astype(np.float64) if exact.dtype.kind == "f" else arr.astype(exact.dtype)
        with np.errstate(invalid="ignore"):
            changed = ~(back == exact)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            changed = ~np.isfinite(arr) & np.isfinite(exact)
    if changed.any():
        k = np.flatnonzero(changed)[0]
        raise ProgramError(f"{dtype} cannot hold the literal {exact.reshape(-1)[k].item()!r} "
                           "(declarations never cast with loss)", span,
                           hint="write a value the dtype holds, or declare another dtype")


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
