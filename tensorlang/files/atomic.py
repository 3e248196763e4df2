"""Writing a file so that a reader never sees half of it: under a temporary name in the same
folder, flushed, then renamed over the target in one step.

Nothing is left behind: the temporary is removed when the write fails or is interrupted,
SIGTERM included (the default "terminate" action is turned into an exception for the duration of
the write, so the cleanup runs); and a temporary that a killed run (kill -9) left is recognised by
its name, `.tmp-TARGET.PID.RANDOM`, whose PID is no longer running, and removed by the next write
of the same target. The new file keeps the permission bits of the file it replaces, else
follows the umask (as `open` would), unless `mode` says otherwise."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Callable
from typing import BinaryIO

TEMP_PREFIX = ".tmp-"


def temp_prefix(path: str) -> str:
    """The start of the name of every temporary made for `path` (in its folder)."""
    return f"{TEMP_PREFIX}{os.path.basename(path)}."


def write_atomic(path: str, write: Callable[[BinaryIO], None] | bytes, *,
                 mode: int | None = None, fsync: bool = False) -> None:
    """Write `path` through `write(file)` (or the given bytes) atomically; OSError when the folder
    cannot take it, with nothing left behind. `mode` sets the file's permission bits (else those
    of the file replaced, else 0666 less the umask); `fsync` flushes the data to disk before the
    rename."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    remove_stale(path)
    if mode is None:
        mode = _mode_for(path)
    with _terminate_raises():
        fd, tmp = tempfile.mkstemp(prefix=f"{temp_prefix(path)}{os.getpid()}.", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                if isinstance(write, bytes):
                    fh.write(write)
                else:
                    write(fh)
                fh.flush()
                if fsync:
                    os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _mode_for(path: str) -> int:
    """The permission bits a new version of `path` gets: the old file's, else the umask's."""
    try:
        st = os.stat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def stale_temporaries(path: str) -> list[str]:
    """The temporaries of `path` that no running process is writing: their PID is gone."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    prefix = temp_prefix(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    out = []
    for name in names:
        if not name.startswith(prefix):
            continue
        pid = name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            out.append(os.path.join(folder, name))
    return out


def remove_stale(path: str) -> list[str]:
    """Remove the stale temporaries of `path` (see stale_temporaries); returns their paths."""
    removed = []
    for tmp in stale_temporaries(path):
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(tmp).st_mode):
                os.unlink(tmp)
                removed.append(tmp)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process: leave its file alone
    return True


class Terminated(SystemExit):
    """SIGTERM arrived during an atomic write: exits with 143 (128 + 15) once cleaned up."""

    def __init__(self):
        super().__init__(128 + signal.SIGTERM)


def _raise_terminated(signum, frame):
    raise Terminated


@contextlib.contextmanager
def _terminate_raises():
    """While inside, SIGTERM's default action (die at once) raises Terminated instead, so the
    write's cleanup runs; a handler the program installed itself is left as it is."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
