"""`tensorlang run --sandbox`: every file a run reads or writes (data files, checkpoints, logs,
plots) must lie inside one folder, the program's own, after symbolic links are resolved; any
other path is a located SandboxError before it is opened. For running a model from elsewhere:
its data paths cannot read `~/.ssh/id_rsa` or `/etc/passwd`, its `save` cannot write over
`~/.bashrc`. (The confinement is a check of each path the house opens, not an operating-system
jail: it does not stop a file being swapped for a link between the check and the open.)"""

from __future__ import annotations

import contextlib
import contextvars
import os

from ..errors import SandboxError

_ROOT: contextvars.ContextVar[str | None] = contextvars.ContextVar("sandbox_root", default=None)


@contextlib.contextmanager
def confined(folder: str):
    """Within the block, check_inside refuses every path outside `folder`."""
    token = _ROOT.set(os.path.realpath(folder))
    try:
        yield
    finally:
        _ROOT.reset(token)


def root() -> str | None:
    """The folder reads and writes are confined to, or None (no sandbox)."""
    return _ROOT.get()


def check_inside(path: str, what: str, span=None) -> None:
    """A SandboxError at `span` when a sandbox is on and `path` (links resolved) lies outside
    its folder; `what` names the file's role ("npy file", "checkpoint")."""
    folder = _ROOT.get()
    if folder is None:
        return
    real = os.path.realpath(path)
    try:
        inside = os.path.commonpath([folder, real]) == folder
    except ValueError:  # another drive (Windows)
        inside = False
    if not inside:
        shown = f'"{path}"' + (f" (resolved to {real})" if real != os.path.abspath(path) else "")
        raise SandboxError(f"{what} {shown} lies outside the program's folder {folder}: "
                           "--sandbox confines every read and write to it", span,
                           hint="copy the file into the program's folder, or run without "
                                "--sandbox if you trust the program")
