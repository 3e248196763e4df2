"""Text -> syntax.Program: the parser builds the AST as it goes; Lark's errors become ParseError.

`parse` is the public entry; the AST builder has a method per grammar rule that the LALR driver
(lalr.py, running the table Lark built) calls on each reduction. A text the table rejects is
parsed again by Lark itself, whose error parse_errors.py turns into a message.
"""

from __future__ import annotations

import contextlib
import functools
import pickle
import re
import sys
import threading

from ..errors import ParseError, did_you_mean
from ..records import replace
from ..source import Span
from . import grammar, lalr, syntax


def parse(text: str, file: str = "<string>") -> syntax.Program:
    """Parse a whole .tl file into a Program; every mistake is a ParseError with a place."""
    if text.startswith("\ufeff"):  # a byte-order mark some editors write: a blank, same columns
        text = " " + text[1:]
    with _LOCK:  # the builder is shared by the one cached parser: one parse at a time
        _BUILDER.file, _BUILDER.text = file, text
        try:
            items = _driver().parse(text)
        except lalr.Rejected:
            items = _parse_with_lark(text, file)
        finally:
            _BUILDER.text = None
    if not items:
        raise ParseError("empty program: there is nothing to compile", Span(file, 1, 1, 1, 1, text),
                         hint='a program is made of "let" lines and "graph", "layer", "data", '
                              '"train" and "evaluate" blocks')
    return syntax.Program(tuple(items), comments(text), file,
                          items[0].span.merge(items[-1].span))


@functools.cache
def _driver() -> lalr.Parser:
    """The table's driver bound to the builder, made on the first parse."""
    return lalr.Parser(_BUILDER)


def _parse_with_lark(text: str, file: str):
    """Lark's parse of a text the table rejected: its exception, explained, is the ParseError."""
    from lark.exceptions import LarkError, UnexpectedInput

    from .larkparser import parser
    from .parse_errors import explained

    lark_parser = parser(_BUILDER)
    try:
        return lark_parser.parse(text)  # the same table: it fails at the same token
    except UnexpectedInput as err:
        raise explained(err, text, file, lark_parser) from None
    except LarkError as err:  # nothing else is expected; still never let Lark's text out
        raise ParseError(f"cannot parse this file ({type(err).__name__})",
                         Span(file, 1, 1, 1, 2, text)) from None


def parse_cached(text: str, file: str) -> syntax.Program:
    """parse(), with the tree kept between processes: for the bundled prelude, which every
    command parses (5 ms of parsing against 1 ms of loading the tree). The tree is pickled into
    the user's private cache folder beside the grammar's table, under a name that hashes the
    text, the grammar and the modules that build the tree: an edit to any of them misses it. A
    cache that cannot be read or written is parsed around, never an error."""
    path = grammar.cache_file("tree", _tree_key(text, file), ".pickle")
    if path is not None:
        try:
            with open(path, "rb") as f:
                tree = pickle.load(f)
            if isinstance(tree, syntax.Program) and tree.file == file:
                return tree
        except Exception:  # noqa: BLE001 - absent, half-written by another tool, stale: parse
            pass
    tree = parse(text, file)
    if path is not None:
        from ..files.atomic import write_atomic  # only on a miss: it brings tempfile

        with contextlib.suppress(OSError, pickle.PicklingError):  # uncached, never an error
            write_atomic(path, lambda f: pickle.dump(tree, f, protocol=pickle.HIGHEST_PROTOCOL))
    return tree


def _tree_key(text: str, file: str) -> bytes:
    """What a cached tree depends on: the text and its name, the grammar, the sources of the
    modules that build and define the tree, Python's version."""
    from .. import records, source

    parts = [text.encode(), file.encode(), repr(sys.version_info[:2]).encode(),
             grammar.grammar_text().encode()]
    for name in (__file__, syntax.__file__, grammar.__file__, lalr.__file__, records.__file__,
                 source.__file__):
        with open(name, "rb") as f:
            parts.append(f.read())
    return b"\0".join(parts)


_COMMENT_OR_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*')


