"""`train` and `evaluate` blocks, checked statically: known keys, names that exist, `minimize` a
float scalar, data fields that name placeholders, and every needed placeholder fed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..errors import ProgramError, did_you_mean
from ..frontend import syntax as S
from ..ir.graph import Graph
from ..ir.traversal import needed
from ..ir.types import is_float
from ..source import name_span as _name_span
from ..transforms.optimizers import OPTIMIZERS
from . import static as C
from .binding import REQUIRED, bind, parameters


@dataclass(frozen=True)
class Optimizer:
    """`sgd(lr = 0.1, momentum = 0.9)` with every parameter filled in."""

    name: str
    params: tuple


@dataclass
class RunSpec:
    """A checked run block."""

    kind: str
    graph: str
    span: object
    data: str = ""
    minimize: str | None = None
    optimizer: Optimizer | None = None
    epochs: int = 1
    batch: int | None = None
    shuffle: bool = True
    seed: int | None = None
    report: tuple[str, ...] = ()
    show: tuple[str, ...] = ()
    validate: str | None = None
    save: str | None = None
    load: str | None = None
    spans: dict = field(default_factory=dict)  # key -> the span of its `key = value` line
    where: dict = field(default_factory=dict)  # (key, node name) -> the span of that name


def _node_name(e) -> str:
    if isinstance(e, S.Name):
        return e.id
    if isinstance(e, S.Attribute):
        return f"{_node_name(e.value)}.{e.attr}"
    raise ProgramError("expected the name of a node", e.span)


# ------------------------------------------------------------------ one parser a key
@dataclass
class _Reading:
    """What a key's parser may use: the lets, and where each named node was written."""

    lets: dict
    where: dict
    key: str = ""


def _a_name(e, r: _Reading) -> str:
    name = _node_name(e)
    r.where[(r.key, name)] = e.span
    return name


def _names(e, r: _Reading) -> tuple[str, ...]:
    items = e.items if isinstance(e, S.ListExpr) else (e,)
    out = tuple(_node_name(x) for x in items)
    for name, x in zip(out, items):
        r.where.setdefault((r.key, name), x.span)
    return out


def _positive_int(e, r: _Reading) -> int:
    v = C.to_int(C.evaluate(e, r.lets), e.span, r.key)
    if v < 1:
        raise ProgramError(f"{r.key} must be at least 1", e.span)
    return v


def _an_int(e, r: _Reading) -> int:
    return C.to_int(C.evaluate(e, r.lets), e.span, r.key)


def _a_bool(e, r: _Reading) -> bool:
    return C.to_bool(C.evaluate(e, r.lets), e.span, r.key)


def _a_string(e, r: _Reading) -> str:
    return C.to_str(C.evaluate(e, r.lets), e.span, r.key)


def _an_optimizer(e, r: _Reading) -> Optimizer:
    return _optimizer(e, r.lets)


TRAIN, EVALUATE = "train", "evaluate"
KEYS = {  # key: (its parser, the blocks that take it)
    "data": (_a_name, (TRAIN, EVALUATE)),
    "minimize": (_a_name, (TRAIN,)),
    "optimizer": (_an_optimizer, (TRAIN,)),
    "epochs": (_positive_int, (TRAIN,)),
    "batch": (_positive_int, (TRAIN, EVALUATE)),
    "shuffle": (_a_bool, (TRAIN,)),
    "seed": (_an_int, (TRAIN,)),
    "report": (_names, (TRAIN, EVALUATE)),
    "show": (_names, (EVALUATE,)),
    "validate": (_a_name, (TRAIN,)),
    "save": (_a_string, (TRAIN,)),
    "load": (_a_string, (TRAIN, EVALUATE)),
}
TRAIN_KEYS = tuple(k for k, (_, kinds) in KEYS.items() if TRAIN in kinds)
EVALUATE_KEYS = tuple(k for k, (_, kinds) in KEYS.items() if EVALUATE in kinds)


def _optimizer(e, lets: dict) -> Optimizer:
    """`sgd(lr = 0.1)` checked against the optimizer's signature, every parameter filled in."""
    if isinstance(e, S.Name):
        e = S.Call(e, (), (), e.span)
    if not isinstance(e, S.Call) or not isinstance(e.func, S.Name):
        raise ProgramError("optimizer must be sgd(lr = ...) or adam(...)", e.span)
    name = e.func.id
    if name not in OPTIMIZERS:
        raise ProgramError(f'unknown optimizer "{name}"', e.func.span,
                           hint=did_you_mean(name, OPTIMIZERS) or
                           f"optimizers: {', '.join(OPTIMIZERS)}")
    params = parameters(OPTIMIZERS[name], skip=3)  # after (builder, variables, gradients)
    values = {k: v for k, v in params.items() if v is not REQUIRED}
    for k, v in bind(f"{name}()", params, e.args, e.kwargs, e.span).items():
        val = C.evaluate(v, lets)
        values[k] = (C.to_bool(val, v.span, f"{name}'s {k}") if isinstance(params[k], bool)
                     else C.to_float(val, v.span, f"{name}'s {k}"))
        if not isinstance(params[k], bool) and values[k] < 0:
            raise ProgramError(f"{name}'s {k} cannot be negative", v.span)
    if "lr" not in values:
        raise ProgramError(f"{name}() needs a learning rate: {name}(lr = 0.1)", e.span)
    return Optimizer(name, tuple((k, values[k]) for k in params))


