"""`tensorlang check FILE`: parse, infer every shape and print each graph's table (`--json`: the
same facts as one JSON document, docs/schema/check.schema.json). With `--batch B`, also the
predicted peak memory of one training step and of inference at batch B (tools/memory.py)."""

from __future__ import annotations

from ...compiler.program import load
from ...errors import TensorlangError, UsageError
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
    sp.add_argument("--batch", type=int, metavar="B",
                    help="also predict the peak memory of a training step and of inference at "
                         "batch B (every placeholder's leading dim)")
    sp.add_argument("--dim", action="append", default=[], metavar="NAME=SIZE",
                    help="the size of another symbolic dim for --batch (repeatable)")


def main(args) -> int:
    """Print every graph's table and a one-line verdict."""
    if args.json:
        return _json(args)
    program = load_program(args)
    memory = _memory(program, args)
    for g in program.graphs.values():
        print(summary(g, program.training_graphs.get(g.name)))
        print()
    if memory is not None:
        from ..memory import format_estimates
        print("\n".join(format_estimates(memory)))
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
    try:
        memory = _memory(program, args)
    except TensorlangError as e:
        print(dumps(error_document(NAME, args.file, e)))
        return 1
    print(dumps(check_document(program, memory)))
    return 0


def _memory(program, args):
    """The memory predictions for --batch (None without it); the runtime's planner is imported
    only then."""
    if args.batch is None:
        if args.dim:
            raise UsageError("--dim sizes the dims of --batch's memory prediction; give --batch")
        return None
    if args.batch < 1:
        raise UsageError(f"--batch must be at least 1, not {args.batch}")
    from ..memory import estimate
    return estimate(program, args.batch, _dims(args.dim))


def _dims(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        name, eq, size = item.partition("=")
        if not eq or not name.strip().isidentifier() or not size.strip().isdigit():
            raise UsageError(f"--dim takes NAME=SIZE (a dim name and a positive int), not "
                             f"{item!r}")
        out[name.strip()] = int(size)
    return out
