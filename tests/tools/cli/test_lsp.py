"""tools/cli/lsp.py: `tensorlang lsp [--stdio] [--log FILE]` hands over to the server (imported
only then), and without the lsp extra says what to install and exits 1."""

from __future__ import annotations

import sys

import pytest

from tensorlang.tools.cli import lsp as L
from tensorlang.tools.cli import main, parser


def test_the_options():
    args = parser().parse_args(["lsp", "--stdio", "--log", "server.log"])
    assert (args.stdio, args.log, args.fn) == (True, "server.log", L.main)
    args = parser().parse_args(["lsp"])
    assert (args.stdio, args.log) == (False, None)
    assert L.NAME == "lsp" and "Language Server Protocol" in L.HELP


def test_main_serves_with_the_log_it_was_given(monkeypatch):
    pytest.importorskip("pygls", reason="the lsp extra is not installed")
    from tensorlang.tools.lsp import server
    calls = []
    monkeypatch.setattr(server, "serve", lambda log: calls.append(log) or 0)
    assert main(["lsp", "--stdio", "--log", "x.log"]) == 0 and calls == ["x.log"]


def test_without_the_extra_it_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pygls", None)  # an import of pygls now fails
    for name in [m for m in sys.modules if m.startswith(("pygls.", "tensorlang.tools.lsp"))]:
        monkeypatch.delitem(sys.modules, name)
    assert main(["lsp"]) == 1
    err = capsys.readouterr().err
    assert "error: tensorlang lsp needs the lsp extra (pygls" in err
    assert "hint: pip install 'tensorlang[lsp]'" in err
