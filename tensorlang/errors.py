"""One error hierarchy: every mistake a user can make is a TensorlangError that formats itself."""

from __future__ import annotations

import contextlib
import sys
import threading
import warnings

from .source import Span, visible


class TensorlangError(Exception):
    """A mistake in a program, its data, a checkpoint or the command line."""

    kind = "error"

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None,
                 notes: tuple[tuple[str, Span | None], ...] = ()):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.notes = tuple(notes)

    @property
    def line(self) -> int | None:
        """1-based line of the mistake, where it has a place in the source."""
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        """1-based column of the mistake, where it has a place in the source."""
        return self.span.column if self.span else None

    def format(self) -> str:
        """`FILE:LINE:COL: error: MESSAGE`, the source line with a caret, notes and a hint."""
        head = f"{visible(self.span.where)}: " if self.span else ""
        out = [f"{head}{self.kind}: {visible(self.message)}"]
        if self.span:
            snip = self.span.snippet()
            if snip:
                out.append(snip)
        for text, span in self.notes:
            text = visible(text)
            out.append(f"{visible(span.where)}: note: {text}" if span else f"note: {text}")
            if span and span.snippet():
                out.append(span.snippet())
        if self.hint:
            out.append(f"hint: {visible(self.hint)}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format()


class ParseError(TensorlangError):
    """The text is not a tensorlang program."""


class NamingError(TensorlangError):
    """A name is undefined, defined twice, or names the wrong kind of thing."""


class ShapeError(TensorlangError):
    """Shapes or dtypes do not fit an op."""


class ProgramError(TensorlangError):
    """A statically wrong data/train/evaluate block or other program-level mistake."""


class DataError(TensorlangError):
    """Data files or fed arrays are missing, corrupt or do not fit their placeholders."""


class CheckpointError(TensorlangError):
    """A checkpoint is missing, corrupt, or does not match the graph's variables."""


class WriteError(TensorlangError):
    """A path a run would write to that it must not (wrong kind, a device, no room...)."""


class SandboxError(TensorlangError):
    """A path outside the folder `run --sandbox` confines reads and writes to."""


class RuntimeNumericsError(TensorlangError):
    """A value became NaN or Inf during execution."""


class UsageError(TensorlangError):
    """A mistake on the command line."""


class EngineError(TensorlangError):
    """An engine cannot run a graph: it is not installed, it has no form of an op, or the
    devices asked for do not exist or do not split the batch."""


class ExportError(TensorlangError):
    """A graph cannot be written as ONNX: an op without an ONNX form, an unknown output."""


class OpError(Exception):
    """Raised by a shape rule without a place; lowering adds the span and re-raises ShapeError."""


def did_you_mean(name: str, candidates) -> str | None:
    """A `did you mean "x"?` hint for the closest candidate, or None."""
    import difflib  # only for a mistake: not at every start

    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"?' if close else None


class CompileWarning:
    """A located warning (disconnected parameters and the like); printed, never raised."""

    def __init__(self, message: str, span: Span | None = None, notes=()):
        self.message = message
        self.span = span
        self.notes = tuple(notes)

    def format(self) -> str:
        """Same layout as an error, with `warning:`."""
        e = TensorlangError(self.message, self.span, notes=self.notes)
        e.kind = "warning"
        return e.format()


@contextlib.contextmanager
def quiet_numpy():
    """NumPy's floating-point warnings and RuntimeWarnings (`Mean of empty slice`, `Degrees of
    freedom <= 0`) silenced while kernels run: the value (NaN, inf) is what the program asked for,
    --check-numerics reports it at its node, and no raw Python warning reaches the user."""
    import numpy as np  # not at `import tensorlang`: the command's entry guards that import

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


DEEP_STACK = 512 << 20  # bytes of stack for a compile: room for 100,000-term expressions
DEEP_RECURSION = 400_000  # Python's recursion limit while compiling (1,000 by default)
_deep = threading.local()


def with_deep_stack(fn, *args, **kwargs):
    """fn(*args, **kwargs) on a thread with a large stack and recursion limit, so recursive
    passes over a deeply nested program (a 100,000-term sum, 10,000 nested calls) finish; what
    still runs out (RecursionError) is turned into a located "too deep" error where it is
    raised (see the callers). Nested calls run directly on the thread they are on."""
    if getattr(_deep, "inside", False):
        return fn(*args, **kwargs)
    out: dict = {}

    def target():
        _deep.inside = True
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as e:  # handed to the caller's thread as it is
            out["error"] = e

    limit = sys.getrecursionlimit()
    try:
        old = threading.stack_size(DEEP_STACK)
    except (ValueError, RuntimeError):  # a platform without settable stacks: as deep as it goes
        return fn(*args, **kwargs)
    try:
        worker = threading.Thread(target=target, name="tensorlang-compile", daemon=True)
        sys.setrecursionlimit(max(limit, DEEP_RECURSION))
        try:
            worker.start()
        except RuntimeError:  # no room for the stack (a tight ulimit -v): on this thread
            sys.setrecursionlimit(limit)
            return fn(*args, **kwargs)
    finally:
        threading.stack_size(old)
    try:
        worker.join()
    finally:
        sys.setrecursionlimit(limit)
    if "error" in out:
        raise out["error"].with_traceback(out["error"].__traceback__)
    return out["value"]

