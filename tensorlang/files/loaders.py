"""Loaders for data-block fields: npy, npz, csv and MNIST's IDX, plus slicing and length checks.

Every failure is a DataError that names the file (as written in the .tl file, and as resolved
when that differs) and carries the Span of the field, so a user never sees a traceback for a bad
file. Loaded arrays are cached by (resolved path, mtime, size, arguments) and returned
read-only, so two data blocks that read the same file share one array safely.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import zlib
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from ..errors import DataError, did_you_mean
from ..source import Span
from .limits import memory_budget, over_budget, size_text
from .sandbox import check_inside

__all__ = ["resolve_path", "load_npy", "load_npz", "load_csv", "load_idx", "slice_first_axis",
           "check_same_length", "clear_cache"]

GZIP_MAGIC = b"\x1f\x8b"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"

# IDX type code -> (big-endian dtype in the file, name used in messages)
IDX_TYPES = {
    0x08: (np.dtype(">u1"), "u8"),
    0x09: (np.dtype(">i1"), "i8"),
    0x0B: (np.dtype(">i2"), "i16"),
    0x0C: (np.dtype(">i4"), "i32"),
    0x0D: (np.dtype(">f4"), "f32"),
    0x0E: (np.dtype(">f8"), "f64"),
}

# Errors the readers below may raise for a bad file; all become DataError.
def _read_errors() -> tuple:
    """What reading a damaged file may raise. A function, not a constant: `except` evaluates it
    only when something was raised, and csv and zipfile are then imported (4 ms of every start
    of a command that reads no such file)."""
    import csv
    import zipfile

    return (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile, MemoryError,
            UnicodeDecodeError, csv.Error)


class _Bad(Exception):
    """Raised inside a reader with a message; the caller adds the path and the span."""


# ---------------------------------------------------------------- paths and the cache
def resolve_path(path: str, base_dir: str) -> str:
    """An absolute, normalized path: `~` expanded, relative paths taken from base_dir."""
    p = os.path.expanduser(path)
    if not os.path.isabs(p):
        p = os.path.join(os.path.expanduser(base_dir), p)
    return os.path.abspath(p)


class _Cache:
    """A small LRU of loaded arrays, bounded by entry count and by total bytes."""

    def __init__(self, max_entries: int = 16, max_bytes: int = 2 << 30):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.items: OrderedDict[tuple, np.ndarray] = OrderedDict()

    def get(self, key: tuple) -> np.ndarray | None:
        """The cached array for key (now most recently used), or None."""
        arr = self.items.get(key)
        if arr is not None:
            self.items.move_to_end(key)
        return arr

    def put(self, key: tuple, arr: np.ndarray) -> None:
        """Store arr, evicting the least recently used entries beyond the bounds."""
        self.items[key] = arr
        self.items.move_to_end(key)
        while len(self.items) > 1 and (len(self.items) > self.max_entries or
                                       sum(a.nbytes for a in self.items.values()) > self.max_bytes):
            self.items.popitem(last=False)


_CACHE = _Cache()


def clear_cache() -> None:
    """Forget every cached array (tests, or a long session whose files changed in place)."""
    _CACHE.items.clear()


def _quote(written: str, resolved: str) -> str:
    """`"data/x.npy"`, plus the resolved path when it differs from the written one."""
    return f'"{written}"' if written == resolved else f'"{written}" (resolved to {resolved})'


def _stat(written: str, resolved: str, kind: str, span: Span | None) -> os.stat_result:
    """stat() the file, turning every way it can be missing into a DataError with a hint."""
    where = _quote(written, resolved)
    try:
        st = os.stat(resolved)
    except FileNotFoundError:
        folder = os.path.dirname(resolved)
        if not os.path.isdir(folder):
            raise DataError(f"{kind} file {where} not found: folder {folder} does not exist",
                            span) from None
        try:
            hint = did_you_mean(os.path.basename(resolved), os.listdir(folder))
        except OSError:
            hint = None
        raise DataError(f"{kind} file {where} not found", span, hint=hint) from None
    except OSError as e:
        raise DataError(f"cannot read {kind} file {where}: {e.strerror or e}", span) from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{kind} file {where} is a directory, not a file", span)
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block, a device never end (/dev/zero)
        raise DataError(f"{kind} file {where} is {_special(st.st_mode)}, not a regular file: "
                        "only files are read", span)
    budget = over_budget(st.st_size)
    if budget and not _gzipped(resolved):
        raise DataError(f"{kind} file {where} takes {budget}", span)
    return st


def _special(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


def _gzipped(resolved: str) -> bool:
    try:
        with open(resolved, "rb") as f:
            return f.read(2) == GZIP_MAGIC
    except OSError:
        return False


def excerpt(value, limit: int = 40) -> str:
    """A short, escaped quotation of text taken from a user's file (or any value): at most
    `limit` characters, control characters escaped, so a message never dumps a file's contents
    (`"root:x:0:0:..."`) or drives the terminal."""
    text = value if isinstance(value, str) else repr(value)
    body = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    body = body.replace('"', '\\"')
    return f'"{body[:limit]}..."' if len(body) > limit else f'"{body}"'


def _load(kind: str, path: str, span: Span | None, base_dir: str | None, args: tuple,
          read: Callable[[str], np.ndarray]) -> np.ndarray:
    """Resolve, stat, consult the cache, read, make read-only; every failure a DataError."""
    if not isinstance(path, str) or not path or "\0" in path:
        raise DataError(f"{kind}(): the path must be a non-empty string without NUL characters, "
                        f"not {excerpt(path)}", span)
    resolved = resolve_path(path, base_dir if base_dir is not None else os.getcwd())
    check_inside(resolved, f"{kind} file", span)
    st = _stat(path, resolved, kind, span)
    key = (kind, resolved, st.st_mtime_ns, st.st_size, args)
    arr = _CACHE.get(key)
    if arr is not None:
        return arr
    try:
        arr = read(resolved)
    except _Bad as e:
        raise DataError(f'{kind} file "{path}": {e}', span) from None
    except _read_errors() as e:
        detail = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise DataError(f'cannot read {kind} file "{path}": {detail}', span) from None
    arr.flags.writeable = False
    _CACHE.put(key, arr)
    return arr


def _read_bytes(resolved: str, limit: int | None = None) -> bytes:
    """The file's bytes, gunzipped when they start with gzip's magic (whatever the name), never
    more than `limit` (the memory budget): a gzip bomb stops at the budget, not at the disk."""
    limit = memory_budget() if limit is None else limit
    with _opened(resolved) as f:
        data = _read_some(f, limit + 1)
    if len(data) > limit:
        raise _Bad(f"holds more than {size_text(limit)} of data (decompressed), the memory budget "
                   "(TENSORLANG_MEMORY_BUDGET)")
    return data


@contextlib.contextmanager
def _opened(resolved: str):
    """The file as a stream of its (gunzipped) bytes."""
    with open(resolved, "rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            raw.seek(0)
            yield raw
            return
        raw.seek(0)
        import gzip

        with gzip.GzipFile(fileobj=raw) as z:
            yield z


def _read_some(f, n: int) -> bytes:
    """Up to n bytes of a (gzip) stream; a damaged stream is a _Bad with the reason."""
    try:
        return f.read(n)
    except EOFError:
        raise _Bad("corrupt gzip: the compressed stream ends early (truncated download?)") from None
    except (OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise _Bad(f"corrupt gzip: {e}") from None


# ---------------------------------------------------------------- npy and npz
def load_npy(path: str, span: Span | None = None, *, base_dir: str | None = None) -> np.ndarray:
    """One array from a NumPy `.npy` file (no pickles); path relative to base_dir or the cwd."""
    return _load("npy", path, span, base_dir, (), _read_npy)


def _read_npy(resolved: str) -> np.ndarray:
    """Check the magic, then np.load without pickles."""
    with open(resolved, "rb") as f:
        head = f.read(len(NPY_MAGIC))
        if head.startswith(ZIP_MAGIC):
            raise _Bad("is an .npz archive, not an .npy file: use npz(path, key)")
        if head != NPY_MAGIC:
            raise _Bad(f"not an .npy file (it starts with {head!r}, not {NPY_MAGIC!r})")
        f.seek(0)
        _check_npy_header(f, os.fstat(f.fileno()).st_size)
        f.seek(0)
        try:
            arr = np.load(f, allow_pickle=False)
        except Exception as e:  # np.load's header parser also raises TokenError, SyntaxError...
            raise _Bad(_npy_problem(e)) from None
    return np.asarray(arr)


def _check_npy_header(f, size: int, what: str = "") -> None:
    """The shape and dtype an .npy header declares, checked against the bytes there are and
    against the memory budget before np.load allocates anything."""
    try:
        fmt = np.lib.format
        version = fmt.read_magic(f)
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _, dtype = read(f)
    except Exception as e:  # as np.load: a damaged header raises many kinds
        raise _Bad(f"{what}{_npy_problem(e)}") from None
    if dtype.hasobject:
        raise _Bad(f"{what}holds Python objects (an object array), which would need pickle; "
                   "save numbers")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    have = size - f.tell()
    declared = f"{what}its header declares {dtype}[{', '.join(map(str, shape))}]"
    if need > have:
        raise _Bad(f"{what}truncated .npy data: {declared[len(what):]} ({size_text(need)}), "
                   f"the file holds {size_text(have)}")
    budget = over_budget(need)
    if budget:
        raise _Bad(f"{declared}: {budget}")


def _npy_problem(e: Exception) -> str:
    """A reader's message for an np.load failure: pickled objects, or a damaged file."""
    text = str(e)
    if "allow_pickle" in text or "pickle" in text.lower():
        return "holds Python objects (an object array), which would need pickle; save numbers"
    return f"truncated or corrupt .npy data: {text or type(e).__name__}"


