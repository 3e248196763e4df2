"""frontend/grammar.py: where the grammar lives, the one-regex lexer, the postlexer's newline
rules, the token stream the parser sees, and the private cache of the parse table."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from lark import Lark
from lark.exceptions import UnexpectedCharacters

from tensorlang.frontend import grammar


def toks(text: str) -> list[tuple[str, str]]:
    return [(t.type, t.value) for t in grammar.tokens(text)]


def kinds(text: str) -> list[str]:
    return [t.type for t in grammar.tokens(text)]


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
    t = list(grammar.tokens("let a = 1\n  b = xy\n"))
    xy = t[-2]
    assert (xy.value, xy.line, xy.column, xy.end_line, xy.end_column) == ("xy", 2, 7, 2, 9)
    assert (xy.start_pos, xy.end_pos) == (16, 18)


def test_a_character_no_terminal_matches_is_reported_where_it_is():
    with pytest.raises(UnexpectedCharacters) as info:
        list(grammar.tokens("let a = 1\nb = $x\n"))
    assert (info.value.line, info.value.column) == (2, 5)


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
    last = list(grammar.tokens("let a = 10"))[-1]
    assert (last.type, last.value, last.line, last.column) == ("_NL", "", 1, 11)
    assert kinds("let a = 1\n\n\n") == ["LET", "NAME", "EQUAL", "NUMBER", "_NL"]


def test_an_empty_or_blank_file_has_no_tokens():
    assert toks("") == [] and toks("\n\n# only a comment\n") == []


def test_an_unmatched_closing_bracket_is_left_to_the_parser():
    # the stray `)` pops nothing; the newline after it still ends the statement
    assert kinds("a )\nb\n") == ["NAME", "RPAR", "_NL", "NAME", "_NL"]


def test_one_postlexer_serves_interleaved_streams():
    post = grammar.LinePostLexer()
    lexer = grammar.Lexer(grammar.parser().lexer_conf)
    a = post.process(lexer.lex("f(\nx)\n"))
    b = post.process(lexer.lex("y\nz\n"))
    first = [next(a).type, next(a).type]  # inside the open ( of stream a
    rest_b = [t.type for t in b]
    assert first == ["NAME", "LPAR"] and rest_b == ["NAME", "_NL", "NAME", "_NL"]
    assert [t.type for t in a] == ["NAME", "RPAR", "_NL"]


# ------------------------------------------------------------------ parser and cache
def test_the_parser_is_built_once_and_parses_to_a_tree():
    p = grammar.parser()
    assert p is grammar.parser() and isinstance(p, Lark)
    tree = p.parse("let a = 1\n")
    assert tree.data == "start"


def test_the_cache_lives_in_the_users_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = Path(grammar.cache_path("grammar text"))
    assert path.parent == tmp_path / "cache" / "tensorlang"
    assert path.name.startswith("grammar-") and path.suffix == ".lark"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700  # a pickle only we may write
    assert grammar.cache_path("grammar text") == str(path)
    assert grammar.cache_path("another grammar") != str(path)


def test_no_cache_in_a_folder_of_another_user_or_one_that_cannot_be_made(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(os, "getuid", lambda: os.stat(tmp_path).st_uid + 1)
    assert grammar.cache_path("g") is None
    monkeypatch.undo()
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the folder should be
    assert grammar.cache_path("g") is None


def test_a_cache_folder_others_may_write_into_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "tensorlang"
    folder.mkdir()
    folder.chmod(0o777)
    path = grammar.cache_path("g")
    assert path is None or stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_building_the_parser_writes_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = Path(grammar.grammar_path()).read_text(encoding="utf-8")
    build = grammar.parser.__wrapped__  # past functools.cache: a fresh Lark
    first = build()
    cached = Path(grammar.cache_path(text))
    assert cached.is_file() and cached.stat().st_size > 0
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temporary left
    assert build().parse("let a = [1,\n2]\n") == first.parse("let a = [1,\n2]\n")


def test_a_second_build_reads_the_cache_the_first_wrote(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = Path(grammar.grammar_path()).read_text(encoding="utf-8")
    build = grammar.parser.__wrapped__
    build()
    cached = Path(grammar.cache_path(text))
    written = cached.stat().st_mtime_ns
    build()
    assert cached.stat().st_mtime_ns == written  # loaded, not written again
