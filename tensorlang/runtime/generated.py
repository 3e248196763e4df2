"""A concrete schedule as one generated Python function: straight-line code over local variables,
one line per kernel call, dead values dropped by assigning None right after their last use. A run
then costs one call per op and nothing else: no loop, no tuple unpacking, no list indexing, no
dispatch on the call's shape. Plans switch to it once they have run a few times (generating
costs about as much as a few runs of the loop in execute.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

_count = itertools.count()


class GeneratedCode:
    """`runner(slots) -> fetched values`; `runner.step_at(tb)`: the step index a traceback of an
    exception raised inside the generated code points at (None when it is not there)."""

    def __init__(self, fn: Callable, lines: dict[int, int]):
        self.fn, self.lines = fn, lines
        self.code = fn.__code__

    def __call__(self, slots: list) -> list:
        return self.fn(slots)

    def step_at(self, tb) -> int | None:
        """The step whose line raised, from a traceback."""
        while tb is not None:
            if tb.tb_frame.f_code is self.code:
                return self.lines.get(tb.tb_lineno)
            tb = tb.tb_next
        return None


def generate(steps: list, fetch_slots: list[int]) -> GeneratedCode:
    """The code for a plan's ConcreteCalls: slots that no step writes (feeds, variables,
    constants) are read from the list it is given."""
    written: set[int] = set()
    loads: list[int] = []
    body: list[str] = []
    lines: dict[int, int] = {}
    first = 4  # line of the first statement of run's body (after def make, unpack, def run)

    def ref(slot: int) -> str:
        if slot not in written and slot not in loaded:
            loaded.add(slot)
            loads.append(slot)
        return f"s{slot}"

    loaded: set[int] = set()
    for i, call in enumerate(steps):
        args = ", ".join(ref(s) for s in call.ins)
        if call.donor >= 0:
            args += f"{', ' if args else ''}out={ref(call.donor)}"
        body.append(f"s{call.out} = f{i}({args})")
        lines[len(body)] = call.k
        written.add(call.out)
        if call.free:
            body.append(" = ".join(f"s{s}" for s in call.free) + " = None")
    result = "[" + ", ".join(ref(s) for s in fetch_slots) + "]"
    head = [f"s{s} = slots[{s}]" for s in loads]
    names = ", ".join(f"f{i}" for i in range(len(steps)))
    src = ["def make(F):", f"    {names}{',' if len(steps) == 1 else ''} = F" if steps else
           "    pass", "    def run(slots):"]
    src += [f"        {line}" for line in head + body + [f"return {result}"]]
    src.append("    return run")
    shift = first + len(head) - 1  # body line i (1-based) is at file line shift + i
    name = f"<tensorlang plan {next(_count)}>"
    scope: dict = {}
    exec(compile("\n".join(src) + "\n", name, "exec"), scope)
    fn = scope["make"](tuple(call.fn for call in steps))
    return GeneratedCode(fn, {shift + i: k for i, k in lines.items()})
