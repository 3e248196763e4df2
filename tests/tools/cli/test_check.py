"""`tensorlang check`, the static checks of data/train/evaluate blocks, and graph.verify() on every
example (forward and with the gradients of each train block's loss)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tensorlang as tl
from tensorlang.errors import ProgramError
from tensorlang.ir.graph import VerifyError
from tensorlang.tools.cli import main
from tensorlang.transforms.autodiff import backward

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

XOR_TABLE = """\
graph xor
-----------------------------------------
node   op           dtype  shape   params
-----------------------------------------
x      placeholder  f32    [N, 2]
y      placeholder  f32    [N, 1]
h      Dense        f32    [N, 4]      12
  h.W  variable     f32    [2, 4]       8
  h.b  variable     f32    [4]          4
p      Dense        f32    [N, 1]       5
  p.W  variable     f32    [4, 1]       4
  p.b  variable     f32    [1]          1
loss   mean         f32    []
acc    mean         f32    []
-----------------------------------------
parameters: 17 (17 trainable, 0 frozen)
outputs:
  loss  f32[]  rank 0  volume 1
  acc   f32[]  rank 0  volume 1
"""


def test_check_prints_the_table_and_exits_0(capsys):
    assert main(["check", str(EXAMPLES / "xor.tl")]) == 0
    out, err = capsys.readouterr()
    assert out == XOR_TABLE + f"\n{EXAMPLES / 'xor.tl'}: ok (1 graph, 2 run blocks)\n"
    assert err == ""


def test_check_with_an_override_changes_the_table(capsys):
    assert main(["check", str(EXAMPLES / "xor.tl"), "--set", "hidden=8"]) == 0
    out = capsys.readouterr().out
    assert "h      Dense        f32    [N, 8]      24" in out
    assert "parameters: 33 (33 trainable, 0 frozen)" in out


TABLE_PROGRAM = """\
layer Inner(x: [..., In], units) {
    variable W: [In, units] = ones()
    return x @ W
}
layer Outer(x: [..., In], units) {
    inner = Inner(x, units)
    return relu(inner)
}
graph big {
    placeholder x: f32[N, 28, 28]
    flat = reshape(x, [-1, 784])
    o = Outer(flat, 10)
    z = relu(Dense(o, 5))
    variable keep: f32[3] = zeros() frozen
    s = sum(z) + sum(keep)
    both = concat([flat, flat], axis = 0)
}
graph small {
    placeholder v: i32[3]
    w = v * 2
}
"""


def test_check_nests_layers_and_reports_frozen_parameters_and_outputs(tmp_path, capsys):
    f = tmp_path / "t.tl"
    f.write_text(TABLE_PROGRAM)
    assert main(["check", str(f)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    rows = [ln.split() for ln in lines[4:lines.index("-" * len(lines[1]), 4)]]
    assert [r[0] for r in rows] == ["x", "flat", "o", "o.inner", "o.inner.W", "Dense_1",
                                    "Dense_1.W", "Dense_1.b", "z", "keep", "s", "both"]
    by_name = {r[0]: r for r in rows}
    assert by_name["o"][1:] == ["Outer", "f32", "[N,", "10]", "7,840"]
    assert by_name["o.inner"][1:] == ["Inner", "f32", "[N,", "10]", "7,840"]
    assert by_name["Dense_1"][1:] == ["Dense", "f32", "[N,", "5]", "55"]
    assert by_name["keep"][1:3] == ["variable", "(frozen)"] and by_name["keep"][-1] == "3"
    # nesting is shown by indentation
    assert "\n  o.inner  " in out and "\n    o.inner.W  " in out and "\n  Dense_1.W  " in out
    assert "parameters: 7,898 (7,895 trainable, 3 frozen)" in out
    assert "  s     f32[]          rank 0  volume 1" in out
    assert "  both  f32[2*N, 784]  rank 2  volume 1568*N" in out
    assert "graph small" in out and "  w  i32[3]  rank 1  volume 3" in out
    assert out.endswith(f"{f}: ok (2 graphs, 0 run blocks)\n")
    # deterministic: a second run prints the same text
    assert main(["check", str(f)]) == 0
    assert capsys.readouterr().out == out


def test_check_reports_a_located_error_and_exits_1(tmp_path, capsys):
    f = tmp_path / "bad.tl"
    f.write_text("graph g {\n    placeholder x: f32[N, 784]\n    variable W: f32[748, 10] = "
                 "zeros()\n    y = x @ W\n}\n")
    assert main(["check", str(f)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"{f}:4:9: error: matmul: f32[N, 784] @ f32[748, 10]: inner dims 784 and "
                   "748 differ\n        y = x @ W\n            ^^^^^\n")


def test_check_of_a_missing_file_and_a_bad_override(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.tl")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["check", str(EXAMPLES / "xor.tl"), "--set", "hiden=3"]) == 1
    err = capsys.readouterr().err
    assert 'error: --set hiden: the program has no "let hiden"' in err
    assert 'hint: did you mean "hidden"?' in err


def test_the_console_script(tmp_path):
    exe = Path(sys.executable).with_name("tensorlang")
    ok = subprocess.run([str(exe), "check", str(EXAMPLES / "xor.tl")], capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith(XOR_TABLE)
    f = tmp_path / "bad.tl"
    f.write_text("graph g {\n    placeholder x: f32[N, 2]\n    y = sigmod(x)\n}\n")
    bad = subprocess.run([str(exe), "check", str(f)], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr == (f'{f}:3:9: error: unknown op "sigmod"\n        y = sigmod(x)\n'
                          '            ^^^^^^\nhint: did you mean "sigmoid"?\n')
    assert "Traceback" not in bad.stderr


# ------------------------------------------------------------------ verify on every example
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.tl")), ids=lambda p: p.name)
def test_every_example_verifies_forward_and_with_gradients(path):
    program = tl.load(str(path))
    assert program.graphs
    for g in program.graphs.values():
        g.verify()
    trained = [s for s in program.runs if s.kind == "train"]
    for spec in trained:
        bg = backward(program.graphs[spec.graph], spec.minimize)
        bg.verify()
        grads = [bg.node(f"grad({spec.minimize})/{v.name}") for v in
                 program.graphs[spec.graph].trainable]
        for v, gr in zip(program.graphs[spec.graph].trainable, grads):
            assert gr.type.shape == v.type.shape and gr.dtype == v.dtype


def test_verify_catches_a_broken_graph():
    from tensorlang import records
    g = tl.compile("graph g {\n placeholder x: f32[N, 2]\n y = x * 2\n}").graphs["g"]
    y = g.node("y")
    bad_type = records.replace(y, type=y.type.with_shape((3, 2)))
    broken = records.replace(g, nodes=g.nodes[:-1] + (bad_type,))
    with pytest.raises(VerifyError, match="the shape rule of multiply gives") as e:
        broken.verify()
    text = e.value.format()
    # the failing node in IR context, under the names `tensorlang ir` prints, at its source line
    assert "<string>:3:6: internal error: graph \"g\" is malformed at y: it is typed " \
           "f32[3, 2]" in text
    assert "note: > y: f32[3, 2] = multiply x %0" in text and "note:   x: f32[N, 2]" in text
    assert "%" + str(y.id) not in text and "    y = x * 2" in text
    with pytest.raises(VerifyError, match="its input 0 .placeholder: f32.N, 2.. is not defined "
                                          "before it"):
        records.replace(g, nodes=(y,) + g.nodes[:-1]).verify()


# ------------------------------------------------------------------ data and run blocks
BASE = """graph g {
    placeholder x: f32[N, 2]
    placeholder y: f32[N, 1]
    placeholder s: f32[] = 1
    p = Dense(x, 1, activation = sigmoid) * s
    per = binary_cross_entropy(p, y)
    loss = mean(per)
    n = sum(x > 0)
}
data table {
    x = [[0, 0], [0, 1]]
    y = [[0], [1]]
}
data xs {
    x = [[0, 0], [0, 1]]
}
"""


def run_error(block: str) -> ProgramError:
    """The ProgramError of BASE followed by a run block."""
    with pytest.raises(ProgramError) as info:
        tl.compile(BASE + block, "t.tl")
    return info.value


def caret(e) -> str:
    """The text under the error's caret."""
    line = e.span.source_line()
    return line[e.span.column - 1:e.span.end_column - 1]


