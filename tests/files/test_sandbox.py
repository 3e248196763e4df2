"""files/sandbox.py and `run --sandbox`: inside the confinement every path outside the folder
(after links are resolved) is a located SandboxError before anything is opened; outside it
nothing changes."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tensorlang.errors import CheckpointError, SandboxError
from tensorlang.files import sandbox
from tensorlang.files.loaders import load_npy
from tensorlang.files.writable import check_writable
from tensorlang.runtime import checkpoint
from tensorlang.source import Span
from tensorlang.tools.cli import main

AT = Span("p.tl", 2, 5)


def test_paths_inside_pass_and_outside_fail(tmp_path):
    inside, outside = tmp_path / "prog", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    np.save(inside / "x.npy", np.ones(2))
    np.save(outside / "y.npy", np.ones(2))
    os.symlink(outside / "y.npy", inside / "link.npy")  # inside by name, outside in fact
    assert sandbox.root() is None
    load_npy(str(inside / "link.npy"))  # no sandbox: anything goes
    with sandbox.confined(str(inside)):
        assert sandbox.root() == os.path.realpath(inside)
        assert load_npy("x.npy", base_dir=str(inside)).tolist() == [1, 1]
        for path in (outside / "y.npy", inside / "link.npy", inside / ".." / "elsewhere/y.npy"):
            with pytest.raises(SandboxError, match="outside the program's folder") as e:
                load_npy(str(path), AT)
            assert e.value.span is AT
        with pytest.raises(SandboxError):
            check_writable(str(outside / "m.npz"), "checkpoint", AT)
        check_writable(str(inside / "sub" / "m.npz"), "checkpoint", AT)
        with pytest.raises(CheckpointError, match="outside the program's folder"):
            checkpoint.save(str(outside / "m.npz"), {"w": np.ones(2)}, AT)
        with pytest.raises(CheckpointError, match="outside the program's folder"):
            checkpoint.read("/etc/passwd", AT)
    assert sandbox.root() is None


PROGRAM = """graph g {
    placeholder x: f32[N]
    s = sum(x)
}
data d {
    x = npy("PATH")
}
evaluate g {
    data = d
    report = [s]
}
"""


def test_run_sandbox_refuses_a_data_file_outside_the_programs_folder(tmp_path, capsys):
    (tmp_path / "prog").mkdir()
    np.save(tmp_path / "secret.npy", np.arange(3.0))
    np.save(tmp_path / "prog" / "mine.npy", np.arange(3.0))
    bad = tmp_path / "prog" / "bad.tl"
    bad.write_text(PROGRAM.replace("PATH", "../secret.npy"))
    assert main(["run", str(bad)]) == 0  # trusted: reads where it likes
    capsys.readouterr()
    assert main(["run", str(bad), "--sandbox"]) == 1
    err = capsys.readouterr().err
    assert "bad.tl:6:9: error: npy file" in err and "outside the program's folder" in err
    good = tmp_path / "prog" / "good.tl"
    good.write_text(PROGRAM.replace("PATH", "mine.npy"))
    assert main(["run", str(good), "--sandbox"]) == 0
    assert "s 3.0000" in capsys.readouterr().out
