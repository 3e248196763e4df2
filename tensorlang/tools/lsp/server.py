"""The language server (pygls over stdio): each open buffer is analysed by the real compiler on
open and on every change, in one worker thread (a change that a newer one overtook is never
analysed, so a burst of keystrokes costs one compile), and its problems are published as
diagnostics; hover, definition, symbols, completion and formatting answer from the latest
analysis of the buffer's text.

Bad input never stops it: a message that is not JSON or not JSON-RPC gets an error response
with a null id, a request with malformed parameters an InvalidParams error, an unknown method
MethodNotFound, a request about a document that was never opened InvalidParams. It reads no
file a client names and writes none: the only change it proposes to a user's file is the edit
of an explicit formatting request."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

from lsprotocol import types as T
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcServerNotInitialized,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from ...errors import TensorlangError
from ...frontend.fmt import format_source
from .analysis import Analysis, analyse
from .complete import completions
from .diagnostics import diagnostics
from .hover import hover_markdown
from .locate import target_at, word_at
from .navigate import definition, symbols
from .positions import Doc

log = logging.getLogger("tensorlang.lsp")


class _Rejected:
    """A request whose parameters could not be read: answered with the error, by its id."""

    def __init__(self, msg_id, error: JsonRpcException):
        self.id = msg_id if isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool) \
            else None
        self.error = error


class Protocol(LanguageServerProtocol):
    """pygls's protocol, answering malformed requests instead of dropping them."""

    def structure_message(self, data):
        """A message object from JSON; a request with unreadable params becomes _Rejected."""
        try:
            return super().structure_message(data)
        except JsonRpcException as e:
            if isinstance(data, dict) and "method" in data and "id" in data:
                return _Rejected(data.get("id"), e)
            raise

    def handle_message(self, message):
        """Dispatch one message; a rejected or non-JSON-RPC request is answered with an error."""
        if isinstance(message, _Rejected):
            self.reply_error(message.id, message.error)
            return
        if getattr(message, "jsonrpc", None) != "2.0":
            msg_id = message.get("id") if isinstance(message, dict) else getattr(
                message, "id", None)
            self.reply_error(msg_id if isinstance(msg_id, (int, str)) else None,
                             JsonRpcInvalidRequest('not a JSON-RPC 2.0 message: "jsonrpc": '
                                                   '"2.0" and a "method" or a "result" are '
                                                   "needed"))
            return
        super().handle_message(message)

    def reply_error(self, msg_id, error: JsonRpcException) -> None:
        """An error response (with "id": null when the request's id is unknown)."""
        body = {"code": error.code, "message": error.message}
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": body})


class TensorlangServer(LanguageServer):
    """The server's state: the latest analysis of each buffer, the last one that parsed, and the
    worker that analyses buffers."""

    def __init__(self):
        super().__init__("tensorlang", _version(), protocol_cls=Protocol)
        self.latest: dict[str, Analysis] = {}
        self.parsed: dict[str, Analysis] = {}
        self.lock = threading.Lock()
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="tensorlang-analysis")

    def report_server_error(self, error: Exception, source) -> None:
        """Log every error; a message that could not be read gets an error response."""
        log.error("%s: %s", getattr(source, "__name__", source), error)
        if source is JsonRpcException:  # from the loop that reads messages
            code = T.ErrorCodes.ParseError if isinstance(error, ValueError) \
                else T.ErrorCodes.InvalidRequest
            reason = "not JSON" if isinstance(error, ValueError) else "not a JSON-RPC message"
            self.protocol.reply_error(None, JsonRpcException(f"{reason}: {error}", int(code)))

    # ---------------------------------------------------------------- documents
    def document(self, uri: str) -> Doc:
        """An open buffer; a request about any other URI is an InvalidParams error."""
        try:
            workspace = self.workspace
        except RuntimeError:
            raise JsonRpcServerNotInitialized("the server is not initialized yet") from None
        doc = workspace.text_documents.get(unquote(uri))
        if doc is None:
            raise JsonRpcInvalidParams(f"{uri} is not open: the server answers only for "
                                       "documents opened with textDocument/didOpen")
        encoding = getattr(workspace.position_encoding, "value", workspace.position_encoding)
        return Doc(uri, doc.source, str(encoding or "utf-16"))

    def doc_version(self, uri: str) -> int | None:
        """The version of an open buffer (None when it is closed)."""
        doc = self.workspace.text_documents.get(unquote(uri))
        return None if doc is None else doc.version

    def analysis(self, doc: Doc) -> Analysis:
        """The analysis of the buffer's current text (made now when there is none yet)."""
        with self.lock:
            a = self.latest.get(doc.uri)
            if a is None or a.text != doc.text:
                a = analyse(doc.text, doc.file)
                self.latest[doc.uri] = a
                if a.syntax is not None:
                    self.parsed[doc.uri] = a
            return a

    def view(self, doc: Doc):
        """(analysis, syntax) to answer from: the current text's, or while it does not parse,
        the last analysis that parsed (most of a buffer is where it was)."""
        a = self.analysis(doc)
        if a.syntax is None and a.skipped is None and doc.uri in self.parsed:
            a = self.parsed[doc.uri]
        return a, a.syntax

    async def check(self, uri: str) -> None:
        """Analyse a buffer in the worker and publish its diagnostics, unless it changed since."""
        version = self.doc_version(uri)
        doc = self.document(uri)
        loop = asyncio.get_running_loop()
        a = await loop.run_in_executor(self.worker, self._current, uri, version, doc)
        if a is not None and self.doc_version(uri) == version:
            self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(
                uri=uri, diagnostics=diagnostics(doc, a), version=version))

    def _current(self, uri: str, version, doc: Doc) -> Analysis | None:
        return self.analysis(doc) if self.doc_version(uri) == version else None

    def forget(self, uri: str) -> None:
        """Drop a closed buffer's analyses and clear its diagnostics."""
        with self.lock:
            self.latest.pop(uri, None)
            self.parsed.pop(uri, None)
        self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=uri,
                                                                          diagnostics=[]))


