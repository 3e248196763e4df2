"""The engine interface, and the NumPy engine: the session's own interpreter."""

from __future__ import annotations

import numpy as np


class Engine:
    """The interface: `execute(session, plan, env, fed, check_numerics)` returns the plan's
    fetched values (arrays of the engine's own kind: `host` makes them NumPy arrays), given the
    dims bound by the feeds (`env`) and the checked feeds as (slot, array) pairs."""

    name = "engine"

    def execute(self, session, plan, env: dict, fed: list, check_numerics: bool) -> list:
        """The fetched values of one run of the plan."""
        raise NotImplementedError

    def host(self, value):
        """A value as a NumPy array."""
        return value

    def all_finite(self, values) -> bool:
        """No NaN or infinity in any of the values (where they are: a device engine checks on
        the device and moves one bool)."""
        return all(bool(np.isfinite(v).all()) for v in values)

    def check_batch(self, size: int, span=None) -> None:
        """Raise EngineError when a batch of `size` examples cannot run (sharded engines)."""


class NumpyEngine(Engine):
    """The reference: the session's own interpreter (and generated code) over NumPy kernels."""

    name = "numpy"

    def execute(self, session, plan, env, fed, check_numerics):
        """Run the plan with NumPy (session.py)."""
        return session.interpret(plan, env, fed, check_numerics)
