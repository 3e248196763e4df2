"""tools/report.py: the JSON that `check --json`, `ir --json` and `run --json` print: ranges
counted from 1 with an exclusive end, problems with their kind and notes, shapes with symbolic
dims as text, the facts of a graph and its run blocks, every node of `ir` under the printer's
names, and strict JSON lines (no NaN)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import CompileWarning, ShapeError
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.source import Span
from tensorlang.tools import report as R

PROGRAM = """\
graph g {
    placeholder x: f32[N, 2]
    h = Dense(x, 3)
    variable k: f32[3] = ones() frozen
    loss = mean(h * k)
}
data d {
    x = [[1, 2]]
}
train g {
    data = d
    minimize = loss
    optimizer = sgd(lr = 0.5)
    epochs = 2
}
"""


@pytest.fixture(scope="module")
def program():
    return tl.compile(PROGRAM, "r.tl")


def test_dumps_is_one_strict_line():
    assert R.dumps({"a": [1, "é"]}) == '{"a": [1, "é"]}'
    with pytest.raises(ValueError):
        R.dumps({"x": float("nan")})


def test_span_range():
    assert R.span_range(Span("f.tl", 2, 5, 2, 9)) == {
        "file": "f.tl", "start": {"line": 2, "column": 5}, "end": {"line": 2, "column": 9}}
    assert R.span_range(Span("f.tl", 3, 4))["end"] == {"line": 3, "column": 4}
    assert R.span_range(None) is None and R.span_range(Span("f.tl", 0, 0)) is None


def test_problem_of_an_error_and_a_warning():
    e = ShapeError("bad", Span("f.tl", 1, 2, 1, 3), hint="h",
                   notes=(("first", Span("f.tl", 4, 1, 4, 2)), ("nowhere", None)))
    assert R.problem(e) == {
        "severity": "error", "kind": "ShapeError", "message": "bad",
        "range": R.span_range(e.span), "hint": "h",
        "notes": [{"message": "first", "range": R.span_range(Span("f.tl", 4, 1, 4, 2))},
                  {"message": "nowhere", "range": None}]}
    w = R.problem(CompileWarning("careful"))
    assert (w["severity"], w["kind"], w["range"], w["hint"]) == (
        "warning", "CompileWarning", None, None)


def test_shape_writes_symbolic_dims_as_text():
    b = Builder("g")
    from tensorlang.ir import dims as D
    n = D.Dim.sym("N")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f32", (n + 5, 4)), name="x")
    assert R.shape(x) == ["N + 5", 4]


def test_check_document(program):
    doc = R.check_document(program)
    assert (doc["version"], doc["command"], doc["file"], doc["ok"], doc["errors"]) == (
        R.SCHEMA_VERSION, "check", "r.tl", True, [])
    (g,) = doc["graphs"]
    assert g["name"] == "g" and g["dims"] == ["N"] and g["outputs"] == ["loss"]
    assert g["parameters"] == {"total": 12, "trainable": 9, "frozen": 3}
    assert g["layers"] == [{"scope": "h", "layer": "Dense", "params": 9}]
    nodes = {n["name"]: n for n in g["nodes"]}
    assert nodes["h"]["layer"] == "Dense" and nodes["h"]["params"] == 9
    assert nodes["k"]["trainable"] is False and nodes["k"]["params"] == 3
    assert nodes["x"]["shape"] == ["N", 2] and nodes["x"]["range"]["start"]["line"] == 2
    (run,) = doc["runs"]
    assert run == {"kind": "train", "graph": "g", "range": R.span_range(program.runs[0].span),
                   "data": "d", "minimize": "loss", "epochs": 2, "batch": None,
                   "optimizer": {"name": "sgd", "params": {"lr": 0.5, "momentum": 0.0,
                                                           "nesterov": False, "weight_decay": 0.0}},
                   "report": []}
    json.loads(R.dumps(doc))  # plain JSON values throughout


def test_ir_document_uses_the_printers_names(program):
    g = program.graphs["g"]
    doc = R.ir_document(program, g)
    nodes = doc["graph"]["nodes"]
    assert [n["id"] for n in nodes][:2] == ["x", "h.W"] and len(nodes) == len(g.nodes)
    matmul = next(n for n in nodes if n["op"] == "matmul")
    assert matmul["inputs"] == ["x", "h.W"] and matmul["name"] is None
    assert matmul["id"].startswith("%") and matmul["backward"] is False
    w = nodes[1]
    assert w["attrs"]["init"] == "glorot_uniform()" and w["attrs"]["trainable"] == "true"
    json.loads(R.dumps(doc))


def test_error_document(program):
    e = ShapeError("bad", Span("r.tl", 3, 1, 3, 2))
    doc = R.error_document("ir", "r.tl", e, [CompileWarning("w")])
    assert doc["ok"] is False and doc["command"] == "ir"
    assert [p["message"] for p in doc["errors"]] == ["bad"]
    assert [p["message"] for p in doc["warnings"]] == ["w"]


def test_run_lines():
    line = json.loads(R.epoch_line(2, 5, {"loss": np.float32(0.25), "bad": float("inf")}, 0.5))
    assert line == {"version": R.SCHEMA_VERSION, "event": "epoch", "epoch": 2, "epochs": 5,
                    "metrics": {"loss": 0.25, "bad": None}, "seconds": 0.5}
    event = json.loads(R.event_line("warning", CompileWarning("w", Span("r.tl", 1, 1, 1, 2))))
    assert event["event"] == "warning" and event["problem"]["message"] == "w"
