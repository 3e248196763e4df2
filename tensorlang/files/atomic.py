"""Writing a file so that a reader never sees half of it: under a temporary name in the same
folder, flushed, then renamed over the target in one step."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import BinaryIO

TEMP_PREFIX = ".tmp-"


def write_atomic(path: str, write: Callable[[BinaryIO], None] | bytes, *,
                 mode: int | None = None, fsync: bool = False) -> None:
    """Write `path` through `write(file)` (or the given bytes) atomically; OSError when the folder
    cannot take it, with nothing left behind. `mode` sets the file's permission bits (else
    mkstemp's 0600); `fsync` flushes the data to disk before the rename."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX + os.path.basename(path) + ".", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(write, bytes):
                fh.write(write)
            else:
                write(fh)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
