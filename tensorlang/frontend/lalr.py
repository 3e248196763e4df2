"""The LALR(1) table Lark builds for grammar/tensorlang.lark, run without Lark: importing Lark
and loading its table cost about 45 ms, a fifth of a whole `tensorlang check`, for a driver
loop of twenty lines.

The table is exported from Lark once (`export`) into plain lists, dicts and tuples and cached
with marshal in the user's private cache folder, under a name that hashes the grammar and the
modules that export and run it. `parse` lexes with grammar.lex, runs the shift/reduce loop and
builds each rule's value as Lark's tree builder would for the same options (every token kept,
`[x]` placeholders as None, `?rule` with one child inlined, `_rule` and EBNF helper rules
spliced into their parent), calling the builder's method for the rule or its alias. A text the
table rejects raises Rejected: the caller asks Lark for its error, which parse_errors.py
explains. tests/frontend/test_lalr.py holds every value equal to Lark's own parse.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import marshal
import os
import re
import sys

from ..records import record
from . import grammar

FORMAT = 1
"""The exported table's layout; a cache of another layout is rebuilt."""


class Rejected(Exception):
    """The text is not in the grammar (a token the table has no action for, or a character no
    terminal matches): Lark's parser says why."""


@record
class Rule:
    """One production: the nonterminal it makes, how many symbols it takes off the stack, the
    builder method it calls, and how Lark would shape its children (see `_shaper`)."""

    origin: str
    size: int
    callback: str
    expand1: bool
    include: tuple | None  # ((index, splice, nones before), ...) or None: children as they are
    nones_after: int


@record
class Table:
    """The parse table: per state, symbol -> next state (>= 0, a shift or a goto) or ~rule (< 0,
    a reduction by rules[~action]); and the lexer's regex, keywords and ignored terminals."""

    states: tuple
    rules: tuple
    start: int
    end: int
    regex: str
    keywords: dict
    ignore: tuple


def export(lark_parser) -> Table:
    """The Table of a Lark LALR parser built with keep_all_tokens and maybe_placeholders."""
    from lark.parsers.lalr_analysis import Shift

    from .larkparser import lexer_spec

    table = lark_parser.parser.parser.parser.parse_table
    rules = list(lark_parser.rules)
    index = {rule: k for k, rule in enumerate(rules)}
    states = [None] * len(table.states)
    for number, actions in table.states.items():
        states[number] = {str(symbol): (arg if action is Shift else ~index[arg])
                          for symbol, (action, arg) in actions.items()}
    regex, keywords, ignore = lexer_spec(lark_parser.lexer_conf)
    [start], [end] = table.start_states.values(), table.end_states.values()
    keywords = {str(word): str(kind) for word, kind in keywords.items()}
    return Table(tuple(states), tuple(_exported(rule) for rule in rules), start, end,
                 str(regex), keywords, tuple(map(str, ignore)))


def _exported(rule) -> Rule:
    """A Lark Rule as a Rule: its child filter computed as Lark's parse_tree_builder does."""
    options = rule.options
    size = len(rule.expansion)
    marks = options.empty_indices
    if marks:  # True where an absent [x] leaves a None, False at each symbol of the expansion
        nones = [len(run) for run in "".join("01"[b] for b in marks).split("0")]
    else:
        nones = [0] * (size + 1)
    include, pending = [], 0
    for k, symbol in enumerate(rule.expansion):
        pending += nones[k]
        if options.keep_all_tokens or not (symbol.is_term and symbol.filter_out):
            include.append((k, not symbol.is_term and symbol.name.startswith("_"), pending))
            pending = 0
    pending += nones[size]
    shaped = bool(marks) or len(include) < size or any(splice for _, splice, _ in include)
    callback = rule.alias or options.template_source or rule.origin.name
    expand1 = bool(options.expand1 and not rule.alias)
    # str(): a freshly built grammar names things with Lark's Token, which marshal refuses
    return Rule(str(rule.origin.name), size, str(callback), expand1,
                tuple(include) if shaped else None, pending)


# ------------------------------------------------------------------ the cached table
def _key() -> bytes:
    """What the exported table depends on: the grammar, the modules that export and run it,
    Python's version (marshal's format)."""
    exporter = os.path.join(os.path.dirname(__file__), "larkparser.py")  # not imported: Lark
    parts = [grammar.grammar_text().encode(), repr((FORMAT, sys.version_info[:2])).encode()]
    for name in (__file__, grammar.__file__, exporter):
        with open(name, "rb") as f:
            parts.append(f.read())
    return b"\0".join(parts)


