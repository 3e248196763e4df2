"""`tensorlang check FILE`: parse, infer every shape and print each graph's table (`--json`: the
same facts as one JSON document, docs/schema/check.schema.json)."""

from __future__ import annotations

from ...compiler.program import load
from ...errors import TensorlangError
from ...ir.summary import summary
from ..report import check_document, dumps, error_document
from .common import add_file, load_program, overrides

NAME = "check"
HELP = "parse and infer every shape; print each graph's table"


def add_arguments(sp) -> None:
    """check's options."""
    add_file(sp)
    sp.add_argument("--json", action="store_true",
                    help="print the facts (and errors) as one JSON document for tools")


def main(args) -> int:
    """Print every graph's table and a one-line verdict."""
    if args.json:
        return _json(args)
    program = load_program(args)
    for g in program.graphs.values():
        print(summary(g, program.training_graphs.get(g.name)))
        print()
    graphs, runs = len(program.graphs), len(program.runs)
    print(f"{args.file}: ok ({graphs} graph{'s' if graphs != 1 else ''}, {runs} run "
          f"block{'s' if runs != 1 else ''})")
    return 0


def _json(args) -> int:
    """The document on stdout; exit status 1 (and ok false) for an error."""
    try:
        program = load(args.file, overrides=overrides(args.set))
    except TensorlangError as e:
        print(dumps(error_document(NAME, args.file, e)))
        return 1
    print(dumps(check_document(program)))
    return 0
