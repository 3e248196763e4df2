"""frontend/lalr.py: the table Lark builds, run without Lark. Lark's own parser is the reference:
on every bundled program, on every golden error file and on thousands of mutated programs, the
driver gives the same syntax tree (spans included), the same builder error, or rejects exactly
where Lark raises; its tokens are Lark's tokens; its table is cached and rebuilt when broken."""

from __future__ import annotations

import marshal
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark.exceptions import UnexpectedInput

from tensorlang.errors import ParseError
from tensorlang.frontend import grammar, lalr, larkparser
from tensorlang.frontend import parser as P
from tensorlang.records import fields

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = sorted({*ROOT.glob("examples/**/*.tl"), *ROOT.glob("tensorlang/**/*.tl"),
                   *ROOT.glob("tests/**/*.tl")})


def outcome(run, text: str, file: str = "<test>"):
    """What a parse of text gives with P's builder: ("tree", items), ("error", message, span) for
    a builder's ParseError, or ("rejected",) when the text is not in the grammar."""
    with P._LOCK:
        P._BUILDER.file, P._BUILDER.text = file, text
        try:
            return ("tree", run(text))
        except ParseError as e:
            return ("error", e.message, e.span)
        except (lalr.Rejected, UnexpectedInput):
            return ("rejected",)
        finally:
            P._BUILDER.text = None


def by_lark(text: str):
    return larkparser.parser(P._BUILDER).parse(text)


def by_table(text: str):
    return lalr.Parser(P._BUILDER).parse(text)


def test_there_are_programs_to_compare():
    assert len(PROGRAMS) > 50


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_bundled_program_parses_as_lark_parses_it(path):
    text = path.read_text(encoding="utf-8")
    expected = outcome(by_lark, text, str(path))
    assert outcome(by_table, text, str(path)) == expected
    if expected[0] == "tree" and text.strip():
        assert expected[1]  # a real tree was compared, not two empty lists


def test_parse_gives_lark_s_tree_and_its_explained_error():
    text = (ROOT / "examples" / "xor.tl").read_text()
    assert P.parse(text, "xor.tl").items == tuple(outcome(by_lark, text, "xor.tl")[1])
    with pytest.raises(ParseError) as e:
        P.parse("let a = 1 < 2 < 3\n", "f.tl")
    assert "chain" in e.value.message and (e.value.line, e.value.column) == (1, 15)


def _mutated(text: str, rng: random.Random) -> str:
    """text with a few of its tokens deleted, duplicated, swapped or replaced by another's."""
    toks = [t for t in larkparser.tokens(text) if t.value]
    if not toks:
        return text
    pieces = [t.value for t in toks]
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(pieces))
        move = rng.choice(("delete", "duplicate", "swap", "replace"))
        if move == "delete":
            del pieces[k]
        elif move == "duplicate":
            pieces.insert(k, pieces[k])
        elif move == "swap" and k + 1 < len(pieces):
            pieces[k], pieces[k + 1] = pieces[k + 1], pieces[k]
        else:
            pieces[k] = rng.choice(pieces)
        if not pieces:
            return ""
    return " ".join(p if p != "\n" else "\n" for p in pieces)


SMALL = [p for p in PROGRAMS if "examples" in p.parts and p.stat().st_size < 4000]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SMALL), st.integers(0, 2 ** 32 - 1))
def test_mutated_programs_are_accepted_or_rejected_as_lark_does(path, seed):
    text = _mutated(path.read_text(encoding="utf-8"), random.Random(seed))
    assert outcome(by_table, text) == outcome(by_lark, text)


def test_the_mutations_reach_both_sides_of_the_grammar():
    rng = random.Random(0)
    kinds = {outcome(by_table, _mutated(p.read_text(), rng))[0] for p in SMALL for _ in range(3)}
    assert {"tree", "rejected"} <= kinds


@pytest.mark.parametrize("text", ["", "\n\n", "# only\n", "let", "let a = (1,\n", "a b c",
                                  "graph g {", "}", "let a = 1", "let a = 1 ++ 2\n",
                                  "let a = [1, 2,]\n", "let a = f(x, k = 2,)\n"])
def test_edge_texts_agree(text):
    assert outcome(by_table, text) == outcome(by_lark, text)


