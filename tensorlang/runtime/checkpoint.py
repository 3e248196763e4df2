"""Checkpoints: every variable of a graph in one `.npz` keyed by variable name (readable by plain
NumPy). A training checkpoint adds the optimizer's state variables (`opt/...`), the variables of
the best epoch so far (`best/...`, with keep_best) and one JSON member `__tensorlang__`: the
graph, the optimizer, the epoch and step counters, the generators' states and the history.
Saving writes a temporary file and renames it, so an interrupted save never leaves a broken
checkpoint; loading checks names, dtypes and shapes and reports every problem at once."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from ..errors import CheckpointError, SandboxError, WriteError
from ..files.atomic import write_atomic
from ..files.sandbox import check_inside
from ..files.writable import check_writable
from ..ir.types import np_dtype
from ..records import field, record

META = "__tensorlang__"  # the member holding the training state, as JSON text
BEST = "best/"           # the prefix of the best epoch's variables
FORMAT = 2


@record(frozen=False)
class Checkpoint:
    """What a checkpoint file holds: its arrays by name and, for a training checkpoint, the
    state of the run (`meta`, a JSON object) beside them."""

    arrays: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)


def save(path: str, variables: dict[str, np.ndarray], span=None, meta: dict | None = None) \
        -> None:
    """Write the variables (and the run's state `meta`) to `path` atomically: a temporary file
    in the same folder, flushed to disk, then renamed."""
    arrays = {k: np.asarray(v) for k, v in variables.items()}
    if meta is not None:
        arrays[META] = np.asarray(json.dumps({"format": FORMAT, **meta}))
    try:
        check_writable(path, "checkpoint", span)
    except (WriteError, SandboxError) as e:
        raise CheckpointError(e.message, span, hint=e.hint) from None
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        write_atomic(path, lambda fh: _write_npz(fh, arrays), fsync=True)
    except OSError as e:
        raise CheckpointError(f'cannot write checkpoint "{path}": {e.strerror or e}', span) \
            from None


def expected_size(variables, copies: int = 1) -> int:
    """About the bytes a checkpoint of these variable nodes takes (their data, `copies` times:
    2 with keep_best, more with an optimizer's state; plus each member's header and directory
    entry): the size to ask check_writable for before training."""
    data = sum(int(np.prod([int(d) for d in v.type.shape], dtype=np.int64)) *
               np_dtype(v.dtype).itemsize for v in variables)
    return copies * data + 256 * copies * len(tuple(variables)) + (64 << 10)


def _write_npz(fh, arrays: dict[str, np.ndarray]) -> None:
    """What np.savez writes, for any names: savez takes them as keyword arguments, so a variable
    named `file` clashed with its own parameter and one named `allow_pickle` vanished."""
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, arr in arrays.items():
            with z.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)


def read(path: str, span=None) -> Checkpoint:
    """Every array of a checkpoint and its run state, or a CheckpointError saying why not."""
    try:
        check_inside(path, "checkpoint", span)
    except SandboxError as e:
        raise CheckpointError(e.message, span, hint=e.hint) from None
    try:
        # the file is opened here so it is closed however np.load fails on a broken one
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            stored = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise CheckpointError(f'checkpoint "{path}" not found', span) from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise CheckpointError(f'checkpoint "{path}" is not a readable .npz file ({e})', span) \
            from None
    except Exception as e:  # np.load's header parser raises SyntaxError, TokenError... too
        raise CheckpointError(f'checkpoint "{path}" is not a readable .npz file '
                              f"({type(e).__name__}: {e})", span) from None
    bad = [k for k, v in stored.items() if not isinstance(v, np.ndarray)]
    if bad:  # NpzFile hands back members without the .npy magic as raw bytes
        raise CheckpointError(f'checkpoint "{path}" is not a readable .npz file (member '
                              f'"{bad[0]}" is not an .npy array)', span)
    meta = stored.pop(META, None)
    return Checkpoint(stored, _meta(meta, path, span) if meta is not None else {})


def _meta(member: np.ndarray, path: str, span) -> dict:
    try:
        meta = json.loads(str(member[()]))
    except (ValueError, TypeError, IndexError):
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f'checkpoint "{path}": its training state ({META}) is not one '
                              "this version of tensorlang wrote", span)
    return meta


def load(path: str, variables, span=None) -> dict[str, np.ndarray]:
    """Arrays for the given variable nodes from a checkpoint, after checking every one of them.
    The training state of a checkpoint written by `save` (optimizer state, best epoch) is
    skipped: `load` restores the model's variables only."""
    ck = read(path, span)
    stored = {k: v for k, v in ck.arrays.items() if not _training_state(k, ck.meta)}
    problems = fit_problems(stored, variables)
    if problems:
        raise mismatch(path, problems, span)
    return {v.name: stored[v.name] for v in variables}


def _training_state(name: str, meta: dict) -> bool:
    return bool(meta) and (name.startswith(BEST) or name in meta.get("optimizer_state", ()))


def fit_problems(stored: dict, variables) -> list[str]:
    """Every way the stored arrays fail the variable nodes: missing, extra, wrong shape or dtype."""
    problems = []
    want = {v.name: v for v in variables}
    for name, v in want.items():
        if name not in stored:
            problems.append(f'missing variable "{name}" ({v.type})')
            continue
        arr = stored[name]
        if arr.shape != tuple(v.type.shape):
            problems.append(f'"{name}" has shape {list(arr.shape)} in the checkpoint, the graph '
                            f"declares {v.type}")
        elif arr.dtype != np_dtype(v.dtype):
            problems.append(f'"{name}" is {arr.dtype} in the checkpoint, the graph declares '
                            f"{v.type}")
    problems += [f'extra array "{name}" matches no variable of the graph'
                 for name in stored if name not in want]
    return problems


def mismatch(path: str, problems: list[str], span) -> CheckpointError:
    """One error listing every problem, one note each."""
    n = len(problems)
    return CheckpointError(f'checkpoint "{path}" does not fit the graph: {n} problem'
                           f"{'s' if n > 1 else ''}", span,
                           notes=tuple((p, None) for p in problems))
