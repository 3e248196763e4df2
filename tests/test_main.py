"""__main__.py: `python -m tensorlang` is the `tensorlang` command, exit status included."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

XOR = Path(__file__).resolve().parents[1] / "examples" / "xor.tl"


def run_module(monkeypatch, *argv: str) -> int:
    monkeypatch.setattr(sys, "argv", ["python -m tensorlang", *argv])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("tensorlang", run_name="__main__", alter_sys=False)
    return info.value.code


def test_python_m_tensorlang_runs_a_command(monkeypatch, capsys):
    assert run_module(monkeypatch, "check", str(XOR)) == 0
    out = capsys.readouterr().out
    assert out.startswith("graph xor\n") and out.endswith(f"{XOR}: ok (1 graph, 2 run blocks)\n")


def test_python_m_tensorlang_exits_1_on_a_mistake(monkeypatch, capsys, tmp_path):
    bad = tmp_path / "bad.tl"
    bad.write_text("graph g {\n    y = undefined_thing + 1\n}\n")
    assert run_module(monkeypatch, "check", str(bad)) == 1
    assert capsys.readouterr().err.startswith(f"{bad}:2:9: error: ")
