"""tensorlang: a small declarative language for deep-learning models, compiled to a static,
typed dataflow graph, differentiated as a graph transformation and run on NumPy."""

from .errors import (
    CheckpointError,
    DataError,
    ParseError,
    ProgramError,
    ShapeError,
    TensorlangError,
)
from .execute import Session
from .graph import Graph, Node
from .program import Program, compile, load

__all__ = ["CheckpointError", "DataError", "Graph", "Node", "ParseError", "Program",
           "ProgramError", "Session", "ShapeError", "TensorlangError", "compile", "load"]
__version__ = "0.1.0"
