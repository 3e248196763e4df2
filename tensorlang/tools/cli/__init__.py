"""The `tensorlang` command: one module per subcommand (`add_arguments(parser)` and
`main(args)`). Every mistake a user can make is printed as `FILE:LINE:COL: error: ...` with the
source line and a caret, and exits with status 1."""

from __future__ import annotations

import argparse
import sys

from ...errors import TensorlangError
from . import check, export, fmt, gradcheck, graph, ir, lsp, run
from .common import UsageParser

COMMANDS = (run, check, ir, graph, gradcheck, export, fmt, lsp)


def parser() -> argparse.ArgumentParser:
    """The command-line interface: a subparser per command module."""
    p = UsageParser(prog="tensorlang", description="Compile, check, run and draw tensorlang "
                                                   "models.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=UsageParser)
    for command in COMMANDS:
        sp = sub.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        command.add_arguments(sp)
        sp.set_defaults(fn=command.main)
    return p


def main(argv=None) -> int:
    """Entry point of the `tensorlang` command."""
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except TensorlangError as e:
        print(e.format(), file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:  # train says where it stopped and that nothing was saved
        print(str(e) or "interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
