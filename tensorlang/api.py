"""The public API on top of the house: compile or load a program, then run it. The one module
besides the package's own `__init__` that may use every stage."""

from __future__ import annotations

from .compiler import program as _compiler
from .compiler.program import CompiledProgram
from .records import fields


class Program(CompiledProgram):
    """A compiled program that can run: `graphs[name]` are shape-checked Graphs; `run()`
    executes the train/evaluate blocks in file order in one session per graph."""

    def run(self, **options):
        """Execute the run blocks (what `tensorlang run` does); returns their results."""
        from .training.run import run_program  # the runtime only when a program runs

        return run_program(self, **options)

    def train(self, graph: str, data, validate=None, session=None, options=None, **keys):
        """Run a train block from Python: `program.train("g", data={"x": X, "y": Y}, epochs=3,
        optimizer="adam(lr = 1e-3)")`. The keys are a train block's (Python values: paths
        and names as str, true/false as bool); those not given come from the file's train
        block for the graph. `validate` is a dict of arrays or a fraction of `data` to hold
        out; `session` continues training that session; `options` are `run()`'s. Returns the
        TrainResult (`.session`, `.history`)."""
        from .training import from_python  # the runtime only when a program trains

        return from_python.train(self, graph, data, validate, session, options, **keys)


def _runnable(compiled: CompiledProgram) -> Program:
    return Program(**{f.name: getattr(compiled, f.name) for f in fields(compiled)})


def compile(text: str, file: str = "<string>", overrides: dict | None = None) -> Program:
    """Parse and compile a program's text (`overrides` set `let` constants by name)."""
    return _runnable(_compiler.compile(text, file, overrides))


def load(path: str, overrides: dict | None = None) -> Program:
    """Read, parse and compile a .tl file."""
    return _runnable(_compiler.load(path, overrides))
