"""tensorlang: a small declarative language for deep-learning models."""

from .errors import TensorlangError

__all__ = ["TensorlangError"]
__version__ = "0.1.0"
