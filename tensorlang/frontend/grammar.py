"""Loads grammar/tensorlang.lark once per process; the only module that knows where it lives.

The .lark file sits at `<repo>/grammar/tensorlang.lark` in a source checkout and at
`tensorlang/frontend/tensorlang.lark` inside an installed wheel (pyproject's force-include).
Building the LALR table from the grammar costs about 0.1-0.3 s, so it is cached with Lark's
`cache=` option: the first process writes the table, later ones load it (about 10 ms). The cache
file lives in the user's own cache folder, not in the shared temp folder where Lark puts it by
default: it is a pickle, and loading a pickle someone else could have planted runs their code.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import sys

import lark
import lark.utils as lark_utils
from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters
from lark.lark import PostLex
from lark.lexer import Lexer as LarkLexer

GRAMMAR_FILE = "tensorlang.lark"

KEYWORDS = ("let", "graph", "layer", "data", "train", "evaluate", "placeholder", "variable",
            "constant", "return", "frozen", "state", "update", "if", "else", "true", "false")
"""Reserved words: never a name. Op names are not among them (a call is a call)."""

ITEM_KEYWORDS = ("let", "graph", "layer", "data", "train", "evaluate")
"""The words that may start a top-level item."""

STMT_KEYWORDS = ("placeholder", "variable", "constant", "let", "return", "update")
"""The words that may start a statement inside a graph or layer block."""

DTYPES = ("f16", "f32", "f64", "i32", "i64", "u8", "bool")
"""The element types a type may name; a type without one is f32."""

_OPEN = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
_CLOSE = frozenset(_OPEN.values())


def grammar_path() -> str:
    """Where the .lark file is: inside the installed package, else in the source tree. (Paths
    here are strings: pathlib costs 6 ms of imports that nothing else on check's way needs.)"""
    here = os.path.dirname(os.path.realpath(__file__))
    source_tree = os.path.join(os.path.dirname(os.path.dirname(here)), "grammar")
    for candidate in (os.path.join(here, GRAMMAR_FILE), os.path.join(source_tree, GRAMMAR_FILE)):
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(f"{GRAMMAR_FILE} is neither in {here} nor in {source_tree}: the "
                            "tensorlang installation is broken")


class Lexer(LarkLexer):
    """A one-regex lexer for the grammar's terminals, about three times faster than Lark's.

    Lark calls it with the whole text (its "interface 0" for custom lexers). The terminals come
    from the grammar itself: the regex ones first, then the punctuation longest first; a name that
    spells a keyword becomes that keyword. No token but _NL spans a newline, so lines are counted
    at _NL only.
    """

    def __init__(self, lexer_conf):
        terminals = lexer_conf.terminals
        name = next(t for t in terminals if t.name == "NAME").pattern.to_regexp()
        self.keywords = {t.pattern.value: t.name for t in terminals
                         if t.pattern.type == "str" and re.fullmatch(name, t.pattern.value)}
        regexes = [t for t in terminals if t.pattern.type == "re"]
        strings = sorted((t for t in terminals if t.pattern.type == "str"
                          and t.pattern.value not in self.keywords),
                         key=lambda t: -len(t.pattern.value))
        self.ignore = frozenset(lexer_conf.ignore)
        self.regex = re.compile("|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})"
                                         for t in regexes + strings))

    def lex(self, text: str):
        """Yield the tokens of text; a character no terminal matches raises UnexpectedCharacters."""
        match, keywords, ignore = self.regex.match, self.keywords, self.ignore
        new = Token._future_new  # Token() without its check for a deprecated keyword argument
        pos, line, line_start, end = 0, 1, 0, len(text)
        while pos < end:
            m = match(text, pos)
            if m is None:
                raise UnexpectedCharacters(text, pos, line, pos - line_start + 1, state=None)
            kind, stop = m.lastgroup, m.end()
            if kind not in ignore:
                value = m.group()
                if kind == "NAME":
                    kind = keywords.get(value, kind)
                column = pos - line_start + 1
                yield new(kind, value, pos, line, column, line, column + stop - pos, stop)
                if kind == "_NL":
                    line, line_start = line + 1, stop
            pos = stop


