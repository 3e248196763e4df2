"""A train block's `log`: one row per epoch (epoch, step, lr, every report and validation metric,
seconds) as CSV or JSON lines, written and flushed as each epoch ends, so a run that is killed
keeps what it did. (Its path is checked before training, by files/writable.py.)"""

from __future__ import annotations

import csv
import json

from ..errors import UsageError

FIXED = ("epoch", "step", "lr")


class MetricsLog:
    """The per-epoch rows of a run in a CSV or JSON-lines file."""

    def __init__(self, path: str, written: str, names: list[str], span):
        self.path, self.written, self.span = path, written, span
        self.columns = [*FIXED, *names, "seconds"]
        self.jsonl = path.lower().endswith(".jsonl")
        self.file = None

    def open(self, history: list[dict]) -> None:
        """Start the file afresh with the rows of the run so far (a resumed run's history)."""
        try:
            self.file = open(self.path, "w", newline="", encoding="utf-8")
            if not self.jsonl:
                csv.writer(self.file).writerow(self.columns)
            for entry in history:
                self.write(entry)
        except OSError as e:
            raise UsageError(f'log: cannot write "{self.written}": {e.strerror or e}',
                             self.span) from None

    def write(self, entry: dict) -> None:
        """One epoch's row, flushed to the file."""
        row = {"epoch": entry["epoch"], "step": entry["step"], "lr": entry["lr"],
               **entry["metrics"], "seconds": round(entry["seconds"], 6)}
        if self.jsonl:
            self.file.write(json.dumps({k: row.get(k) for k in self.columns}) + "\n")
        else:
            csv.writer(self.file).writerow(["" if row.get(k) is None else row[k]
                                            for k in self.columns])
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
