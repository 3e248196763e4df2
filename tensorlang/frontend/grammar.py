"""What every stage knows of the grammar, without Lark: where grammar/tensorlang.lark lives, its
reserved words and dtypes, the token, the one-regex lexing loop and the newline rules.

The .lark file sits at `<repo>/grammar/tensorlang.lark` in a source checkout and at
`tensorlang/frontend/tensorlang.lark` inside an installed wheel (pyproject's force-include).
Lark builds the parse table from it (larkparser.py) and lalr.py runs that table; both lex with
`lex` and `close_lines` below. Caches live in the user's own cache folder (`cache_file`), not in
the shared temp folder: they are pickles, and loading a pickle someone else could have planted
runs their code.
"""

from __future__ import annotations

import _imp
import functools
import os

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


class Token(str):
    """A token: its text (the str itself), its terminal's name and its place, 1-based lines and
    columns with the end exclusive; the fields and their names are those of Lark's Token, so the
    syntax builder takes either."""

    __slots__ = ("type", "value", "start_pos", "line", "column", "end_line", "end_column",
                 "end_pos")

    def __new__(cls, kind: str, value: str, start_pos: int, line: int, column: int,
                end_line: int, end_column: int, end_pos: int):
        self = super().__new__(cls, value)
        self.type, self.value, self.start_pos = kind, value, start_pos
        self.line, self.column, self.end_line, self.end_column = line, column, end_line, end_column
        self.end_pos = end_pos
        return self

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.value!r})"


def lex(text: str, regex, keywords: dict, ignore: frozenset, new, bad_character):
    """Yield the tokens of text, made by `new(type, value, start_pos, line, column, end_line,
    end_column, end_pos)`; a character no terminal matches calls `bad_character(pos, line,
    column)`, which raises. `regex` has one named group per terminal; a NAME that spells a
    keyword becomes that keyword. No token but _NL spans a newline, so lines are counted at
    _NL only."""
    match = regex.match
    pos, line, line_start, end = 0, 1, 0, len(text)
    while pos < end:
        m = match(text, pos)
        if m is None:
            bad_character(pos, line, pos - line_start + 1)
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


def close_lines(stream, new):
    """Make newlines statement separators, except inside open ( and [.

    Drops _NL tokens while the innermost open bracket is ( or [, folds a run of _NL into its first
    (so blank and comment lines vanish), drops leading ones, and ends the stream with one _NL
    (made by `new`, as in `lex`). State lives in the generator, so streams may interleave.
    """
    stack: list[str] = []
    pending = last = None
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
        yield new("_NL", "", last.end_pos, last.end_line, last.end_column,
                  last.end_line, last.end_column, last.end_pos)


@functools.cache
def grammar_text() -> str:
    """The text of the .lark file (read once per process)."""
    with open(grammar_path(), encoding="utf-8") as f:
        return f.read()


_SEED = 0x746C  # "tl"
"""The key of the 64-bit SipHash that names cache files: the hash CPython checks its hash-based
.pyc files with (_imp.source_hash, as importlib.util.source_hash), without hashlib's OpenSSL
module, 3 ms to load."""


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
    return os.path.join(root, f"{kind}-{_imp.source_hash(_SEED, key).hex()}{suffix}")
