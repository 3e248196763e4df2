"""Lark's parse errors turned into messages a user can act on: targeted checks first (brackets,
keywords, a missing "=" or ":", chained comparisons...), then the parser state is matched against
known bad examples the way Lark's `match_examples` does, then a generic "unexpected X: expected Y".
"""

from __future__ import annotations

import re

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput

from ..errors import ParseError, did_you_mean
from ..source import Span
from . import grammar, larkparser

_COMPARE = {"EQ", "NE", "LT", "LE", "GT", "GE"}
_OPERATORS = _COMPARE | {"PLUS", "MINUS", "STAR", "SLASH", "DSLASH", "PERCENT", "AT", "POW"}
_KEYWORD = {k.upper(): k for k in grammar.KEYWORDS}
_ENDS_EXPR = {"NAME", "NUMBER", "STRING", "TRUE", "FALSE", "RPAR", "RSQB"}
_ATOMS = {"NAME", "NUMBER", "STRING", "TRUE", "FALSE"}
_PAIRS = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
_WORDS = {"_NL": "end of line", "$END": "end of file", "NAME": "a name",
          "NUMBER": "a number", "STRING": "a string"}
_CHAR_HINTS = {
    "'": 'strings are written in double quotes: "text"',
    ";": "a statement ends at the end of its line; no \";\" is needed",
    "!": 'there is no "!" operator; "!=" means not equal',
    "&": "there are no logical operators; combine comparisons with * or where()",
    "|": "there are no logical operators; combine comparisons with maximum() or where()",
}

# Known bad examples: the parser state where each fails names the mistake (see _example_table).
# A message may use {prev} (the token before the error) and {tok} (the token at it).
_EXAMPLES = {
    ("prev", 'expected a value after "{prev}"', None): [
        "let a =\n", "graph g {\n a =\n}\n", "data d {\n x =\n}\n", "train g {\n epochs =\n}\n",
        "graph g {\n placeholder x: [2] =\n}\n", "graph g {\n variable w: [2] =\n}\n",
        "graph g {\n constant c =\n}\n", "let a = f(k =)\n", "layer L(x, a =) {\n}\n",
        "layer L() {\n return\n}\n"],
    ("tok", 'expected "=" and an initial value after the type of a variable',
     'a variable starts from an initializer, e.g. "= zeros()" or "= glorot_uniform()"'): [
        "graph g {\n variable w: [2]\n}\n"],
    ("tok", 'expected "[" after the dtype "{prev}": a type lists its dims in brackets',
     'write "{prev}[]" for a scalar, "{prev}[N, 2]" for a tensor'): [
        "graph g {\n placeholder x: f32\n}\n", "graph g {\n variable w: f32 = 1\n}\n",
        "graph g {\n constant c: f32 = 1\n}\n", "layer L(x: f32) {\n}\n"],
    ("tok", 'expected "{{" on the same line as "{prev}"',
     "a block opens on the line of its name"): [
        "graph g\n{\n}\n", "data d\n{\n}\n", "train g\n{\n}\n", "layer L(x)\n{\n}\n"],
    ("tok", 'expected a name after "{prev}"', None): [
        "graph {\n}\n", "data {\n}\n", "train {\n}\n", "evaluate {\n}\n", "layer (x) {\n}\n",
        "let = 1\n", "graph g {\n placeholder : [2]\n}\n", "graph g {\n variable : [2] = 1\n}\n",
        "graph g {\n constant = 1\n}\n", "let a = h.(1)\n"],
    ("tok", "expected an index inside the brackets", 'write x[0], x[1:3] or x[..., -1]'): [
        "let a = x[]\n"],
    ("tok", 'expected "(" and the parameters after the layer name "{prev}"', None): [
        "layer L {\n}\n"],
}


def explained(err: UnexpectedInput, text: str, file: str, lark=None) -> ParseError:
    """The ParseError for Lark's error; `lark` is the parser that raised it (its parse states
    are what the known bad examples are matched against)."""
    try:
        return explain(err, text, file, lark)
    except Exception:  # a bug in the explaining must still leave the user a located message
        line, column = getattr(err, "line", 1), getattr(err, "column", 1)
        if not isinstance(line, int) or not isinstance(column, int):
            line, column = 1, 1
        return ParseError("syntax error", Span(file, line, column, line, column + 1, text))


