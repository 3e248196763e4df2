"""`tensorlang graph FILE`: draw the dataflow graph with Graphviz, forward, backward or with the
optimizer's updates."""

from __future__ import annotations

import sys

from ...errors import UsageError
from ...transforms.optimizers import train_graph
from ..render import budgeted_layout, format_of, write_drawing
from ..render_layout import layout
from .common import (
    add_file,
    add_training,
    load_program,
    pick_graph,
    train_spec,
    with_gradient,
)

NAME = "graph"
HELP = "render the dataflow graph with Graphviz"
BIG = 400  # drawn nodes above which the command suggests --collapse / --focus


def add_arguments(sp) -> None:
    """graph's options."""
    add_file(sp, graph=True)
    sp.add_argument("-o", "--output", help="OUT.svg, .png, .pdf or .dot (default: GRAPH.svg)")
    add_training(sp)
    sp.add_argument("--backward", action="store_true", help="add the gradient nodes")
    sp.add_argument("--train", action="store_true", help="also show the optimizer's updates")
    sp.add_argument("--collapse", action="store_true", help="draw each layer as one box")
    sp.add_argument("--focus", metavar="NODE", help="draw only the neighbourhood of NODE")
    sp.add_argument("--depth", type=int, default=2, help="neighbourhood size for --focus")


def main(args) -> int:
    """Write the picture and print its path."""
    program = load_program(args)
    graph = pick_graph(program, args.graph, args.training)
    updates = None
    if args.train:
        spec = train_spec(program, graph, "--train", "optimizer to draw")
        graph, updates = train_graph(program.training_graph(graph.name), spec)
    elif args.backward:
        graph = with_gradient(program, graph)
    if args.focus is not None and args.depth < 0:
        raise UsageError(f"--depth must be 0 or more, not {args.depth}")
    out = args.output or f"{graph.name}.svg"
    fmt = format_of(out)  # a bad extension is reported before the layout work
    options = {"collapse": args.collapse, "focus": args.focus, "depth": args.depth,
               "updates": updates}
    note = None
    if fmt == "dot":  # no dot to run: any size
        drawing = layout(graph, **options)
    else:
        drawing, note = budgeted_layout(graph, **options)
    write_drawing(drawing, out)
    if note:
        print(note, file=sys.stderr)
    if len(drawing.nodes) > BIG and not args.collapse and args.focus is None and not note:
        print(f"note: {len(drawing.nodes)} nodes; --collapse or --focus NODE make big graphs "
              "legible", file=sys.stderr)
    print(out)
    return 0