def test_tokens_are_lark_s_tokens():
    fields = ("type", "value", "start_pos", "line", "column", "end_line", "end_column", "end_pos")
    for path in PROGRAMS:
        text = path.read_text(encoding="utf-8")
        try:
            expected = [tuple(getattr(t, f) for f in fields) for t in larkparser.tokens(text)]
        except UnexpectedInput:
            with pytest.raises(lalr.Rejected):
                list(lalr.tokens(text))
            continue
        got = list(lalr.tokens(text))
        assert [tuple(getattr(t, f) for f in fields) for t in got] == expected
        assert all(isinstance(t, grammar.Token) and str(t) == t.value for t in got)


def test_a_character_no_terminal_matches_is_rejected():
    with pytest.raises(lalr.Rejected):
        list(lalr.tokens("let a = $\n"))


def test_the_exported_table_is_lark_s_table():
    lark_parser = larkparser.parser()
    t = lalr.export(lark_parser)
    lark_table = lark_parser.parser.parser.parser.parse_table
    assert len(t.states) == len(lark_table.states) and len(t.rules) == len(lark_parser.rules)
    shifts = sum(a >= 0 for s in t.states for a in s.values())
    reduces = sum(a < 0 for s in t.states for a in s.values())
    assert shifts and reduces
    assert {r.origin for r in t.rules} >= {"start", "graph", "expr", "postfix"}
    assert {r.callback for r in t.rules if r.origin == "postfix"} >= {"call", "index", "attr"}
    assert t.keywords["graph"] == "GRAPH" and "COMMENT" in t.ignore


# ------------------------------------------------------------------ the cached table
def _fresh_table(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    lalr.table.cache_clear()
    monkeypatch.setattr(lalr, "_lexer", lalr._lexer.__wrapped__)  # past functools.cache


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    _fresh_table(monkeypatch, tmp_path)
    yield tmp_path / "tensorlang"
    lalr.table.cache_clear()


def test_the_table_is_written_once_then_read(fresh, monkeypatch):
    first = lalr.table()
    [cached] = fresh.glob("lalr-*.marshal")
    assert [p.name for p in fresh.glob("lalr-*")] == [cached.name]  # no temporary left
    lalr.table.cache_clear()

    def no_export(_):
        raise AssertionError("exported again")

    monkeypatch.setattr(lalr, "export", no_export)
    again = lalr.table()
    assert again == first


@pytest.mark.parametrize("junk", [b"", b"not marshal", marshal.dumps((0, 1, 2)),
                                  marshal.dumps((99, (), (), 0, 0, "", {}, ()))])
def test_a_broken_or_foreign_cache_is_rebuilt(fresh, junk):
    expected = lalr.table()
    [cached] = fresh.glob("lalr-*.marshal")
    cached.write_bytes(junk)
    lalr.table.cache_clear()
    assert lalr.table() == expected
    assert cached.read_bytes() != junk  # rewritten whole


def test_no_cache_folder_still_parses(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    _fresh_table(monkeypatch, blocker)  # a file where the folder should be: nothing is cached
    try:
        assert outcome(by_table, "let a = 1\n") == outcome(by_lark, "let a = 1\n")
    finally:
        lalr.table.cache_clear()


def test_the_cache_key_follows_the_grammar_and_the_driver(monkeypatch):
    key = lalr._key()
    monkeypatch.setattr(grammar, "grammar_text", lambda: "start: NAME\n")
    assert lalr._key() != key


def _tokens_in(x) -> list:
    if isinstance(x, str):
        return [x] if type(x) is not str else []
    if isinstance(x, (list, tuple)):
        return [t for y in x for t in _tokens_in(y)]
    if hasattr(type(x), "__record_fields__"):
        return [t for f in fields(x) for t in _tokens_in(getattr(x, f.name))]
    return []


def test_no_token_is_left_in_a_tree():
    # a tree holds plain str (it is pickled into the cache, and compared with names)
    for path in SMALL + [ROOT / "tensorlang" / "compiler" / "prelude.tl"]:
        tree = P.parse(path.read_text(encoding="utf-8"), str(path))
        assert _tokens_in(tree) == []
    assert _tokens_in([grammar.Token("NAME", "a", 0, 1, 1, 1, 2, 1)])  # the probe sees one
