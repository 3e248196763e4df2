"""Places between tensorlang and LSP. A Span counts lines and columns from 1, in characters (code
points); LSP counts from 0, in the client's code units (UTF-16 unless the client chose UTF-8 or
UTF-32 when it started). Spans name files: the buffer's own, or `<prelude>` (the standard
layers, a file of the package)."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types as T

from ...source import Span

PRELUDE = "<prelude>"


@functools.cache
def prelude_path() -> Path:
    """Where the prelude's text lies on disk (inside the installed package)."""
    return Path(str(resources.files("tensorlang.compiler").joinpath("prelude.tl"))).resolve()


def file_of(uri: str) -> str:
    """The name spans use for a document: its path for a `file:` URI, else the URI itself."""
    parsed = urlparse(uri)
    if parsed.scheme == "file" and parsed.path:
        return unquote(parsed.path)
    return uri


def units(text: str, encoding: str) -> int:
    """The length of text in the client's code units."""
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class Doc:
    """One buffer: its URI, text and lines, and the client's position encoding."""

    def __init__(self, uri: str, text: str, encoding: str = "utf-16"):
        self.uri, self.text, self.encoding = uri, text, encoding
        self.file = file_of(uri)
        self.lines = text.split("\n")  # as the lexer counts lines: at "\n" only

    def place(self, pos: T.Position) -> tuple[int, int]:
        """An LSP position as a 1-based (line, column) in characters."""
        line = pos.line
        if not 0 <= line < len(self.lines):
            return line + 1, 1
        text, seen, k = self.lines[line], 0, 0
        while k < len(text) and seen < pos.character:
            seen += units(text[k], self.encoding)
            k += 1
        return line + 1, k + 1

    def position(self, line: int, column: int, lines: list[str] | None = None) -> T.Position:
        """A 1-based (line, column) in characters as an LSP position (clamped to the text)."""
        lines = self.lines if lines is None else lines
        if line < 1:
            return T.Position(0, 0)
        if line > len(lines):
            return T.Position(len(lines) - 1, units(lines[-1], self.encoding))
        text = lines[line - 1]
        return T.Position(line - 1, units(text[:max(column, 1) - 1], self.encoding))

    def range(self, span: Span | None) -> T.Range:
        """A span as an LSP range of at least one character."""
        if span is None:
            return T.Range(T.Position(0, 0), T.Position(0, 0))
        lines = self.lines if span.file == self.file or span.text is None \
            else _lines(span.text)
        start = self.position(span.line, span.column or 1, lines)
        end_line, end_column = span.end_line or span.line, span.end_column or span.column
        if (end_line, end_column) <= (span.line, span.column):
            end_line, end_column = span.line, span.column + 1
        return T.Range(start, self.position(end_line, end_column, lines))

    def location(self, span: Span | None) -> T.Location | None:
        """A span as an LSP location (in this buffer, the prelude's file or another file)."""
        if span is None or span.line < 1:
            return None
        if span.file == self.file:
            uri = self.uri
        elif span.file == PRELUDE:
            uri = prelude_path().as_uri()
        elif Path(span.file).is_absolute():
            uri = Path(span.file).as_uri()
        else:
            return None
        return T.Location(uri, self.range(span))

    def whole(self) -> T.Range:
        """The range of the whole text."""
        return T.Range(T.Position(0, 0),
                       T.Position(len(self.lines) - 1, units(self.lines[-1], self.encoding)))


@functools.lru_cache(maxsize=8)
def _lines(text: str) -> list[str]:
    return text.split("\n")
