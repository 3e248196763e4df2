"""`tensorlang run FILE`: compile, then execute the train and evaluate blocks in file order."""

from __future__ import annotations

from ...errors import UsageError
from ...training.run import run_program
from .common import add_file, load_program

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


def main(args) -> int:
    """Run the program's blocks."""
    program = load_program(args)
    if args.log_every < 1:
        raise UsageError(f"--log-every must be at least 1, not {args.log_every}")
    run_program(program, seed=args.seed, epochs=args.epochs, quiet=args.quiet,
                log_every=args.log_every, check_numerics=args.check_numerics)
    return 0
