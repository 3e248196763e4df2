"""`tensorlang gradcheck` and the retype pass: right gradients pass, a wrong gradient rule
fails with exit status 1, inputs respect the declared types and class-id bounds."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import records
from tensorlang.ops import REGISTRY
from tensorlang.tools import gradcheck as GC
from tensorlang.tools.cli import main
from tensorlang.transforms.retype import retype

from ..opgraph import one_op

ROOT = Path(__file__).resolve().parents[2]
XOR = ROOT / "examples" / "xor.tl"


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def table_rows(out: str) -> dict[tuple[str, str], list[str]]:
    """(loss, variable) -> the row's words; read from the right, since shapes contain spaces."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[-1] in ("ok", "FAILED") and parts[1] != "variable":
            rows[(parts[0], parts[1])] = parts
    return rows


# ------------------------------------------------------------------ the command
def test_xor_gradients_pass(capsys):
    rc, out, err = run_cli(capsys, "gradcheck", str(XOR))
    assert rc == 0, out + err
    rows = table_rows(out)
    assert set(rows) == {("loss", v) for v in ("h.W", "h.b", "p.W", "p.b")}
    for parts in rows.values():
        assert parts[-1] == "ok"
        assert float(parts[-3]) < 1e-8  # max abs error: f64 differences are this good
    assert rows[("loss", "h.W")][-4] == "8/8"
    assert "examples" in out and "of data block table" in out
    assert out.rstrip().endswith("gradients ok")


def test_a_wrong_gradient_rule_fails(capsys, monkeypatch):
    op = REGISTRY["tanh"]

    def wrong(b, n, g):  # d tanh = 1 - tanh^2, here 1 - tanh (wrong)
        return (b.op("multiply", g, b.op("subtract", b.constant(1, n.dtype), n)),)
    monkeypatch.setitem(REGISTRY, "tanh", records.replace(op, grad=wrong))
    rc, out, err = run_cli(capsys, "gradcheck", str(XOR))
    assert rc == 1
    rows = table_rows(out)
    assert rows[("loss", "h.W")][-1] == "FAILED" and rows[("loss", "h.b")][-1] == "FAILED"
    assert rows[("loss", "p.W")][-1] == "ok"  # above the tanh: unaffected
    assert "gradcheck: d loss / d h.W[" in err and "finite differences" in err
    assert "2 gradients disagree with finite differences" in err


def test_a_subtly_wrong_broadcast_rule_fails(capsys, monkeypatch):
    op = REGISTRY["add"]  # scaling one side by 1.001 is a 1e-3 relative error
    monkeypatch.setitem(REGISTRY, "add", records.replace(
        op, grad=lambda b, n, g: (g, b.op("multiply", g, b.constant(1.001, g.dtype)))))
    rc, out, _ = run_cli(capsys, "gradcheck", str(XOR))
    assert rc == 1
    rows = table_rows(out)
    assert rows[("loss", "h.b")][-1] == "FAILED" and rows[("loss", "p.b")][-1] == "FAILED"


SECOND = """\
graph g {
    placeholder x: f32[N, 3]
    variable W: f32[3, 2] = normal()
    y = sum(tanh(x @ W))
    gn = sum(square(grad(y, W)))
    v = x @ W
}
"""


def test_of_checks_named_scalars_including_second_order(tmp_path, capsys):
    f = tmp_path / "second.tl"
    f.write_text(SECOND)
    rc, out, err = run_cli(capsys, "gradcheck", str(f), "--of", "y", "--of", "gn", "--seed", "3")
    assert rc == 0, out + err
    rows = table_rows(out)
    assert rows[("y", "W")][-1] == "ok" and rows[("gn", "W")][-1] == "ok"
    assert "feed x: f64[3, 3] uniform(0.1, 0.9)" in out


