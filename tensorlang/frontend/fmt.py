"""The canonical layout of a program (`tensorlang fmt`), comments kept where they were.

Canonical: 4-space indents, `a + b`, `f(a, k = v)`, one statement a line, the `=` of a run of
consecutive node definitions, block entries or `let`s aligned, one blank line between top-level
items (consecutive `let`s keep their own spacing), at most one blank line between statements where
the source had some, parentheses only where precedence needs them, and a list or call that makes
a line longer than 100 filled under its first item. A number keeps its spelling (`1e-3` stays
`1e-3`). Formatting is idempotent and keeps the meaning: parse(format(p)) == p.
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

from ..errors import ParseError, UsageError, with_deep_stack
from ..files.atomic import write_atomic
from ..source import Span
from . import syntax
from .parser import parse

INDENT = "    "
WIDTH = 100  # a line longer than this with a list value is broken one item a line

# Binding strength: comparison 1 < `+ -` 2 < `* / % @ //` 3 < unary 4 < `**` 5 < postfix 6.
_PREC = {"==": 1, "!=": 1, "<": 1, "<=": 1, ">": 1, ">=": 1, "+": 2, "-": 2,
         "*": 3, "/": 3, "%": 3, "@": 3, "//": 3, "**": 5}
_UNARY, _POSTFIX, _ATOM = 4, 6, 7


# ---------------------------------------------------------------- expressions and types
def format_expr(e) -> str:
    """One expression (or a Slice or Keyword) in canonical form, with minimal parentheses."""
    form = _FORMS.get(type(e))
    if form is None:
        raise TypeError(f"format_expr: not an expression: {e!r}")
    return form(e)


def _binop(e) -> str:
    p = _PREC[e.op]
    if p == 1:  # comparisons do not chain: a comparison operand is always parenthesized
        left, right = _wrap(e.left, 2), _wrap(e.right, 2)
    elif e.op == "**":  # `postfix ** unary`: right-associative, `2 ** -1` needs none
        left, right = _wrap(e.left, _POSTFIX), _wrap(e.right, _UNARY)
    else:  # left-associative
        left, right = _wrap(e.left, p), _wrap(e.right, p + 1)
    return f"{left} {e.op} {right}"


def _call(e) -> str:
    args = [format_expr(a) for a in e.args] + [format_expr(k) for k in e.kwargs]
    return f"{_wrap(e.func, _POSTFIX)}({', '.join(args)})"


def _attribute(e) -> str:
    base = f"({format_expr(e.value)})" if isinstance(e.value, syntax.Number) \
        else _wrap(e.value, _POSTFIX)  # `1.T` would lex as the number `1.`
    return f"{base}.{e.attr}"


def _slice(e) -> str:
    parts = ["" if x is None else format_expr(x) for x in (e.start, e.stop, e.step)]
    return ":".join(parts if e.step is not None else parts[:2])


_FORMS = {
    syntax.Name: lambda e: e.id,
    syntax.Number: lambda e: _number(e),  # defined below
    syntax.BinOp: _binop,
    syntax.UnaryOp: lambda e: e.op + _wrap(e.operand, _UNARY),
    syntax.Call: _call,
    syntax.Index: lambda e: f"{_wrap(e.value, _POSTFIX)}[{', '.join(map(format_expr, e.items))}]",
    syntax.Attribute: _attribute,
    syntax.ListExpr: lambda e: f"[{', '.join(format_expr(i) for i in e.items)}]",
    syntax.String: lambda e: _quote(e.value),
    syntax.Bool: lambda e: "true" if e.value else "false",
    syntax.Keyword: lambda e: f"{e.name} = {format_expr(e.value)}",
    syntax.Slice: _slice,
    syntax.IfElse: lambda e: f"{_wrap(e.then, 1)} if {_wrap(e.cond, 1)} else "
                             f"{_wrap(e.otherwise, 0)}",
    syntax.Unknown: lambda e: "?",
    syntax.EllipsisLit: lambda e: "...",
}


def _prec(e) -> int:
    if isinstance(e, syntax.IfElse):
        return 0  # the lowest: an operand or a branch that is one is parenthesized
    if isinstance(e, syntax.BinOp):
        return _PREC[e.op]
    if isinstance(e, syntax.UnaryOp):
        return _UNARY
    if isinstance(e, syntax.Number) and math.copysign(1, e.value) < 0:
        return _UNARY  # only a hand-made AST has one; the parser reads `-1` as a UnaryOp
    return _ATOM if not isinstance(e, (syntax.Call, syntax.Index, syntax.Attribute)) else _POSTFIX


def _wrap(e, need: int) -> str:
    text = format_expr(e)
    return f"({text})" if _prec(e) < need else text


_NUMBER = re.compile(r"(\d+\.\d*|\.\d+)([eE][+-]?\d+)?|\d+([eE][+-]?\d+)?")


def _number(e: syntax.Number) -> str:
    written = _source_of(e.span)
    if written is not None and _NUMBER.fullmatch(written):
        value = int(written) if written.isdigit() else float(written)
        if type(value) is type(e.value) and value == e.value:
            return written  # as the author wrote it: `1e-3`, `.5`
    if isinstance(e.value, float):
        if math.isinf(e.value):
            return "1e999" if e.value > 0 else "-1e999"
        return repr(e.value)
    return str(e.value)


@functools.lru_cache(maxsize=8)
def _line_starts(text: str) -> tuple[int, ...]:
    return (0, *(m.end() for m in re.finditer("\n", text)))


def _source_of(span) -> str | None:
    """The source text under a one-line span, when the span knows its source."""
    if span is None or span.text is None or span.line < 1 or span.end_line != span.line:
        return None
    starts = _line_starts(span.text)
    if span.line > len(starts):
        return None
    start = starts[span.line - 1]
    return span.text[start + span.column - 1:start + span.end_column - 1]


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _quote(value: str) -> str:
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif not ch.isprintable() and ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def format_type(t: syntax.TypeExpr) -> str:
    """`f32[N, 2]`, `[..., In]` (no dtype written), `f32[]`."""
    return f"{t.dtype or ''}[{', '.join(format_expr(d) for d in t.dims)}]"


# ---------------------------------------------------------------- statements
def _statement(s, pad: int = 0) -> str:
    kind = type(s)
    if kind in (syntax.Assign, syntax.Field):
        return f"{s.name.ljust(pad)} = {format_expr(s.value)}"
    if kind is syntax.Placeholder:
        default = "" if s.default is None else f" = {format_expr(s.default)}"
        return f"placeholder {s.name}: {format_type(s.type)}{default}"
    if kind is syntax.Variable:
        tail = " frozen" if s.frozen else " state" if s.state else ""
        return f"variable {s.name}: {format_type(s.type)} = {format_expr(s.init)}{tail}"
    if kind is syntax.Update:
        return f"update {s.name} = {format_expr(s.value)}"
    if kind is syntax.Constant:
        type_ = "" if s.type is None else f": {format_type(s.type)}"
        return f"constant {s.name}{type_} = {format_expr(s.value)}"
    if kind is syntax.Let:
        return f"let {s.name.ljust(pad)} = {format_expr(s.value)}"
    if kind is syntax.Return:
        return f"return {format_expr(s.value)}"
    raise TypeError(f"not a statement: {s!r}")


def _lines(s, indent: str, pad: int) -> list[str]:
    """A statement as output lines: one, or, when a list or call value makes it longer than
    WIDTH, its items filled line by line under the first one (rows of a matrix one a line)."""
    line = indent + _statement(s, pad)
    value = getattr(s, "value", None)
    if len(line) <= WIDTH or not isinstance(value, (syntax.ListExpr, syntax.Call)):
        return [line]
    if isinstance(value, syntax.Call):
        opener, closer = _wrap(value.func, _POSTFIX) + "(", ")"
        items = [format_expr(x) for x in (*value.args, *value.kwargs)]
    else:
        opener, closer = "[", "]"
        items = [format_expr(x) for x in value.items]
    if len(items) < 2:
        return [line]
    rows = isinstance(value, syntax.ListExpr) and all(
        isinstance(x, syntax.ListExpr) for x in value.items)
    first = line[:len(line) - len(format_expr(value))] + opener
    hang = " " * len(first)
    out, current = [], first
    for k, item in enumerate(items):
        piece = item + ("," if k < len(items) - 1 else closer)
        if current in (first, hang):
            current += piece
        elif not rows and len(current) + 1 + len(piece) <= WIDTH:
            current += " " + piece
        else:
            out.append(current)
            current = hang + piece
    return [*out, current]


def _header(item) -> str:
    if isinstance(item, syntax.GraphDef):
        return f"graph {item.name} {{"
    if isinstance(item, syntax.LayerDef):
        params = []
        for p in item.params:
            pattern = "" if p.pattern is None else f": {format_type(p.pattern)}"
            default = "" if p.default is None else f" = {format_expr(p.default)}"
            params.append(f"{p.name}{pattern}{default}")
        return f"layer {item.name}({', '.join(params)}) {{"
    if isinstance(item, syntax.DataDef):
        return f"data {item.name} {{"
    return f"{item.kind} {item.graph} {{"


def _body(item) -> tuple:
    return item.fields if isinstance(item, syntax.DataDef) else \
        item.entries if isinstance(item, syntax.RunBlock) else item.body


# ---------------------------------------------------------------- layout with comments
class _Writer:
    """Collects output lines and puts each source comment back: a comment on a line of code
    trails that code, a comment on a line of its own goes above what follows it."""

    def __init__(self, comments):
        self.lines: list[str] = []
        self.comments = sorted(comments, key=lambda c: (c.line, c.column))
        self.k = 0  # the next comment to place
        self.last = 0  # the source line of the last thing written (0: none, or no spans)

    def _gap(self, line: int, mode: str) -> None:
        blank = mode == "force" or (mode == "keep" and self.last and line > self.last + 1)
        if blank and self.lines and self.lines[-1]:
            self.lines.append("")

    def _pending(self, before: int):
        while self.k < len(self.comments) and self.comments[self.k].line < before:
            self.k += 1
            yield self.comments[self.k - 1]

    def unit(self, lines: list[str], indent: str, span, mode: str) -> None:
        """Write source lines span.line..span.end_line as `lines`, with their comments."""
        start, end = span.line, max(span.end_line, span.line)
        for c in self._pending(start):  # comments on lines of their own above the unit
            self._gap(c.line, mode)
            mode = "keep"
            self.lines.append(indent + c.text)
            self.last = c.line
        self._gap(start, mode)
        # a comment inside a statement that now fits on one line moves above it
        self.lines.extend(indent + c.text for c in self._pending(end))
        self.lines.extend(lines)
        if self.k < len(self.comments) and self.comments[self.k].line == end:
            comment = self.comments[self.k]
            self.k += 1
            code = self.lines[-1]
            pad = comment.column - 1 - len(code)  # keep the author's column when it fits
            self.lines[-1] = code + " " * (pad if pad >= 1 else 2) + comment.text
        self.last = end

    def rest(self, before: int, indent: str) -> None:
        """Write the comments above source line `before` (the end of a block or the file)."""
        for c in self._pending(before):
            self._gap(c.line, "keep")
            self.lines.append(indent + c.text)
            self.last = c.line


def _aligned(stmts, comments) -> list[int]:
    """The width each name is padded to: in a run of `NAME = ...` lines (or of `let` lines) not
    broken by a blank line or another kind of statement, the `=` signs line up."""
    lines = {c.line for c in comments}
    pads, run, kind = [0] * len(stmts), [], None
    for k, s in enumerate(stmts):
        now = "let" if isinstance(s, syntax.Let) else \
            "name" if isinstance(s, (syntax.Assign, syntax.Field)) else None
        prev = stmts[k - 1] if k else None
        blank = prev is not None and any(
            line not in lines for line in range(prev.span.end_line + 1, s.span.line))
        if now != kind or blank:
            run = []
        kind = now
        if now is not None:
            run.append(k)
            width = max(len(stmts[j].name) for j in run)
            for j in run:
                pads[j] = width
    return pads


def _deep_lines(s, indent: str, pad: int) -> list[str]:
    """_lines, with a statement nested beyond even the deep stack a located error."""
    try:
        return _lines(s, indent, pad)
    except RecursionError:
        raise ParseError("this statement nests too deeply to format (calls, brackets or "
                         "operators inside one another, many thousands deep)", s.span) from None


def format_program(program: syntax.Program) -> str:
    """The whole program in canonical form, every comment kept; ends with one newline."""
    out = _Writer(program.comments)
    prev = None
    for item, let_pad in zip(program.items, _aligned(program.items, program.comments)):
        mode = "none" if prev is None else \
            "keep" if isinstance(prev, syntax.Let) and isinstance(item, syntax.Let) else "force"
        prev = item
        if isinstance(item, syntax.Let):
            out.unit(_deep_lines(item, "", let_pad), "", item.span, mode)
            continue
        body, span = _body(item), item.span
        head = Span(span.file, span.line, span.column, span.line, span.column)
        inner = any(span.line < c.line < span.end_line for c in out.comments[out.k:])
        if not body and not inner:
            out.unit([_header(item) + "}"], "", head, mode)
            continue
        out.unit([_header(item)], "", head, mode)
        block_mode = "none"
        for s, pad in zip(body, _aligned(body, program.comments)):
            out.unit(_deep_lines(s, INDENT, pad), INDENT, s.span, block_mode)
            block_mode = "keep"
        out.rest(span.end_line, INDENT)
        end = Span(span.file, span.end_line, 1, span.end_line, 1)
        out.unit(["}"], "", end, "none")
    out.rest(1 << 30, "")
    return "\n".join(out.lines) + "\n"


def format_source(text: str, file: str = "<string>") -> str:
    """Parse and format a program's text (a ParseError if it does not parse); on a deep stack,
    so a 100,000-term expression formats too."""
    return with_deep_stack(lambda: format_program(parse(text, file)))


def fmt_file(path, check: bool = False, write: bool = False) -> tuple[str, bool]:
    """Format one .tl file: (the canonical text, whether it differs from the file's text).

    The file is only rewritten when write=True (and check=False). `tensorlang fmt FILE` prints
    the text; `tensorlang fmt FILE --check` exits with status 1 when changed is True. A file that
    does not parse raises ParseError, its place named by `path` as given.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"cannot read {path}: not UTF-8 text (byte {e.start} is "
                         f"0x{e.object[e.start]:02x}); a .tl file is text") from None
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    formatted = format_source(text, str(path))
    changed = formatted != text
    if changed and write and not check:
        write_atomic(str(path), formatted.encode("utf-8"))
    return formatted, changed
