"""Plain `tensorlang check` imports none of the editor and tool libraries: the language server's
(pygls, lsprotocol), the lexer's (pygments) nor the schema checker (jsonschema), and none of the
heavy ones that only some commands need: rich (a progress bar), graphviz (rendering), matplotlib,
jax, onnx, onnxruntime and torch. Nor does it import the runtime or the training loop, which
check never runs. Measured with `python -X importtime`, which lists every module the process
imported."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OPTIONAL = ("pygls", "lsprotocol", "pygments", "jsonschema", "cattrs", "rich", "graphviz",
            "matplotlib", "jax", "jaxlib", "onnx", "onnxruntime", "torch")
NOT_FOR_CHECK = ("tensorlang.runtime.session", "tensorlang.training.train",
                 "tensorlang.tools.render", "tensorlang.tools.lsp.server")
STDLIB_NOT_FOR_CHECK = ("csv", "zipfile", "gzip", "json", "pathlib")
"""Standard modules only some files or options need (csv and zip data, --json; pathlib, 6 ms
of imports, for commands that write files)."""


def modules(*argv: str) -> set[str]:
    """The modules a `python -X importtime ARGV...` process imported."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", done.stderr, re.M))


def packages(*argv: str) -> set[str]:
    """The top-level packages a `python -X importtime ARGV...` process imported."""
    return {n.split(".")[0] for n in modules(*argv)}


def imported(*argv: str) -> set[str]:
    found = packages("-m", "tensorlang", *argv)
    assert {"tensorlang", "numpy", "lark"} <= found  # the listing is real
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


def test_the_probe_sees_rich_and_graphviz_when_a_command_needs_them():
    assert "graphviz" in packages("-c", "import tensorlang.tools.render, graphviz")
    assert "rich" in packages("-c", "import rich.progress")