def test_second_order_failure_is_caught(tmp_path, capsys, monkeypatch):
    """gn needs the gradient of tanh's gradient rule: break `square`'s rule, used only there."""
    op = REGISTRY["square"]
    monkeypatch.setitem(REGISTRY, "square", records.replace(
        op, grad=lambda b, n, g: (b.op("multiply", g, n.inputs[0]),)))  # x, not 2x
    f = tmp_path / "second.tl"
    f.write_text(SECOND)
    rc, out, _ = run_cli(capsys, "gradcheck", str(f), "--of", "y", "--of", "gn")
    assert rc == 1
    rows = table_rows(out)
    assert rows[("y", "W")][-1] == "ok" and rows[("gn", "W")][-1] == "FAILED"


@pytest.mark.parametrize("argv,message", [
    (["--of", "yy"], 'graph "g" has no node "yy"'),
    (["--of", "v"], '"v" is f32[N, 2]; gradcheck differentiates float scalars'),
    ([], 'graph "g" has no train block'),
])
def test_usage_errors(tmp_path, capsys, argv, message):
    f = tmp_path / "second.tl"
    f.write_text(SECOND)
    rc, out, err = run_cli(capsys, "gradcheck", str(f), *argv)
    assert rc == 1 and message in err and "Traceback" not in err


def test_a_data_block_that_does_not_load_falls_back_to_random_inputs(tmp_path, capsys):
    text = XOR.read_text().replace("x = [[0, 0], [0, 1], [1, 0], [1, 1]]", 'x = npy("no.npy")')
    f = tmp_path / "xor.tl"
    f.write_text(text)
    rc, out, _ = run_cli(capsys, "gradcheck", str(f))
    assert rc == 0
    assert "note: data block table did not load, so the inputs are random" in out
    assert "feed x: f64[3, 2] uniform(0.1, 0.9)" in out


def test_large_variables_are_sampled(tmp_path, capsys):
    f = tmp_path / "big.tl"
    f.write_text("""
graph g {
    placeholder x: f32[N, 20]
    variable W: f32[20, 10] = normal(std = 0.3)
    loss = mean(square(tanh(x @ W)))
}""")
    rc, out, _ = run_cli(capsys, "gradcheck", str(f), "--of", "loss")
    assert rc == 0 and table_rows(out)[("loss", "W")][-4] == "50/200"


# ------------------------------------------------------------------ random inputs
LABELS = """
graph g {
    placeholder x: f32[N, 6]
    placeholder ids: i64[N]
    placeholder hot: i32[N]
    placeholder rows: i64[M, 2]
    placeholder bits: bool[N, 6]
    placeholder free: i64[N]
    variable table: f32[9, 6] = normal()
    variable W: f32[6, 7] = normal()
    logits = x @ W
    ce = mean(softmax_cross_entropy(logits, ids))
    oh = sum(one_hot(hot, 5) @ ones([5, 1]))
    picked = sum(take(table, reshape(rows, [2 * M]), axis = 0))
    masked = sum(where(bits, x, 0.0)) + sum(cast(free, f32))
    loss = ce + oh + picked + masked
}
"""


def test_integer_placeholders_get_values_in_range():
    g = tl.compile(LABELS).graphs["g"]
    feeds, notes = GC.random_feeds(g, g.placeholders, np.random.default_rng(0))
    assert feeds["x"].shape == (3, 6) and feeds["x"].dtype == np.float32
    assert feeds["ids"].shape == (3,) and set(np.unique(feeds["ids"])) <= set(range(7))
    assert set(np.unique(feeds["hot"])) <= set(range(5)) and feeds["hot"].dtype == np.int32
    assert feeds["rows"].shape == (3, 2) and feeds["rows"].max() < 9
    assert feeds["bits"].dtype == np.bool_
    text = "\n".join(notes)
    assert "ids: i64[3] integers in [0, 7) (classes of softmax_cross_entropy at line 12)" in text
    assert "hot: i32[3] integers in [0, 5) (depth of one_hot at line 13)" in text
    assert "rows: i64[3, 2] integers in [0, 9) (size of the axis take gathers from" in text
    assert "free: i64[3] integers in [0, 4) (no bound found)" in text


