"""`tensorlang check FILE`: parse, infer every shape and print each graph's table."""

from __future__ import annotations

from ...ir.summary import summary
from .common import add_file, load_program

NAME = "check"
HELP = "parse and infer every shape; print each graph's table"


def add_arguments(sp) -> None:
    """check's options."""
    add_file(sp)


def main(args) -> int:
    """Print every graph's table and a one-line verdict."""
    program = load_program(args)
    for g in program.graphs.values():
        print(summary(g, program.training_graphs.get(g.name)))
        print()
    graphs, runs = len(program.graphs), len(program.runs)
    print(f"{args.file}: ok ({graphs} graph{'s' if graphs != 1 else ''}, {runs} run "
          f"block{'s' if runs != 1 else ''})")
    return 0
