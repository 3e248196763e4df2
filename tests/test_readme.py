"""The README's notebook session runs as written, and its numbers are what it says."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_the_notebook_session_runs(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    block = next(b for b in python_blocks() if "program.train(" in b)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    env: dict = {}
    exec(compile(block, "README.md", "exec"), env)  # noqa: S102 - the README's own code
    assert env["session"].variables["h.W"].shape == (2, 4)
    assert env["results"].histories[0][-1]["epoch"] == 500
    np.testing.assert_allclose(env["p"].ravel(), [0.0, 0.997, 0.996, 0.003], atol=5e-4)
    assert env["run"]["acc"] == 1.0
    np.testing.assert_array_equal(env["fresh"].variables["p.W"],
                                  env["run"].session.variables["p.W"])
    assert os.path.exists("xor.npz")
