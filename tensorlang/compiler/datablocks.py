"""Data blocks: each field is a tensor literal or a loader call (`idx`, `npy`, `npz`, `csv`,
`images`, `labels`), optionally sliced along its first axis. Evaluated when a run block needs
the block."""

from __future__ import annotations

import numpy as np

from ..errors import DataError, ProgramError, did_you_mean
from ..files import images
from ..files import loaders as data
from ..frontend import syntax as S
from . import static as C
from .binding import REQUIRED, bind, parameters

# each loader's arguments: its signature (but its span)
LOADERS = {"npy": data.load_npy, "npz": data.load_npz, "csv": data.load_csv,
           "idx": data.load_idx, "images": images.load_images, "labels": images.load_labels}


def check_field(f: S.Field, lets: dict) -> None:
    """Static check of one field's form (loader names, arguments); no file is read."""
    e = f.value.value if isinstance(f.value, S.Index) else f.value
    if isinstance(e, S.Call):
        _arguments(e, lets)


def _arguments(e: S.Call, lets: dict) -> dict:
    """A loader call's arguments as compile-time values, checked against its signature."""
    name = e.func.id if isinstance(e.func, S.Name) else None
    if name not in LOADERS:
        raise ProgramError(f'unknown loader "{name}"', e.func.span,
                           hint=did_you_mean(name or "", LOADERS) or
                           f"loaders: {', '.join(LOADERS)}")
    params = parameters(LOADERS[name], exclude=("span",))
    given = bind(f"{name}()", params, e.args, e.kwargs, e.span)
    missing = [k for k, v in params.items() if v is REQUIRED and k not in given]
    if missing:
        raise ProgramError(f"{name}() needs {' and '.join(missing)}: "
                           f"{name}({', '.join(params)})", e.span)
    args = {k: C.evaluate(v, lets) for k, v in given.items()}
    args["path"] = C.to_str(args["path"], given["path"].span, f"{name}'s path")
    for key in ("columns", "size"):
        if isinstance(args.get(key), tuple):
            args[key] = list(args[key])
    return args


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
        v = C.evaluate(e, lets)
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
            parts = [None if p is None else C.to_int(C.evaluate(p, lets), p.span, "a slice bound")
                     for p in (item.start, item.stop, item.step)]
        else:
            raise ProgramError("a data field is sliced with start:stop:step", item.span)
        arr = data.slice_first_axis(arr, *parts, f.value.span, source=f.name)
    check_finite(f.name, arr, f.value.span)
    return arr


def check_finite(name: str, arr: np.ndarray, span) -> None:
    """Data with NaN or Inf is refused where it is loaded, naming the field and the first bad
    index (else it surfaced as "linear produced NaN" with advice about the learning rate)."""
    if arr.dtype.kind not in "fc":
        return
    with np.errstate(all="ignore"):
        finite = np.isfinite(arr)
    if finite.all():
        return
    at = tuple(int(i) for i in np.unravel_index(int(np.argmin(finite)), arr.shape))
    value = arr[at]
    raise DataError(f'data field "{name}" holds {value} at index {list(at)} (of shape '
                    f"{list(arr.shape)}): data must be finite", span,
                    hint="clean the file, or slice the bad examples away")


def file_paths(blocks, lets: dict, base_dir: str) -> list[str]:
    """The resolved paths of every file the data blocks load (what a run must never write
    over: pass them to files.writable.check_writable's `protected`)."""
    out = []
    for block in blocks:
        for f in block.fields:
            e = f.value.value if isinstance(f.value, S.Index) else f.value
            if isinstance(e, S.Call) and isinstance(e.func, S.Name) and e.func.id in LOADERS:
                path = _arguments(e, lets)["path"]
                out.append(data.resolve_path(path, base_dir))
    return out


def _call(e: S.Call, lets: dict, base_dir: str) -> np.ndarray:
    return LOADERS[e.func.id](**_arguments(e, lets), span=e.span, base_dir=base_dir)
