"""Generate examples/data/sequences.npz for rnn_majority.tl: random +1/-1 sequences of length 15
labelled 1 when they hold more +1 than -1. Seeded, so running it again gives the same file.

    python examples/data/make_sequences.py
"""

from pathlib import Path

import numpy as np

T = 15


def make(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n sequences [n, T, 1] of +1/-1 and their majority labels [n, 1]."""
    x = rng.choice(np.array([-1.0, 1.0], np.float32), size=(n, T, 1))
    y = (x.sum(axis=(1, 2)) > 0).astype(np.float32)[:, None]
    return x, y


if __name__ == "__main__":
    rng = np.random.default_rng(2024)
    x_train, y_train = make(3000, rng)
    x_test, y_test = make(1000, rng)
    out = Path(__file__).with_name("sequences.npz")
    np.savez_compressed(out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    print(f"wrote {out}: {len(x_train)} training and {len(x_test)} test sequences of length {T}")
