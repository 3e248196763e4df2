"""`tensorlang ir FILE`: the graph IR as text, one node a line (`--json`: every node as JSON,
docs/schema/ir.schema.json)."""

from __future__ import annotations

from ...compiler.program import load
from ...errors import TensorlangError, UsageError
from ...ir.printing import format_graph
from ...transforms.passes import check_names, optimize
from ..report import dumps, error_document, ir_document
from .common import (
    add_file,
    add_training,
    load_program,
    overrides,
    pick_graph,
    with_gradient,
)

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
    sp.add_argument("--json", action="store_true",
                    help="print the nodes (and errors) as one JSON document for tools")


def main(args) -> int:
    """Print the chosen graph."""
    if args.json:
        try:
            program = load(args.file, overrides=overrides(args.set))
            print(dumps(ir_document(program, _graph(args, program))))
        except TensorlangError as e:
            print(dumps(error_document(NAME, args.file, e)))
            return 1
        return 0
    program = load_program(args)
    print(format_graph(_graph(args, program)))
    return 0


def _graph(args, program):
    """The graph the options choose: in training mode, with its gradient, optimized, without
    some passes."""
    skip = check_names(args.no_pass)
    if skip and not args.optimized:
        raise UsageError("--no-pass leaves a pass out of --optimized: add --optimized")
    g = pick_graph(program, args.graph, args.training)
    if args.backward:
        g = with_gradient(program, g)
    if args.optimized:
        g = optimize(g, skip=skip)
    return g
