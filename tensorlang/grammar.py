"""Loads grammar/tensorlang.lark once per process; the only module that knows where it lives.

The .lark file sits at `<repo>/grammar/tensorlang.lark` in a source checkout and at
`tensorlang/grammar/tensorlang.lark` inside an installed wheel (pyproject's force-include).
Building an LALR table from the grammar costs about 0.1 s, so Lark's own cache (a pickle in the
temp directory, keyed by a hash of the grammar and options) is used: later processes load the
table instead of computing it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lark import Lark, Token
from lark.lark import PostLex

GRAMMAR_FILE = "tensorlang.lark"

KEYWORDS = ("let", "graph", "layer", "data", "train", "evaluate", "placeholder", "variable",
            "constant", "return", "frozen", "true", "false")
"""Reserved words: never a name. Op names are not among them (a call is a call)."""

ITEM_KEYWORDS = ("let", "graph", "layer", "data", "train", "evaluate")
"""The words that may start a top-level item."""

STMT_KEYWORDS = ("placeholder", "variable", "constant", "let", "return")
"""The words that may start a statement inside a graph or layer block."""

DTYPES = ("f16", "f32", "f64", "i32", "i64", "u8", "bool")
"""The element types a type may name; a type without one is f32."""

_OPEN = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
_CLOSE = frozenset(_OPEN.values())


def grammar_path() -> Path:
    """Where the .lark file is: inside the installed package, else in the source tree."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "grammar" / GRAMMAR_FILE, here.parent / "grammar" / GRAMMAR_FILE):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{GRAMMAR_FILE} is neither in {here / 'grammar'} nor in "
                            f"{here.parent / 'grammar'}: the tensorlang installation is broken")


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


@functools.cache
def parser(transformer=None) -> Lark:
    """The LALR parser for .tl files, built (or loaded from Lark's cache) once per process.

    Every rule keeps all its tokens (brackets and keywords too), so that a node's place can be
    taken from its first and last token. Without a transformer the parser returns Lark's tree;
    with one, the transformer's methods build the result during the parse, a method per rule
    (no tree is built, which halves the time of a parse).
    """
    return Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", lexer="basic",
                postlex=LinePostLexer(), keep_all_tokens=True, maybe_placeholders=True,
                cache=True, transformer=transformer)
