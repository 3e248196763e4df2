"""What the run blocks of one program share: sessions, loaded data, options and output; and the
order in which examples are cut into batches."""

from __future__ import annotations

import os
import sys

import numpy as np

from ..compiler.blocks import RunSpec
from ..compiler.datablocks import load_field
from ..files.loaders import check_same_length
from ..runtime import checkpoint, engines
from ..runtime.session import Session


class Context:
    """What the run blocks of one program share: sessions, loaded data, options, output."""

    def __init__(self, program, seed=None, epochs=None, quiet=False, out=None,
                 check_numerics=False, progress=None, log_every=1, epoch_format=None,
                 engine=None, devices=None):
        self.program = program
        self.engine = engines.get(engine, devices)  # what runs the sessions' plans
        self.epoch_format = epoch_format  # (epoch, epochs, metrics, seconds) -> the epoch's line
        self.log_every = log_every  # print every k-th epoch line (and the first and last)
        self.seed = seed
        self.epochs = epochs
        self.quiet = quiet
        self.out = out or sys.stdout
        self.check_numerics = check_numerics
        self.progress = progress
        self.sessions: dict[str, Session] = {}
        self._data: dict[str, dict] = {}
        self._spans: dict[str, dict] = {}
        self._checked: dict[tuple[str, str], dict] = {}

    def print(self, text: str = "") -> None:
        """A line of output (suppressed by --quiet for progress-like lines only)."""
        print(text, file=self.out, flush=True)

    def session(self, spec: RunSpec) -> Session:
        """The graph's session, made on first use (seeded by --seed, else the block's seed)."""
        if spec.graph not in self.sessions:
            seed = self.seed if self.seed is not None else (spec.seed or 0)
            self.sessions[spec.graph] = Session(self.program.graphs[spec.graph], seed=seed,
                                                engine=self.engine)
        return self.sessions[spec.graph]

    def data(self, name: str, session: Session | None = None) -> dict[str, np.ndarray]:
        """The arrays of a data block, loaded once. Given a session, they are also checked
        against its graph's placeholders (once per graph) and cast to their dtypes, and a
        field that does not fit is an error located at the field."""
        if name not in self._data:
            block = self.program.data[name]
            fields = {f.name: (load_field(f, self.program.lets, self.program.base_dir), f.span)
                      for f in block.fields}
            check_same_length(fields, name, block.span)
            self._data[name] = {k: v for k, (v, _) in fields.items()}
            self._spans[name] = {k: s for k, (_, s) in fields.items()}
        if session is None:
            return self._data[name]
        key = (session.graph.name, name)
        if key not in self._checked:
            self._checked[key] = session.check_fields(self._data[name], self._spans[name])
        return self._checked[key]

    def provide(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Arrays given from Python stand for data block `name` (checked like a block's)."""
        check_same_length({k: (v, None) for k, v in arrays.items()}, name, None)
        self._data[name] = dict(arrays)
        self._spans[name] = dict.fromkeys(arrays)

    def restore(self, spec: RunSpec) -> Session:
        """The block's session, its variables restored from `load` when the block has one."""
        sess = self.session(spec)
        if spec.batch:  # a batch the engine's devices cannot split: an error before any step
            self.engine.check_batch(spec.batch, spec.spans.get("batch", spec.span))
        if spec.load:
            values = checkpoint.load(self.path(spec.load), sess.graph.variables,
                                     spec.spans["load"])
            for k, v in values.items():
                sess.assign(k, v)
        return sess

    def path(self, p: str) -> str:
        """A checkpoint path relative to the .tl file."""
        return p if os.path.isabs(p) else os.path.join(self.program.base_dir, p)


def batches(n: int, size: int | None, order=None):
    """(start, stop) or index arrays covering n examples in batches of size (last one partial)."""
    size = size or n
    for start in range(0, n, size):
        yield slice(start, min(start + size, n)) if order is None else order[start:start + size]