def _version() -> str:
    try:
        return importlib.metadata.version("tensorlang")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return "unknown"


# -------------------------------------------------------------------- handlers
async def did_open(ls: TensorlangServer, params: T.DidOpenTextDocumentParams) -> None:
    """Check a buffer as it opens."""
    await ls.check(params.text_document.uri)


async def did_change(ls: TensorlangServer, params: T.DidChangeTextDocumentParams) -> None:
    """Check a buffer after every change (unsaved text as typed)."""
    await ls.check(params.text_document.uri)


def did_close(ls: TensorlangServer, params: T.DidCloseTextDocumentParams) -> None:
    """Forget a closed buffer."""
    ls.forget(params.text_document.uri)


def hover(ls: TensorlangServer, params: T.HoverParams) -> T.Hover | None:
    """Types, signatures and values under the cursor."""
    doc = ls.document(params.text_document.uri)
    a, program = ls.view(doc)
    line, column = doc.place(params.position)
    target = target_at(a, program, doc.lines, line, column)
    text = hover_markdown(target, a, program) if target is not None else None
    if not text:
        return None
    word = word_at(doc.lines, line, column)
    where = T.Range(doc.position(line, word.column), doc.position(line, word.end_column))
    return T.Hover(T.MarkupContent(T.MarkupKind.Markdown, text), where)


def goto_definition(ls: TensorlangServer, params: T.DefinitionParams) -> list[T.Location] | None:
    """Where the name under the cursor is defined (the prelude's layers in prelude.tl)."""
    doc = ls.document(params.text_document.uri)
    a, program = ls.view(doc)
    target = target_at(a, program, doc.lines, *doc.place(params.position))
    span = definition(target, a, program) if target is not None else None
    where = doc.location(span) if span is not None else None
    return [where] if where is not None else None


def document_symbols(ls: TensorlangServer,
                     params: T.DocumentSymbolParams) -> list[T.DocumentSymbol]:
    """The outline: graphs, layers, data and run blocks, lets."""
    doc = ls.document(params.text_document.uri)
    a, program = ls.view(doc)
    return symbols(doc, a, program)


def completion(ls: TensorlangServer, params: T.CompletionParams) -> T.CompletionList:
    """What may be written at the cursor."""
    doc = ls.document(params.text_document.uri)
    a, program = ls.view(doc)
    items = completions(a, program, doc.lines, *doc.place(params.position))
    return T.CompletionList(is_incomplete=False, items=items)


def formatting(ls: TensorlangServer, params: T.DocumentFormattingParams) -> list[T.TextEdit]:
    """The canonical layout (`tensorlang fmt`) as one edit; an error when the text does not
    parse or is too large to format here."""
    doc = ls.document(params.text_document.uri)
    a = ls.analysis(doc)
    if a.skipped:
        raise JsonRpcException(f"not formatted: {a.skipped}", int(T.LSPErrorCodes.RequestFailed))
    try:
        text = format_source(doc.text, doc.file)
    except TensorlangError as e:
        raise JsonRpcException(f"not formatted: {e.format()}",
                               int(T.LSPErrorCodes.RequestFailed)) from None
    return [] if text == doc.text else [T.TextEdit(doc.whole(), text)]


def shutdown(ls: TensorlangServer, params) -> None:
    """Stop the worker (the exit notification ends the process)."""
    ls.worker.shutdown(wait=False, cancel_futures=True)


FEATURES = (
    (T.TEXT_DOCUMENT_DID_OPEN, did_open, None),
    (T.TEXT_DOCUMENT_DID_CHANGE, did_change, None),
    (T.TEXT_DOCUMENT_DID_CLOSE, did_close, None),
    (T.TEXT_DOCUMENT_HOVER, hover, None),
    (T.TEXT_DOCUMENT_DEFINITION, goto_definition, None),
    (T.TEXT_DOCUMENT_DOCUMENT_SYMBOL, document_symbols, None),
    (T.TEXT_DOCUMENT_COMPLETION, completion, T.CompletionOptions(trigger_characters=["."])),
    (T.TEXT_DOCUMENT_FORMATTING, formatting, None),
    (T.SHUTDOWN, shutdown, None),
)


def make_server() -> TensorlangServer:
    """A server with every feature registered."""
    ls = TensorlangServer()
    for name, handler, options in FEATURES:
        ls.feature(name, options)(handler)
    return ls


def serve(log_file: str | None = None) -> int:
    """Run the server on stdin/stdout until the client says exit. Anything else that would be
    printed goes to stderr, so that stdout carries nothing but the protocol."""
    handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    logging.basicConfig(level=logging.INFO if log_file else logging.WARNING,
                        handlers=[handler], format="%(asctime)s %(name)s %(message)s")
    if not log_file:  # pygls logs a traceback for every error reply; one line of ours is enough
        logging.getLogger("pygls").setLevel(logging.CRITICAL)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    make_server().start_io(stdin, stdout)
    return 0
