"""Golden tests of the rewrite rules: for every rule, tests/golden/passes/RULE.tl and the text
`tensorlang ir RULE.tl --optimized` prints (RULE.ir); with `--no-pass RULE` the text differs, so
the rule is what made it. A `# flags: ...` first line adds flags (`--backward`). Regenerate after
a deliberate change: TENSORLANG_UPDATE_GOLDEN=1 pytest tests/transforms/test_passes_golden.py"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from tensorlang.tools.cli import main
from tensorlang.transforms.passes import PIPELINE, RULES

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "passes"
UPDATE = os.environ.get("TENSORLANG_UPDATE_GOLDEN") == "1"


def ir(path: Path, *extra: str) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    flags = first.split("flags:", 1)[1].split() if "flags:" in first else []
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["ir", str(path), "--optimized", *flags, *extra]) == 0
    return out.getvalue().replace(str(path), path.name)


def test_every_rule_has_a_golden_file():
    assert sorted(RULES) == sorted(p.stem for p in GOLDEN.glob("*.tl"))


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule(rule):
    path = GOLDEN / f"{rule}.tl"
    got = ir(path)
    expected = GOLDEN / f"{rule}.ir"
    if UPDATE:
        expected.write_text(got, encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8")
    assert ir(path, "--no-pass", rule) != got, f"{rule} does not change its golden program"


def test_a_whole_pass_can_be_left_out():
    path = GOLDEN / "linear.tl"
    assert "linear" in ir(path) and " linear " not in ir(path, "--no-pass", "fuse")
    assert {p.name for p in PIPELINE} == {"fold_constants", "simplify", "fuse", "cse"}


def test_an_unknown_pass_is_a_usage_error(capsys):
    assert main(["ir", str(GOLDEN / "linear.tl"), "--optimized", "--no-pass", "lineer"]) == 1
    assert 'no pass or rule is named "lineer"' in capsys.readouterr().err
    assert main(["ir", str(GOLDEN / "linear.tl"), "--no-pass", "linear"]) == 1
    assert "add --optimized" in capsys.readouterr().err
