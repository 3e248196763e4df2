"""The real `tensorlang lsp` in a subprocess, driven over stdio by a JSON-RPC client with
lsprotocol's types (tests/tools/lsp/client.py): a whole editing session, bad input of every kind,
and a sample of truncated examples typed into one buffer."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pygls", reason="the lsp extra (pygls, lsprotocol) is not installed")

from lsprotocol import types as T  # noqa: E402

from tensorlang.frontend.fmt import format_source  # noqa: E402
from tensorlang.tools.cli import main  # noqa: E402
from tensorlang.tools.lsp.positions import prelude_path  # noqa: E402

from .client import Client  # noqa: E402

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.tl"))
XOR = next(p for p in EXAMPLES if p.name == "xor.tl")


@pytest.fixture
def server():
    c = Client()
    c.initialize()
    yield c
    c.close()


def ident(uri: str) -> T.TextDocumentIdentifier:
    return T.TextDocumentIdentifier(uri=uri)


def test_an_editing_session(tmp_path):
    path = tmp_path / "xor.tl"
    good = XOR.read_text()
    path.write_text(good)
    before = path.stat().st_mtime_ns
    uri = path.as_uri()
    c = Client()
    try:
        caps = c.initialize().capabilities
        assert caps.hover_provider and caps.definition_provider and caps.completion_provider
        assert caps.document_formatting_provider and caps.document_symbol_provider

        bad = good.replace("p    = Dense(h, 1", "p    = Dense(hh, 1")  # line 9, col 18
        c.open(uri, bad, version=1)
        (d,) = c.diagnostics(uri, version=1)
        assert d.message == '"hh" is not defined' and d.severity == T.DiagnosticSeverity.Error
        assert d.range == T.Range(T.Position(8, 17), T.Position(8, 19))
        assert [r.message for r in d.related_information] == ['hint: did you mean "h"?']

        c.change(uri, good, version=2)
        assert c.diagnostics(uri, version=2) == []

        hover = c.call(T.TEXT_DOCUMENT_HOVER, T.HoverParams(ident(uri), T.Position(7, 4)),
                       T.Hover)
        assert "h: f32[N, 4]" in hover.contents.value
        assert "12 parameters" in hover.contents.value
        assert hover.range == T.Range(T.Position(7, 4), T.Position(7, 5))

        where = c.request(T.TEXT_DOCUMENT_DEFINITION,
                          T.DefinitionParams(ident(uri), T.Position(7, 12)))["result"]
        assert where[0]["uri"] == prelude_path().as_uri()
        assert where[0]["range"]["start"] == {"line": 3, "character": 6}  # `layer Dense(`
        where = c.request(T.TEXT_DOCUMENT_DEFINITION,
                          T.DefinitionParams(ident(uri), T.Position(8, 17)))["result"]
        assert where == [{"uri": uri, "range": {"start": {"line": 7, "character": 4},
                                                "end": {"line": 7, "character": 5}}}]

        items = c.call(T.TEXT_DOCUMENT_COMPLETION,
                       T.CompletionParams(ident(uri), T.Position(9, 16)), T.CompletionList)
        labels = {i.label for i in items.items}
        assert {"mean", "softmax", "Dense", "Conv2D", "h", "hidden"} <= labels

        outline = c.request(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL,
                            T.DocumentSymbolParams(ident(uri)))["result"]
        assert [s["name"] for s in outline] == ["hidden", "xor", "table", "train xor",
                                                "evaluate xor"]

        messy = good.replace("h    = Dense(x, hidden, activation = tanh)",
                             "h=Dense( x,hidden,activation=tanh )")
        c.change(uri, messy, version=3)
        assert c.diagnostics(uri, version=3) == []
        fmt = T.DocumentFormattingParams(ident(uri), T.FormattingOptions(4, True))
        (edit,) = c.call(T.TEXT_DOCUMENT_FORMATTING, fmt, list[T.TextEdit])
        assert edit.new_text == format_source(messy) != messy
        assert "    h    = Dense(x, hidden, activation = tanh)" in edit.new_text
        assert edit.range == T.Range(T.Position(0, 0), T.Position(messy.count("\n"), 0))

        c.change(uri, good + "graph {\n", version=4)
        c.diagnostics(uri, version=4)
        reply = c.request(T.TEXT_DOCUMENT_FORMATTING, fmt)
        assert reply["error"]["code"] == T.LSPErrorCodes.RequestFailed
        assert "not formatted" in reply["error"]["message"]
        assert c.stop() == 0
    finally:
        c.close()
    assert path.read_text() == good and path.stat().st_mtime_ns == before  # never written


def test_bad_input_gets_errors_and_the_server_keeps_running(server):
    c = server
    c.send_raw(b"{this is not json")
    assert c.wait_response(None)["error"]["code"] == T.ErrorCodes.ParseError
    c.send_raw(b"[1, 2, 3]")
    assert c.wait_response(None)["error"]["code"] == T.ErrorCodes.InvalidRequest
    c.send({"id": 901, "method": T.TEXT_DOCUMENT_HOVER, "params": {}})  # no "jsonrpc"
    assert c.wait_response(901)["error"]["code"] == T.ErrorCodes.InvalidRequest
    c.send({"jsonrpc": "2.0", "id": 902, "method": T.TEXT_DOCUMENT_HOVER,
            "params": {"textDocument": 5, "position": "here"}})
    assert c.wait_response(902)["error"]["code"] == T.ErrorCodes.InvalidParams
    reply = c.request("tensorlang/noSuchMethod", {})
    assert reply["error"]["code"] == T.ErrorCodes.MethodNotFound
    c.notify("tensorlang/noSuchNotification", {})

    # a message body that is not UTF-8 (a Latin-1 file pasted into a didOpen)
    body = ('{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": '
            '{"uri": "file:///tmp/latin1.tl", "languageId": "tensorlang", "version": 1, '
            '"text": "let caf\u00e9 = 1\\n"}}}').encode("latin-1")
    c.send_raw(body)
    assert c.wait_response(None)["error"]["code"] == T.ErrorCodes.ParseError

    # a URI that was never opened, and one that is no file at all
    for uri in ("file:///tmp/never-opened.tl", "https://example.invalid/model.tl", "::"):
        reply = c.request(T.TEXT_DOCUMENT_HOVER, T.HoverParams(ident(uri), T.Position(0, 0)))
        assert reply["error"]["code"] == T.ErrorCodes.InvalidParams, reply
    # an unsaved buffer has no file: it is checked from the text the client sent
    c.open("untitled:Untitled-1", "graph g {\n    y = nope\n}\n")
    (d,) = c.diagnostics("untitled:Untitled-1")
    assert d.message == '"nope" is not defined' and d.range.start == T.Position(1, 8)
    # text with a lone surrogate (JSON allows one) and a NUL
    c.open("file:///tmp/odd.tl", 'let s = "\ud800"\n\x00graph\n')
    assert c.diagnostics("file:///tmp/odd.tl")[0].severity == T.DiagnosticSeverity.Error
    assert c.alive()
    assert c.stop() == 0


def test_a_100k_line_file_is_answered_at_once_and_says_it_was_not_checked(server):
    c = server
    uri = "file:///tmp/huge.tl"
    text = "graph g {\n    placeholder x: f32[N, 4]\n" + "".join(
        f"    a{i} = x + {i}\n" for i in range(100_000)) + "}\n"
    start = time.monotonic()
    c.open(uri, text)
    (d,) = c.diagnostics(uri)
    assert d.severity == T.DiagnosticSeverity.Information and "not checked live" in d.message
    reply = c.request(T.TEXT_DOCUMENT_HOVER, T.HoverParams(ident(uri), T.Position(500, 6)))
    assert reply["result"] is None
    reply = c.request(T.TEXT_DOCUMENT_FORMATTING, T.DocumentFormattingParams(
        ident(uri), T.FormattingOptions(4, True)))
    assert "not checked live" in reply["error"]["message"]
    assert time.monotonic() - start < 20  # generous for a busy machine; compiling takes minutes
    assert c.alive()


def test_truncated_examples_typed_into_one_buffer_never_stop_the_server(server):
    c = server
    uri = "file:///tmp/typing.tl"
    c.open(uri, "", version=0)
    c.diagnostics(uri, version=0)
    version = 0
    for path in EXAMPLES:
        text = path.read_text()
        for n in range(0, len(text) + 1, max(1, len(text) // 4)):
            version += 1
            c.change(uri, text[:n], version)
            c.diagnostics(uri, version=version)
            line = text[:n].count("\n")
            for method, params in (
                    (T.TEXT_DOCUMENT_HOVER, T.HoverParams(ident(uri), T.Position(line, 2))),
                    (T.TEXT_DOCUMENT_COMPLETION,
                     T.CompletionParams(ident(uri), T.Position(line, 3)))):
                assert "result" in c.request(method, params), (path.name, n)
    assert c.alive()


def test_the_client_may_choose_utf8_positions():
    c = Client()
    try:
        assert c.initialize(encodings=["utf-8"]).capabilities.position_encoding == "utf-8"
        c.open("file:///tmp/u.tl", 'graph g {\n    y = "é" + nope\n}\n')
        (d,) = c.diagnostics("file:///tmp/u.tl")
        assert d.range.start == T.Position(1, 15)  # é is two bytes
        assert c.stop() == 0
    finally:
        c.close()


def test_the_messages_are_framed_as_lsp_says():
    c = Client()
    try:
        c.initialize()
        raw = json.dumps({"jsonrpc": "2.0", "id": 5, "method": T.SHUTDOWN}).encode()
        c.proc.stdin.write(b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
                           b"Content-Length: %d\r\n\r\n" % len(raw) + raw)
        c.proc.stdin.flush()
        assert c.wait_response(5) == {"jsonrpc": "2.0", "id": 5, "result": None}
        c.notify(T.EXIT)
        assert c.proc.wait(timeout=10) == 0
    finally:
        c.close()


def test_the_flag_editors_pass_is_accepted():
    c = Client("--stdio")  # vscode-languageclient adds --stdio for the stdio transport
    try:
        assert c.initialize().server_info.name == "tensorlang"
        assert c.stop() == 0
    finally:
        c.close()


def test_without_the_lsp_extra_the_command_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pygls", None)  # as if it were not installed
    for name in [m for m in sys.modules if m.startswith(("pygls.", "tensorlang.tools.lsp"))]:
        monkeypatch.delitem(sys.modules, name)
    assert main(["lsp"]) == 1
    err = capsys.readouterr().err
    assert "needs the lsp extra" in err and "pip install 'tensorlang[lsp]'" in err
