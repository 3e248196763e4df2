"""The `tensorlang` command: run, check, graph, ir, gradcheck, fmt. Every mistake a user can make
is printed as `FILE:LINE:COL: error: ...` with the source line and a caret; exit status 1."""

from __future__ import annotations

import argparse
import sys

from ..errors import TensorlangError, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's exit status 2 becomes 1, like every other mistake
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(1)


def _overrides(pairs) -> dict:
    out = {}
    for p in pairs or ():
        name, eq, value = p.partition("=")
        if not eq or not name.strip():
            raise UsageError(f'--set expects NAME=VALUE, got "{p}"')
        out[name.strip()] = value.strip()
    return out


def _load(args):
    from ..compiler.program import load
    program = load(args.file, overrides=_overrides(getattr(args, "set", None)))
    for w in program.warnings:
        print(w.format(), file=sys.stderr)
    return program


def _graph(program, name):
    if name is None:
        if len(program.graphs) != 1:
            names = ", ".join(program.graphs) or "none"
            if not program.graphs:
                raise UsageError(f"{program.file} defines no graph")
            raise UsageError(f"{program.file} defines several graphs ({names}): choose one "
                             "with -g GRAPH")
        return next(iter(program.graphs.values()))
    if name not in program.graphs:
        from ..errors import did_you_mean
        raise UsageError(f'{program.file} has no graph "{name}"',
                         hint=did_you_mean(name, program.graphs))
    return program.graphs[name]


def cmd_run(args) -> int:
    program = _load(args)
    if args.log_every < 1:
        raise UsageError(f"--log-every must be at least 1, not {args.log_every}")
    from ..training.run import run_program
    run_program(program, seed=args.seed, epochs=args.epochs, quiet=args.quiet,
                log_every=args.log_every, check_numerics=args.check_numerics)
    return 0


def cmd_check(args) -> int:
    from ..ir.printing import summary
    program = _load(args)
    for g in program.graphs.values():
        print(summary(g))
        print()
    print(f"{args.file}: ok ({len(program.graphs)} graph{'s' if len(program.graphs) != 1 else ''}"
          f", {len(program.runs)} run block{'s' if len(program.runs) != 1 else ''})")
    return 0


def cmd_ir(args) -> int:
    from ..ir.printing import format_graph
    program = _load(args)
    g = _graph(program, args.graph)
    if args.backward:
        from ..transforms.autodiff import training_graph
        g = training_graph(program, g)
    if getattr(args, "optimized", False):
        from ..transforms.passes import optimize
        g = optimize(g)
    print(format_graph(g))
    return 0


def cmd_graph(args) -> int:
    from .render import render_command
    return render_command(args, _load(args), _graph)


def cmd_gradcheck(args) -> int:
    from .gradcheck import gradcheck_command
    return gradcheck_command(args, _load(args), _graph)


def cmd_fmt(args) -> int:
    from ..frontend.fmt import fmt_file
    text, changed = fmt_file(args.file, check=args.check)
    if args.check:
        if changed:
            print(f"{args.file}: would be reformatted", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = _Parser(prog="tensorlang", description="Compile, check, run and draw tensorlang models.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(sp, graph=False):
        sp.add_argument("file", help="a .tl program")
        sp.add_argument("--set", action="append", metavar="NAME=VALUE",
                        help="override a let constant (repeatable)")
        if graph:
            sp.add_argument("-g", "--graph", help="which graph (when the file has several)")

    sp = sub.add_parser("run", help="compile and execute the train/evaluate blocks")
    common(sp)
    sp.add_argument("--seed", type=int, help="seed for initialization and shuffling")
    sp.add_argument("--epochs", type=int, help="override every train block's epochs")
    sp.add_argument("--quiet", action="store_true",
                    help="no progress bars; only each train block's last epoch line")
    sp.add_argument("--log-every", type=int, default=1, metavar="K",
                    help="print every K-th epoch's summary line (and the first and last)")
    sp.add_argument("--check-numerics", action="store_true",
                    help="check every node for NaN/Inf on every step")
    sp.set_defaults(fn=cmd_run)

    sp = sub.add_parser("check", help="parse and infer every shape; print each graph's table")
    common(sp)
    sp.set_defaults(fn=cmd_check)

    sp = sub.add_parser("ir", help="print the graph IR as text")
    common(sp, graph=True)
    sp.add_argument("--backward", action="store_true",
                    help="include the gradient of the train block's loss")
    sp.add_argument("--optimized", action="store_true", help="after the optimization passes")
    sp.set_defaults(fn=cmd_ir)

    sp = sub.add_parser("graph", help="render the dataflow graph with Graphviz")
    common(sp, graph=True)
    sp.add_argument("-o", "--output", help="OUT.svg, .png, .pdf or .dot (default: GRAPH.svg)")
    sp.add_argument("--backward", action="store_true", help="add the gradient nodes")
    sp.add_argument("--train", action="store_true", help="also show the optimizer's updates")
    sp.add_argument("--collapse", action="store_true", help="draw each layer as one box")
    sp.add_argument("--focus", metavar="NODE", help="draw only the neighbourhood of NODE")
    sp.add_argument("--depth", type=int, default=2, help="neighbourhood size for --focus")
    sp.set_defaults(fn=cmd_graph)

    sp = sub.add_parser("gradcheck", help="compare symbolic gradients with finite differences")
    common(sp, graph=True)
    sp.add_argument("--of", action="append", metavar="NODE",
                    help="a scalar node to differentiate (default: each train block's minimize)")
    sp.add_argument("--seed", type=int, default=0)
    sp.set_defaults(fn=cmd_gradcheck)

    sp = sub.add_parser("fmt", help="print the canonical form of a program")
    sp.add_argument("file")
    sp.add_argument("--check", action="store_true", help="exit 1 when the file would change")
    sp.set_defaults(fn=cmd_fmt)
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


if __name__ == "__main__":
    raise SystemExit(main())
