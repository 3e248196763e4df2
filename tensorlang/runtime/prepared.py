"""A prepared, reusable call for a fixed set of fetches and feeds (`Session.make_callable`): the
plan, the feed order and the generated code are worked out once, and a call whose arrays have
the same dtypes and shapes as the last checked call skips the feed checks (every check of a
feed depends only on its dtype and shape, so they would pass again). What remains per call is
filling the slots and running the generated straight-line code: batch-1 inference costs little
more than the kernels themselves.

The values are the same as `Session.run(fetches, feed)`'s: the same plan, the same kernels, the
same variables (read at every call, so training between calls is seen)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataError
from . import heap


class PreparedCall:
    """`call(*arrays)` (in `feeds` order) or `call(name=array, ...)` -> the fetched values, as
    `Session.run` returns them (one value for a single fetch, else a list)."""

    def __init__(self, session, fetches, feeds: Sequence[str] | None = None):
        self.session = session
        self.single = not isinstance(fetches, (list, tuple))
        fetch_list = [fetches] if self.single else list(fetches)
        self.plan = plan = session.plan(fetch_list)
        needed = [n.name for _, n in plan.placeholders if n.attrs.get("default") is None]
        self.feeds = tuple(needed if feeds is None else feeds)
        known = {p.name for p in session.graph.placeholders}
        unknown = [f for f in self.feeds if f not in known]
        if unknown:
            raise DataError(f'make_callable: graph "{session.graph.name}" has no placeholder '
                            f'"{unknown[0]}"', session.graph.span)
        self._key: tuple | None = None  # (dtype, shape) of each array of the last checked call
        self._env: dict = {}
        self._run = None  # the plan's generated code for the last checked call's dims
        self._kept: dict | None = None  # the dims heap.keep_for was last given
        self._slots: list[tuple[int, int]] = []  # (slot, position in the call's arrays)
        self._defaults: list[tuple[int, np.ndarray]] = []  # needed, not a feed: its default

    def __call__(self, *arrays, **named):
        if named:
            arrays = self._ordered(arrays, named)
        elif len(arrays) != len(self.feeds):
            raise DataError(f"prepared call takes {len(self.feeds)} arrays "
                            f"({', '.join(self.feeds)}), got {len(arrays)}",
                            self.session.graph.span)
        plan, sess = self.plan, self.session
        try:
            key = tuple([(a.dtype, a.shape) for a in arrays])
        except AttributeError:  # not arrays: the full check converts them
            key = None
        if key is None or key != self._key:
            arrays = self._check(arrays, key)
        slots = plan.template.copy()
        for s, i in self._slots:
            slots[s] = arrays[i]
        for s, value in self._defaults:
            slots[s] = value
        variables = sess.variables
        for s, v in plan.variables:
            slots[s] = variables[v.name]
        for s in plan.keys:
            slots[s] = sess.random.next()
        values = sess._run_generated(plan, self._env, slots, self._run)
        return values[0] if self.single else values

    def _ordered(self, arrays: tuple, named: dict) -> tuple:
        """Positional and keyword arrays as one tuple in feeds order."""
        given = dict(zip(self.feeds, arrays), **named)
        missing = [f for f in self.feeds if f not in given]
        extra = [f for f in given if f not in self.feeds]
        if missing or extra:
            what = f'"{missing[0]}" is not given' if missing else f'"{extra[0]}" is not a feed'
            raise DataError(f"prepared call: {what} (feeds: {', '.join(self.feeds)})",
                            self.session.graph.span)
        return tuple(given[f] for f in self.feeds)

    def _check(self, arrays: tuple, key: tuple | None) -> tuple:
        """The full feed check of Session.run; remembers the call's dtypes and shapes when the
        arrays pass unchanged (a cast or a conversion is checked again next time)."""
        env, fed = self.session.bind(self.plan, dict(zip(self.feeds, arrays)))
        by_slot = dict(fed)
        position = {name: i for i, name in enumerate(self.feeds)}
        needed = self.plan.placeholders
        self._slots = [(s, position[n.name]) for s, n in needed if n.name in position]
        self._defaults = [(s, by_slot[s]) for s, n in needed if n.name not in position]
        checked = list(arrays)
        for s, i in self._slots:
            checked[i] = by_slot[s]
        unchanged = all(c is a for c, a in zip(checked, arrays))
        self._key, self._env = (key if unchanged else None), env
        self._run = self.plan.generated(env)
        if env != self._kept:  # a prepared call runs again and again (once per binding: a
            heap.keep_for(self.plan, env)  # feed cast every call is checked every call)
            self._kept = env
        return tuple(checked)
