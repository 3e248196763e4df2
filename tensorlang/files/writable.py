"""Before a run writes anything: may it write here? `check_writable(path, kind, span)` refuses,
as a located WriteError, a path without its kind's extension, a path that is a folder, a FIFO, a
device or any other non-regular file, an existing file that is not of the kind (a checkpoint must
be an .npz zip, a plot a PNG/SVG/PDF, a log text), the program's own source and data files, a
folder that cannot take a new file (read-only, missing and not creatable), for a known size a
disk without room for it, and under `run --sandbox` a path outside the program's folder (a
SandboxError). The training loop calls it for `save`, `log` and `plot` before the first step, so
a bad path costs nothing but the message."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile

from ..errors import WriteError
from .atomic import TEMP_PREFIX
from .sandbox import check_inside

KINDS = {  # kind -> (what it is called, the extensions it may have)
    "checkpoint": ("checkpoint", (".npz",)),
    "log": ("metrics log", (".csv", ".jsonl")),
    "plot": ("plot", (".png", ".svg", ".pdf")),
}
MAGIC = {".npz": (b"PK\x03\x04", b"PK\x05\x06"), ".png": (b"\x89PNG\r\n\x1a\n",),
         ".pdf": (b"%PDF-",)}
HEAD = 4096  # bytes read of an existing file to tell its kind
MARGIN = 1 << 20  # free space asked beyond the known size (the zip's directory, the log lines)


def check_writable(path: str, kind: str, span=None, *, size: int | None = None,
                   protected=(), create_folder: bool = True) -> str:
    """The absolute path that a run may write `kind` ("checkpoint", "log", "plot") to, or a
    WriteError at `span` saying why not. `size`: the bytes it will take (free space is checked);
    `protected`: paths never written over (the program's source, its data files);
    `create_folder`: the writer makes a missing folder (else a missing folder is an error)."""
    what, exts = KINDS[kind]
    if not isinstance(path, str) or not path or "\0" in path:
        raise WriteError(f"a {what} path must be a non-empty file name without NUL characters",
                         span)
    ext = os.path.splitext(path)[1].lower()
    if ext not in exts:
        raise WriteError(f'a {what} is written to a {" or ".join(exts)} file, not "{path}"', span,
                         hint=f"name it {os.path.splitext(path)[0] or 'out'}{exts[0]}")
    full = os.path.abspath(path)
    check_inside(full, what, span)
    for other in protected:
        if _same_file(full, other):
            raise WriteError(f'"{path}" is one of the program\'s own files: {what} never '
                             "overwrites it", span)
    _check_existing(full, path, ext, what, span)
    if not create_folder and not os.path.isdir(os.path.dirname(full)):
        raise WriteError(f'the folder of {what} "{path}" does not exist '
                         f"({os.path.dirname(full)})", span,
                         hint="create it first, or write the file somewhere else")
    folder = _existing_folder(os.path.dirname(full), path, what, span)
    _check_folder(folder, path, what, span)
    if size is not None:
        free = shutil.disk_usage(folder).free
        if free < size + MARGIN:
            raise WriteError(f'no room for the {what} "{path}": it takes about {_mb(size)}, '
                             f"the disk has {_mb(free)} free", span)
    return full


def _mb(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MiB"


def _same_file(a: str, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, TypeError, ValueError):
        return os.path.abspath(a) == os.path.abspath(str(b))


def _check_existing(full: str, path: str, ext: str, what: str, span) -> None:
    """An existing target must be a regular file of the kind (never a folder, FIFO, device)."""
    try:
        st = os.stat(full)
    except (FileNotFoundError, NotADirectoryError):
        return  # nothing there (the folder check says why a parent is not a folder)
    except OSError as e:
        raise WriteError(f'cannot write {what} "{path}": {e.strerror or e}', span) from None
    if not stat.S_ISREG(st.st_mode):
        raise WriteError(f'cannot write {what} "{path}": it is {_file_kind(st.st_mode)}, not '
                         "a file", span)
    if st.st_size == 0:
        return
    try:
        with open(full, "rb") as fh:
            head = fh.read(HEAD)
    except OSError as e:
        raise WriteError(f'cannot write {what} "{path}": {e.strerror or e}', span) from None
    if not _is_kind(head, ext):
        raise WriteError(f'"{path}" exists and is not a {what} ({ext} file): it is never written '
                         "over", span, hint="remove it yourself, or choose another name")


def _is_kind(head: bytes, ext: str) -> bool:
    """Whether a file's first bytes are those of its extension's format."""
    if ext in MAGIC:
        return head.startswith(MAGIC[ext])
    if b"\0" in head:
        return False
    text = head.decode("utf-8", errors="replace").lstrip()
    if ext == ".svg":
        return text.startswith(("<?xml", "<svg", "<!--", "<!DOCTYPE svg")) and "<svg" in text
    if ext == ".jsonl":
        return text.startswith("{")
    return "," in text.split("\n", 1)[0]  # .csv: a header line of columns


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _existing_folder(folder: str, path: str, what: str, span) -> str:
    """The nearest folder that exists on the way to `folder` (a missing one is made at the save),
    refusing a non-folder on the way."""
    while not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    if not os.path.isdir(folder):
        raise WriteError(f'cannot write {what} "{path}": "{folder}" is not a folder', span)
    return folder


def _check_folder(folder: str, path: str, what: str, span) -> None:
    """Really make (and remove) a file there: access() says nothing of a read-only mount."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}probe.", dir=folder)
    except OSError as e:
        raise WriteError(f'cannot write {what} "{path}": the folder "{folder}" takes no new files '
                         f"({e.strerror or e})", span) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