def explain(err: UnexpectedInput, text: str, file: str, lark=None) -> ParseError:
    """The ParseError that says what is wrong where Lark gave up (never Lark's own message)."""
    if isinstance(err, UnexpectedCharacters):
        return _bad_character(err, text, file)
    ctx = _Context(err, text, file)
    ctx.lark = lark or larkparser.parser()
    for check in (_brackets, _keyword_as_name, _top_level, _statement_start, _missing_colon,
                  _chained_comparison, _trailing_operator, _missing_comma, _from_examples):
        found = check(ctx)
        if found is not None:
            return found
    hint = None
    if ctx.tok.type == "EQUAL" and ctx.prev is not None and ctx.prev.type in _ENDS_EXPR:
        hint = 'a statement defines one name; to compare, write "=="'
    return ctx.error(f"unexpected {ctx.describe(ctx.tok)}" + ctx.expected_suffix(), ctx.tok,
                     hint=hint)


def _bad_character(err: UnexpectedCharacters, text: str, file: str) -> ParseError:
    ch = text[err.pos_in_stream]
    line = text.split("\n")[err.line - 1]
    if ch == '"':
        return ParseError("unterminated string", Span(file, err.line, err.column, err.line,
                                                      len(line.rstrip()) + 1, text),
                          hint='a string ends with " on the same line')
    shown = ch if ch.isprintable() else ascii(ch)[1:-1]
    return ParseError(f'unexpected character "{shown}"',
                      Span(file, err.line, err.column, err.line, err.column + 1, text),
                      hint=_CHAR_HINTS.get(ch))


class _Context:
    """What the checks look at: the tokens, the one Lark stopped at, the one before, the state."""

    def __init__(self, err: UnexpectedInput, text: str, file: str):
        self.text, self.file = text, file
        self.toks: list[Token] = []
        try:
            for tok in larkparser.tokens(text):
                self.toks.append(tok)
        except UnexpectedInput:
            pass  # a bad character after the parse error: the tokens before it are enough
        last = self.toks[-1] if self.toks else Token("$END", "", 0, 1, 1, 1, 1, 0)
        tok = getattr(err, "token", None)  # "" for an end token: test against None, not falsity
        self.tok: Token = tok if tok is not None else Token.new_borrow_pos("$END", "", last)
        self.expected = set(getattr(err, "expected", None) or ())
        state = getattr(err, "state", None)
        self.state = getattr(state, "position", None)
        self.i = next((k for k, t in enumerate(self.toks) if t.start_pos == self.tok.start_pos
                       and t.type == self.tok.type), len(self.toks))
        self.prev = self.toks[self.i - 1] if self.i > 0 else None
        self.open = self._open_brackets(self.i)

    def _open_brackets(self, stop: int) -> list[Token]:
        stack: list[Token] = []
        for tok in self.toks[:stop]:
            if tok.type in _PAIRS:
                stack.append(tok)
            elif tok.type in _PAIRS.values() and stack:
                stack.pop()
        return stack

    def span(self, tok: Token) -> Span:
        """The place of a token (for the end of a line: just after its last character)."""
        return Span(self.file, tok.line, tok.column, tok.end_line, tok.end_column, self.text)

    def error(self, message: str, at: Token, hint: str | None = None, notes=()) -> ParseError:
        """A ParseError at a token."""
        return ParseError(message, self.span(at), hint=hint, notes=notes)

    def starts_statement(self, k: int) -> bool:
        """Whether token k is the first of a statement or item."""
        return k == 0 or self.toks[k - 1].type in ("_NL", "LBRACE")

    @staticmethod
    def describe(tok: Token) -> str:
        """A token as a message names it: `name "h"`, `keyword "graph"`, `"+"`, `the end of..."""
        if tok.type in ("_NL", "$END"):
            return _WORDS[tok.type]
        if tok.type in _KEYWORD:
            return f'keyword "{tok}"'
        if tok.type in ("NAME", "NUMBER", "STRING"):
            return f"{tok.type.lower()} {tok}" if tok.type == "STRING" else \
                f'{tok.type.lower()} "{tok}"'
        return f'"{tok}"'

    def expected_suffix(self) -> str:
        """`: expected "=" or a name` when Lark's expected set is short enough to help."""
        shown = set()
        for name in self.expected:
            if name in _WORDS:
                shown.add(_WORDS[name] if name not in ("_NL", "$END") else "the " + _WORDS[name])
            else:
                try:
                    shown.add(f'"{larkparser.parser().get_terminal(name).pattern.value}"')
                except KeyError:
                    continue
        if not shown or len(shown) > 6:
            return ""
        words = sorted(shown, key=lambda w: (not w.startswith('"'), w))
        listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
        return f": expected {listed}"