@pytest.mark.parametrize("block, message, hint, under", [
    ("train g {\n data = table\n minimize = loss\n epoch = 3\n}",
     'train blocks have no key "epoch"', 'did you mean "epochs"?', "epoch"),
    ("evaluate g {\n data = table\n minimize = loss\n}",
     'evaluate blocks have no key "minimize"', "keys: data, batch, report, show, load",
     "minimize"),
    ("train g {\n data = table\n minimize = los\n}",
     'graph "g" has no node "los"', 'did you mean "loss"?', "los"),
    ("train g {\n data = table\n minimize = per\n}",
     'minimize: "per" must be a float scalar, not f32[N, 1]',
     "write mean(per) to average a per-example loss", "per"),
    ("train g {\n data = table\n minimize = n\n}",
     'minimize: "n" must be a float scalar, not i64[]',
     "a loss is a float: i64 values have no gradient", "n"),
    ("train g {\n data = table\n minimize = loss\n report = [loss, p]\n}",
     'report: "p" must be a scalar, not f32[N, 1]', "report mean(p), or show it", "p"),
    ("evaluate g {\n data = table\n show = [loss, q]\n}",
     'graph "g" has no node "q"', None, "q"),
    ("train g {\n data = tabel\n minimize = loss\n}",
     'no data block named "tabel"', 'did you mean "table"?', "tabel"),
    ("train g {\n data = table\n minimize = loss\n optimizer = adamm(lr = 0.1)\n}",
     'unknown optimizer "adamm"', 'did you mean "adam"?', "adamm"),
    ("train g {\n data = table\n minimize = loss\n optimizer = sgd(rate = 0.1)\n}",
     'sgd() has no argument "rate"', "its arguments: lr, momentum, nesterov, weight_decay",
     "rate = 0.1"),
    ("train g {\n data = table\n minimize = loss\n optimizer = sgd()\n}",
     "sgd() needs a learning rate: sgd(lr = 0.1)", None, "sgd()"),
    ("train g {\n data = table\n minimize = loss\n epochs = 0\n}",
     "epochs must be at least 1", None, "0"),
    ("train g {\n data = table\n minimize = loss\n batch = 2.5\n}",
     "batch must be an integer, not the number 2.5", None, "2.5"),
    ("train g {\n data = table\n minimize = loss\n data = xs\n}",
     '"data" is given twice', None, "data"),
    ("train g {\n data = xs\n minimize = loss\n}",
     'placeholder "y" is needed but data block "xs" has no field "y"', None, "xs"),
    ("train g {\n minimize = loss\n}", 'train g: missing "data = ..."', None, "g"),
    ("train g {\n data = table\n}", 'train g: missing "minimize = NODE"', None, "g"),
    ("train h {\n data = table\n}", 'train: no graph named "h"', "its graphs: g", "h"),
])
def test_run_blocks_are_checked_statically(block, message, hint, under):
    e = run_error(block)
    assert e.message == message
    assert e.hint == hint
    assert caret(e) == under
    assert e.line > BASE.count("\n")


