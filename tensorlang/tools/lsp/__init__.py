"""The language server that `tensorlang lsp` runs (the `lsp` extra: pygls and lsprotocol).

analysis (the compiler's view of a buffer), locate (what the cursor is on), positions (Spans
and LSP positions), hover, navigate (definition, outline), complete, diagnostics, and server (the
pygls wiring). Nothing here is imported by the other commands."""
