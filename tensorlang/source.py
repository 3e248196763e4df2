"""Source positions: a Span names a stretch of a .tl file; snippet() draws the caret under it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A place in a source file: 1-based line and column of the start and of the end."""

    file: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0
    text: str | None = None  # the whole source text, so an error can quote the line

    def __repr__(self) -> str:
        return f"Span({self.file}:{self.line}:{self.column})"

    def __eq__(self, other: object) -> bool:  # the source text does not make two spans differ
        if not isinstance(other, Span):
            return NotImplemented
        return (self.file, self.line, self.column, self.end_line, self.end_column) == (
            other.file, other.line, other.column, other.end_line, other.end_column)

    def __hash__(self) -> int:
        return hash((self.file, self.line, self.column, self.end_line, self.end_column))

    @property
    def where(self) -> str:
        """`FILE:LINE:COL`, the prefix of every message about this place."""
        return f"{self.file}:{self.line}:{self.column}"

    def source_line(self) -> str | None:
        """The text of the span's first line, or None when the source is not known."""
        if self.text is None:
            return None
        lines = self.text.splitlines()
        if 1 <= self.line <= len(lines):
            return lines[self.line - 1]
        return None

    def snippet(self) -> str:
        """The source line and a caret line under the span (empty when there is no source)."""
        line = self.source_line()
        if line is None:
            return ""
        start = max(self.column, 1)
        end = self.end_column if self.end_line == self.line and self.end_column > start \
            else start + 1
        # columns count characters; the caret is placed under the tab-expanded text
        lead = len(line[:start - 1].expandtabs(4))
        width = len(line[:end - 1].expandtabs(4)) - lead
        shown = line.expandtabs(4).rstrip()
        width = max(1, min(width, len(shown) - lead))
        return f"    {shown}\n    {' ' * lead}{'^' * width}"

    def merge(self, other: Span | None) -> Span:
        """The span from the start of self to the end of other."""
        if other is None:
            return self
        return Span(self.file, self.line, self.column, other.end_line, other.end_column, self.text)


def span_of(meta, file: str, text: str | None) -> Span:
    """A Span from a Lark node's or token's position attributes."""
    return Span(file, meta.line, meta.column, meta.end_line or meta.line,
                meta.end_column or meta.column + 1, text)


UNKNOWN = Span("<unknown>", 0, 0)


def name_span(span: Span, keyword: str, name: str) -> Span:
    """The span of `name` in a header such as `layer NAME(` or `train NAME {` starting at span
    (the whole span when the name is not found on its first line)."""
    line = span.source_line() or ""
    col = line.find(name, span.column - 1 + len(keyword))
    if col < 0:
        return span
    return Span(span.file, span.line, col + 1, span.line, col + 1 + len(name), span.text)
