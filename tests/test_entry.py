"""entry.py: the command's entry point runs the CLI, and Ctrl-C even while the CLI's modules
load is one line and status 130, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tensorlang.tools.cli as cli
from tensorlang import entry

XOR = Path(__file__).resolve().parents[1] / "examples" / "xor.tl"


def test_the_entry_runs_a_command(capsys):
    assert entry.main(["check", str(XOR)]) == 0
    assert capsys.readouterr().out.startswith("graph xor\n")


def test_ctrl_c_anywhere_is_status_130_and_one_line(monkeypatch, capsys):
    def interrupted(argv=None):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "main", interrupted)
    assert entry.main(["check", str(XOR)]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_import_tensorlang_loads_no_numpy():
    code = "import sys, tensorlang; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