def _brackets(ctx: _Context) -> ParseError | None:
    """An unclosed, mismatched or stray bracket explains most errors that come after it."""
    stack: list[Token] = []
    for k, tok in enumerate(ctx.toks):
        if tok.type in _PAIRS:
            stack.append(tok)
        elif tok.type in _PAIRS.values():
            opener = stack.pop() if stack else None
            if opener is not None and _PAIRS[opener.type] == tok.type:
                continue
            if opener is not None and opener.type != "LBRACE" and opener.start_pos < \
                    ctx.tok.start_pos and (tok.type == "RBRACE" or k > ctx.i):
                return _unclosed(ctx, opener)
            if k != ctx.i:
                return None
            if opener is None:
                return ctx.error(f'"{tok}" closes nothing: no bracket or block is open here', tok)
            want = {"LPAR": ")", "LSQB": "]", "LBRACE": "}"}[opener.type]
            return ctx.error(f'expected "{want}" to close the "{opener}" of line {opener.line}, '
                             f'found "{tok}"', tok,
                             notes=((f'the "{opener}" opens here', ctx.span(opener)),))
    if not stack or stack[-1].start_pos >= ctx.tok.start_pos:
        return None
    opener = stack[-1]
    if opener.type != "LBRACE":
        return _unclosed(ctx, opener)
    if ctx.tok.type not in ("$END", "GRAPH", "LAYER", "DATA", "TRAIN", "EVALUATE"):
        return None
    header = re.search(r"\b(graph|layer|data|train|evaluate)\s+([A-Za-z_]\w*)",
                       ctx.text[:opener.start_pos].rsplit("\n", 1)[-1])
    what = f'{header.group(1)} "{header.group(2)}"' if header else "this block"
    where = "the file ends" if ctx.tok.type == "$END" else f'"{ctx.tok}" begins a new item'
    return ctx.error(f'expected "}}" to close the block of {what}: {where} inside it', ctx.tok,
                     hint='close the block with "}" on a line of its own',
                     notes=(("the block opens here", ctx.span(opener)),))


def _unclosed(ctx: _Context, opener: Token) -> ParseError:
    closer = ")" if opener.type == "LPAR" else "]"
    return ctx.error(f'"{opener}" is never closed', opener,
                     hint=f'close it with "{closer}"; while a bracket is open, the statement '
                          "goes on over the following lines")


def _keyword_as_name(ctx: _Context) -> ParseError | None:
    if "NAME" not in ctx.expected:
        return None
    word = ctx.tok if ctx.tok.type in _KEYWORD else None
    if word is None and ctx.prev is not None and ctx.prev.type in _KEYWORD \
            and ctx.tok.type in ("EQUAL", "COLON"):
        word = ctx.prev  # `graph = 3`: the keyword was taken as the start of an item
    if word is None:
        return None
    return ctx.error(f'"{word}" is a keyword and cannot be used as a name', word,
                     hint=f'choose another name, such as "{word}_" or "my_{word}"')


def _top_level(ctx: _Context) -> ParseError | None:
    if "GRAPH" not in ctx.expected:  # only at the top level may a graph begin
        return None
    tok = ctx.tok
    if tok.type in ("PLACEHOLDER", "VARIABLE", "CONSTANT", "RETURN"):
        return ctx.error(f'"{tok}" outside any graph', tok,
                         hint='statements go inside a block: graph NAME { ... }')
    if tok.type != "NAME":
        return ctx.error('expected "let", "graph", "layer", "data", "train" or "evaluate", found '
                         f"{ctx.describe(tok)}", tok)
    after = ctx.toks[ctx.i + 1] if ctx.i + 1 < len(ctx.toks) else None
    if after is not None and after.type == "EQUAL":
        return ctx.error(f'the statement "{tok} = ..." is outside any block', tok,
                         hint=f'put it inside "graph NAME {{ ... }}", or write "let {tok} = ..."'
                              " for a compile-time constant")
    hint = did_you_mean(str(tok), grammar.ITEM_KEYWORDS)
    if hint:
        return ctx.error(f'unknown keyword "{tok}"', tok, hint=hint)
    return ctx.error(f'expected "let", "graph", "layer", "data", "train" or "evaluate", found '
                     f"{ctx.describe(tok)}", tok)


