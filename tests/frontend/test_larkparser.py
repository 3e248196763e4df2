"""frontend/larkparser.py: the parser Lark builds (the table's source, the errors' explainer): its
lexer and postlexer (grammar.lex and grammar.close_lines with Lark's tokens), its place for a
bad character, and the private cache of Lark's table."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from lark import Lark
from lark.exceptions import UnexpectedCharacters

from tensorlang.frontend import grammar, larkparser


def test_a_character_no_terminal_matches_is_reported_where_it_is():
    with pytest.raises(UnexpectedCharacters) as info:
        list(larkparser.tokens("let a = 1\nb = $x\n"))
    assert (info.value.line, info.value.column) == (2, 5)


def test_one_postlexer_serves_interleaved_streams():
    post = larkparser.LinePostLexer()
    lexer = larkparser.Lexer(larkparser.parser().lexer_conf)
    a = post.process(lexer.lex("f(\nx)\n"))
    b = post.process(lexer.lex("y\nz\n"))
    first = [next(a).type, next(a).type]  # inside the open ( of stream a
    rest_b = [t.type for t in b]
    assert first == ["NAME", "LPAR"] and rest_b == ["NAME", "_NL", "NAME", "_NL"]
    assert [t.type for t in a] == ["NAME", "RPAR", "_NL"]


# ------------------------------------------------------------------ parser and cache
def test_the_parser_is_built_once_and_parses_to_a_tree():
    p = larkparser.parser()
    assert p is larkparser.parser() and isinstance(p, Lark)
    tree = p.parse("let a = 1\n")
    assert tree.data == "start"


def test_the_cache_lives_in_the_users_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = Path(larkparser.cache_path("grammar text"))
    assert path.parent == tmp_path / "cache" / "tensorlang"
    assert path.name.startswith("grammar-") and path.suffix == ".lark"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700  # a pickle only we may write
    assert larkparser.cache_path("grammar text") == str(path)
    assert larkparser.cache_path("another grammar") != str(path)


def test_no_cache_in_a_folder_of_another_user_or_one_that_cannot_be_made(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(os, "getuid", lambda: os.stat(tmp_path).st_uid + 1)
    assert larkparser.cache_path("g") is None
    monkeypatch.undo()
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the folder should be
    assert larkparser.cache_path("g") is None


def test_a_cache_folder_others_may_write_into_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "tensorlang"
    folder.mkdir()
    folder.chmod(0o777)
    path = larkparser.cache_path("g")
    assert path is None or stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_building_the_parser_writes_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = Path(grammar.grammar_path()).read_text(encoding="utf-8")
    build = larkparser.parser.__wrapped__  # past functools.cache: a fresh Lark
    first = build()
    cached = Path(larkparser.cache_path(text))
    assert cached.is_file() and cached.stat().st_size > 0
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temporary left
    assert build().parse("let a = [1,\n2]\n") == first.parse("let a = [1,\n2]\n")


def test_a_second_build_reads_the_cache_the_first_wrote(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = Path(grammar.grammar_path()).read_text(encoding="utf-8")
    build = larkparser.parser.__wrapped__
    build()
    cached = Path(larkparser.cache_path(text))
    written = cached.stat().st_mtime_ns
    build()
    assert cached.stat().st_mtime_ns == written  # loaded, not written again
