"""The parser Lark builds from grammar/tensorlang.lark: the source of the parse table that lalr.py
runs, and the parser whose errors parse_errors.py explains (only a file that fails to parse, or
an editor's request, imports Lark: its import and table cost about 45 ms that `check` spares).

Building the LALR table from the grammar costs about 0.1-0.3 s, so it is cached with Lark's
`cache=` option in the user's own cache folder (grammar.cache_file): the first process writes it,
later ones load it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys

import lark
import lark.utils as lark_utils
from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters
from lark.lark import PostLex
from lark.lexer import Lexer as LarkLexer

from . import grammar


def lexer_spec(lexer_conf) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """(regex, keywords, ignored) of the one-regex lexer for the grammar's terminals: a named
    group per terminal, the regex ones first, then the punctuation longest first; the keywords
    map a word to its terminal; the ignored terminals are dropped."""
    terminals = lexer_conf.terminals
    name = next(t for t in terminals if t.name == "NAME").pattern.to_regexp()
    keywords = {t.pattern.value: t.name for t in terminals
                if t.pattern.type == "str" and re.fullmatch(name, t.pattern.value)}
    regexes = [t for t in terminals if t.pattern.type == "re"]
    strings = sorted((t for t in terminals if t.pattern.type == "str"
                      and t.pattern.value not in keywords),
                     key=lambda t: -len(t.pattern.value))
    regex = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in regexes + strings)
    return regex, keywords, tuple(sorted(lexer_conf.ignore))


class Lexer(LarkLexer):
    """grammar.lex as Lark's custom lexer (its "interface 0": called with the whole text), about
    three times faster than Lark's own."""

    def __init__(self, lexer_conf):
        regex, self.keywords, ignore = lexer_spec(lexer_conf)
        self.regex, self.ignore = re.compile(regex), frozenset(ignore)

    def lex(self, text: str):
        """Yield Lark's tokens of text; a character no terminal matches raises
        UnexpectedCharacters."""
        def bad_character(pos, line, column):
            raise UnexpectedCharacters(text, pos, line, column, state=None)

        # Token._future_new: Token() without its check for a deprecated keyword argument
        return grammar.lex(text, self.regex, self.keywords, self.ignore, Token._future_new,
                           bad_character)


class LinePostLexer(PostLex):
    """grammar.close_lines as Lark's postlexer; one instance serves every parse (and thread)."""

    always_accept = ("_NL",)

    def process(self, stream):
        """Filter the lexer's token stream (see grammar.close_lines)."""
        return grammar.close_lines(stream, Token)


def cache_path(grammar_text: str) -> str | None:
    """Where Lark's parse table of this grammar (and Lark and Python version) is cached, or None
    when the user's cache folder cannot be made private to the user (then nothing is cached)."""
    key = f"{grammar_text}\0{lark.__version__}\0{sys.version_info[:2]}".encode()
    return grammar.cache_file("grammar", key, ".lark")


@functools.cache
def parser(transformer=None) -> Lark:
    """The LALR parser for .tl files, built (or loaded from Lark's cache) once per process.

    Every rule keeps all its tokens (brackets and keywords too), so that a node's place can be
    taken from its first and last token. Without a transformer the parser returns Lark's tree;
    with one, the transformer's methods build the result during the parse, a method per rule.
    """
    text = grammar.grammar_text()
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