def test_data_fields_must_name_placeholders():
    e = run_error("data bad {\n x = [[1, 2]]\n yy = [[1]]\n}\n"
                  "evaluate g {\n data = bad\n show = [p]\n}")
    assert e.message == 'data field "yy" (block "bad") names no placeholder of graph "g"'
    assert e.hint == 'did you mean "y"?' and caret(e) == "yy"
    assert e.notes[0][0] == 'the evaluate block of "g" uses "bad" here'


def test_what_a_run_block_needs_decides_which_placeholders_must_be_fed():
    # `show = [n]` needs x only, and s has a default: data block xs is enough
    p = tl.compile(BASE + "evaluate g {\n data = xs\n show = [n]\n}", "t.tl")
    (spec,) = p.runs
    assert (spec.kind, spec.data, spec.show, spec.batch) == ("evaluate", "xs", ("n",), None)
    p = tl.compile(BASE + "train g {\n data = table\n minimize = loss\n optimizer = adam\n"
                   " epochs = 3\n batch = 2\n seed = 1\n shuffle = false\n report = [loss]\n"
                   " validate = table\n save = \"w.npz\"\n}", "t.tl")
    (spec,) = p.runs
    assert spec.optimizer.name == "adam" and dict(spec.optimizer.params)["lr"] == 1e-3
    assert (spec.epochs, spec.batch, spec.seed, spec.shuffle) == (3, 2, 1, False)
    assert (spec.report, spec.validate, spec.save) == (("loss",), "table", "w.npz")


