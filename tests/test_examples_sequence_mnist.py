"""The RNN and MNIST examples train for real (on fewer epochs and a subset of MNIST, to stay
fast) and their accuracy is recomputed with NumPy from the trained weights."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.files.loaders import load_idx

from .test_examples import EXAMPLES, run


def test_rnn_counts_the_majority():
    ctx, (trained, tested), out = run("rnn_majority.tl", epochs=12)
    assert tested["acc"] >= 0.95  # README: 100% after the full 30 epochs
    data = np.load(EXAMPLES / "data" / "sequences.npz")
    x, y = data["x_test"].astype(np.float64), data["y_test"]
    v = {k: a.astype(np.float64) for k, a in ctx.sessions["rnn"].variables.items()}
    h = np.zeros((len(x), v["states.Wh"].shape[0]))
    for t in range(x.shape[1]):  # the Elman recurrence, step by step
        h = np.tanh(x[:, t] @ v["states.Wx"] + h @ v["states.Wh"] + v["states.b"])
    p = 1 / (1 + np.exp(-(h @ v["p.W"] + v["p.b"])))
    assert tested["acc"] == pytest.approx(np.mean((p > 0.5) == (y > 0.5)), abs=1e-6)


def _mnist_accuracy(images, labels, logits_fn) -> float:
    return float(np.mean(np.argmax(logits_fn(images.reshape(len(images), -1) / 255.0), 1)
                         == labels))


def test_mnist_mlp_learns_on_a_subset(mnist_dir):
    overrides = {"mnist": str(mnist_dir), "train_examples": 12000, "test_examples": 2000}
    ctx, (trained, tested), out = run("mnist_mlp.tl", overrides, epochs=2)
    assert "epoch 2/2" in out
    assert tested["acc"] >= 0.90
    v = {k: a.astype(np.float64) for k, a in ctx.sessions["mlp"].variables.items()}
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    images = load_idx(str(mnist_dir / "t10k-images-idx3-ubyte.gz"))[:2000]
    labels = load_idx(str(mnist_dir / "t10k-labels-idx1-ubyte.gz"))[:2000]
    acc = _mnist_accuracy(images, labels, lambda x: relu(relu(
        x @ v["h1.W"] + v["h1.b"]) @ v["h2.W"] + v["h2.b"]) @ v["logits.W"] + v["logits.b"])
    assert tested["acc"] == pytest.approx(acc, abs=1e-3)


def test_mnist_cnn_learns_on_a_subset(mnist_dir):
    overrides = {"mnist": str(mnist_dir), "train_examples": 3000, "test_examples": 1000}
    ctx, (trained, tested), out = run("mnist_cnn.tl", overrides, epochs=1)
    assert tested["acc"] >= 0.80
    assert tested["acc"] == pytest.approx(trained["val_acc"])
