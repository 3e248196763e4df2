"""tools/cli/fmt.py: `tensorlang fmt FILE` prints the canonical text; `--check` says whether the
file would change (exit 1) and prints nothing else."""

from __future__ import annotations

import pytest

from tensorlang.tools.cli import main

MESSY = "let   a=1\ngraph g {\n  placeholder x : f32[N,2]\n  y=x*a   # keep me\n}\n"
CANONICAL = ("let a = 1\n\ngraph g {\n    placeholder x: f32[N, 2]\n    y = x * a  # keep me\n"
             "}\n")


@pytest.fixture
def files(tmp_path):
    messy, tidy = tmp_path / "messy.tl", tmp_path / "tidy.tl"
    messy.write_text(MESSY, encoding="utf-8")
    tidy.write_text(CANONICAL, encoding="utf-8")
    return messy, tidy


def test_fmt_prints_the_canonical_text_and_leaves_the_file(files, capsys):
    messy, _ = files
    assert main(["fmt", str(messy)]) == 0
    out, err = capsys.readouterr()
    assert out == CANONICAL and err == ""
    assert messy.read_text(encoding="utf-8") == MESSY


def test_check_exits_1_when_the_file_would_change(files, capsys):
    messy, tidy = files
    assert main(["fmt", str(messy), "--check"]) == 1
    assert capsys.readouterr() == ("", f"{messy}: would be reformatted\n")
    assert main(["fmt", str(tidy), "--check"]) == 0
    assert capsys.readouterr() == ("", "")


def test_a_file_that_does_not_parse_is_a_located_error(tmp_path, capsys):
    bad = tmp_path / "bad.tl"
    bad.write_text("graph g {\n    y = = 1\n}\n", encoding="utf-8")
    assert main(["fmt", str(bad)]) == 1
    assert capsys.readouterr().err.startswith(f"{bad}:2:")
