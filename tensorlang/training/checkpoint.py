"""Checkpoints: every variable of a graph in one `.npz` keyed by variable name (readable by plain
NumPy). Saving writes a temporary file and renames it, so an interrupted save never leaves a
broken checkpoint; loading checks names, dtypes and shapes and reports every problem at once."""

from __future__ import annotations

import os
import zipfile

import numpy as np

from ..errors import CheckpointError
from ..files.atomic import write_atomic
from ..ir.types import np_dtype


def save(path: str, variables: dict[str, np.ndarray], span=None) -> None:
    """Write the variables to `path` atomically (temporary file in the same folder, then rename)."""
    arrays = {k: np.asarray(v) for k, v in variables.items()}
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        write_atomic(path, lambda fh: np.savez(fh, **arrays), fsync=True)
    except OSError as e:
        raise CheckpointError(f'cannot write checkpoint "{path}": {e.strerror or e}', span) \
            from None


def load(path: str, variables, span=None) -> dict[str, np.ndarray]:
    """Arrays for the given variable nodes from a checkpoint, after checking every one of them."""
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
    problems = []
    want = {v.name: v for v in variables}
    for name, v in want.items():
        if name not in stored:
            problems.append(f'missing variable "{name}" ({v.type})')
            continue
        arr = stored[name]
        shape = tuple(v.type.shape)
        if arr.shape != shape:
            problems.append(f'"{name}" has shape {list(arr.shape)} in the checkpoint, the graph '
                            f"declares {v.type}")
        elif arr.dtype != np_dtype(v.dtype):
            problems.append(f'"{name}" is {arr.dtype} in the checkpoint, the graph declares '
                            f"{v.type}")
    for name in stored:
        if name not in want:
            problems.append(f'extra array "{name}" matches no variable of the graph')
    if problems:
        raise CheckpointError(f'checkpoint "{path}" does not fit the graph: '
                              f"{len(problems)} problem{'s' if len(problems) > 1 else ''}", span,
                              notes=tuple((p, None) for p in problems))
    return {name: stored[name] for name in want}
