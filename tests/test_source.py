"""source.py: spans, their `FILE:LINE:COL`, the caret under the source line (tabs included),
merging and finding a name in a block header."""

from __future__ import annotations

from types import SimpleNamespace

from tensorlang.source import UNKNOWN, WIDTH, Span, name_span, span_of, visible

TEXT = "let a = 1\ngraph g {\n\tz = x @ W\n}\n"


def test_where_and_repr_name_the_start():
    s = Span("m.tl", 3, 5, 3, 10, TEXT)
    assert s.where == "m.tl:3:5"
    assert repr(s) == "Span(m.tl:3:5)"


def test_the_source_text_does_not_make_spans_differ():
    a, b = Span("m.tl", 1, 2, 1, 4, TEXT), Span("m.tl", 1, 2, 1, 4, None)
    assert a == b and hash(a) == hash(b)
    assert a != Span("m.tl", 1, 2, 1, 5, TEXT)
    assert a != Span("n.tl", 1, 2, 1, 4, TEXT)
    assert a.__eq__("m.tl:1:2") is NotImplemented


def test_source_line_is_the_first_line_of_the_span():
    assert Span("m.tl", 2, 1, 3, 4, TEXT).source_line() == "graph g {"
    assert Span("m.tl", 9, 1, 9, 2, TEXT).source_line() is None  # past the end
    assert Span("m.tl", 0, 0).source_line() is None
    assert Span("m.tl", 1, 1).source_line() is None  # no text known


def test_snippet_underlines_the_span():
    s = Span("m.tl", 1, 5, 1, 6, TEXT)
    assert s.snippet() == "    let a = 1\n        ^"
    whole = Span("m.tl", 1, 1, 1, 10, TEXT)
    assert whole.snippet() == "    let a = 1\n    ^^^^^^^^^"


def test_snippet_places_the_caret_under_tab_expanded_text():
    # line 3 is "\tz = x @ W": the tab expands to 4 columns, so `x @ W` (columns 6-10 counted
    # in characters) starts under the 9th character of the expanded line
    s = Span("m.tl", 3, 6, 3, 11, TEXT)
    assert s.snippet() == "        z = x @ W\n" + " " * 4 + " " * 8 + "^^^^^"
    mid = Span("t.tl", 1, 3, 1, 4, "a\tb = 1")  # `b` after a tab that ends at column 4
    assert mid.snippet() == "    a   b = 1\n        ^"


def test_snippet_of_a_multiline_or_empty_span_is_one_caret():
    assert Span("m.tl", 2, 7, 4, 2, TEXT).snippet() == "    graph g {\n          ^"
    assert Span("m.tl", 1, 3, 1, 3, TEXT).snippet() == "    let a = 1\n      ^"


def test_snippet_never_runs_past_the_line_end():
    s = Span("m.tl", 1, 9, 1, 40, TEXT)  # ends far beyond "let a = 1"
    assert s.snippet() == "    let a = 1\n            ^"


def test_snippet_is_empty_without_source():
    assert Span("m.tl", 1, 1, 1, 2).snippet() == ""
    assert UNKNOWN.snippet() == "" and UNKNOWN.where == "<unknown>:0:0"


def test_merge_runs_from_the_start_of_one_to_the_end_of_the_other():
    a, b = Span("m.tl", 1, 5, 1, 6, TEXT), Span("m.tl", 3, 2, 3, 11, TEXT)
    m = a.merge(b)
    assert (m.line, m.column, m.end_line, m.end_column) == (1, 5, 3, 11)
    assert m.text is TEXT and m.file == "m.tl"
    assert a.merge(None) is a


def test_span_of_reads_lark_positions_and_fills_missing_ends():
    meta = SimpleNamespace(line=2, column=3, end_line=2, end_column=8)
    assert span_of(meta, "m.tl", TEXT) == Span("m.tl", 2, 3, 2, 8)
    bare = SimpleNamespace(line=4, column=6, end_line=None, end_column=None)
    s = span_of(bare, "m.tl", TEXT)
    assert (s.end_line, s.end_column, s.text) == (4, 7, TEXT)


def test_name_span_finds_the_name_after_the_keyword():
    header = Span("m.tl", 2, 1, 4, 2, TEXT)
    s = name_span(header, "graph", "g")
    assert (s.line, s.column, s.end_line, s.end_column) == (2, 7, 2, 8)
    text = "train train_net {\n}\n"  # the name repeats the keyword: look after it
    s = name_span(Span("t.tl", 1, 1, 2, 2, text), "train", "train_net")
    assert (s.column, s.end_column) == (7, 16)


def test_name_span_falls_back_to_the_whole_span():
    header = Span("m.tl", 2, 1, 4, 2, TEXT)
    assert name_span(header, "graph", "missing") is header
    no_text = Span("m.tl", 2, 1, 4, 2)
    assert name_span(no_text, "graph", "g") is no_text


def test_snippets_escape_control_and_bidi_characters():
    text = 'let a = "\x1b[31mred\u202e" + 1\n'
    snip = Span("f.tl", 1, 9, 1, 22, text).snippet()
    assert "\x1b" not in snip and "\u202e" not in snip
    line, carets = snip.splitlines()
    assert line == '    let a = "\\x1b[31mred\\u202e" + 1'
    assert carets == "    " + " " * 8 + "^" * 21  # under the escaped string, quotes included


def test_a_long_line_is_cut_around_the_span():
    text = "x" * 300 + " bad " + "y" * 300 + "\n"
    line, carets = Span("f.tl", 1, 302, 1, 305, text).snippet().splitlines()
    assert len(line) <= 4 + 3 + WIDTH + 3 and line.startswith("    ...") and line.endswith("...")
    at = carets.index("^")
    assert line[at:at + 3] == "bad" and carets.strip() == "^^^"


def test_visible_keeps_ordinary_text():
    assert visible("a\tb ü ∑ 🙂") == "a   b ü ∑ 🙂"
    assert visible("\x00\x7f\u2066") == "\\x00\\x7f\\u2066"
