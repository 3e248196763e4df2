"""The `tensorlang` command's entry point. `import tensorlang` loads only spans and errors; the
CLI and what it needs (NumPy, Lark, the compiler) are imported here inside a guard, so Ctrl-C
while they load, as while a command runs, ends with one line and status 130, never a
traceback."""

from __future__ import annotations

import sys


def main(argv=None) -> int:
    """Run the command line (`tensorlang ...`); 130 on Ctrl-C at any point."""
    try:
        from .tools.cli import main as cli_main

        return cli_main(argv)
    except KeyboardInterrupt as e:
        print(str(e) or "interrupted", file=sys.stderr)
        return 130