def test_data_block_mistakes_are_found_without_reading_files():
    with pytest.raises(ProgramError, match='unknown loader "ipx"') as info:
        tl.compile('data d {\n x = ipx("a.gz")\n}\n', "t.tl")
    assert info.value.hint == 'did you mean "idx"?'
    with pytest.raises(tl.TensorlangError, match='data block "d" is already defined'):
        tl.compile("data d {\n x = [1]\n}\ndata d {\n x = [1]\n}\n", "t.tl")
    with pytest.raises(tl.TensorlangError, match='field "x" is already defined'):
        tl.compile("data d {\n x = [1]\n x = [2]\n}\n", "t.tl")


def test_check_batch_prints_the_predicted_memory(capsys):
    assert main(["check", str(EXAMPLES / "mnist_mlp.tl"), "--batch", "128"]) == 0
    out = capsys.readouterr().out
    assert "memory of graph mlp (N = 128), predicted:" in out
    assert "training step" in out and "inference" in out and "MiB" in out


def test_check_batch_mistakes_are_usage_errors(capsys):
    lstm = str(EXAMPLES / "lstm_first_symbol.tl")
    assert main(["check", lstm, "--batch", "8"]) == 1
    assert "give it with --dim T=SIZE" in capsys.readouterr().err
    assert main(["check", lstm, "--batch", "8", "--dim", "T=40"]) == 0
    capsys.readouterr()
    for argv in (["--batch", "0"], ["--dim", "T=40"], ["--batch", "8", "--dim", "T"]):
        assert main(["check", lstm, *argv]) == 1
        assert "error" in capsys.readouterr().err


def test_the_looking_commands_write_nothing(tmp_path, monkeypatch, capsys):
    # check, ir, fmt and graph (but its -o) only read: the program's folder and the current
    # folder are as they were, save made or modes changed
    root = Path(__file__).resolve().parents[3]
    prog = tmp_path / "prog"
    prog.mkdir()
    text = (root / "examples" / "xor.tl").read_text().replace('seed      = 0', 'seed      = 0\n'
                                                              '    save      = "xor.npz"')
    (prog / "xor.tl").write_text(text)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    def listing():
        return sorted((str(p.relative_to(tmp_path)), p.stat().st_mode, p.stat().st_size)
                      for p in tmp_path.rglob("*"))
    before = listing()
    assert main(["check", "../prog/xor.tl"]) == 0
    for argv in (["ir", "../prog/xor.tl", "--optimized"],
                 ["fmt", "../prog/xor.tl"], ["fmt", "../prog/xor.tl", "--check"],
                 ["graph", "../prog/xor.tl", "--backward", "-o", "out.dot"]):
        main(argv)
    capsys.readouterr()
    assert [x for x in listing() if not x[0].endswith("out.dot")] == before