def comments(text: str) -> tuple[syntax.Comment, ...]:
    """Every `#` comment of the text (not those inside strings) with its 1-based line and column."""
    found = []
    for number, line in enumerate(text.split("\n"), 1):
        if "#" not in line:
            continue
        for m in _COMMENT_OR_STRING.finditer(line):
            if m.group().startswith("#"):
                found.append(syntax.Comment(number, m.start() + 1, m.group().rstrip()))
    return tuple(found)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"'}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)")


def _first(x) -> tuple[int, int]:
    """(line, column) where a token, node or list of children starts."""
    while isinstance(x, list):
        for c in x:  # a plain loop, not next(genexpr): this runs for every node of a parse
            if c is not None:
                x = c
                break
        else:
            raise ValueError("a rule without tokens has no place")
    return (x.line, x.column) if isinstance(x, str) else (x.span.line, x.span.column)


def _last(x) -> tuple[int, int]:
    """(end_line, end_column) where a token, node or list of children ends."""
    while isinstance(x, list):
        for c in reversed(x):
            if c is not None:
                x = c
                break
        else:
            raise ValueError("a rule without tokens has no place")
    return (x.end_line, x.end_column) if isinstance(x, str) else \
        (x.span.end_line, x.span.end_column)


def _nodes(children) -> tuple:
    """The nodes of a list rule (`a, b, c`), without its punctuation and newlines."""
    return tuple(c for c in children if not isinstance(c, str))


