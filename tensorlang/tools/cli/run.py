"""`tensorlang run FILE`: compile, then execute the train and evaluate blocks in file order
(`--json`: one JSON line per epoch on stdout, docs/schema/run.schema.json)."""

from __future__ import annotations

import contextlib
import sys

from ...compiler.program import load
from ...errors import TensorlangError, UsageError
from ...files.sandbox import confined
from ...training.run import run_program
from .. import report
from .common import add_file, load_program, overrides

NAME = "run"
HELP = "compile and execute the train/evaluate blocks"


def add_arguments(sp) -> None:
    """run's options."""
    add_file(sp)
    sp.add_argument("--seed", type=int, help="seed for initialization and shuffling")
    sp.add_argument("--epochs", type=int, help="override every train block's epochs")
    sp.add_argument("--quiet", action="store_true",
                    help="no progress bars; only each train block's last epoch line")
    sp.add_argument("--log-every", type=int, default=1, metavar="K",
                    help="print every K-th epoch's summary line (and the first and last)")
    sp.add_argument("--check-numerics", action="store_true",
                    help="check every node for NaN/Inf on every step")
    sp.add_argument("--sandbox", action="store_true",
                    help="confine every read and write (data, checkpoints, logs, plots) to the "
                         "program's folder: for running a model from elsewhere")
    sp.add_argument("--engine", default="numpy", metavar="NAME",
                    help="what runs the graphs: numpy (the default) or jax (jit-compiled, "
                         "on JAX's devices; pip install 'tensorlang[jax]')")
    sp.add_argument("--devices", type=int, metavar="K",
                    help="split each batch across K devices (--engine jax)")
    sp.add_argument("--json", action="store_true",
                    help="one JSON line per epoch (and per warning or error) on stdout; "
                         "the other lines go to stderr")


def main(args) -> int:
    """Run the program's blocks."""
    if args.json:
        return _json(args)
    program = load_program(args)
    _run(args, program)
    return 0


def _run(args, program, **options) -> None:
    if args.log_every < 1:
        raise UsageError(f"--log-every must be at least 1, not {args.log_every}")
    folder = program.base_dir if getattr(args, "sandbox", False) else None
    with confined(folder) if folder else contextlib.nullcontext():
        run_program(program, seed=args.seed, epochs=args.epochs, quiet=args.quiet,
                    log_every=args.log_every, check_numerics=args.check_numerics,
                    engine=args.engine, devices=args.devices, **options)


def _json(args) -> int:
    """JSON lines on stdout: warnings, every epoch's metrics, an error (then exit status 1)."""
    out = JsonLines(sys.stdout, sys.stderr)
    try:
        program = load(args.file, overrides=overrides(args.set))
        for w in program.warnings:
            out.json(report.event_line("warning", w))
        _run(args, program, out=out, progress=False, epoch_format=out.epoch_line)
    except TensorlangError as e:
        out.json(report.event_line("error", e))
        return 1
    return 0


class JsonLines:
    """The run's output stream in --json mode: the epoch lines it formatted itself go to stdout,
    every other line (the text a run prints: headers, evaluations) to stderr."""

    def __init__(self, stdout, stderr):
        self.stdout, self.stderr = stdout, stderr
        self.mine: set[str] = set()
        self.pending = ""

    def epoch_line(self, epoch: int, epochs: int, metrics: dict, seconds: float,
                   lr: float | None = None) -> str:
        """The epoch's JSON line (a Context's epoch_format)."""
        line = report.epoch_line(epoch, epochs, metrics, seconds, lr)
        self.mine.add(line)
        return line

    def json(self, line: str) -> None:
        """Write a JSON line to stdout."""
        self.stdout.write(line + "\n")
        self.stdout.flush()

    def write(self, text: str) -> int:
        """Route each complete line by whether it is one of the JSON lines."""
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            if line in self.mine:
                self.mine.discard(line)
                self.json(line)
            else:
                self.stderr.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        """Flush both streams."""
        self.stdout.flush()
        self.stderr.flush()

    def isatty(self) -> bool:
        """Never a terminal: no progress bar in JSON mode."""
        return False
