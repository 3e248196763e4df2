"""What the language server knows about one buffer, from the real compiler: the syntax tree
(`frontend.parser.parse`), the compiled program (`compiler.program.compile_syntax`), every graph
that compiles even when another one does not, and every problem with its place.

Compiling reads no data file (data blocks are checked for their form, never loaded), so a buffer
is checked as it is typed. The compiler stops at its first error; to report more than one, a
failing program is compiled again one graph at a time (each with the lets, layers and data
blocks around it, in file order), then with the run blocks of the graphs that compiled. A buffer
larger than the live limits is not compiled at all: one problem says it was skipped.
"""

from __future__ import annotations

import time

from ...compiler.program import CompiledProgram, compile_syntax
from ...errors import CompileWarning, TensorlangError
from ...frontend import syntax as S
from ...frontend.parser import parse
from ...ir.graph import Graph
from ...records import field, record, replace
from ...source import Span

MAX_LINES = 10_000  # a larger buffer is not checked live (parsing alone takes seconds)
MAX_CHARS = 1_000_000
RECOVER_WITHIN = 1.0  # seconds: a program that took longer to fail is not compiled again


@record
class Problem:
    """One diagnostic: severity (`error`, `warning`, `information`), message, place, the hint and
    the notes (text, place or None) of the error it came from, and the error's class name."""

    severity: str
    message: str
    span: Span | None
    hint: str | None = None
    notes: tuple = ()
    kind: str = ""


@record(frozen=False)
class Analysis:
    """A buffer as the compiler sees it. `syntax` is None when the text does not parse; `program`
    is None unless the whole program compiles; `graphs` holds every graph that compiled."""

    text: str
    file: str
    syntax: S.Program | None = None
    program: CompiledProgram | None = None
    graphs: dict[str, Graph] = field(default_factory=dict)
    lets: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    skipped: str | None = None  # why the buffer was not compiled (too large)

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity error."""
        return [p for p in self.problems if p.severity == "error"]


def analyse(text: str, file: str) -> Analysis:
    """Parse and compile a buffer; never raises for anything in the text."""
    out = Analysis(text, file)
    lines = text.count("\n") + 1
    if lines > MAX_LINES or len(text) > MAX_CHARS:
        out.skipped = (f"not checked live: {lines:,} lines, {len(text):,} characters (the live "
                       f"limit is {MAX_LINES:,} lines and {MAX_CHARS:,} characters); run "
                       "`tensorlang check` on the file")
        out.problems.append(Problem("information", out.skipped, Span(file, 1, 1, 1, 1, text)))
        return out
    try:
        out.syntax = parse(text, file)
    except TensorlangError as e:
        out.problems.append(problem(e))
        return out
    except Exception as e:  # noqa: BLE001 (a bug in the parser must not stop the server)
        out.problems.append(internal(e, file, text))
        return out
    start = time.perf_counter()
    try:
        out.program = compile_syntax(out.syntax, file)
    except TensorlangError as e:
        out.problems.append(problem(e))
        if time.perf_counter() - start < RECOVER_WITHIN:
            _recover(out)
        return out
    except Exception as e:  # noqa: BLE001
        out.problems.append(internal(e, file, text))
        return out
    out.graphs, out.lets = dict(out.program.graphs), dict(out.program.lets)
    out.problems += [warning(w) for w in out.program.warnings]
    return out


def _recover(out: Analysis) -> None:
    """After a failed compile: compile each graph alone, then the run blocks of those that
    compiled, collecting every distinct error, the graphs that compile and their warnings."""
    items = out.syntax.items
    seen = {_key(p) for p in out.problems}
    graphs = [i for i in items if isinstance(i, S.GraphDef)]
    for g in graphs:
        part = tuple(i for i in items if i is g or not isinstance(i, (S.GraphDef, S.RunBlock)))
        program = _try(out, part, seen)
        if program is not None:
            out.graphs.update(program.graphs)
            out.lets = dict(program.lets)
    part = tuple(i for i in items if not isinstance(i, (S.GraphDef, S.RunBlock))
                 or (isinstance(i, S.GraphDef) and i.name in out.graphs)
                 or (isinstance(i, S.RunBlock) and i.graph in out.graphs))
    if out.graphs or not graphs:  # the run blocks, and the warnings of what compiled
        program = _try(out, part, seen)
        if program is not None:
            out.problems += [warning(w) for w in program.warnings]
            out.lets = dict(program.lets)


def _try(out: Analysis, items: tuple, seen: set) -> CompiledProgram | None:
    """Compile some of the buffer's items; a new error joins out.problems."""
    try:
        return compile_syntax(replace(out.syntax, items=items), out.file)
    except TensorlangError as e:
        p = problem(e)
    except Exception as e:  # noqa: BLE001
        p = internal(e, out.file, out.text)
    if _key(p) not in seen:
        seen.add(_key(p))
        out.problems.append(p)
    return None


def _key(p: Problem) -> tuple:
    return (p.message, p.span)


def problem(e: TensorlangError) -> Problem:
    """An error as a Problem."""
    return Problem("error", e.message, e.span, e.hint, tuple(e.notes), type(e).__name__)


def warning(w: CompileWarning) -> Problem:
    """A compile warning as a Problem."""
    return Problem("warning", w.message, w.span, None, tuple(w.notes), "CompileWarning")


def internal(e: Exception, file: str, text: str) -> Problem:
    """An unexpected exception (a bug in tensorlang) as a Problem at the top of the buffer."""
    return Problem("error", f"internal error: {type(e).__name__}: {e}",
                   Span(file, 1, 1, 1, 1, text),
                   "this is a bug in tensorlang, not in the program; `tensorlang check` shows "
                   "where it happened", (), "InternalError")
