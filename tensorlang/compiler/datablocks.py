"""Data blocks: each field is a tensor literal or a loader call (`idx`, `npy`, `npz`, `csv`),
optionally sliced along its first axis. Evaluated when a run block needs the block."""

from __future__ import annotations

import numpy as np

from ..errors import DataError, ProgramError, did_you_mean
from ..files import loaders as data
from ..frontend import syntax as S
from . import static as C

LOADERS = {
    # name: (parameter names, function(path, *rest, span, base_dir))
    "npy": (("path",), lambda a, span, base: data.load_npy(a["path"], span, base_dir=base)),
    "npz": (("path", "key"),
            lambda a, span, base: data.load_npz(a["path"], a["key"], span, base_dir=base)),
    "csv": (("path", "columns", "skip_header"),
            lambda a, span, base: data.load_csv(a["path"], a.get("columns"),
                                                a.get("skip_header", False), span,
                                                base_dir=base)),
    "idx": (("path",), lambda a, span, base: data.load_idx(a["path"], span, base_dir=base)),
}


def check_field(f: S.Field, lets: dict) -> None:
    """Static check of one field's form (loader names, argument names); no file is read."""
    e = f.value.value if isinstance(f.value, S.Index) else f.value
    if isinstance(e, S.Call):
        name = e.func.id if isinstance(e.func, S.Name) else None
        if name not in LOADERS:
            raise ProgramError(f'unknown loader "{name}"', e.func.span,
                               hint=did_you_mean(name or "", LOADERS) or
                               f"loaders: {', '.join(LOADERS)}")


def load_field(f: S.Field, lets: dict, base_dir: str) -> np.ndarray:
    """The array of one data field."""
    e = f.value
    item = None
    if isinstance(e, S.Index):
        if len(e.items) != 1:
            raise ProgramError("a data field is sliced along its first axis only, like [:8000]",
                               e.span)
        item, e = e.items[0], e.value
    if isinstance(e, S.Call):
        arr = _call(e, lets, base_dir)
    else:
        v = static(e, lets)
        try:
            arr = np.array(v)
        except ValueError:
            arr = None
        if arr is None or arr.dtype.kind not in "biuf":
            raise DataError(f'field "{f.name}" must be a rectangular list of numbers or a loader '
                            "call", f.value.span)
        # float literals stay float64, exactly as written: the placeholder's dtype decides
        # (an f64 graph must not see 0.3 rounded through f32; an f32 one casts on feeding)
    if item is not None:
        if isinstance(item, S.Slice):
            parts = [None if p is None else C.to_int(static(p, lets), p.span, "a slice bound")
                     for p in (item.start, item.stop, item.step)]
        else:
            raise ProgramError("a data field is sliced with start:stop:step", item.span)
        arr = data.slice_first_axis(arr, *parts, f.value.span, source=f.name)
    return arr


def _call(e: S.Call, lets: dict, base_dir: str) -> np.ndarray:
    name = e.func.id if isinstance(e.func, S.Name) else ""
    if name not in LOADERS:
        raise ProgramError(f'unknown loader "{name}"', e.func.span,
                           hint=did_you_mean(name, LOADERS))
    params, fn = LOADERS[name]
    if len(e.args) > len(params):
        raise ProgramError(f"{name}() takes at most {len(params)} arguments", e.span)
    args = {p: static(a, lets) for p, a in zip(params, e.args)}
    for k in e.kwargs:
        if k.name not in params:
            raise ProgramError(f'{name}() has no argument "{k.name}"', k.span,
                               hint=did_you_mean(k.name, params))
        args[k.name] = static(k.value, lets)
    if "path" not in args:
        raise ProgramError(f"{name}() needs a path", e.span)
    args["path"] = C.to_str(args["path"], e.span, f"{name}'s path")
    if isinstance(args.get("columns"), tuple):
        args["columns"] = list(args["columns"])
    return fn(args, e.span, base_dir)


def static(e, lets: dict):
    """A compile-time value from literals, lets and their arithmetic."""
    if isinstance(e, (S.Number, S.String, S.Bool)):
        return e.value
    if isinstance(e, S.Name):
        if e.id in lets:
            return lets[e.id]
        raise ProgramError(f'"{e.id}" is not a let constant', e.span,
                           hint=did_you_mean(e.id, lets))
    if isinstance(e, S.ListExpr):
        return tuple(static(x, lets) for x in e.items)
    if isinstance(e, S.UnaryOp):
        v = static(e.operand, lets)
        return v if e.op == "+" else C.binary("-", 0, v, e.span)
    if isinstance(e, S.BinOp):
        return C.binary(e.op, static(e.left, lets), static(e.right, lets), e.span)
    raise ProgramError("expected a compile-time value (a literal or a let constant)", e.span)
