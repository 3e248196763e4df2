"""Generate examples/data/char_text.npz for char_rnn.tl from char_text.txt: every window of
T + 1 characters (step 3) as ids, the first T the inputs and the last T the targets.

    python examples/data/make_char_text.py
"""

from pathlib import Path

import numpy as np

T = 32
ALPHABET = " \n.,abcdefghijklmnopqrstuvwxyz"  # char_rnn.tl's `let alphabet`: id k is its kth


def ids(text: str) -> np.ndarray:
    """The text as ids in ALPHABET (it holds no other character)."""
    return np.array([ALPHABET.index(c) for c in text], np.int64)


if __name__ == "__main__":
    here = Path(__file__).parent
    text = ids((here / "char_text.txt").read_text(encoding="utf-8"))
    starts = range(0, len(text) - T - 1, 3)
    windows = np.stack([text[s:s + T + 1] for s in starts])
    out = here / "char_text.npz"
    np.savez_compressed(out, inputs=windows[:, :-1], targets=windows[:, 1:],
                        start=text[:1].repeat(4))
    print(f"wrote {out}: {len(windows)} windows of {T} characters, {len(ALPHABET)} symbols")
