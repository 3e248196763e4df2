"""tools/lsp/diagnostics.py: a problem as an LSP diagnostic: its range in the buffer, severity,
the error's class as the code, notes and the hint as related information, and a problem placed
in the prelude pointed at from the buffer's start."""

from __future__ import annotations

import pytest

T = pytest.importorskip("lsprotocol.types", reason="the lsp extra is not installed")

from tensorlang.source import Span  # noqa: E402
from tensorlang.tools.lsp.analysis import Analysis, Problem, analyse  # noqa: E402
from tensorlang.tools.lsp.diagnostics import SEVERITY, diagnostic, diagnostics  # noqa: E402
from tensorlang.tools.lsp.positions import PRELUDE, Doc, prelude_path  # noqa: E402

TEXT = "graph g {\n    placeholder x: f32[2, 3]\n    y = x @ x\n}\n"
FILE, URI = "/work/m.tl", "file:///work/m.tl"


def test_an_error_with_its_range_code_notes_and_hint():
    doc = Doc(URI, TEXT)
    p = Problem("error", "inner dims differ", Span(FILE, 3, 9, 3, 14, TEXT), hint="transpose",
                notes=(("x is declared here", Span(FILE, 2, 17, 2, 18, TEXT)),
                       ("no place", None)), kind="ShapeError")
    d = diagnostic(doc, p)
    assert d.range == T.Range(T.Position(2, 8), T.Position(2, 13))
    assert (d.message, d.severity, d.code, d.source) == (
        "inner dims differ", T.DiagnosticSeverity.Error, "ShapeError", "tensorlang")
    related = [(r.message, r.location.range.start.line) for r in d.related_information]
    assert related == [("x is declared here", 1), ("no place", 2), ("hint: transpose", 2)]


def test_a_warning_without_notes_has_no_related_information():
    d = diagnostic(Doc(URI, TEXT), Problem("warning", "w", Span(FILE, 1, 7, 1, 8)))
    assert d.severity == T.DiagnosticSeverity.Warning and d.related_information is None
    assert d.code is None  # no class name given
    assert set(SEVERITY) == {"error", "warning", "information"}


def test_a_problem_in_the_prelude_is_shown_at_the_buffers_start_and_points_there():
    prelude_text = prelude_path().read_text(encoding="utf-8")
    p = Problem("error", "inside Dense", Span(PRELUDE, 5, 5, 5, 9, prelude_text))
    d = diagnostic(Doc(URI, TEXT), p)
    assert d.range == T.Range(T.Position(0, 0), T.Position(0, 0))
    (r,) = d.related_information
    assert r.message == "the problem is here" and r.location.uri == prelude_path().as_uri()
    assert r.location.range.start.line == 4


def test_diagnostics_of_an_analysis_in_order():
    a = analyse(TEXT, FILE)
    (d,) = diagnostics(Doc(URI, TEXT), a)
    assert d.code == "ShapeError" and d.range.start == T.Position(2, 8)
    assert diagnostics(Doc(URI, ""), Analysis("", FILE)) == []