class _Builder:
    """One method per grammar rule (or alias), called by Lark with the rule's children, every
    token included; each returns a syntax node with a Span from its first to its last token."""

    file: str = "<string>"
    text: str | None = None

    def _span(self, children) -> Span:
        line, column = _first(children)
        end_line, end_column = _last(children)
        return Span(self.file, line, column, end_line, end_column, self.text)

    def _tok_span(self, tok: grammar.Token) -> Span:
        return Span(self.file, tok.line, tok.column, tok.end_line, tok.end_column, self.text)

    # ------------------------------------------------------------ items and blocks
    def start(self, c):
        return [x for x in c if not isinstance(x, str)]

    def graph(self, c):
        _, name, body = c
        stmts = _nodes(body)
        for stmt in stmts:
            if isinstance(stmt, syntax.Return):
                raise ParseError(f'"return" in graph "{name}": only a layer returns a value',
                                 stmt.span, hint="name the value instead: NAME = EXPR")
        return syntax.GraphDef(str(name), stmts, self._span(c))

    def layer(self, c):
        _, name, _, params, _, body = c
        return syntax.LayerDef(str(name), _nodes(params or ()), _nodes(body), self._span(c))

    def param(self, c):
        name, pattern, default = c[0], None, None
        for k, x in enumerate(c):
            if isinstance(x, str) and x.type == "COLON":
                pattern = c[k + 1]
            elif isinstance(x, str) and x.type == "EQUAL":
                default = c[k + 1]
        return syntax.LayerParam(str(name), pattern, default, self._span(c))

    def data(self, c):
        return syntax.DataDef(str(c[1]), _nodes(c[2]), self._span(c))

    def run(self, c):
        return syntax.RunBlock(str(c[0]), str(c[1]), _nodes(c[2]), self._span(c))

    def body(self, c):
        return c

    fields = params = dims = items = args = subscripts = body

    def field(self, c):
        return syntax.Field(str(c[0]), c[2], self._span(c))

    # ------------------------------------------------------------ statements
    def placeholder(self, c):  # placeholder NAME : type [= expr]; the placeholders are None
        default = c[5] if len(c) > 5 else None
        return syntax.Placeholder(str(c[1]), c[3], default, self._span(c))

    def variable(self, c):  # variable NAME : type = expr [frozen | state]
        kind = None if c[6] is None else str(c[6])
        return syntax.Variable(str(c[1]), c[3], c[5], kind == "frozen", self._span(c),
                               state=kind == "state")

    def update(self, c):  # update NAME = expr
        return syntax.Update(str(c[1]), c[3], self._span(c))

    def constant(self, c):  # constant NAME [: type] = expr
        type_ = c[3] if len(c) > 4 else None
        return syntax.Constant(str(c[1]), type_, c[-1], self._span(c))

    def assign(self, c):
        return syntax.Assign(str(c[0]), c[2], self._span(c))

    def return_stmt(self, c):
        return syntax.Return(c[1], self._span(c))

    def let(self, c):
        return syntax.Let(str(c[1]), c[3], self._span(c))

    def type(self, c):
        dtype, _, dims, _ = c
        if dtype is not None and str(dtype) not in grammar.DTYPES:
            hint = did_you_mean(str(dtype), grammar.DTYPES)
            listed = "the dtypes are " + " ".join(grammar.DTYPES)
            raise ParseError(f'unknown dtype "{dtype}"', self._tok_span(dtype),
                             hint=f"{hint} ({listed})" if hint else listed)
        dims = _nodes(dims or ())
        for dim in dims:
            _check_dim(dim)
        return syntax.TypeExpr(None if dtype is None else str(dtype), dims, self._span(c))

    # ------------------------------------------------------------ expressions
    def binop(self, c):
        return syntax.BinOp(str(c[1]), c[0], c[2], self._span(c))

    compare = binop

    def ifelse(self, c):  # then if cond else otherwise
        return syntax.IfElse(c[0], c[2], c[4], self._span(c))

    def unop(self, c):
        return syntax.UnaryOp(str(c[0]), c[1], self._span(c))

    def atom(self, c):  # "(" expr ")": the node itself, its span widened over the parentheses
        return replace(c[1], span=self._span(c))

    dim_atom = atom

    def name(self, c):
        return syntax.Name(str(c[0]), self._span(c))

    def number(self, c):
        text = str(c[0])
        return syntax.Number(int(text) if text.isdigit() else float(text), self._span(c))

    def string(self, c):
        tok = c[0]
        return syntax.String(_ESCAPE.sub(lambda m: self._unescape(m, tok), tok[1:-1]),
                             self._span(c))

    def _unescape(self, m: re.Match, tok: grammar.Token) -> str:
        code = m.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        if len(code) == 5:
            return chr(int(code[1:], 16))
        column = tok.column + 1 + m.start()
        raise ParseError(f'unknown escape "\\{code}" in a string',
                         Span(self.file, tok.line, column, tok.line, column + 2, self.text),
                         hint='the escapes are \\" \\\\ \\n \\t \\r \\0 and \\uXXXX')

    def true(self, c):
        return syntax.Bool(True, self._span(c))

    def false(self, c):
        return syntax.Bool(False, self._span(c))

    def unknown(self, c):
        return syntax.Unknown(self._span(c))

    def ellipsis(self, c):
        return syntax.EllipsisLit(self._span(c))

    def list(self, c):
        return syntax.ListExpr(_nodes(c[1] or ()), self._span(c))

    def kwarg(self, c):
        return syntax.Keyword(str(c[0]), c[2], self._span(c))

    def call(self, c):
        func, _, arguments, _ = c
        args, kwargs = [], []
        for arg in _nodes(arguments or ()):
            if isinstance(arg, syntax.Keyword):
                if any(k.name == arg.name for k in kwargs):
                    raise ParseError(f'the keyword argument "{arg.name}" is given twice',
                                     arg.span)
                kwargs.append(arg)
            elif kwargs:
                raise ParseError("a positional argument follows a keyword argument", arg.span,
                                 hint="put the positional arguments first: f(a, b, k = v)")
            else:
                args.append(arg)
        return syntax.Call(func, tuple(args), tuple(kwargs), self._span(c))

    def index(self, c):
        return syntax.Index(c[0], _nodes(c[2]), self._span(c))

    def slice(self, c):
        parts: list = [None]
        for child in c:  # expr? COLON expr? (COLON expr?)?: the colons split the parts
            if isinstance(child, str):
                parts.append(None)
            else:
                parts[-1] = child
        parts += [None] * (3 - len(parts))
        return syntax.Slice(*parts, span=self._span(c))

    def attr(self, c):
        return syntax.Attribute(c[0], str(c[2]), self._span(c))


def _check_dim(dim) -> None:
    if isinstance(dim, syntax.Number) and not isinstance(dim.value, int):
        raise ParseError(f"a dim is a whole number, not {dim.value!r}", dim.span,
                         hint="write an integer such as 2, a name such as N, or ?")
    if isinstance(dim, syntax.BinOp):
        _check_dim(dim.left)
        _check_dim(dim.right)


_BUILDER = _Builder()
_LOCK = threading.RLock()

# ==================================================================== Lark's errors -> ParseError
