"""Parse errors: exact golden messages, and never a traceback or a raw Lark message.

Each tests/golden/parse_errors/NAME.tl is a small bad program; NAME.err holds the exact
`ParseError.format()` text for it, the file named as `NAME.tl`. To rewrite the goldens after a
deliberate change of wording: TENSORLANG_UPDATE_GOLDEN=1 pytest tests/frontend/test_parse_errors.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tensorlang.errors import ParseError, TensorlangError
from tensorlang.frontend.parser import parse

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "parse_errors"
CASES = sorted(p.stem for p in GOLDEN.glob("*.tl"))
UPDATE = os.environ.get("TENSORLANG_UPDATE_GOLDEN") == "1"


def message(text: str, file: str) -> str:
    """The formatted ParseError for a text that must not parse."""
    with pytest.raises(ParseError) as info:
        parse(text, file)
    return info.value.format()


def test_there_are_enough_golden_cases():
    assert len(CASES) >= 12


@pytest.mark.parametrize("name", CASES)
def test_golden(name):
    text = (GOLDEN / f"{name}.tl").read_text(encoding="utf-8")
    got = message(text, f"{name}.tl")
    err = GOLDEN / f"{name}.err"
    if UPDATE:
        err.write_text(got + "\n", encoding="utf-8")
    assert got == err.read_text(encoding="utf-8").rstrip("\n")


# Bad programs beyond the goldens: each must give a ParseError whose text is ours, not Lark's.
MORE = [
    "graph {\n}\n", "graph g {\n", "graph g {\n x = \n}\n", "let a = (\n", "let a = )\n",
    "let a = [1, 2\n", "let a = f(,)\n", "let a = f(x,,y)\n", "let a = x[]\n",
    "let a = x[1:2:3:4]\n",
    "let = 3\n", "let let = 3\n", "layer L {\n}\n", "layer L(x:) {\n}\n", "layer (x) {}\n",
    "data d {\n placeholder x: [2]\n}\n", "train {\n}\n", "train g {\n data\n}\n",
    "graph g {\n variable w: [2]\n}\n", "graph g {\n variable w: [2] = 1 frozen frozen\n}\n",
    "graph g {\n constant c: = 1\n}\n", "graph g {\n placeholder x: f32[N,, 2]\n}\n",
    "graph g {\n placeholder x: [-1]\n}\n", "graph g {\n placeholder x: [2.5]\n}\n",
    "graph g {\n placeholder x: [N] = \n}\n", "let a = 1 +* 2\n", "let a = 1 ** \n",
    "let a = b.\n", "let a = b.1\n", "let a = 'single'\n", "let a = 1;\n", "let a = !b\n",
    "let a = b && c\n", "let a = \"x\\q\"\n", "let a = f(k = 1, k = 2)\n", "let a = 1 2\n",
    "graph g { x = 1 } graph h {}\n", "}\n", ")\n", "]\n", "{\n", "(\n", "...\n", "?\n",
    "graph g {\n x = ...\n}\n", "graph g {\n x = ?\n}\n", "let a = x[?]\n", "\t\tlet\n",
    "let a = \u00e9\n", "let a = 1\u00a0+ 2\n", "graph g {\n return\n}\n",
    "layer L() {\n return\n}\n",
    "# only a comment\n", "\n\n\n", "let a = 1 < 2 > 3\n", "let a = (1 < 2) > 3 < 4\n",
    "let a = f(x)(\n", "graph g {\n placeholder x f32\n}\n", "evaluate g {\n show = [p,\n}\n",
]


@pytest.mark.parametrize("text", MORE)
def test_more_bad_programs_give_our_message(text):
    got = message(text, "bad.tl")
    assert got.startswith("bad.tl:"), got
    assert "error: syntax error" not in got, got  # the fallback when explain() itself fails
    for leak in ("Token(", "Expected one of", "Unexpected token", "lark", "Traceback", "$END",
                 "_NL", "__ANON"):
        assert leak not in got, got


def test_the_error_carries_line_and_column():
    with pytest.raises(TensorlangError) as info:
        parse("graph g {\n    placeholder x f32[N, 2]\n}\n", "m.tl")
    err = info.value
    assert (err.line, err.column, err.span.file) == (2, 19, "m.tl")
    assert err.hint == 'write "placeholder x: f32[N, 2]"'


def test_deep_nesting_parses():  # the LALR parser and the AST builder do not recurse
    text = "let a = " + "(" * 3000 + "-1" + ")" * 3000 + "\n"
    assert parse(text, "deep.tl").items[0].value.op == "-"
