"""Engines: what runs a plan. Every engine implements one small interface (`Engine`): run a
plan on checked feeds with the session's variables, and move values to and from the host. The
NumPy executor (session.py's interpreter and generated code) is the default and the reference;
`jax` (jax_engine.py, the optional extra `tensorlang[jax]`) runs each plan as one jax.jit
function. Engines are named by string (`Session(graph, engine="jax")`, `--engine jax`); the
JAX modules are imported only when that engine is asked for."""

from __future__ import annotations

import importlib.util

from ...errors import EngineError, did_you_mean
from .base import Engine, NumpyEngine

__all__ = ["NAMES", "NUMPY", "Engine", "NumpyEngine", "get"]

NAMES = ("numpy", "jax")
INSTALL = {"jax": "pip install 'tensorlang[jax]'"}


NUMPY = NumpyEngine()


def get(name: str | Engine | None = None, devices: int | None = None, span=None) -> Engine:
    """The engine called `name` (an Engine is returned as it is); unknown names, a missing
    package and impossible device counts are EngineErrors."""
    if isinstance(name, Engine):
        return name
    name = name or "numpy"
    if name not in NAMES:
        raise EngineError(f'unknown engine "{name}" (the engines are {", ".join(NAMES)})', span,
                          hint=did_you_mean(name, NAMES))
    if devices is not None and devices < 1:
        raise EngineError(f"--devices must be at least 1, not {devices}", span)
    if name == "numpy":
        if devices not in (None, 1):
            raise EngineError(f"the numpy engine runs on one CPU, not {devices} devices", span,
                              hint="use --engine jax to split batches across devices")
        return NUMPY
    if importlib.util.find_spec(name) is None:
        raise EngineError(f'the {name} engine needs the "{name}" package, which is not '
                          "installed", span, hint=f"install it with: {INSTALL[name]}")
    from . import jax_engine
    return jax_engine.JaxEngine(devices or 1, span)
