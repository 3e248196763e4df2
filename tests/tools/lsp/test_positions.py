"""tools/lsp/positions.py: documents' file names from URIs, code units in each encoding, LSP
positions (0-based, in code units) to and from 1-based character columns, ranges of at least
one character, and locations in the buffer, the prelude or another file."""

from __future__ import annotations

import pytest

T = pytest.importorskip("lsprotocol.types", reason="the lsp extra is not installed")

from tensorlang.source import Span  # noqa: E402
from tensorlang.tools.lsp import positions as P  # noqa: E402

TEXT = "let a = 1\nlet s = \"\U0001F600é\" # x\n\nlast"


@pytest.mark.parametrize("uri, file", [
    ("file:///work/m.tl", "/work/m.tl"), ("file:///a%20b/m.tl", "/a b/m.tl"),
    ("untitled:Untitled-1", "untitled:Untitled-1"),
])
def test_file_of(uri, file):
    assert P.file_of(uri) == file


@pytest.mark.parametrize("encoding, n", [("utf-16", 5), ("utf-8", 8), ("utf-32", 4)])
def test_units(encoding, n):
    assert P.units("a\U0001F600é ", encoding) == n  # the emoji: 2 UTF-16 units, 4 bytes; é: 2 bytes


def test_place_and_position_are_inverse_in_every_encoding():
    for encoding in ("utf-16", "utf-8", "utf-32"):
        doc = P.Doc("file:///m.tl", TEXT, encoding)
        for line, text in enumerate(doc.lines, 1):
            for col in range(1, len(text) + 2):
                pos = doc.position(line, col)
                assert doc.place(pos) == (line, col), (encoding, line, col)


def test_positions_count_code_units():
    doc = P.Doc("file:///m.tl", TEXT)
    after_emoji = doc.position(2, 11)  # `let s = "` is 9 characters, then the emoji
    assert (after_emoji.line, after_emoji.character) == (1, 11)
    assert P.Doc("file:///m.tl", TEXT, "utf-8").position(2, 11).character == 13


def test_positions_outside_the_text_are_clamped():
    doc = P.Doc("file:///m.tl", TEXT)
    assert doc.position(0, 5) == T.Position(0, 0)
    assert doc.position(9, 1) == T.Position(3, 4)  # the end of the last line
    assert doc.place(T.Position(7, 3)) == (8, 1)
    assert doc.place(T.Position(0, 99)) == (1, 10)


def test_range_of_a_span_is_at_least_one_character():
    doc = P.Doc("file:///m.tl", TEXT)
    assert doc.range(Span("/m.tl", 1, 5, 1, 6)) == T.Range(T.Position(0, 4), T.Position(0, 5))
    assert doc.range(Span("/m.tl", 1, 5, 1, 5)) == T.Range(T.Position(0, 4), T.Position(0, 5))
    assert doc.range(Span("/m.tl", 1, 1, 2, 4)) == T.Range(T.Position(0, 0), T.Position(1, 3))
    assert doc.range(None) == T.Range(T.Position(0, 0), T.Position(0, 0))
    assert doc.whole() == T.Range(T.Position(0, 0), T.Position(3, 4))


def test_locations_in_the_buffer_the_prelude_and_other_files():
    doc = P.Doc("file:///m.tl", TEXT)
    here = doc.location(Span("/m.tl", 1, 5, 1, 6))
    assert here.uri == "file:///m.tl" and here.range.start == T.Position(0, 4)
    prelude_text = P.prelude_path().read_text(encoding="utf-8")
    inside = doc.location(Span(P.PRELUDE, 2, 1, 2, 4, prelude_text))
    assert inside.uri == P.prelude_path().as_uri() and inside.range.start.line == 1
    assert P.prelude_path().name == "prelude.tl" and P.prelude_path().is_file()
    other = doc.location(Span("/elsewhere/o.tl", 3, 1, 3, 2, "a\nb\nc\n"))
    assert other.uri == "file:///elsewhere/o.tl" and other.range.start.line == 2
    assert doc.location(Span("relative.tl", 1, 1)) is None
    assert doc.location(None) is None and doc.location(Span("/m.tl", 0, 0)) is None