def load_npz(path: str, key: str, span: Span | None = None, *,
             base_dir: str | None = None) -> np.ndarray:
    """The array named key from a NumPy `.npz` archive; a missing key lists the keys present."""
    if not isinstance(key, str):
        raise DataError(f'npz("{path}", key): the key must be a string, not {key!r}', span)

    def read(resolved: str) -> np.ndarray:
        with open(resolved, "rb") as f:
            if f.read(4) != ZIP_MAGIC:
                raise _Bad("not an .npz archive (not a zip file); for one array use npy(path)")
            f.seek(0)  # read from this handle, so a corrupt archive cannot leave a file open
            with np.load(f, allow_pickle=False) as archive:
                return _member(archive, key)

    return _load("npz", path, span, base_dir, (key,), read)


def _member(archive, key: str) -> np.ndarray:
    """One array of an open npz archive."""
    keys = list(archive.files)
    if key not in keys:
        present = ", ".join(f'"{k}"' for k in keys) or "none"
        hint = did_you_mean(key, keys)
        raise _Bad(f'has no array "{key}"; keys present: {present}'
                   + (f" ({hint})" if hint else ""))
    try:
        info = archive.zip.getinfo(key if key.endswith(".npy") and key not in archive.files
                                   else key + ".npy")
    except KeyError:
        info = None
    if info is not None:
        budget = over_budget(info.file_size)
        if budget:
            raise _Bad(f'array "{key}" takes {budget}')
        try:
            with archive.zip.open(info) as member:
                _check_npy_header(member, info.file_size, f'array "{key}": ')
        except _Bad:
            raise
        except Exception as e:  # a damaged member: zipfile raises many kinds
            raise _Bad(f'array "{key}" {_npy_problem(e)}') from None
    try:
        value = archive[key]
    except Exception as e:  # as in _read_npy: damaged headers raise many kinds
        raise _Bad(f'array "{key}" {_npy_problem(e)}') from None
    if not isinstance(value, np.ndarray):  # NpzFile hands back non-npy members as bytes
        raise _Bad(f'member "{key}" is not an .npy array')
    return value


