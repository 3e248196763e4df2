"""`tensorlang fmt FILE [--check]`: the canonical layout of a program."""

from __future__ import annotations

import sys

from ...frontend.fmt import fmt_file

NAME = "fmt"
HELP = "print the canonical form of a program"


def add_arguments(sp) -> None:
    """fmt's options."""
    sp.add_argument("file")
    sp.add_argument("--check", action="store_true", help="exit 1 when the file would change")


def main(args) -> int:
    """Print the formatted text, or with --check say whether it would change."""
    text, changed = fmt_file(args.file, check=args.check)
    if args.check:
        if changed:
            print(f"{args.file}: would be reformatted", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0
