"""Generate examples/data/first_symbol.npz for lstm_first_symbol.tl: sequences of T = 100
symbols, the first one of 4 (0-3), labelled with it, then 99 distractors drawn from 4 others
(4-7); the network must carry the first symbol to the end of the sequence. Seeded, so running
it again gives the same file.

    python examples/data/make_first_symbol.py
"""

from pathlib import Path

import numpy as np

T, SYMBOLS, DISTRACTORS = 100, 4, 4


def make(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n sequences [n, T] of symbol ids and their labels (the first symbol) [n]."""
    ids = rng.integers(SYMBOLS, SYMBOLS + DISTRACTORS, size=(n, T)).astype(np.int64)
    ids[:, 0] = rng.integers(0, SYMBOLS, size=n)
    return ids, ids[:, 0].copy()


if __name__ == "__main__":
    rng = np.random.default_rng(7)
    x_train, y_train = make(8000, rng)
    x_test, y_test = make(500, rng)
    out = Path(__file__).with_name("first_symbol.npz")
    np.savez_compressed(out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    print(f"wrote {out}: {len(x_train)} training and {len(x_test)} test sequences of length {T}")