def _statement_start(ctx: _Context) -> ParseError | None:
    """`h Dense(x, 4)` (a missing "=") or `placehoder x: ...` (a misspelled keyword)."""
    prev = ctx.prev
    if prev is None or prev.type != "NAME" or "EQUAL" not in ctx.expected \
            or not ctx.starts_statement(ctx.i - 1):
        return None
    hint = did_you_mean(str(prev), grammar.STMT_KEYWORDS)
    if hint and ctx.tok.type == "NAME":
        return ctx.error(f'unknown keyword "{prev}"', prev, hint=hint)
    return ctx.error(f'expected "=" after the name "{prev}"', ctx.tok,
                     hint=f'a statement in a block is "{prev} = EXPR"' if ctx.open else None)


def _missing_colon(ctx: _Context) -> ParseError | None:
    prev, k = ctx.prev, ctx.i - 2
    if "COLON" not in ctx.expected or prev is None or prev.type != "NAME" or k < 0 \
            or ctx.toks[k].type not in ("PLACEHOLDER", "VARIABLE", "CONSTANT"):
        return None
    line = ctx.text.split("\n")[prev.line - 1]
    fixed = (line[:prev.end_column - 1] + ":" + line[prev.end_column - 1:]).strip()
    return ctx.error(f'expected ":" and a type after the {ctx.toks[k]} name "{prev}"', ctx.tok,
                     hint=f'write "{fixed}"')


def _chained_comparison(ctx: _Context) -> ParseError | None:
    if ctx.tok.type not in _COMPARE:
        return None
    depth = 0
    for tok in reversed(ctx.toks[:ctx.i]):  # back to the start of this operand list
        if tok.type in ("RPAR", "RSQB"):
            depth += 1
        elif tok.type in ("LPAR", "LSQB"):
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and tok.type in ("_NL", "LBRACE", "COMMA", "EQUAL", "COLON"):
            break
        elif depth == 0 and tok.type in _COMPARE:
            return ctx.error("comparisons cannot be chained", ctx.tok,
                             hint="compare two values at a time; to compare the result of a "
                                  "comparison, parenthesize it: (a < b) == c")
    return None


def _trailing_operator(ctx: _Context) -> ParseError | None:
    prev = ctx.prev
    if prev is None or prev.type not in _OPERATORS or ctx.tok.type in _ATOMS | {"LPAR", "LSQB"}:
        return None
    hint = None
    if ctx.tok.type in ("_NL", "$END"):
        hint = "to go on with an expression on the next line, wrap it in parentheses"
    return ctx.error(f'expected an expression after "{prev}"', prev, hint=hint)


def _missing_comma(ctx: _Context) -> ParseError | None:
    """Two expressions side by side: a missing "," in brackets, else a missing operator."""
    if ctx.tok.type not in _ATOMS or ctx.prev is None or ctx.prev.type not in _ENDS_EXPR:
        return None
    if ctx.open and ctx.open[-1].type != "LBRACE":
        return ctx.error(f'expected "," before {ctx.describe(ctx.tok)}', ctx.tok,
                         hint="separate the items in brackets with commas")
    return ctx.error(f"expected an operator or the end of the line before {ctx.describe(ctx.tok)}",
                     ctx.tok, hint="one statement a line")


_example_keys: dict = {}


def _example_table(lark) -> dict:
    """(parser state, token type) and (parser state, None) -> the example's message, built once
    per parser: LALR state numbers are those of the parser that failed, so the examples are
    parsed by that same parser (its transformer may see partial trees of them)."""
    table = _example_keys.get(id(lark))
    if table is None:
        table = {}
        for label, examples in _EXAMPLES.items():
            for example in examples:
                try:
                    lark.parse(example)
                except UnexpectedInput as err:
                    position = getattr(getattr(err, "state", None), "position", None)
                    table.setdefault((position, err.token.type), label)
                    table.setdefault((position, None), label)
                except Exception:  # noqa: BLE001  (a transformer's complaint about a fragment)
                    continue
        _example_keys[id(lark)] = table
    return table


def _from_examples(ctx: _Context) -> ParseError | None:
    table = _example_table(ctx.lark)
    label = table.get((ctx.state, ctx.tok.type)) or table.get((ctx.state, None))
    if label is None or ctx.state is None:
        return None
    at, message, hint = label
    if at == "prev" and ctx.prev is None:
        return None
    fields = {"prev": ctx.prev, "tok": ctx.tok}
    return ctx.error(message.format(**fields), ctx.prev if at == "prev" else ctx.tok,
                     hint=hint.format(**fields) if hint else None)
