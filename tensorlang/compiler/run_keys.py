"""The values of a run block's keys, one parser a key: names of nodes and data blocks, numbers
in their domains, and calls checked against the signature of what they name (an optimizer, a
schedule: `adam(lr = 1e-3)`, `cosine(final = 0)`), the monitored metric, a held-out split."""

from __future__ import annotations

from ..errors import ProgramError, did_you_mean
from ..frontend import syntax as S
from ..records import record
from ..transforms.optimizers import OPTIMIZERS
from ..transforms.schedules import SCHEDULES
from . import static as C
from .binding import REQUIRED, bind, parameters


@record
class Choice:
    """A call of an optimizer or a schedule with every parameter filled in."""

    name: str
    params: tuple


Optimizer = Choice  # `sgd(lr = 0.1, momentum = 0.9)`


@record
class Monitor:
    """The metric early stopping and keep_best watch: `val_loss` (lower is better) or
    `max(val_acc)` (higher is better)."""

    name: str
    higher: bool = False

    def __str__(self) -> str:
        return f"max({self.name})" if self.higher else self.name


@record
class Split:
    """`split(NAME, fraction)`: the last `fraction` of data block NAME held out."""

    data: str
    fraction: float


@record(frozen=False)
class Reading:
    """What a key's parser may use: the lets, and where each named node was written."""

    lets: dict
    where: dict
    key: str = ""


def node_name(e) -> str:
    """`h` or `h.W` written as a name."""
    if isinstance(e, S.Name):
        return e.id
    if isinstance(e, S.Attribute):
        return f"{node_name(e.value)}.{e.attr}"
    raise ProgramError("expected the name of a node", e.span)


def a_name(e, r: Reading) -> str:
    name = node_name(e)
    r.where[(r.key, name)] = e.span
    return name


def names(e, r: Reading) -> tuple[str, ...]:
    items = e.items if isinstance(e, S.ListExpr) else (e,)
    out = tuple(node_name(x) for x in items)
    for name, x in zip(out, items):
        r.where.setdefault((r.key, name), x.span)
    return out


def positive_int(e, r: Reading) -> int:
    v = C.to_int(C.evaluate(e, r.lets), e.span, r.key)
    if v < 1:
        raise ProgramError(f"{r.key} must be at least 1", e.span)
    return v


def an_int(e, r: Reading) -> int:
    v = C.to_int(C.evaluate(e, r.lets), e.span, r.key)
    if r.key == "seed" and v < 0:
        raise ProgramError(f"seed must be 0 or more, not {v}", e.span)
    return v


def positive_number(e, r: Reading) -> float:
    v = C.to_float(C.evaluate(e, r.lets), e.span, r.key)
    if not v > 0:
        raise ProgramError(f"{r.key} must be positive, not {v:g}", e.span)
    return v


def a_bool(e, r: Reading) -> bool:
    return C.to_bool(C.evaluate(e, r.lets), e.span, r.key)


def a_string(e, r: Reading) -> str:
    return C.to_str(C.evaluate(e, r.lets), e.span, r.key)


def a_file(*extensions: str):
    """A path ending in one of the extensions (`log = "metrics.csv"`)."""
    def parse(e, r: Reading) -> str:
        path = a_string(e, r)
        if not path.lower().endswith(extensions):
            raise ProgramError(f'{r.key}: "{path}" does not end in {" or ".join(extensions)}',
                               e.span, hint=f"{r.key} writes only a {' or '.join(extensions)} "
                                            "file (the extension says which kind)")
        return path
    return parse


def an_optimizer(e, r: Reading) -> Choice:
    return choice(e, r.lets, OPTIMIZERS, "optimizer", skip=3)


def a_schedule(e, r: Reading) -> Choice:
    return choice(e, r.lets, SCHEDULES, "schedule", skip=4)


def a_monitor(e, r: Reading) -> Monitor:
    if isinstance(e, S.Call) and isinstance(e.func, S.Name) and e.func.id in ("max", "min") \
            and len(e.args) == 1 and not e.kwargs:
        return Monitor(node_name(e.args[0]), e.func.id == "max")
    return Monitor(node_name(e))


def a_split(e, r: Reading):
    """`validate = NAME` or `validate = split(NAME, fraction)`."""
    if not (isinstance(e, S.Call) and isinstance(e.func, S.Name) and e.func.id == "split"):
        return a_name(e, r)
    bound = bind("split(data, fraction)", ["data", "fraction"], e.args, e.kwargs, e.span)
    if len(bound) != 2:
        raise ProgramError("split(data, fraction) needs a data block and a fraction", e.span)
    f = C.to_float(C.evaluate(bound["fraction"], r.lets), bound["fraction"].span, "the fraction")
    if not 0 < f < 1:
        raise ProgramError(f"split: the held-out fraction must lie in (0, 1), not {f:g}",
                           bound["fraction"].span)
    name = node_name(bound["data"])
    r.where[(r.key, name)] = bound["data"].span
    return Split(name, f)


def choice(e, lets: dict, table: dict, what: str, skip: int) -> Choice:
    """`name(args)` checked against the signature of table[name]: every argument in its
    domain (the signature's annotations), every parameter filled in."""
    if isinstance(e, S.Name):
        e = S.Call(e, (), (), e.span)
    if not isinstance(e, S.Call) or not isinstance(e.func, S.Name):
        first, second = list(table)[:2]
        raise ProgramError(f"{what} must be {first}(...) or {second}(...)" if what != "optimizer"
                           else "optimizer must be sgd(lr = ...) or adam(...)", e.span,
                           hint=f"{what}s: {', '.join(table)}")
    name = e.func.id
    if name not in table:
        raise ProgramError(f'unknown {what} "{name}"', e.func.span,
                           hint=did_you_mean(name, table) or f"{what}s: {', '.join(table)}")
    fn = table[name]
    params = parameters(fn, skip=skip)
    values = {k: v for k, v in params.items() if v is not REQUIRED}
    for k, v in bind(f"{name}()", params, e.args, e.kwargs, e.span).items():
        values[k] = _in_domain(name, k, _domain(fn, k), C.evaluate(v, lets), v.span)
    missing = [k for k in params if k not in values]
    if missing:
        example = f"{name}({missing[0]} = ...)" if missing[0] != "lr" else f"{name}(lr = 0.1)"
        what_missing = "a learning rate" if missing[0] == "lr" else f'"{missing[0]}"'
        raise ProgramError(f"{name}() needs {what_missing}: {example}", e.span)
    return Choice(name, tuple((k, values[k]) for k in params))


def _domain(fn, param: str) -> str:
    import inspect
    annotation = inspect.signature(fn).parameters[param].annotation
    return annotation if isinstance(annotation, str) else "float"


DOMAINS = {"Positive": (lambda v: v > 0, "must be positive"),
           "NonNegative": (lambda v: v >= 0, "cannot be negative"),
           "Fraction": (lambda v: 0 <= v < 1, "must lie in [0, 1)"),
           "PositiveInt": (lambda v: v >= 1, "must be at least 1")}


def _in_domain(name: str, param: str, domain: str, value, span):
    what = f"{name}'s {param}"
    if domain == "Flag":
        return C.to_bool(value, span, what)
    value = C.to_int(value, span, what) if domain == "PositiveInt" else \
        C.to_float(value, span, what)
    ok, rule = DOMAINS.get(domain, (lambda v: True, ""))
    if value != value or value in (float("inf"), float("-inf")):  # 1e400 reads as inf
        raise ProgramError(f"{what} must be a finite number, not {value:g}", span)
    if not ok(value):
        raise ProgramError(f"{what} {rule}, not {value:g}", span)
    return value
