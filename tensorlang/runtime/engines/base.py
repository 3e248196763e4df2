"""The engine interface, and the NumPy engine: the session's own interpreter."""

from __future__ import annotations

from ..finite import first_nonfinite


class Engine:
    """The interface: `execute(session, plan, env, fed, check_numerics)` returns the plan's
    fetched values (arrays of the engine's own kind: `host` makes them NumPy arrays), given the
    dims bound by the feeds (`env`) and the checked feeds as (slot, array) pairs."""

    name = "engine"
    probes = False  # its plans can carry finite probes (plan.make_plan's square_norm steps)

    def execute(self, session, plan, env: dict, fed: list, check_numerics: bool) -> list:
        """The fetched values of one run of the plan."""
        raise NotImplementedError

    def host(self, value):
        """A value as a NumPy array."""
        return value

    def first_nonfinite(self, values) -> int | None:
        """The index of the first value holding a NaN or an infinity, or None (checked where
        the values are: a device engine checks on the device and moves one flag a value)."""
        return first_nonfinite(values)

    def check_batch(self, size: int, span=None) -> None:
        """Raise EngineError when a batch of `size` examples cannot run (sharded engines)."""


class NumpyEngine(Engine):
    """The reference: the session's own interpreter (and generated code) over NumPy kernels."""

    name = "numpy"
    probes = True

    def execute(self, session, plan, env, fed, check_numerics):
        """Run the plan with NumPy (session.py)."""
        return session.interpret(plan, env, fed, check_numerics)
