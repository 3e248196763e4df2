"""`tensorlang ir FILE`: the graph IR as text, one node a line."""

from __future__ import annotations

from ...ir.printing import format_graph
from ...transforms.passes import optimize
from .common import add_file, load_program, pick_graph, with_gradient

NAME = "ir"
HELP = "print the graph IR as text"


def add_arguments(sp) -> None:
    """ir's options."""
    add_file(sp, graph=True)
    sp.add_argument("--backward", action="store_true",
                    help="include the gradient of the train block's loss")
    sp.add_argument("--optimized", action="store_true", help="after the optimization passes")


def main(args) -> int:
    """Print the chosen graph."""
    program = load_program(args)
    g = pick_graph(program, args.graph)
    if args.backward:
        g = with_gradient(program, g)
    if args.optimized:
        g = optimize(g)
    print(format_graph(g))
    return 0
