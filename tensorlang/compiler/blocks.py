"""`train` and `evaluate` blocks, checked statically: known keys, names that exist, `minimize` a
float scalar, data fields that name placeholders, and every needed placeholder fed."""

from __future__ import annotations

from ..errors import ProgramError, did_you_mean
from ..frontend import syntax as S
from ..ir.graph import Graph
from ..ir.traversal import needed
from ..ir.types import is_float
from ..records import field, record, replace
from ..source import name_span as _name_span
from ..transforms.optimizers import OPTIMIZERS
from . import run_keys as K
from .binding import parameters
from .run_keys import Choice, Monitor, Optimizer


@record(frozen=False)
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
    split: float | None = None  # validate = split(data, f): the last f of the data held out
    save: str | None = None
    load: str | None = None
    schedule: Choice | None = None
    warmup: int | None = None
    clip_norm: float | None = None
    steps: int | None = None
    early_stop: int | None = None
    monitor: Monitor | None = None
    keep_best: bool = False
    save_every: int | None = None
    resume: str | None = None
    log: str | None = None
    plot: str | None = None
    spans: dict = field(default_factory=dict)  # key -> the span of its `key = value` line
    where: dict = field(default_factory=dict)  # (key, node name) -> the span of that name

    @property
    def fed_rate(self) -> bool:
        """The learning rate changes during the run: it is fed to every step."""
        return self.schedule is not None or self.warmup is not None

    @property
    def validated(self) -> tuple[str, ...]:
        """The scalars validation reports (as `val_NAME`)."""
        return tuple(self.report) or ((self.minimize,) if self.minimize else ())


def _validate(e, r: K.Reading):
    split = K.a_split(e, r)
    if isinstance(split, K.Split):
        r.split = split.fraction
        return split.data
    return split


TRAIN, EVALUATE = "train", "evaluate"
KEYS = {  # key: (its parser, the blocks that take it)
    "data": (K.a_name, (TRAIN, EVALUATE)),
    "minimize": (K.a_name, (TRAIN,)),
    "optimizer": (K.an_optimizer, (TRAIN,)),
    "epochs": (K.positive_int, (TRAIN,)),
    "steps": (K.positive_int, (TRAIN,)),
    "batch": (K.positive_int, (TRAIN, EVALUATE)),
    "shuffle": (K.a_bool, (TRAIN,)),
    "seed": (K.an_int, (TRAIN,)),
    "report": (K.names, (TRAIN, EVALUATE)),
    "show": (K.names, (EVALUATE,)),
    "validate": (_validate, (TRAIN,)),
    "schedule": (K.a_schedule, (TRAIN,)),
    "warmup": (K.positive_int, (TRAIN,)),
    "clip_norm": (K.positive_number, (TRAIN,)),
    "early_stop": (K.positive_int, (TRAIN,)),
    "monitor": (K.a_monitor, (TRAIN,)),
    "keep_best": (K.a_bool, (TRAIN,)),
    "save": (K.a_file(".npz"), (TRAIN,)),
    "save_every": (K.positive_int, (TRAIN,)),
    "resume": (K.a_file(".npz"), (TRAIN,)),
    "load": (K.a_file(".npz"), (TRAIN, EVALUATE)),
    "log": (K.a_file(".csv", ".jsonl"), (TRAIN,)),
    "plot": (K.a_file(".png", ".svg", ".pdf"), (TRAIN,)),
}
TRAIN_KEYS = tuple(k for k, (_, kinds) in KEYS.items() if TRAIN in kinds)
EVALUATE_KEYS = tuple(k for k, (_, kinds) in KEYS.items() if EVALUATE in kinds)


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
    reading = K.Reading(lets, spec.where)
    reading.split = None
    for entry in block.entries:
        reading.key = _check_key(block, entry, spec)
        setattr(spec, entry.name, KEYS[entry.name][0](entry.value, reading))
    spec.split = reading.split
    header = _name_span(block.span, block.kind, block.graph)
    if not spec.data:
        raise ProgramError(f'{block.kind} {block.graph}: missing "data = ..."', header)
    if block.kind == TRAIN:
        if spec.minimize is None:
            raise ProgramError(f'train {block.graph}: missing "minimize = NODE"', header)
        if spec.optimizer is None:
            spec.optimizer = _default_optimizer()
        _check_training_keys(spec)
    g = graphs[block.graph]
    _check_data_names(spec, data)
    _check_data_fields(spec, g, data, _check_fetches(spec, g))
    return spec


def _check_training_keys(spec: RunSpec) -> None:
    """Keys that need or exclude each other, and the monitored metric."""
    def at(key):
        return _value_span(spec, key)
    if spec.steps is not None and "epochs" in spec.spans:
        second = max(("steps", "epochs"), key=lambda k: spec.spans[k].line)
        raise ProgramError("steps and epochs are two ways to say how long to train: give one",
                           at(second))
    for key in ("early_stop", "keep_best", "monitor"):
        if key in spec.spans and not spec.validate and (key != "keep_best" or spec.keep_best):
            raise ProgramError(f"{key} watches validation, but the block has no validate",
                               at(key), hint="add validate = NAME or validate = split(DATA, 0.1)")
    if spec.save_every is not None and not spec.save:
        raise ProgramError("save_every writes the save checkpoint: add save = \"PATH.npz\"",
                           at("save_every"))
    if spec.split is not None and spec.validate != spec.data:
        raise ProgramError(f'split holds out part of the training data "{spec.data}", not of '
                           f'"{spec.validate}"', spec.where[("validate", spec.validate)],
                           hint=f"write validate = split({spec.data}, 0.1)")
    if spec.validate:
        watched = [f"val_{k}" for k in spec.validated]
        spec.monitor = spec.monitor or K.Monitor(watched[0])
        if spec.monitor.name not in watched:
            raise ProgramError(f'monitor: "{spec.monitor.name}" is no validation metric of this '
                               "block", at("monitor"),
                               hint=did_you_mean(spec.monitor.name, watched) or
                               f"validated: {', '.join(watched)}")


def _value_span(spec: RunSpec, key: str):
    return spec.spans[key]


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
    return replace(sp, end_line=sp.line, end_column=sp.column + len(entry.name))


def _lookup(g: Graph, name: str, span):
    if name in g.names:
        return g.names[name]
    raise ProgramError(f'graph "{g.name}" has no node "{name}"', span,
                       hint=did_you_mean(name, g.names))
