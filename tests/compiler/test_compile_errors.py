"""Compile errors: exact golden messages for the mistakes users make.

Each tests/golden/compile_errors/NAME.tl is a small wrong program; NAME.err holds the exact
`TensorlangError.format()` text for it, the file named as `NAME.tl`. A first line
`# --set NAME=VALUE` passes an override, as the command line would. To rewrite the goldens after
a deliberate change of wording:
TENSORLANG_UPDATE_GOLDEN=1 pytest tests/compiler/test_compile_errors.py
(and read the diff as a user would).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tensorlang as tl
from tensorlang.errors import TensorlangError
from tensorlang.tools.cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "compile_errors"
CASES = sorted(p.stem for p in GOLDEN.glob("*.tl"))
UPDATE = os.environ.get("TENSORLANG_UPDATE_GOLDEN") == "1"


def overrides(text: str) -> dict:
    """The `# --set NAME=VALUE` lines at the top of a golden program."""
    out = {}
    for line in text.splitlines():
        if not line.startswith("# --set "):
            break
        name, _, value = line[len("# --set "):].partition("=")
        out[name.strip()] = value.strip()
    return out


def compile_error(name: str) -> TensorlangError:
    """The error that compiling NAME.tl (named so) raises."""
    text = (GOLDEN / f"{name}.tl").read_text(encoding="utf-8")
    with pytest.raises(Exception) as info:
        tl.compile(text, f"{name}.tl", overrides=overrides(text))
    assert isinstance(info.value, TensorlangError), repr(info.value)
    return info.value


def test_there_are_enough_golden_cases():
    assert len(CASES) >= 24


@pytest.mark.parametrize("name", CASES)
def test_golden(name):
    got = compile_error(name).format()
    err = GOLDEN / f"{name}.err"
    if UPDATE:
        err.write_text(got + "\n", encoding="utf-8")
    assert got == err.read_text(encoding="utf-8").rstrip("\n")


@pytest.mark.parametrize("name", CASES)
def test_errors_are_located_in_the_users_file(name):
    e = compile_error(name)
    if name in ("unknown_override", "override_wrong_kind"):
        assert e.span is None  # a command-line mistake: no place in the file...
        return
    assert e.span is not None and e.span.file == f"{name}.tl"  # never only in the prelude
    assert e.line >= 1 and e.column >= 1
    assert e.format().startswith(f"{name}.tl:{e.line}:{e.column}: error: ")


def test_the_command_line_prints_the_golden_text_and_exits_1(capsys, monkeypatch):
    monkeypatch.chdir(GOLDEN)
    for name in ("matmul_inner_dims", "unknown_override"):
        text = (GOLDEN / f"{name}.tl").read_text(encoding="utf-8")
        args = ["check", f"{name}.tl"]
        for k, v in overrides(text).items():
            args += ["--set", f"{k}={v}"]
        assert main(args) == 1
        out, err = capsys.readouterr()
        assert out == ""
        assert err == (GOLDEN / f"{name}.err").read_text(encoding="utf-8")


def test_deep_programs_compile_or_are_a_located_too_deep_error(monkeypatch):
    head = "graph g {\n    placeholder x: f32[2]\n"
    text = head + "    y = " + " + ".join(["x"] * 20000) + "\n    z = " + "neg(" * 10000 + \
        "x" + ")" * 10000 + "\n    w = " + "(" * 10000 + "x" + ")" * 10000 + "\n}\n"
    g = tl.compile(text).graphs["g"]
    assert g.node("y").type.shape == (2,) and g.node("z").op == "neg"
    monkeypatch.setattr("tensorlang.errors.DEEP_RECURSION", 20000)  # beyond it: too deep
    too_deep = head + "    y = x\n    z = " + "neg(" * 8000 + "x" + ")" * 8000 + "\n}\n"
    with pytest.raises(TensorlangError, match="nests too deeply to compile") as e:
        tl.compile(too_deep)
    assert (e.value.span.line, e.value.span.column) == (4, 5)
