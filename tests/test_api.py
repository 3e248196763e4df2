"""api.py and the package's own names: compile and load give a runnable Program whose run()
executes the run blocks in file order; `tensorlang` exports the public API."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import api, records
from tensorlang.compiler.program import CompiledProgram

PROGRAM = """\
let scale = 2
graph g {
    placeholder x: f32[N, 2]
    variable w: f32[2] = [1.0, -1.0]
    z = (x @ w) * scale
    total = sum(z)
}
data points {
    x = [[1, 2], [3, 5], [4, 0]]
}
evaluate g {
    data = points
    report = [total]
    show = [z]
}
"""
X = np.array([[1, 2], [3, 5], [4, 0]], np.float32)


def test_compile_gives_a_program_with_every_compiled_field():
    p = api.compile(PROGRAM, "p.tl")
    assert isinstance(p, api.Program) and isinstance(p, CompiledProgram)
    assert p.file == "p.tl" and p.lets == {"scale": 2}
    assert list(p.graphs) == ["g"] and [r.kind for r in p.runs] == ["evaluate"]
    names = {f.name for f in records.fields(CompiledProgram)}
    assert names <= {f.name for f in records.fields(p)}


def test_run_executes_the_blocks_and_returns_their_results():
    out = io.StringIO()
    (result,) = api.compile(PROGRAM, "p.tl").run(out=out, progress=False)
    np.testing.assert_allclose(result["z"], (X @ [1, -1]) * 2)
    assert float(result["total"]) == pytest.approx(2 * ((1 - 2) + (3 - 5) + (4 - 0)))
    assert out.getvalue().startswith("evaluate g on points")


def test_overrides_set_let_constants():
    p = api.compile(PROGRAM, "p.tl", overrides={"scale": 3})
    assert p.lets["scale"] == 3
    (result,) = p.run(out=io.StringIO(), progress=False)
    np.testing.assert_allclose(result["z"], (X @ [1, -1]) * 3)


def test_load_reads_a_file_relative_paths_and_all(tmp_path):
    path = tmp_path / "p.tl"
    path.write_text(PROGRAM, encoding="utf-8")
    p = api.load(str(path), overrides={"scale": 5})
    assert isinstance(p, api.Program) and p.file == str(path)
    assert p.base_dir == str(tmp_path)
    assert p.lets["scale"] == 5


def test_mistakes_are_tensorlang_errors():
    with pytest.raises(tl.ParseError):
        api.compile("graph {", "bad.tl")
    with pytest.raises(tl.ShapeError) as info:
        api.compile("graph g {\n    placeholder x: f32[2, 3]\n    y = x @ x\n}\n", "s.tl")
    assert (info.value.line, info.value.column) == (3, 9)
    with pytest.raises(tl.TensorlangError, match="no such file"):
        api.load("/nonexistent/p.tl")


def test_the_package_exports_the_public_api():
    assert tl.compile is api.compile and tl.load is api.load and tl.Program is api.Program
    for name in tl.__all__:
        assert hasattr(tl, name), name
    for cls in ("CheckpointError", "DataError", "ParseError", "ProgramError", "ShapeError"):
        assert issubclass(getattr(tl, cls), tl.TensorlangError)
    assert tl.__version__.count(".") == 2


def test_the_public_api_in_readme_works():
    g = tl.compile(PROGRAM).graphs["g"]
    assert isinstance(g, tl.Graph) and isinstance(g.node("z"), tl.Node)
    assert g.node("z").shape == ("N",)
    s = tl.Session(g, seed=0)
    np.testing.assert_allclose(s.run("z", {"x": X}), (X @ [1, -1]) * 2)
    s.assign("w", np.array([2.0, 0.0], np.float32))
    np.testing.assert_allclose(s.run("z", {"x": X}), X[:, 0] * 4)


def test_wrong_python_types_are_type_errors_that_name_the_argument():
    import numpy as np
    import pytest
    for call, name in ((lambda: tl.compile(123), "text"), (lambda: tl.compile(b"graph"), "text"),
                       (lambda: tl.compile("graph g {\n}\n", 5), "file"),
                       (lambda: tl.compile("graph g {\n}\n", "f", [1]), "overrides"),
                       (lambda: tl.load(5), "path"), (lambda: tl.load(None), "path")):
        with pytest.raises(TypeError, match=name):
            call()
    with pytest.raises(tl.TensorlangError, match="no NUL"):
        tl.load("a\0b.tl")
    g = tl.compile("graph g {\n    placeholder x: f32[2]\n    y = x + 1\n}\n").graphs["g"]
    with pytest.raises(TypeError, match="feed must be a mapping"):
        tl.Session(g).run("y", [1, 2])
    with pytest.raises(TypeError, match="fetches must be a name"):
        tl.Session(g).run(5, {"x": np.ones(2)})
