"""Source positions: a Span names a stretch of a .tl file; snippet() draws the caret under it."""

from __future__ import annotations

import unicodedata

from .records import record

WIDTH = 100  # characters of a source line shown in a message; a longer line is cut around the span
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def visible(text: str) -> str:
    """text as a terminal may show it: tabs expanded, control, format and bidi characters
    escaped (`\x1b`, `\u202e`), so quoted text cannot move the cursor or reorder a line."""
    out = []
    for ch in text.expandtabs(4):
        if ch in BIDI or (unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != "\n"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


@record(slots=True)
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
        """The source line and a caret line under the span (empty when there is no source).
        Control and bidirectional-override characters are shown escaped (`\x1b`, `\u202e`), so
        a line never drives the terminal or reorders what it shows; a long line is cut to a
        window of WIDTH characters around the span."""
        line = self.source_line()
        if line is None:
            return ""
        start = max(self.column, 1)
        end = self.end_column if self.end_line == self.line and self.end_column > start \
            else start + 1
        # columns count characters; the caret is placed under the shown (escaped) text
        lead = len(visible(line[:start - 1]))
        width = len(visible(line[:end - 1])) - lead
        shown = visible(line).rstrip()
        width = max(1, min(width, len(shown) - lead))
        if len(shown) > WIDTH:
            left = max(0, min(lead - WIDTH // 4, len(shown) - WIDTH))
            cut = shown[left:left + WIDTH]
            pre, post = ("..." if left else ""), ("..." if left + WIDTH < len(shown) else "")
            lead, width = lead - left + len(pre), max(1, min(width, WIDTH - (lead - left)))
            shown = pre + cut + post
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
