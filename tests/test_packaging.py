"""The grammar ships inside the wheel: build a non-editable wheel, install it into a fresh venv,
and parse examples/xor.tl from outside the repository (about 10-20 s; no network is used).

The wheel is built from a copy of the sources with `--no-build-isolation` (hatchling comes from
this environment, it is in the `dev` extra) and installed with `--no-deps --no-index`. The fresh
venv sees the runtime dependencies through PYTHONPATH: a folder of links to this environment's
copies of them, and nothing else, so the `tensorlang` it imports can only be the installed one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ("lark", "numpy", "numpy.libs", "graphviz", "rich", "markdown_it", "mdurl", "pygments")


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done


def _build_wheel(tmp: Path) -> Path:
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    if not (src / "README.md").exists():  # pyproject names it; a stand-in is enough here
        (src / "README.md").write_text("tensorlang\n")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "tensorlang", src / "tensorlang", ignore=ignore)
    shutil.copytree(ROOT / "grammar", src / "grammar", ignore=ignore)
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
          "--no-index", "--disable-pip-version-check", "-q", "-w", str(dist)])
    (wheel,) = dist.glob("tensorlang-*.whl")
    return wheel


def _runtime_links(tmp: Path) -> Path:
    deps = tmp / "deps"
    deps.mkdir()
    site = Path(importlib.util.find_spec("lark").origin).parents[1]
    for name in RUNTIME:
        if (site / name).exists():
            (deps / name).symlink_to(site / name, target_is_directory=True)
    return deps


@pytest.mark.skipif(importlib.util.find_spec("hatchling") is None,
                    reason="hatchling (in the dev extra) builds the wheel")
def test_wheel_ships_the_grammar(tmp_path):
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        assert "tensorlang/frontend/tensorlang.lark" in z.namelist()

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--disable-pip-version-check", "-q", str(wheel)])

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = str(_runtime_links(tmp_path))
    env["PYTHONNOUSERSITE"] = "1"
    xor = ROOT / "examples" / "xor.tl"
    script = (
        "import tensorlang, tensorlang.frontend.grammar as g\n"
        "from tensorlang.frontend.parser import parse\n"
        f"program = parse(open({str(xor)!r}).read(), 'xor.tl')\n"
        "print(tensorlang.__file__)\n"
        "print(g.grammar_path())\n"
        "print(len(program.items))\n"
    )
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    out = _run([str(python), "-c", script], cwd=cwd, env=env).stdout.split("\n")
    installed = env_dir.resolve()
    assert Path(out[0]).resolve().is_relative_to(installed), out
    assert Path(out[1]).resolve().is_relative_to(installed), out
    assert Path(out[1]).parts[-3:] == ("tensorlang", "frontend", "tensorlang.lark")
    assert out[2] == "5"
