"""Plain `tensorlang check` imports none of the editor and tool libraries: the language server's
(pygls, lsprotocol), the lexer's (pygments) nor the schema checker (jsonschema), and none of the
heavy ones that only some commands need: rich (a progress bar), graphviz (rendering), matplotlib,
jax, onnx, onnxruntime and torch. Nor does it import the runtime or the training loop, which
check never runs. Nor Lark: frontend/lalr.py runs the parse table from the user's cache, so Lark
is imported only to build that cache, or to explain a file that does not parse. Measured with
`python -X importtime`, which lists every module the process imported, in a process whose cache
folder (a fresh one per test session) a first run has filled."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
OPTIONAL = ("pygls", "lsprotocol", "pygments", "jsonschema", "cattrs", "rich", "graphviz",
            "matplotlib", "jax", "jaxlib", "onnx", "onnxruntime", "torch", "lark")
NOT_FOR_CHECK = ("tensorlang.runtime.session", "tensorlang.training.train",
                 "tensorlang.tools.render", "tensorlang.tools.lsp.server")
STDLIB_NOT_FOR_CHECK = ("csv", "zipfile", "gzip", "json", "pathlib", "hashlib", "shutil")
"""Standard modules only some files or options need (csv and zip data, --json; pathlib, 6 ms
of imports, for commands that write files; hashlib, 3 ms of OpenSSL, and shutil, which brings
bz2 and lzma)."""


@pytest.fixture(scope="module", autouse=True)
def warm_cache(tmp_path_factory):
    """A cache folder of this module's own, filled by one run (the parse table, the prelude's
    tree), as every run after a user's first finds it."""
    global ENV
    ENV = {**os.environ, "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("cache"))}
    done = subprocess.run([sys.executable, "-m", "tensorlang", "check", "examples/xor.tl"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env=ENV)
    assert done.returncode == 0, done.stderr[-2000:]


ENV: dict = {}


def modules(*argv: str) -> set[str]:
    """The modules a `python -X importtime ARGV...` process imported."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env=ENV)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", done.stderr, re.M))


def packages(*argv: str) -> set[str]:
    """The top-level packages a `python -X importtime ARGV...` process imported."""
    return {n.split(".")[0] for n in modules(*argv)}


def imported(*argv: str) -> set[str]:
    found = packages("-m", "tensorlang", *argv)
    assert {"tensorlang", "numpy"} <= found  # the listing is real
    return found


def test_check_imports_no_optional_library():
    assert imported("check", "examples/xor.tl") & set(OPTIONAL) == set()


def test_check_json_imports_no_optional_library_either():
    assert imported("check", "examples/xor.tl", "--json") & set(OPTIONAL) == set()


def test_the_probe_sees_an_optional_library_when_one_is_imported():
    assert "jsonschema" in packages("-c", "import jsonschema")
    assert {"pygls", "lsprotocol"} <= packages("-c", "import tensorlang.tools.lsp.server")


def test_check_imports_neither_runtime_nor_training_nor_renderer():
    found = modules("-m", "tensorlang", "check", "examples/xor.tl")
    assert "tensorlang.compiler.program" in found  # the listing is real
    assert found & set(NOT_FOR_CHECK) == set()


def test_check_imports_no_reader_of_a_file_it_does_not_read():
    assert packages("-m", "tensorlang", "check", "examples/xor.tl") & \
        set(STDLIB_NOT_FOR_CHECK) == set()
    assert "json" in packages("-m", "tensorlang", "check", "examples/xor.tl", "--json")


def test_import_tensorlang_alone_imports_no_stage_until_used():
    found = modules("-c", "import tensorlang")
    assert "tensorlang.errors" not in found and "tensorlang.compiler.program" not in found
    assert "tensorlang.errors" in modules("-c", "import tensorlang; tensorlang.TensorlangError")
    used = modules("-c", "import tensorlang; tensorlang.Session")
    assert "tensorlang.runtime.session" in used


def test_a_file_that_does_not_parse_asks_lark_why():
    bad = ROOT / "tests" / "golden" / "parse_errors"
    probe = bad / "chained_comparison.tl"  # the table rejects it: Lark says where and why
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "tensorlang", "check",
                           str(probe)], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env=ENV)
    assert done.returncode == 1 and "import time:" in done.stderr
    assert re.search(r"\|\s*lark$", done.stderr, re.M)


def test_the_probe_sees_rich_and_graphviz_when_a_command_needs_them():
    assert "graphviz" in packages("-c", "import tensorlang.tools.render, graphviz")
    assert "rich" in packages("-c", "import rich.progress")