class LinePostLexer(PostLex):
    """Makes newlines statement separators, except inside open ( and [.

    Drops _NL tokens while the innermost open bracket is ( or [, folds a run of _NL into its first
    (so blank and comment lines vanish), drops leading ones, and ends the stream with one _NL.
    State lives in the generator, so one instance serves every parse (and every thread).
    """

    always_accept = ("_NL",)

    def process(self, stream):
        """Filter the lexer's token stream as described in the class docstring."""
        stack: list[str] = []
        pending: Token | None = None
        last: Token | None = None
        for tok in stream:
            kind = tok.type
            if kind == "_NL":
                if last is not None and pending is None and not (stack and stack[-1] != "LBRACE"):
                    pending = tok
                continue
            if pending is not None:
                yield pending
                pending = None
            yield tok
            last = tok
            if kind in _OPEN:
                stack.append(kind)
            elif kind in _CLOSE and stack:
                stack.pop()  # a mismatch is the parser's to report; keep the depth sane
        if pending is not None:
            yield pending
        elif last is not None:  # the file does not end with a newline: end the last statement
            yield Token("_NL", "", last.end_pos, last.end_line, last.end_column,
                        last.end_line, last.end_column, last.end_pos)


def cache_path(grammar_text: str) -> str | None:
    """Where the parse table of this grammar (and Lark and Python version) is cached, or None
    when the user's cache folder cannot be made private to the user (then nothing is cached)."""
    key = f"{grammar_text}\0{lark.__version__}\0{sys.version_info[:2]}".encode()
    return cache_file("grammar", key, ".lark")


def cache_file(kind: str, key: bytes, suffix: str) -> str | None:
    """`<user cache>/tensorlang/KIND-HASH(key)SUFFIX`, or None when that folder cannot be made
    private to the user: what is cached there is a pickle, and loading a pickle someone else
    could have planted runs their code."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    root = os.path.join(base, "tensorlang")
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
        info = os.stat(root)
        if info.st_uid != os.getuid() or info.st_mode & 0o022:  # others could plant a pickle
            return None
    except (OSError, AttributeError):  # read-only home; no getuid on Windows
        return None
    return os.path.join(root, f"{kind}-{hashlib.sha256(key).hexdigest()[:16]}{suffix}")


@functools.cache
def parser(transformer=None) -> Lark:
    """The LALR parser for .tl files, built (or loaded from Lark's cache) once per process.

    Every rule keeps all its tokens (brackets and keywords too), so that a node's place can be
    taken from its first and last token. Without a transformer the parser returns Lark's tree;
    with one, the transformer's methods build the result during the parse, a method per rule
    (no tree is built, which halves the time of a parse).
    """
    with open(grammar_path(), encoding="utf-8") as f:
        text = f.read()
    cache = cache_path(text)

    with _atomic_cache_writes():
        return Lark(text, parser="lalr", lexer=Lexer, postlex=LinePostLexer(),
                    keep_all_tokens=True, maybe_placeholders=True,
                    cache=cache or False, transformer=transformer)


@contextlib.contextmanager
def _atomic_cache_writes():
    """Lark writes its cache through lark.utils.FS.open, in place unless `atomicwrites` is
    installed: another process (a parallel test worker, two commands at once) could read half
    of it. Here it is written under a private name and renamed, so it is whole or absent."""
    saved = lark_utils.FS.open

    def open_atomic(name, mode="r", **kwargs):
        if "w" not in mode:
            return saved(name, mode, **kwargs)
        return _AtomicFile(name, mode)

    lark_utils.FS.open = open_atomic
    try:
        yield
    finally:
        lark_utils.FS.open = saved


class _AtomicFile:
    """A file written under `NAME.PID.tmp` and renamed to NAME when closed without an error."""

    def __init__(self, name, mode):
        self.name, self.tmp = name, f"{name}.{os.getpid()}.tmp"
        self.fh = open(self.tmp, mode)  # noqa: SIM115 (closed in __exit__)

    def __enter__(self):
        return self.fh

    def __exit__(self, kind, *_):
        self.fh.close()
        if kind is None:
            os.replace(self.tmp, self.name)
        else:
            os.unlink(self.tmp)


@functools.cache
def _lexer() -> Lexer:
    return Lexer(parser().lexer_conf)


def tokens(text: str):
    """The tokens the parser sees (after the postlexer); UnexpectedCharacters at a bad one."""
    return LinePostLexer().process(_lexer().lex(text))
