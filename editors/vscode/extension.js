// The tensorlang extension: .tl files get the TextMate grammar (package.json), and this starts
// `tensorlang lsp` (the command is the setting tensorlang.server.command) with
// vscode-languageclient, for diagnostics as you type, hover, definition, outline, completion
// and formatting.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("tensorlang");
  const [command, ...args] = config.get("server.command", ["tensorlang", "lsp"]);
  const serverOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "tensorlang" },
      { scheme: "untitled", language: "tensorlang" },
    ],
  };
  client = new LanguageClient("tensorlang", "tensorlang language server", serverOptions,
                              clientOptions);
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
