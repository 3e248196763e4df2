"""tools/cli/export.py: `tensorlang export` writes a checked ONNX model (the variables of
--load or of a --seed session), --train the training step; every mistake (an output that is no
node, --train without a train block, an op without an ONNX form, onnx not installed) is a
located error, exit status 1, and no .onnx file, not even a half-written one."""

from __future__ import annotations

import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from tensorlang.runtime import checkpoint  # noqa: E402
from tensorlang.tools.cli import main  # noqa: E402

NO_TRAIN = "graph g {\n placeholder x: f32[N, 2]\n y = Dense(x, 3)\n}\n"


def test_export_writes_a_checked_model(tmp_path, capsys):
    out = tmp_path / "xor.onnx"
    assert main(["export", "examples/xor.tl", "-o", str(out), "--outputs", "p"]) == 0
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    assert [o.name for o in model.graph.output] == ["p"]
    assert "wrote" in capsys.readouterr().out


def test_load_gives_the_initializers_their_values(tmp_path):
    ckpt = tmp_path / "w.npz"
    w = np.arange(8, dtype=np.float32).reshape(2, 4)
    checkpoint.save(str(ckpt), {"h.W": w, "h.b": np.zeros(4, np.float32),
                                "p.W": np.ones((4, 1), np.float32),
                                "p.b": np.zeros(1, np.float32)})
    out = tmp_path / "m.onnx"
    assert main(["export", "examples/xor.tl", "-o", str(out), "--load", str(ckpt)]) == 0
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(out)).graph.initializer}
    np.testing.assert_array_equal(inits["h.W"], w)


def test_train_exports_the_step_with_new_values(tmp_path):
    out = tmp_path / "step.onnx"
    assert main(["export", "examples/xor.tl", "-o", str(out), "--train"]) == 0
    model = onnx.load(str(out))
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    assert inputs[:2] == ["x", "y"] and "h.W" in inputs
    assert outputs[:2] == ["loss", "acc"]
    assert {f"{n}.new" for n in inputs[2:]} == set(outputs[2:])


def _fails(argv, tmp_path, capsys, *expected):
    out = tmp_path / "bad.onnx"
    assert main(["export", *argv, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    for text in expected:
        assert text in err, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left


def test_an_output_that_is_no_node(tmp_path, capsys):
    _fails(["examples/xor.tl", "--outputs", "pp"], tmp_path, capsys, 'has no node "pp"',
           'did you mean "p"?')


def test_train_without_a_train_block(tmp_path, capsys):
    src = tmp_path / "g.tl"
    src.write_text(NO_TRAIN)
    out = tmp_path / "bad.onnx"
    assert main(["export", str(src), "-o", str(out), "--train"]) == 1
    assert "no train block trains graph" in capsys.readouterr().err
    assert not out.exists()


def test_an_op_without_an_onnx_form(tmp_path, capsys):
    src = tmp_path / "s.tl"
    src.write_text("graph g {\n placeholder x: f32[3, 3]\n s = det(x)\n}\n")
    out = tmp_path / "bad.onnx"
    assert main(["export", str(src), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert 's.tl:3:' in err and 'op "det" has no ONNX form' in err and "^" in err
    assert not out.exists()


def test_onnx_not_installed_names_the_install_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    _fails(["examples/xor.tl"], tmp_path, capsys, "pip install 'tensorlang[onnx]'")
