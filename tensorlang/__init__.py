"""tensorlang: a small declarative language for deep-learning models, compiled to a static,
typed dataflow graph, differentiated as a graph transformation and run on NumPy.

The compiler, the IR and the runtime are imported on first use of their names (PEP 562), so
`python -m tensorlang check` pays only for the stages it runs (nothing of the runtime), and the
command's entry point (entry.py) guards every import that follows against Ctrl-C."""

from __future__ import annotations

_ERRORS = ("CheckpointError", "DataError", "ParseError", "ProgramError", "ShapeError",
           "TensorlangError")
_LAZY = {"Program": "api", "compile": "api", "load": "api", "Graph": "ir.graph",
         "Node": "ir.graph", "Session": "runtime.session", **dict.fromkeys(_ERRORS, "errors")}

__all__ = ["CheckpointError", "DataError", "Graph", "Node", "ParseError", "Program",
           "ProgramError", "Session", "ShapeError", "TensorlangError", "compile", "load"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """The public names of later stages, imported when first asked for."""
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'tensorlang' has no attribute {name!r}")
    # an import statement's own path (not importlib.import_module), so -X importtime lists it
    value = getattr(__import__(where, globals(), None, [name], 1), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