@functools.cache
def table() -> Table:
    """The Table, from the cache when it holds one, else exported from Lark (and cached)."""
    path = grammar.cache_file("lalr", _key(), ".marshal")
    if path is not None:
        with contextlib.suppress(Exception):  # absent, truncated, of another layout: rebuild
            return _checked(marshal.loads(_read(path)))
    from . import larkparser

    built = export(larkparser.parser())
    if path is not None:
        _write(path, marshal.dumps(_plain(built)))
    return built


def _plain(t: Table) -> tuple:
    rules = tuple((r.origin, r.size, r.callback, r.expand1, r.include, r.nones_after)
                  for r in t.rules)
    return (FORMAT, t.states, rules, t.start, t.end, t.regex, t.keywords, t.ignore)


def _checked(data) -> Table:
    """The Table of a marshalled tuple, or ValueError when it is not one."""
    layout, states, rules, start, end, regex, keywords, ignore = data
    if layout != FORMAT or not all(isinstance(s, dict) for s in states) \
            or not isinstance(regex, str) or not isinstance(keywords, dict):
        raise ValueError("not an exported table")
    return Table(tuple(states), tuple(Rule(*r) for r in rules), start, end, regex, keywords,
                 tuple(ignore))


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _write(path: str, data: bytes) -> None:
    """Write the cache atomically (files.atomic, imported only on a miss: it brings tempfile);
    a full or read-only disk leaves it uncached, and the next process exports again."""
    from ..files.atomic import write_atomic

    with contextlib.suppress(OSError):
        write_atomic(path, data)


# ------------------------------------------------------------------ lexing and parsing
@functools.cache
def _lexer() -> tuple:
    t = table()
    return re.compile(t.regex), t.keywords, frozenset(t.ignore)


def _bad_character(pos: int, line: int, column: int):
    raise Rejected(f"no token at {line}:{column}")


def tokens(text: str):
    """The tokens the parser sees (grammar.lex, then grammar.close_lines), as grammar.Token;
    Rejected at a character no terminal matches."""
    regex, keywords, ignore = _lexer()
    return grammar.close_lines(grammar.lex(text, regex, keywords, ignore, grammar.Token,
                                           _bad_character), grammar.Token)


class Parser:
    """The table's shift/reduce loop with a builder's methods bound to its rules."""

    def __init__(self, builder):
        t = table()
        self.states, self.start, self.end = t.states, t.start, t.end
        self.rules = tuple((r.origin, r.size, _shaper(r, builder)) for r in t.rules)

    def parse(self, text: str):
        """The builder's value for text; Rejected where the table has no action."""
        states, rules, end = self.states, self.rules, self.end
        stack, values = [self.start], []
        for tok in itertools.chain(tokens(text), (_END,)):
            kind = tok.type
            while True:
                action = states[stack[-1]].get(kind)
                if action is None:
                    raise Rejected(f"unexpected {kind} at {tok.line}:{tok.column}")
                if action >= 0:
                    stack.append(action)
                    values.append(tok)
                    break
                origin, size, build = rules[~action]
                if size:
                    children = values[-size:]
                    del values[-size:], stack[-size:]
                else:
                    children = []
                values.append(build(children))
                stack.append(states[stack[-1]][origin])
                if stack[-1] == end:  # the goto on the start rule: only ever before $END
                    return values[-1]
        raise Rejected("the input ended before the grammar's end")


_END = grammar.Token("$END", "", 0, 0, 0, 0, 0, 0)
"""The lookahead after the last token (the table's end marker)."""


def _shaper(rule: Rule, builder):
    """The function that makes a rule's value from its children, as Lark's tree builder would:
    a lone child of a `?rule` is the value itself; otherwise the children are filtered (spliced
    helper rules, None for each absent `[x]`) and handed to the builder's method. A helper rule
    (`_name`, EBNF repetitions) without a method is its list of children, spliced by its parent;
    another rule without one (a `?rule` whose every alternative has one child) must never
    reduce with more."""
    build = getattr(builder, rule.callback, None)
    if build is None:
        build = _as_list if rule.callback.startswith("_") else _unbuilt(builder, rule.callback)
    if rule.include is not None:
        build = _filtered(build, rule.include, rule.nones_after)
    if rule.expand1:
        build = _single_or(build)
    return build


def _as_list(children: list) -> list:
    return children


def _unbuilt(builder, name: str):
    def missing(children: list):
        raise TypeError(f"{type(builder).__name__} has no method for the rule {name}")
    return missing


def _filtered(build, include: tuple, nones_after: int):
    def shaped(children: list):
        out: list = []
        for k, splice, nones in include:
            if nones:
                out += [None] * nones
            if splice:  # a left-recursive repetition: its list is reused, not copied
                if out:
                    out += children[k]
                else:
                    out = children[k]
            else:
                out.append(children[k])
        if nones_after:
            out += [None] * nones_after
        return build(out)
    return shaped


def _single_or(build):
    def single(children: list):
        return children[0] if len(children) == 1 else build(children)
    return single