# ---------------------------------------------------------------- csv
def load_csv(path: str, columns: int | list[int] | None = None, skip_header: bool = False,
             span: Span | None = None, *, base_dir: str | None = None) -> np.ndarray:
    """A numeric CSV as float32: all columns or a list -> [rows, k]; one int column -> [rows].

    Blank lines are skipped; cells may be padded with spaces; a gzipped file is read too.
    Columns count from 0 and may be negative, as in Python.
    """
    cols = tuple(columns) if isinstance(columns, list | tuple) else columns
    ints = cols if isinstance(cols, tuple) else () if cols is None else (cols,)
    if cols == () or not all(isinstance(c, int) and not isinstance(c, bool) for c in ints):
        raise DataError(f'csv("{path}"): columns must be an int or a non-empty list of ints, '
                        f"not {columns!r}", span)
    return _load("csv", path, span, base_dir, (cols, bool(skip_header)),
                 lambda resolved: _read_csv(resolved, cols, bool(skip_header)))


def _read_csv(resolved: str, cols, skip_header: bool) -> np.ndarray:
    """Parse row by row, so a bad row or cell is reported with its line number."""
    text = _read_bytes(resolved).decode("utf-8-sig")
    import csv

    reader = csv.reader(io.StringIO(text))
    width = first_line = None
    picked: list[int] = []
    rows: list[list[float]] = []
    header_skipped = not skip_header
    for row in reader:
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue  # a blank line
        if not header_skipped:
            header_skipped = True
            continue
        if width is None:
            width, first_line = len(row), line
            picked = _pick_columns(cols, width)
        elif len(row) != width:
            raise _Bad(f"line {line} has {_columns(len(row))}, but the first row "
                       f"(line {first_line}) has {width}")
        try:
            rows.append([float(row[c]) for c in picked])
        except ValueError:
            c = next(c for c in picked if not _is_number(row[c]))
            msg = f"line {line}, column {c % width} (0-based): {excerpt(row[c].strip())} is not " \
                "a number"
            if not rows and not skip_header:
                msg += " (a header line? use skip_header = true)"
            raise _Bad(msg) from None
    if not rows:
        raise _Bad("has no data rows" + (" after the header" if skip_header else ""))
    arr = np.array(rows, dtype=np.float32)
    return arr[:, 0] if isinstance(cols, int) else arr


