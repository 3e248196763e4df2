"""The memory budget: the most bytes one array may take, checked before anything is allocated
or decompressed (a data file's declared sizes, a variable's declared shape). 8 GiB unless the
environment variable TENSORLANG_MEMORY_BUDGET says otherwise (bytes, or with a K/M/G/T suffix:
`TENSORLANG_MEMORY_BUDGET=64G`)."""

from __future__ import annotations

import os

DEFAULT_BUDGET = 8 << 30
SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def memory_budget() -> int:
    """The budget in bytes (the environment's, when it holds a valid size)."""
    text = os.environ.get("TENSORLANG_MEMORY_BUDGET", "").strip().upper().removesuffix("B")
    if not text:
        return DEFAULT_BUDGET
    unit = text[-1] if text[-1] in SUFFIXES else ""
    number = text[:-1] if unit else text
    try:
        value = float(number) * SUFFIXES[unit]
    except ValueError:
        return DEFAULT_BUDGET
    return int(value) if value > 0 else DEFAULT_BUDGET


def size_text(n: int) -> str:
    """A byte count for messages: `512 bytes`, `3.2 MiB`, `18.6 GiB`."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def over_budget(n: int) -> str | None:
    """A sentence for a size beyond the budget (None when it fits)."""
    budget = memory_budget()
    if n <= budget:
        return None
    return (f"{size_text(n)}, more than the memory budget of {size_text(budget)} "
            "(TENSORLANG_MEMORY_BUDGET)")
