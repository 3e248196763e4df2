"""`check --json`, `ir --json` and `run --json`: every document validates against its JSON Schema
in docs/schema/ (with jsonschema), holds the same facts as the compiled program and the text
output, and errors come as JSON with their ranges and exit status 1."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

import tensorlang as tl
from tensorlang.ir.printing import format_graph
from tensorlang.tools.cli import main
from tensorlang.tools.report import SCHEMA_VERSION, ir_document

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.tl"))
XOR = ROOT / "examples" / "xor.tl"


def schema(name: str) -> dict:
    return json.loads((ROOT / "docs" / "schema" / f"{name}.schema.json").read_text())


def validate(doc: dict, name: str) -> None:
    jsonschema.Draft202012Validator(schema(name)).validate(doc)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_schemas_are_valid_and_carry_the_version():
    for name in ("check", "ir", "run"):
        s = schema(name)
        jsonschema.Draft202012Validator.check_schema(s)
        assert str(SCHEMA_VERSION) in json.dumps(s)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_check_json_of_every_example_validates_and_holds_the_compilers_facts(capsys, path):
    code, out, err = run_cli(capsys, "check", str(path), "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    validate(doc, "check")
    program = tl.load(str(path))
    assert doc["ok"] and doc["version"] == SCHEMA_VERSION and doc["file"] == str(path)
    assert [g["name"] for g in doc["graphs"]] == list(program.graphs)
    for g in doc["graphs"]:
        graph = program.graphs[g["name"]]
        assert [n["name"] for n in g["nodes"]] == list(graph.names)
        for n in g["nodes"]:
            node = graph.node(n["name"])
            assert (n["op"], n["dtype"], tuple(n["shape"])) == (node.op, node.dtype, node.shape)
            assert n["range"]["start"] == {"line": node.span.line, "column": node.span.column}
    assert [(r["kind"], r["graph"]) for r in doc["runs"]] == [
        (s.kind, s.graph) for s in program.runs]


def test_check_json_of_xor_matches_the_table(capsys):
    doc = json.loads(run_cli(capsys, "check", str(XOR), "--json")[1])
    (g,) = doc["graphs"]
    nodes = {n["name"]: n for n in g["nodes"]}
    assert nodes["h"]["layer"] == "Dense" and nodes["h"]["params"] == 12
    assert nodes["h"]["shape"] == ["N", 4] and nodes["h.W"]["shape"] == [2, 4]
    assert nodes["h.W"]["params"] == 8 and nodes["h.W"]["trainable"] is True
    assert g["parameters"] == {"total": 17, "trainable": 17, "frozen": 0}
    assert g["outputs"] == ["loss", "acc"] and g["dims"] == ["N"]
    train = doc["runs"][0]
    assert train["optimizer"] == {"name": "sgd", "params": {"lr": 0.5, "momentum": 0.9,
                                                           "nesterov": False, "weight_decay": 0.0}}


def test_an_error_is_json_with_its_range_and_exits_1(capsys, tmp_path):
    bad = tmp_path / "bad.tl"
    bad.write_text("let hidden = 4\ngraph g {\n    placeholder x: f32[N, 2]\n"
                   "    y = x @ hiden\n}\n")
    code, out, err = run_cli(capsys, "check", str(bad), "--json")
    assert code == 1 and err == ""
    doc = json.loads(out)
    validate(doc, "check")
    (e,) = doc["errors"]
    assert doc["ok"] is False and e["kind"] == "NamingError" and e["severity"] == "error"
    assert e["range"] == {"file": str(bad), "start": {"line": 4, "column": 13},
                          "end": {"line": 4, "column": 18}}
    assert e["hint"] == 'did you mean "hidden"?'
    code, out, _ = run_cli(capsys, "check", str(tmp_path / "missing.tl"), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["errors"][0]["range"] is None
    assert doc["errors"][0]["kind"] == "UsageError"
    validate(doc, "check")


def test_warnings_are_in_the_document_not_on_stderr(capsys, tmp_path):
    f = tmp_path / "w.tl"
    f.write_text("graph g {\n    placeholder x: f32[N, 2]\n    variable w: [2] = ones()\n"
                 "    variable unused: [3] = ones()\n    loss = mean(x * w)\n}\n"
                 "data d {\n    x = [[1, 2]]\n}\ntrain g {\n    data = d\n    minimize = loss\n}\n")
    code, out, err = run_cli(capsys, "check", str(f), "--json")
    doc = json.loads(out)
    assert code == 0 and err == "" and doc["ok"]
    (w,) = doc["warnings"]
    assert w["severity"] == "warning" and "unused" in w["message"]
    assert w["range"]["start"]["line"] == 4
    assert w["notes"][0]["range"]["start"]["line"] == 12
    validate(doc, "check")


def test_a_document_that_breaks_the_schema_is_caught():
    good = {"version": 1, "command": "check", "file": "f.tl", "ok": True, "errors": [],
            "warnings": [], "graphs": [], "runs": []}
    validate(good, "check")
    for broken in ({"version": 2}, {"ok": False}, {"graphs": [{"name": "g"}]},
                   {"errors": [{"message": "no severity"}]}):
        doc = copy.deepcopy(good)
        doc.update(broken)
        with pytest.raises(jsonschema.ValidationError):
            validate(doc, "check")


@pytest.mark.parametrize("flags", [(), ("--backward",), ("--backward", "--optimized")])
def test_ir_json_has_every_node_as_ir_prints_it(capsys, flags):
    code, out, err = run_cli(capsys, "ir", str(XOR), "--json", *flags)
    assert code == 0
    doc = json.loads(out)
    validate(doc, "ir")
    text = run_cli(capsys, "ir", str(XOR), *flags)[1].splitlines()[1:-1]
    nodes = doc["graph"]["nodes"]
    assert [line.split(":")[0].strip() for line in text] == [n["id"] for n in nodes]
    for line, n in zip(text, nodes):
        shape = ", ".join(map(str, n["shape"]))
        assert line.split("=")[0].strip() == f"{n['id']}: {n['dtype']}[{shape}]"
        assert all(i in line for i in n["inputs"])
    assert any(n["backward"] for n in nodes) == ("--backward" in flags)
    ids = [n["id"] for n in nodes]
    assert all(i in ids[:k] for k, n in enumerate(nodes) for i in n["inputs"])  # in order


def test_ir_json_of_a_usage_error_is_json(capsys):
    code, out, _ = run_cli(capsys, "ir", str(XOR), "--json", "--no-pass", "fuse")
    doc = json.loads(out)
    validate(doc, "ir")
    assert code == 1 and doc["errors"][0]["kind"] == "UsageError"
    assert "--optimized" in doc["errors"][0]["message"]


def test_ir_json_matches_the_graph_printer():
    program = tl.load(str(XOR))
    graph = program.graphs["xor"]
    doc = ir_document(program, graph)
    assert len(doc["graph"]["nodes"]) == len(format_graph(graph).splitlines()) - 2


def test_run_json_prints_one_line_per_epoch_and_the_text_on_stderr(capsys):
    code, out, err = run_cli(capsys, "run", str(XOR), "--json", "--epochs", "20",
                             "--log-every", "5")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    for line in lines:
        validate(line, "run")
    assert [d["epoch"] for d in lines] == [1, 5, 10, 15, 20]
    assert all(d["event"] == "epoch" and d["epochs"] == 20 for d in lines)
    assert set(lines[-1]["metrics"]) == {"loss", "acc"}
    assert "train xor on table" in err and "evaluate xor on table" in err
    code, text, _ = run_cli(capsys, "run", str(XOR), "--epochs", "20", "--log-every", "5")
    first = text.splitlines()[1].split()  # `epoch 1/20  loss 0.7286  acc 0.5000  0.9ms`
    assert first[:3] == ["epoch", "1/20", "loss"]
    assert float(first[3]) == pytest.approx(lines[0]["metrics"]["loss"], abs=1e-4)


def test_run_json_carries_the_learning_rate_where_a_schedule_changes_it(capsys, tmp_path):
    text = XOR.read_text().replace("    epochs    = 500",
                                   "    epochs    = 500\n    schedule  = step(every = 2)")
    (tmp_path / "xor.tl").write_text(text)
    code, out, _ = run_cli(capsys, "run", str(tmp_path / "xor.tl"), "--json", "--epochs", "4")
    lines = [json.loads(line) for line in out.splitlines()]
    for line in lines:
        validate(line, "run")
    assert code == 0 and [d.get("lr") for d in lines] == [0.5, None, 0.05, None]


def test_run_json_of_an_error_is_an_error_line_and_exits_1(capsys, tmp_path):
    bad = tmp_path / "bad.tl"
    bad.write_text("graph g {\n    y = nope\n}\n")
    code, out, err = run_cli(capsys, "run", str(bad), "--json")
    (line,) = [json.loads(x) for x in out.splitlines()]
    validate(line, "run")
    assert code == 1 and err == "" and line["event"] == "error"
    assert line["problem"]["range"]["start"] == {"line": 2, "column": 9}


def test_check_json_with_batch_carries_the_memory_and_validates(capsys):
    path = str(Path(__file__).resolve().parents[3] / "examples" / "mnist_cnn.tl")
    code, out, _ = run_cli(capsys, "check", path, "--json", "--batch", "32")
    assert code == 0
    doc = json.loads(out)
    validate(doc, "check")
    (m,) = doc["memory"]
    assert m["dims"] == {"N": 32}
    for kind in ("train", "inference"):
        facts = m[kind]
        assert facts["peak_bytes"] == facts["allocated_bytes"] + facts["inputs_bytes"] > 0
