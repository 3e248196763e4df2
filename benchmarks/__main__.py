"""`make bench`: run every benchmark module and print one table of medians and ratios."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    """Run the benchmark modules named in argv (default: all) and print the table; a run of
    all of them also writes docs/SPEED.md (speed.py)."""
    began = time.perf_counter()
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    rows = []
    for name in names:
        start = time.perf_counter()
        mod = importlib.import_module(f"benchmarks.{name}")
        try:
            results = mod.run()
        except Exception as e:  # one broken benchmark must not hide the others
            results = [(f"FAILED: {type(e).__name__}: {e}", float("nan"), "")]
        rows += [(name.removeprefix("bench_"), *r) for r in results]
        print(f"  {name}: {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)
    print_table(rows)
    if not argv:
        from .speed import SPEED, write
        write(rows, time.perf_counter() - began)
        print(f"wrote {SPEED}", file=sys.stderr)
    return 0


def print_table(rows) -> None:
    """Rows (group, measurement, value, unit) as aligned columns."""
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'group':<{w0}}  {'measurement':<{w1}}  {'value':>12}  unit")
    print("-" * (w0 + w1 + 24))
    for group, label, value, unit in rows:
        shown = f"{value:12.4g}" if isinstance(value, float) else f"{value:>12}"
        print(f"{group:<{w0}}  {label:<{w1}}  {shown}  {unit}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