def test_class_ids_drawn_many_times_cover_the_classes_and_stay_inside():
    g = tl.compile(LABELS).graphs["g"]
    seen = set()
    for seed in range(30):
        feeds, _ = GC.random_feeds(g, g.placeholders, np.random.default_rng(seed))
        seen |= set(feeds["ids"].tolist())
    assert seen == set(range(7))


def test_check_on_a_graph_with_class_ids_and_gathers():
    g = tl.compile(LABELS).graphs["g"]
    rows, notes = GC.check(g, ["loss"], seed=1)
    assert {r.variable for r in rows} == {"table", "W"}
    assert all(r.ok for r in rows), rows


def test_dim_sizes_keep_derived_dims_positive():
    g = tl.compile("""
graph g {
    placeholder a: f32[T - 3, 2]
    placeholder b: f32[T, 2]
}""").graphs["g"]
    env = GC.dim_env(g.placeholders)
    assert env == {"T": 4}


# ------------------------------------------------------------------ retype
def test_retype_keeps_names_spans_scopes_and_values():
    program = tl.load(str(XOR))
    g = program.graphs["xor"]
    g64 = retype(g, GC.TO_F64)
    g64.verify()
    assert [n.name for n in g64.nodes] == [n.name for n in g.nodes]
    assert [(n.span, n.scope, n.op) for n in g64.nodes] == [(n.span, n.scope, n.op)
                                                            for n in g.nodes]
    # only the mean of a bool stays f32 (the default float of an integer or bool reduction)
    assert [n.name for n in g64.nodes if n.dtype == "f32"] == ["acc"]
    assert {n.dtype for n in g64.nodes} == {"f64", "f32", "bool"}
    assert g64.node("h").shape == ("N", 4)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float64)
    y = np.array([[0], [1], [1], [0]], np.float64)
    s32, s64 = tl.Session(g, seed=2), tl.Session(g64, seed=2)
    p32, p64 = s32.run("loss", {"x": x, "y": y}), s64.run("loss", {"x": x, "y": y})
    assert p32.dtype == np.float32 and p64.dtype == np.float64
    np.testing.assert_allclose(p64, p32, rtol=1e-5)


def test_retype_maps_dtype_attributes():
    g = tl.compile("""
graph g {
    placeholder x: f64[3]
    c = cast(x, f32) * 2
    z = zeros([2], dtype = f32)
}""").graphs["g"]
    g64 = retype(g, {"f32": "f64"})
    assert g64.node("c").dtype == "f64" and g64.node("z").dtype == "f64"
    g16 = retype(g64, {"f64": "f16"})
    assert g16.node("x").dtype == "f16" and g16.node("c").dtype == "f16"


@pytest.mark.parametrize("name", sorted(n for n, op in REGISTRY.items() if op.cases))
def test_retype_rebuilds_every_op(name):
    arrays, attrs = REGISTRY[name].cases(np.random.default_rng(zlib.crc32(name.encode())))[0]
    b, _, node = one_op(name, arrays, attrs, dtype_override="f32")
    g64 = retype(b.finish(), GC.TO_F64)
    g64.verify()
    out = g64.nodes[-1]
    made = name if REGISTRY[name].expand is None else node.op  # an op made of others: its last
    assert out.op == made and tuple(out.type.shape) == tuple(node.type.shape)
    if node.dtype == "f32":
        assert out.dtype == "f64"


def test_a_scalar_variable_is_checked(tmp_path, capsys):
    # a TypeError from item assignment on a NumPy scalar, before
    path = tmp_path / "s.tl"
    path.write_text("graph g {\n    placeholder x: f64[N]\n    variable w: f64[] = 1.5\n"
                    "    loss = sum(x * w * w)\n}\ndata d {\n    x = [1.0, 2.0]\n}\n"
                    "train g {\n    data = d\n    minimize = loss\n    optimizer = sgd(lr = 0.1)\n"
                    "    epochs = 1\n}\n")
    assert main(["gradcheck", str(path)]) == 0
    out = capsys.readouterr().out
    assert "loss  w         []     1/1" in out and "gradients ok" in out
