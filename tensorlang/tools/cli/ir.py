"""`tensorlang ir FILE`: the graph IR as text, one node a line."""

from __future__ import annotations

from ...errors import UsageError
from ...ir.printing import format_graph
from ...transforms.passes import check_names, optimize
from .common import add_file, add_training, load_program, pick_graph, with_gradient

NAME = "ir"
HELP = "print the graph IR as text"


def add_arguments(sp) -> None:
    """ir's options."""
    add_file(sp, graph=True)
    add_training(sp)
    sp.add_argument("--backward", action="store_true",
                    help="include the gradient of the train block's loss")
    sp.add_argument("--optimized", action="store_true", help="after the optimization passes")
    sp.add_argument("--no-pass", action="append", default=[], metavar="NAME",
                    help="with --optimized: leave out a pass or a single rewrite rule "
                         "(repeatable)")


def main(args) -> int:
    """Print the chosen graph."""
    skip = check_names(args.no_pass)
    if skip and not args.optimized:
        raise UsageError("--no-pass leaves a pass out of --optimized: add --optimized")
    program = load_program(args)
    g = pick_graph(program, args.graph, args.training)
    if args.backward:
        g = with_gradient(program, g)
    if args.optimized:
        g = optimize(g, skip=skip)
    print(format_graph(g))
    return 0
