"""A train block run from Python on arrays: `program.train("g", data={"x": X, "y": Y},
epochs = 3, optimizer = "adam(lr = 1e-3)")`. The keys are those of a train block (section 9 of
the language), given as Python values; they are written out as the block's text and read by the
same parsers and checks as a block in a file, so every value has one meaning and one set of
errors. Keys not given come from the file's own train block for the graph, when it has one."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..compiler.blocks import check_run
from ..errors import ProgramError, did_you_mean
from ..frontend import syntax as S
from ..frontend.parser import parse
from ..runtime.session import Session
from .context import Context
from .train import TrainResult, run_train

DATA, VALIDATE = "python_data", "python_validate"  # the data blocks the arrays stand for
FILES = ("save", "load", "resume", "log", "plot")  # keys whose values are paths
WHERE = "<program.train>"


def train(program, graph: str, data, validate=None, session: Session | None = None,
          options: dict | None = None, **keys) -> TrainResult:
    """Train `graph` on the arrays of `data` (placeholder name -> array); `validate` is a
    second such dict, or a fraction of `data` to hold out. Returns the TrainResult, whose
    `.session` holds the trained variables (`session` given: that one is trained further)."""
    if not isinstance(graph, str):
        raise TypeError(f"graph must be a graph's name (a str), not {type(graph).__name__}")
    if graph not in program.graphs:
        raise ProgramError(f'no graph named "{graph}"', None,
                           hint=did_you_mean(graph, program.graphs) or
                           f"its graphs: {', '.join(program.graphs)}")
    arrays = _arrays("data", data)
    held = None if validate is None or isinstance(validate, float) else \
        _arrays("validate", validate)
    block = _block(program, graph, keys, validate)
    blocks = {DATA: _data_def(DATA, arrays)}
    if held is not None:
        blocks[VALIDATE] = _data_def(VALIDATE, held)
    spec = check_run(block, program.graphs, {**program.data, **blocks}, program.lets)
    ctx = Context(program, **(options or {}))
    ctx.provide(DATA, arrays)
    if held is not None:
        ctx.provide(VALIDATE, held)
    if session is not None:
        _check_session(session, program.graphs[graph])
        ctx.sessions[graph] = session
    return run_train(ctx, spec)


def _arrays(argument: str, value) -> dict[str, np.ndarray]:
    """A dict of NumPy arrays from the caller's mapping, or a TypeError naming the argument."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{argument} must be a dict of placeholder name -> array, not "
                        f"{type(value).__name__}")
    out = {}
    for k, v in value.items():
        if not isinstance(k, str):
            raise TypeError(f"{argument}: keys must be placeholder names (str), not {k!r}")
        try:
            out[k] = np.asarray(v)
        except (TypeError, ValueError) as e:
            raise TypeError(f'{argument}["{k}"] is not an array: {e}') from None
        if out[k].dtype == object:
            raise TypeError(f'{argument}["{k}"] is not an array of numbers')
    if not out:
        raise TypeError(f"{argument} holds no arrays")
    return out


def _block(program, graph: str, keys: dict, validate) -> S.RunBlock:
    """The train block: the file's keys for this graph (unless given here), then the given."""
    lines = [f"data = {DATA}"]
    if isinstance(validate, float):
        lines.append(f"validate = split({DATA}, {validate!r})")
    elif validate is not None:
        lines.append(f"validate = {VALIDATE}")
    lines += [f"{k} = {source_text(k, v)}" for k, v in keys.items()]
    body = "\n    ".join(lines)
    given = parse(f"train {graph} {{\n    {body}\n}}\n", WHERE).items[0]
    names = {e.name for e in given.entries} | {"data", "validate"}
    if names & {"epochs", "steps"}:
        names |= {"epochs", "steps"}  # one of them given here replaces the file's
    inherited = ()
    for item in program.syntax.items:
        if isinstance(item, S.RunBlock) and item.kind == "train" and item.graph == graph:
            inherited = tuple(e for e in item.entries if e.name not in names)
            break
    return S.RunBlock("train", graph, inherited + given.entries, given.span)


def source_text(key: str, value) -> str:
    """A Python value as a train block writes it: paths quoted, true/false, lists in [ ]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, str):
        if key not in FILES:
            return value
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(source_text(key, v) for v in value) + "]"
    raise TypeError(f"{key} = {value!r}: a train key takes a number, a bool, a str or a list")


def _data_def(name: str, arrays: dict) -> S.DataDef:
    return S.DataDef(name, tuple(S.Field(k, S.Name(k)) for k in arrays))


def _check_session(session, graph) -> None:
    if not isinstance(session, Session):
        raise TypeError(f"session must be a tensorlang Session, not {type(session).__name__}")
    if session.graph.name != graph.name:
        raise TypeError(f'session is a session of graph "{session.graph.name}", not of '
                        f'"{graph.name}"')
