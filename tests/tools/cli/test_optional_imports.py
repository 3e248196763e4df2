"""Plain `tensorlang check` imports none of the editor and tool libraries: the language server's
(pygls, lsprotocol), the lexer's (pygments) nor the schema checker (jsonschema). Measured with
`python -X importtime`, which lists every module the process imported."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OPTIONAL = ("pygls", "lsprotocol", "pygments", "jsonschema", "cattrs")


def packages(*argv: str) -> set[str]:
    """The top-level packages a `python -X importtime ARGV...` process imported."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", done.stderr, re.M)
    return {n.split(".")[0] for n in names}


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