def _default_optimizer() -> Optimizer:
    """sgd(lr = 0.01), for a train block without `optimizer`."""
    params = parameters(OPTIMIZERS["sgd"], skip=3)
    return Optimizer("sgd", tuple({**params, "lr": 0.01}.items()))


def check_run(block: S.RunBlock, graphs: dict[str, Graph], data: dict, lets: dict) -> RunSpec:
    """A RunSpec from a block, or a located ProgramError for the first mistake."""
    if block.graph not in graphs:
        raise ProgramError(f'{block.kind}: no graph named "{block.graph}"',
                           _name_span(block.span, block.kind, block.graph),
                           hint=did_you_mean(block.graph, graphs) or
                           (f"its graphs: {', '.join(graphs)}" if graphs else
                            "the program defines no graph"))
    spec = RunSpec(block.kind, block.graph, block.span)
    reading = _Reading(lets, spec.where)
    for entry in block.entries:
        reading.key = _check_key(block, entry, spec)
        setattr(spec, entry.name, KEYS[entry.name][0](entry.value, reading))
    header = _name_span(block.span, block.kind, block.graph)
    if not spec.data:
        raise ProgramError(f'{block.kind} {block.graph}: missing "data = ..."', header)
    if block.kind == TRAIN:
        if spec.minimize is None:
            raise ProgramError(f'train {block.graph}: missing "minimize = NODE"', header)
        if spec.optimizer is None:
            spec.optimizer = _default_optimizer()
    g = graphs[block.graph]
    _check_data_names(spec, data)
    _check_data_fields(spec, g, data, _check_fetches(spec, g))
    return spec


def _check_key(block: S.RunBlock, entry: S.Field, spec: RunSpec) -> str:
    """The entry's key, known to this kind of block and given once."""
    k = entry.name
    keys = TRAIN_KEYS if block.kind == TRAIN else EVALUATE_KEYS
    if k not in keys:
        raise ProgramError(f'{block.kind} blocks have no key "{k}"', _key_span(entry),
                           hint=did_you_mean(k, keys) or f"keys: {', '.join(keys)}")
    if k in spec.spans:
        raise ProgramError(f'"{k}" is given twice', _key_span(entry),
                           notes=((f'"{k}" is first given here', spec.spans[k]),))
    spec.spans[k] = entry.span
    return k


def _check_data_names(spec: RunSpec, data: dict) -> None:
    for key in ("data", "validate"):
        name = getattr(spec, key)
        if name and name not in data:
            raise ProgramError(f'no data block named "{name}"', spec.where[(key, name)],
                               hint=did_you_mean(name, data))


def _check_fetches(spec: RunSpec, g: Graph) -> list:
    """The nodes the block fetches, each checked for its role."""
    fetched = []
    if spec.minimize:
        where = spec.where[("minimize", spec.minimize)]
        n = _lookup(g, spec.minimize, where)
        if n.rank != 0 or not is_float(n.dtype):
            raise ProgramError(f'minimize: "{spec.minimize}" must be a float scalar, not '
                               f"{n.type}", where,
                               hint=f"write mean({spec.minimize}) to average a per-example loss"
                               if is_float(n.dtype) else f"a loss is a float: {n.dtype} values "
                               "have no gradient")
        fetched.append(n)
    for name in spec.report:
        n = _lookup(g, name, spec.where[("report", name)])
        if n.rank != 0:
            raise ProgramError(f'report: "{name}" must be a scalar, not {n.type}',
                               spec.where[("report", name)],
                               hint=f"report mean({name}), or show it")
        fetched.append(n)
    for name in spec.show:
        fetched.append(_lookup(g, name, spec.where[("show", name)]))
    return fetched


def _check_data_fields(spec: RunSpec, g: Graph, data: dict, fetched: list) -> None:
    """Every field names a placeholder, and every placeholder the fetches need is fed."""
    placeholders = {p.name: p for p in g.placeholders}
    for dname in filter(None, (spec.data, spec.validate)):
        block = data[dname]
        used_here = spec.where[(_key(spec, dname), dname)]
        for f in block.fields:
            if f.name not in placeholders:
                raise ProgramError(f'data field "{f.name}" (block "{dname}") names no '
                                   f'placeholder of graph "{g.name}"', _key_span(f),
                                   notes=((f'the {spec.kind} block of "{g.name}" uses "{dname}" '
                                           "here", used_here),),
                                   hint=did_you_mean(f.name, placeholders) or
                                   f"its placeholders: {', '.join(placeholders)}")
        fields = {f.name for f in block.fields}
        for n in needed(fetched):
            if n.op == "placeholder" and n.name not in fields and n.attrs["default"] is None:
                raise ProgramError(f'placeholder "{n.name}" is needed but data block "{dname}" '
                                   f'has no field "{n.name}"', used_here,
                                   notes=((f'"{n.name}" is declared here', n.span),))


def _key(spec: RunSpec, dname: str) -> str:
    return "data" if spec.data == dname else "validate"


def _key_span(entry: S.Field):
    """The span of the key of a `key = value` line."""
    sp = entry.span
    return dataclasses.replace(sp, end_line=sp.line, end_column=sp.column + len(entry.name))


def _lookup(g: Graph, name: str, span):
    if name in g.names:
        return g.names[name]
    raise ProgramError(f'graph "{g.name}" has no node "{name}"', span,
                       hint=did_you_mean(name, g.names))