def _pick_columns(cols, width: int) -> list[int]:
    """The column indices to read, each checked against the CSV's width."""
    wanted = list(range(width)) if cols is None else [cols] if isinstance(cols, int) else cols
    for c in wanted:
        if not -width <= c < width:
            raise _Bad(f"has no column {c}: its rows have {_columns(width)} (0..{width - 1})")
    return wanted


def _columns(n: int) -> str:
    """`1 column`, `3 columns`."""
    return f"{n} column" if n == 1 else f"{n} columns"


def _is_number(cell: str) -> bool:
    """Whether float() accepts the cell (the test that finds the bad cell of a row)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- idx (MNIST)
def load_idx(path: str, span: Span | None = None, *, base_dir: str | None = None) -> np.ndarray:
    """An IDX file (MNIST's format), gzipped or raw, checked against its header; native dtype."""
    return _load("idx", path, span, base_dir, (), _read_idx)


def _read_idx(resolved: str) -> np.ndarray:
    """Check magic and dims, then the payload the dims promise against the memory budget (before
    reading or decompressing it) and against what the file holds, then view with frombuffer."""
    with _opened(resolved) as f:
        head = _read_some(f, 4)
        if len(head) < 4:
            raise _Bad(f"too short for an IDX header ({len(head)} bytes; it needs at least 4)")
        zero, code, ndim = head[0] << 8 | head[1], head[2], head[3]
        if zero != 0 or code not in IDX_TYPES:
            raise _Bad(f"not an IDX file: bad magic number 0x{head.hex()} (expected 0x0000, a "
                       "type code 08/09/0b/0c/0d/0e, and the number of dimensions)")
        if ndim == 0:
            raise _Bad("IDX file has 0 dimensions; a data field needs at least one axis")
        header = 4 + 4 * ndim
        raw_dims = _read_some(f, 4 * ndim)
        if len(raw_dims) < 4 * ndim:
            raise _Bad(f"truncated IDX header: {ndim} dimensions need {header} bytes, "
                       f"the file has {4 + len(raw_dims)}")
        dims = tuple(int(d) for d in np.frombuffer(raw_dims, ">u4"))
        dtype, name = IDX_TYPES[code]
        expected = int(np.prod(dims, dtype=object)) * dtype.itemsize
        promised = f"{name}[{', '.join(map(str, dims))}] promises {expected} bytes of data"
        budget = over_budget(expected)
        if budget:
            raise _Bad(f"the header {promised}: {budget}")
        data = _read_some(f, expected)
        extra = len(_read_some(f, 1 << 20))
    payload = len(data) + extra
    if payload < expected:
        raise _Bad(f"truncated IDX data: the header {promised}, the file has {payload}")
    if extra:
        more = "at least " if extra == 1 << 20 else ""
        raise _Bad(f"{more}{extra} bytes of trailing data: the header {promised}, "
                   f"the file has {more}{payload}")
    arr = np.frombuffer(data, dtype).reshape(dims)
    return arr if dtype.itemsize == 1 else arr.astype(dtype.newbyteorder("="))


# ---------------------------------------------------------------- slicing and block checks
def slice_first_axis(array: np.ndarray, start: int | None, stop: int | None, step: int | None,
                     span: Span | None = None, *, source: str | None = None) -> np.ndarray:
    """`array[start:stop:step]` with Python semantics; an empty result is a DataError.

    source (a path or field name) is quoted in messages when given.
    """
    what = f"{source}: " if source else ""
    for part in (start, stop, step):
        if part is not None and (not isinstance(part, int | np.integer) or isinstance(part, bool)):
            raise DataError(f"{what}slice bounds must be integers, not {part!r}", span)
    if step == 0:
        raise DataError(f"{what}slice step cannot be zero", span)
    if np.ndim(array) == 0:
        raise DataError(f"{what}cannot slice a scalar: a data field needs a first axis", span)
    out = array[start:stop:step]
    if len(out) == 0:
        parts = (start, stop) if step is None else (start, stop, step)
        text = ":".join("" if p is None else str(p) for p in parts)
        raise DataError(f"{what}the slice [{text}] of {len(array)} examples is empty", span)
    return out


def check_same_length(fields: dict[str, tuple[np.ndarray, Span]], block_name: str,
                      span: Span | None = None) -> int:
    """The common first dimension of a block's fields; a mismatch lists every field's length."""
    if not fields:
        raise DataError(f'data block "{block_name}" has no fields', span)
    lengths = {}
    for name, (arr, fspan) in fields.items():
        if np.ndim(arr) == 0:
            raise DataError(f'data block "{block_name}": field "{name}" is a scalar; every field '
                            "needs a first axis (the examples)", fspan or span)
        lengths[name] = len(arr)
    if len(set(lengths.values())) > 1:
        listing = ", ".join(f"{n} has {k}" for n, k in lengths.items())
        notes = tuple((f'"{n}" has {lengths[n]} examples', s) for n, (_, s) in fields.items())
        raise DataError(f'data block "{block_name}": fields differ in length '
                        f"(their first dimension): {listing}", span, notes=notes,
                        hint="slice the longer fields, e.g. idx(path)[:N]")
    (n,) = set(lengths.values())
    if n == 0:
        raise DataError(f'data block "{block_name}" has no examples: every field is empty', span)
    return n
