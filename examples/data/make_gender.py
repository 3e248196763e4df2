"""Make examples/data/gender.csv: 200 made-up people (hair length in cm, height in cm, weight in
kg) with a 0/1 label, drawn from two overlapping normal distributions with a fixed seed, so the
file is reproducible: `python examples/data/make_gender.py` rewrites it byte for byte."""

import os

import numpy as np

ROWS = 200
# label: (hair mean, sd), (height mean, sd), (weight mean, sd); the groups overlap on purpose,
# so one neuron gets most examples right but not all of them
GROUPS = {
    0: ((8.0, 7.0), (177.0, 7.5), (80.0, 10.0)),
    1: ((28.0, 12.0), (164.0, 7.0), (63.0, 9.0)),
}


def make(rows: int = ROWS, seed: int = 0) -> np.ndarray:
    """rows x [hair, height, weight, label], labels alternating so any slice is balanced."""
    rng = np.random.default_rng(seed)
    out = np.zeros((rows, 4))
    for i in range(rows):
        label = i % 2
        out[i, :3] = [rng.normal(m, s) for m, s in GROUPS[label]]
        out[i, 3] = label
    out[:, 0] = np.clip(out[:, 0], 0.0, None)  # no negative hair length
    return out


def main() -> None:
    """Write the CSV next to this script."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gender.csv")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("hair_cm,height_cm,weight_kg,label\n")
        for hair, height, weight, label in make():
            fh.write(f"{hair:.1f},{height:.1f},{weight:.1f},{int(label)}\n")


if __name__ == "__main__":
    main()
