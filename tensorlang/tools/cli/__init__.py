"""The `tensorlang` command: one module per subcommand (`add_arguments(parser)` and
`main(args)`). Every mistake a user can make is printed as `FILE:LINE:COL: error: ...` with the
source line and a caret, and exits with status 1."""

from __future__ import annotations

import argparse
import sys

from ...errors import TensorlangError
from .common import UsageParser

NAMES = ("run", "check", "ir", "graph", "gradcheck", "export", "fmt", "lsp")
"""The commands, in the order `tensorlang --help` lists them; each is the module of that name."""


def command_modules(argv: list[str] | None = None) -> list:
    """The command modules the parser needs: only the named command's when argv starts with one
    (`tensorlang check` imports nothing of run, graph or the language server), else all."""
    wanted = (argv[0],) if argv and argv[0] in NAMES else NAMES
    # an import statement's own path (not importlib.import_module), so -X importtime lists it
    return [__import__(name, globals(), None, ["main"], 1) for name in wanted]


def parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command-line interface: a subparser per command module (see command_modules)."""
    p = UsageParser(prog="tensorlang", description="Compile, check, run and draw tensorlang "
                                                   "models.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=UsageParser)
    for command in command_modules(argv):
        sp = sub.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        command.add_arguments(sp)
        sp.set_defaults(fn=command.main)
    return p


def main(argv=None) -> int:
    """Entry point of the `tensorlang` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser(argv).parse_args(argv)
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
