"""What the commands share: the argument parser's error handling, `FILE` and `--set`, loading a
program (its warnings printed) and choosing one of its graphs."""

from __future__ import annotations

import argparse
import os
import sys

from ...compiler.program import CompiledProgram, load
from ...errors import UsageError, did_you_mean
from ...ir.graph import Graph
from ...transforms.autodiff import backward


class UsageParser(argparse.ArgumentParser):
    """argparse with exit status 1 for a usage mistake, like every other mistake."""

    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(1)

    def _get_formatter(self):
        # argparse's own asks shutil for the width (and shutil imports bz2 and lzma, 2.5 ms on
        # every command); the same width, found as shutil.get_terminal_size finds it
        return self.formatter_class(prog=self.prog, width=terminal_columns() - 2)


def terminal_columns() -> int:
    """$COLUMNS when set, else the width of the terminal on stdout, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def add_file(sp: argparse.ArgumentParser, graph: bool = False) -> None:
    """`FILE`, `--set NAME=VALUE` and, with graph, `-g GRAPH`."""
    sp.add_argument("file", help="a .tl program")
    sp.add_argument("--set", action="append", metavar="NAME=VALUE",
                    help="override a let constant (repeatable)")
    if graph:
        sp.add_argument("-g", "--graph", help="which graph (when the file has several)")


def overrides(pairs) -> dict:
    """`--set` pairs as a dict; a pair without `=` is a UsageError."""
    out = {}
    for p in pairs or ():
        name, eq, value = p.partition("=")
        if not eq or not name.strip():
            raise UsageError(f'--set expects NAME=VALUE, got "{p}"')
        out[name.strip()] = value.strip()
    return out


def load_program(args) -> CompiledProgram:
    """The program named by `args.file`, compiled with `--set`; its warnings go to stderr."""
    program = load(args.file, overrides=overrides(getattr(args, "set", None)))
    for w in program.warnings:
        print(w.format(), file=sys.stderr)
    return program


def add_training(sp) -> None:
    """`--training`: the graph as a train block's step compiles it."""
    sp.add_argument("--training", action="store_true",
                    help="the graph in training mode (dropout drops, batch norm uses the "
                         "batch's statistics and updates its state)")


def pick_graph(program: CompiledProgram, name: str | None, training: bool = False) -> Graph:
    """The graph `-g NAME` names, or the program's only graph (in training mode if asked)."""
    graph = _pick(program, name)
    return program.training_graph(graph.name) if training else graph


def _pick(program: CompiledProgram, name: str | None) -> Graph:
    if name is None:
        if not program.graphs:
            raise UsageError(f"{program.file} defines no graph")
        if len(program.graphs) != 1:
            raise UsageError(f"{program.file} defines several graphs "
                             f"({', '.join(program.graphs)}): choose one with -g GRAPH")
        return next(iter(program.graphs.values()))
    if name not in program.graphs:
        raise UsageError(f'{program.file} has no graph "{name}"',
                         hint=did_you_mean(name, program.graphs))
    return program.graphs[name]


def train_spec(program: CompiledProgram, graph: Graph, flag: str, wanted: str):
    """The first train block of `graph`; a UsageError naming `flag` when there is none."""
    for spec in program.runs:
        if spec.kind == "train" and spec.graph == graph.name:
            return spec
    raise UsageError(f'{flag}: no train block trains graph "{graph.name}", so there is no '
                     f"{wanted}")


def with_gradient(program: CompiledProgram, graph: Graph, flag: str = "--backward") -> Graph:
    """The graph, in training mode, with the gradient of its (first) train block's loss."""
    spec = train_spec(program, graph, flag, "loss to differentiate")
    return backward(program.training_graph(graph.name), spec.minimize)
