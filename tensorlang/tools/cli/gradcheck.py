"""`tensorlang gradcheck FILE`: compare every symbolic gradient of the train blocks' losses (or
of `--of` scalars) with central finite differences in float64; exit 1 on a disagreement."""

from __future__ import annotations

import sys

from ...compiler.datablocks import load_field
from ...errors import TensorlangError, UsageError
from ..gradcheck import ATOL, EPS, RTOL, check, format_rows
from .common import add_file, load_program, pick_graph

NAME = "gradcheck"
HELP = "compare symbolic gradients with finite differences"


def add_arguments(sp) -> None:
    """gradcheck's options."""
    add_file(sp, graph=True)
    sp.add_argument("--of", action="append", metavar="NODE",
                    help="a scalar node to differentiate (default: each train block's minimize)")
    sp.add_argument("--seed", type=int, default=0)


def _progress_bar(total: int):
    """A progress callback on a terminal (rich), nothing when stderr is not one."""
    if not sys.stderr.isatty() or total < 200:
        return lambda: None
    from rich.progress import Progress
    bar = Progress(transient=True)
    bar.start()
    task = bar.add_task("finite differences", total=total)
    done = [0]

    def advance():
        done[0] += 1
        bar.advance(task)
        if done[0] >= total:
            bar.stop()
    return advance


def _train_data(program, graph: str) -> tuple[dict | None, str | None]:
    """The arrays of the first train block's data block and its description, so the check runs
    where training does (random inputs ignore the scale a model expects); (None, why) when they
    do not load."""
    spec = next((s for s in program.runs if s.kind == "train" and s.graph == graph), None)
    if spec is None or spec.data not in program.data:
        return None, None
    try:
        return {f.name: load_field(f, program.lets, program.base_dir)
                for f in program.data[spec.data].fields}, f"data block {spec.data}"
    except TensorlangError as e:
        return None, f"data block {spec.data} did not load, so the inputs are random: {e.message}"


def main(args) -> int:
    """0 when every gradient agrees with finite differences, 1 (naming the entries) when one
    does not."""
    program = load_program(args)
    trained = list(dict.fromkeys(s.graph for s in program.runs if s.kind == "train"))
    if args.graph or args.of or not trained:
        graphs = [pick_graph(program, args.graph)]
    else:
        graphs = [program.training_graph(n) for n in trained]
    failed = []
    for g in graphs:
        losses = args.of or list(dict.fromkeys(
            s.minimize for s in program.runs if s.kind == "train" and s.graph == g.name))
        if not losses:
            raise UsageError(f'graph "{g.name}" has no train block, so no loss to check: name a '
                             "float scalar with --of NODE")
        minimized = {s.minimize for s in program.runs if s.kind == "train" and s.graph == g.name}

        def warn(name, w, minimized=minimized):  # check warned about train blocks' losses
            if name not in minimized:
                print(w.format(), file=sys.stderr)
        data, why = _train_data(program, g.name)
        rows, notes = check(g, losses, seed=args.seed, progress=_progress_bar, warn=warn,
                            data=data, data_label=why if data is not None else "")
        print(f"gradcheck {g.name}: symbolic gradients against central differences "
              f"(f64, eps {EPS:g}, seed {args.seed}; ok when |error| <= {ATOL:g} + "
              f"{RTOL:g} * |numeric|)")
        if why and data is None:
            print(f"  note: {why}")
        for note in notes:
            print(f"  feed {note}")
        print(format_rows(rows))
        print()
        failed += [r for r in rows if not r.ok]
    for r in failed:
        idx, s, num = r.worst
        print(f"gradcheck: d {r.loss} / d {r.variable}{list(idx)}: symbolic {s:.6g}, finite "
              f"differences {num:.6g}", file=sys.stderr)
    if failed:
        print(f"gradcheck: {len(failed)} gradient{'s' if len(failed) > 1 else ''} disagree with "
              "finite differences", file=sys.stderr)
        return 1
    print(f"{args.file}: gradients ok")
    return 0
