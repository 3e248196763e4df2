"""Shared fixtures for the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The MNIST folder: $TENSORLANG_MNIST, else shared/data/mnist beside the repo; else skip."""
    env = os.environ.get("TENSORLANG_MNIST")
    # tests/ -> repo root -> its parent, which holds shared/ (here and in CI's clone alike)
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
    where = Path(env) if env else default
    source = "$TENSORLANG_MNIST" if env else "the default place"
    if not where.is_dir():
        pytest.skip(f"MNIST not found at {where}: no such folder ({source})")
    missing = [f for f in MNIST_FILES if not (where / f).is_file()]
    if missing:
        pytest.skip(f"MNIST not found at {where}: missing {', '.join(missing)} ({source})")
    return where
