"""frontend/grammar.py: where the grammar lives, the one-regex lexer, the newline rules, the
token stream the parser sees (as lalr.tokens runs them; test_lalr.py holds them equal to Lark's)
and the private cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tensorlang.frontend import grammar, lalr


def toks(text: str) -> list[tuple[str, str]]:
    return [(t.type, t.value) for t in lalr.tokens(text)]


def kinds(text: str) -> list[str]:
    return [t.type for t in lalr.tokens(text)]


def test_grammar_path_is_the_lark_file():
    path = Path(grammar.grammar_path())
    assert path.name == grammar.GRAMMAR_FILE == "tensorlang.lark" and path.is_file()
    assert "start:" in path.read_text(encoding="utf-8")


def test_keywords_become_their_own_tokens_and_other_names_stay_names():
    assert toks("let hidden = 4") == [("LET", "let"), ("NAME", "hidden"), ("EQUAL", "="),
                                      ("NUMBER", "4"), ("_NL", "")]
    # op names and dtype names are plain names; a name that starts like a keyword is a name
    assert kinds("tanh f32 lets data_x trainer") == ["NAME"] * 5 + ["_NL"]
    assert kinds("train data evaluate frozen") == ["TRAIN", "DATA", "EVALUATE", "FROZEN", "_NL"]


def test_punctuation_is_matched_longest_first():
    assert toks("** * // / <= < >= > == = != ... . ? @ %") == [
        ("POW", "**"), ("STAR", "*"), ("DSLASH", "//"), ("SLASH", "/"), ("LE", "<="),
        ("LT", "<"), ("GE", ">="), ("GT", ">"), ("EQ", "=="), ("EQUAL", "="), ("NE", "!="),
        ("ELLIPSIS", "..."), ("DOT", "."), ("QMARK", "?"), ("AT", "@"), ("PERCENT", "%"),
        ("_NL", "")]


@pytest.mark.parametrize("text", ["1", "1.", ".5", "1e-3", "2.5E+4", "10"])
def test_numbers_are_one_token(text):
    assert toks(text) == [("NUMBER", text), ("_NL", "")]


def test_strings_comments_and_blanks():
    assert toks('x = "a # b\\"c"  # trailing\t\f\r') == [
        ("NAME", "x"), ("EQUAL", "="), ("STRING", '"a # b\\"c"'), ("_NL", "")]


def test_token_positions_count_lines_at_newlines():
    t = list(lalr.tokens("let a = 1\n  b = xy\n"))
    xy = t[-2]
    assert (xy.value, xy.line, xy.column, xy.end_line, xy.end_column) == ("xy", 2, 7, 2, 9)
    assert (xy.start_pos, xy.end_pos) == (16, 18)


# ------------------------------------------------------------------ the postlexer
def test_newlines_end_statements_and_runs_of_them_fold_into_one():
    text = "let a = 1\n\n\n# a comment line\n   \nlet b = 2\n"
    assert kinds(text) == ["LET", "NAME", "EQUAL", "NUMBER", "_NL"] * 2


def test_leading_newlines_are_dropped():
    assert kinds("\n\n# header\n\nlet a = 1\n") == ["LET", "NAME", "EQUAL", "NUMBER", "_NL"]


def test_a_line_continues_inside_parentheses_and_brackets():
    text = "y = f(a,\n      b)\nz = [1,\n     [2,\n      3]]\n"
    assert kinds(text).count("_NL") == 2
    assert kinds(text)[kinds(text).index("RPAR") + 1] == "_NL"


def test_newlines_inside_braces_separate_statements():
    text = "graph g {\n    a = 1\n    b = 2\n}\n"
    assert kinds(text) == ["GRAPH", "NAME", "LBRACE", "_NL", "NAME", "EQUAL", "NUMBER", "_NL",
                           "NAME", "EQUAL", "NUMBER", "_NL", "RBRACE", "_NL"]


def test_the_innermost_open_bracket_decides():
    # a brace opened inside parentheses keeps its newlines; after `)` they count again
    assert kinds("f({\n})\n") == ["NAME", "LPAR", "LBRACE", "_NL", "RBRACE", "RPAR", "_NL"]
    assert kinds("{ (a\n) \n}") == ["LBRACE", "LPAR", "NAME", "RPAR", "_NL", "RBRACE", "_NL"]


def test_a_file_without_a_final_newline_still_ends_its_last_statement():
    last = list(lalr.tokens("let a = 10"))[-1]
    assert (last.type, last.value, last.line, last.column) == ("_NL", "", 1, 11)
    assert kinds("let a = 1\n\n\n") == ["LET", "NAME", "EQUAL", "NUMBER", "_NL"]


def test_an_empty_or_blank_file_has_no_tokens():
    assert toks("") == [] and toks("\n\n# only a comment\n") == []


def test_an_unmatched_closing_bracket_is_left_to_the_parser():
    # the stray `)` pops nothing; the newline after it still ends the statement
    assert kinds("a )\nb\n") == ["NAME", "RPAR", "_NL", "NAME", "_NL"]


def test_streams_may_interleave():
    a = lalr.tokens("f(\nx)\n")
    b = lalr.tokens("y\nz\n")
    first = [next(a).type, next(a).type]  # inside the open ( of stream a
    rest_b = [t.type for t in b]
    assert first == ["NAME", "LPAR"] and rest_b == ["NAME", "_NL", "NAME", "_NL"]
    assert [t.type for t in a] == ["NAME", "RPAR", "_NL"]


def test_a_token_is_its_text_with_a_place():
    t = grammar.Token("NAME", "xy", 3, 1, 4, 1, 6, 5)
    assert t == "xy" and str(t) == t.value == "xy" and t.type == "NAME" and t[1:] == "y"
    place = (t.start_pos, t.line, t.column, t.end_line, t.end_column, t.end_pos)
    assert place == (3, 1, 4, 1, 6, 5)
    assert repr(t) == "Token('NAME', 'xy')"


def test_the_cache_file_is_named_by_a_hash_of_its_key(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    a = grammar.cache_file("tree", b"key", ".pickle")
    assert a == grammar.cache_file("tree", b"key", ".pickle")
    assert a != grammar.cache_file("tree", b"kez", ".pickle")
    name = Path(a).name
    assert name.startswith("tree-") and name.endswith(".pickle") and len(name) == 5 + 16 + 7
