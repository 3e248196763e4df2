"""What `check --json`, `ir --json` and `run --json` print for tools, as plain JSON values. Their
form is the JSON Schema of each command in docs/schema/ (check.schema.json, ir.schema.json,
run.schema.json); every document and line carries `"version": SCHEMA_VERSION`, which changes when
a field changes its meaning or goes away (a new field may appear without a change).

A range is `{"file", "start": {"line", "column"}, "end": {"line", "column"}}`, counted from 1 as
in the compiler's messages, the end exclusive; a shape lists ints and symbolic dims as strings
(`[ "N", 4 ]`)."""

from __future__ import annotations

import math

from ..errors import CompileWarning, TensorlangError
from ..ir import dims as D
from ..ir.graph import Graph, Node
from ..ir.printing import Namer, format_attr, format_init, outputs, param_count
from ..source import Span

SCHEMA_VERSION = 1


def dumps(value) -> str:
    """One line of JSON (strict: no NaN or Infinity)."""
    import json  # only for --json: not among every check's imports

    return json.dumps(value, allow_nan=False, ensure_ascii=False)


def span_range(span: Span | None) -> dict | None:
    """A span as a range, or None for a mistake without a place."""
    if span is None or not span.line:
        return None
    return {"file": span.file, "start": {"line": span.line, "column": span.column},
            "end": {"line": span.end_line or span.line,
                    "column": span.end_column or span.column}}


def problem(e: TensorlangError | CompileWarning) -> dict:
    """An error or a warning: severity, kind (its class), message, range, hint, notes."""
    warning = isinstance(e, CompileWarning)
    return {"severity": "warning" if warning else "error", "kind": type(e).__name__,
            "message": e.message, "range": span_range(e.span),
            "hint": None if warning else e.hint,
            "notes": [{"message": text, "range": span_range(s)} for text, s in e.notes]}


def shape(node: Node) -> list:
    """The node's shape: ints, and symbolic dims as their text (`N`, `N + 5`)."""
    return [d if isinstance(d, int) else D.dim_str(d) for d in node.type.shape]


def _named(graph: Graph, name: str, n: Node) -> dict:
    out = {"name": name, "op": n.op, "dtype": n.dtype, "shape": shape(n), "range":
           span_range(n.span), "scope": n.scope}
    if name in graph.layers:
        out["layer"] = graph.layers[name][0]
        out["params"] = param_count(graph, name)
    elif n.op == "variable":
        out["params"] = int(D.volume(n.type.shape))
        out["trainable"] = bool(n.attrs.get("trainable", True))
    return out


def graph_facts(graph: Graph) -> dict:
    """check's facts of one graph: every named node, the layer instances, the parameters."""
    trainable, frozen = param_count(graph, trainable=True), param_count(graph, trainable=False)
    return {"name": graph.name, "range": span_range(graph.span), "dims": list(graph.dims),
            "nodes": [_named(graph, k, n) for k, n in graph.names.items() if not n.is_backward],
            "layers": [{"scope": s, "layer": layer, "params": param_count(graph, s)}
                       for s, (layer, _) in graph.layers.items()],
            "parameters": {"total": trainable + frozen, "trainable": trainable,
                           "frozen": frozen},
            "outputs": [n.name for n in outputs(graph)]}


def _run_facts(spec) -> dict:
    out = {"kind": spec.kind, "graph": spec.graph, "range": span_range(spec.span),
           "data": spec.data}
    if spec.kind == "train":
        out.update(minimize=spec.minimize, epochs=spec.epochs, batch=spec.batch,
                   optimizer={"name": spec.optimizer.name,
                              "params": {k: v for k, v in spec.optimizer.params}})
    out["report"] = list(spec.report)
    return out


def document(command: str, file: str) -> dict:
    """The head every command's document starts with."""
    return {"version": SCHEMA_VERSION, "command": command, "file": file, "ok": True,
            "errors": [], "warnings": []}


def check_document(program, memory=None) -> dict:
    """`check --json`: every graph, every run block and every warning of a compiled program;
    with `check --batch`, the memory predictions (tools/memory.py's GraphMemory list)."""
    out = document("check", program.file)
    out["warnings"] = [problem(w) for w in program.warnings]
    out["graphs"] = [graph_facts(g) for g in program.graphs.values()]
    out["runs"] = [_run_facts(spec) for spec in program.runs]
    if memory is not None:
        out["memory"] = [memory_facts(m) for m in memory]
    return out


def memory_facts(m) -> dict:
    """One graph's predicted memory in bytes: its dims, and per kind of run (`train`: one step,
    `inference`) the peak with the inputs, what the run allocates, and the inputs."""
    def facts(e):
        return None if e is None else {
            "peak_bytes": e.total, "allocated_bytes": e.peak, "inputs_bytes": e.inputs,
            "at": span_range(e.at.span) if e.at is not None else None}
    return {"graph": m.graph, "dims": dict(sorted(m.env.items())),
            "train": facts(m.train), "inference": facts(m.inference)}


def _attr(key: str, value) -> str:
    return format_init(value) if key == "init" else format_attr(value)


def ir_document(program, graph: Graph) -> dict:
    """`ir --json`: every node of one graph as `tensorlang ir` prints it (the same names)."""
    name = Namer(graph)
    out = document("ir", program.file)
    out["warnings"] = [problem(w) for w in program.warnings]
    out["graph"] = {"name": graph.name, "range": span_range(graph.span), "nodes": [
        {"id": name(n), "name": n.name, "op": n.op, "dtype": n.dtype, "shape": shape(n),
         "inputs": [name(i) for i in n.inputs],
         "attrs": {k: _attr(k, v) for k, v in n.attrs.items()},
         "range": span_range(n.span), "scope": n.scope, "backward": n.is_backward}
        for n in graph.nodes]}
    return out


def error_document(command: str, file: str, error: TensorlangError, warnings=()) -> dict:
    """A command's document when it failed: ok false, the error with its range."""
    out = document(command, file)
    out.update(ok=False, errors=[problem(error)], warnings=[problem(w) for w in warnings])
    return out


def _number(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def epoch_line(epoch: int, epochs: int, metrics: dict, seconds: float,
               lr: float | None = None) -> str:
    """`run --json`'s line for one epoch (the same arguments as progress.epoch_line)."""
    line = {"version": SCHEMA_VERSION, "event": "epoch", "epoch": epoch, "epochs": epochs}
    if lr is not None:
        line["lr"] = _number(lr)
    line.update({"metrics": {k: _number(v) for k, v in metrics.items()}, "seconds": seconds})
    return dumps(line)


def event_line(event: str, what: TensorlangError | CompileWarning) -> str:
    """`run --json`'s line for a warning or an error."""
    return dumps({"version": SCHEMA_VERSION, "event": event, "problem": problem(what)})
