// Loads the extension's entry (extension.js) with stand-ins for the `vscode` and
// `vscode-languageclient/node` modules (which exist only inside VS Code), calls activate() and
// deactivate(), and prints what it asked for as JSON: the server command, its arguments and
// transport, the document selector.
// usage: node activate.js EXTENSION.js [SETTING_JSON]
"use strict";

const Module = require("module");

const [entry, setting] = process.argv.slice(2);
const seen = { started: false, stopped: false };
const stubs = {
  vscode: {
    workspace: {
      getConfiguration: (section) => ({
        get: (key, fallback) => {
          seen.section = `${section}.${key}`;
          return setting ? JSON.parse(setting) : fallback;
        },
      }),
    },
  },
  "vscode-languageclient/node": {
    TransportKind: { stdio: 0, ipc: 1, pipe: 2, socket: 3 },
    LanguageClient: class {
      constructor(id, name, serverOptions, clientOptions) {
        Object.assign(seen, { id, name, serverOptions, clientOptions });
      }
      start() { seen.started = true; return Promise.resolve(); }
      stop() { seen.stopped = true; return Promise.resolve(); }
      dispose() {}
    },
  },
};
const load = Module._load;
Module._load = function (request, ...rest) {
  return request in stubs ? stubs[request] : load.call(this, request, ...rest);
};

const extension = require(require("path").resolve(entry));
const context = { subscriptions: [] };
Promise.resolve(extension.activate(context))
  .then(() => extension.deactivate())
  .then(() => {
    seen.subscriptions = context.subscriptions.length;
    process.stdout.write(JSON.stringify(seen));
  })
  .catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
