"""tensorlang: a small declarative language for deep-learning models, compiled to a static,
typed dataflow graph, differentiated as a graph transformation and run on NumPy."""

from .api import Program, compile, load
from .errors import (
    CheckpointError,
    DataError,
    ParseError,
    ProgramError,
    ShapeError,
    TensorlangError,
)
from .ir.graph import Graph, Node
from .runtime.session import Session

__all__ = ["CheckpointError", "DataError", "Graph", "Node", "ParseError", "Program",
           "ProgramError", "Session", "ShapeError", "TensorlangError", "compile", "load"]
__version__ = "0.1.0"
