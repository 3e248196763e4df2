"""`tensorlang lsp`: a Language Server Protocol server on standard input and output, for editors
(diagnostics, hover, definition, symbols, completion, formatting)."""

from __future__ import annotations

from ...errors import UsageError

NAME = "lsp"
HELP = "run the Language Server Protocol server on stdin/stdout (for editors)"


def add_arguments(sp) -> None:
    """lsp's options."""
    sp.add_argument("--stdio", action="store_true",
                    help="talk over stdin/stdout (the only transport; editors pass this flag)")
    sp.add_argument("--log", metavar="FILE", help="write the server's log to FILE")


def main(args) -> int:
    """Serve until the client says exit."""
    try:  # pygls is an optional extra: plain `tensorlang check` never imports it
        from ..lsp.server import serve
    except ImportError as e:
        raise UsageError(f"tensorlang lsp needs the lsp extra ({e.name} is not installed)",
                         hint="pip install 'tensorlang[lsp]'") from None
    return serve(args.log)
