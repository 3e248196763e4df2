"""A small synchronous LSP client for the tests: the real `tensorlang lsp` in a subprocess,
JSON-RPC framing written here, params and results typed by lsprotocol's own converter (so a
reply that does not fit the protocol's types fails the test)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time

from lsprotocol import converters
from lsprotocol import types as T

CONVERTER = converters.get_converter()


class Client:
    """`tensorlang lsp` in a subprocess; requests wait for their response, notifications from
    the server queue up in `notes`."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "tensorlang", "lsp", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.next_id = 0
        self.responses: dict = {}
        self.notes: queue.Queue = queue.Queue()
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.err = bytearray()  # drained as it comes, so the server never blocks on stderr
        self.err_reader = threading.Thread(target=self._drain, daemon=True)
        self.err_reader.start()

    def _drain(self) -> None:
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):
            self.err += chunk

    # ------------------------------------------------------------ framing
    def send_raw(self, body: bytes) -> None:
        """One message with a correct Content-Length header around any bytes."""
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def send(self, message: dict) -> None:
        """One JSON-RPC message."""
        self.send_raw(json.dumps(message).encode("utf-8"))

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif line in (b"\r\n", b"\n") and length is not None:
                    break
            message = json.loads(out.read(length))
            if "id" in message and "method" not in message:
                with self.cond:
                    self.responses[message["id"]] = message
                    self.cond.notify_all()
            else:
                self.notes.put(message)

    # ------------------------------------------------------------ requests
    def request(self, method: str, params=None, timeout: float = 20.0) -> dict:
        """Send a request and wait for its raw response (a dict with result or error)."""
        self.next_id += 1
        msg_id = self.next_id
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = CONVERTER.unstructure(params)
        self.send(message)
        return self.wait_response(msg_id, timeout)

    def wait_response(self, msg_id, timeout: float = 20.0) -> dict:
        """The response with this id (None for a response with a null id)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while msg_id not in self.responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"no response to {msg_id}; stderr: {self.stderr()}")
                self.cond.wait(min(left, 0.2))
            return self.responses.pop(msg_id)

    def call(self, method: str, params, result_type):
        """A request whose result is structured into its lsprotocol type."""
        response = self.request(method, params)
        assert "error" not in response, response
        return CONVERTER.structure(response["result"], result_type)

    def notify(self, method: str, params=None) -> None:
        """Send a notification."""
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = CONVERTER.unstructure(params)
        self.send(message)

    def diagnostics(self, uri: str, version: int | None = None,
                    timeout: float = 20.0) -> list[T.Diagnostic]:
        """The next diagnostics published for uri (at that version, when given)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no diagnostics for {uri}; stderr: {self.stderr()}")
            try:
                note = self.notes.get(timeout=left)
            except queue.Empty:
                continue
            if note.get("method") != T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS:
                continue
            params = CONVERTER.structure(note["params"], T.PublishDiagnosticsParams)
            if params.uri == uri and (version is None or params.version == version):
                return list(params.diagnostics)

    # ------------------------------------------------------------ life
    def initialize(self, encodings=None) -> T.InitializeResult:
        """initialize and initialized."""
        caps = T.ClientCapabilities(general=T.GeneralClientCapabilities(
            position_encodings=encodings)) if encodings else T.ClientCapabilities()
        result = self.call(T.INITIALIZE, T.InitializeParams(capabilities=caps, process_id=None),
                           T.InitializeResult)
        self.notify(T.INITIALIZED, T.InitializedParams())
        return result

    def open(self, uri: str, text: str, version: int = 1) -> None:
        """didOpen a tensorlang buffer."""
        self.notify(T.TEXT_DOCUMENT_DID_OPEN, T.DidOpenTextDocumentParams(
            T.TextDocumentItem(uri=uri, language_id="tensorlang", version=version, text=text)))

    def change(self, uri: str, text: str, version: int) -> None:
        """didChange with the whole new text."""
        self.notify(T.TEXT_DOCUMENT_DID_CHANGE, T.DidChangeTextDocumentParams(
            T.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [T.TextDocumentContentChangeWholeDocument(text=text)]))

    def alive(self) -> bool:
        """The server still answers a request."""
        response = self.request(T.WORKSPACE_SYMBOL, T.WorkspaceSymbolParams(query=""))
        return "result" in response or "error" in response

    def stop(self) -> int:
        """shutdown, exit, and the exit status."""
        if self.proc.poll() is None:
            response = self.request(T.SHUTDOWN)
            assert response.get("result", "missing") is None, response
            self.notify(T.EXIT)
        try:
            return self.proc.wait(timeout=10)
        finally:
            self.close()

    def close(self) -> None:
        """End the process (when still running) and its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.err_reader.join(timeout=5)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()

    def stderr(self) -> str:
        """What the server wrote to stderr so far."""
        return bytes(self.err).decode("utf-8", "replace")
