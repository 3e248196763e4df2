"""Problems as LSP diagnostics: the range from the error's Span (1-based in tensorlang, 0-based
in LSP), the severity, the error's class as the code, and its notes and hint as related
information (a note in the prelude points into prelude.tl)."""

from __future__ import annotations

from lsprotocol import types as T

from .analysis import Analysis, Problem
from .positions import Doc

SEVERITY = {"error": T.DiagnosticSeverity.Error, "warning": T.DiagnosticSeverity.Warning,
            "information": T.DiagnosticSeverity.Information}


def diagnostic(doc: Doc, p: Problem) -> T.Diagnostic:
    """One problem as a diagnostic of this buffer."""
    here = p.span if p.span is not None and p.span.file == doc.file else None
    rng = doc.range(here)
    own = T.Location(doc.uri, rng)
    related = []
    if p.span is not None and here is None:  # a problem placed in another file (the prelude)
        elsewhere = doc.location(p.span)
        if elsewhere is not None:
            related.append(T.DiagnosticRelatedInformation(elsewhere, "the problem is here"))
    for text, span in p.notes:
        where = doc.location(span) if span is not None else None
        related.append(T.DiagnosticRelatedInformation(where or own, text))
    if p.hint:
        related.append(T.DiagnosticRelatedInformation(own, f"hint: {p.hint}"))
    return T.Diagnostic(range=rng, message=p.message, severity=SEVERITY[p.severity],
                        source="tensorlang", code=p.kind or None,
                        related_information=related or None)


def diagnostics(doc: Doc, a: Analysis) -> list[T.Diagnostic]:
    """Every problem of an analysis, in order."""
    return [diagnostic(doc, p) for p in a.problems]
