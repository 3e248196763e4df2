"""The round-2 examples: the Keras convnet with dropout and the BatchNorm MLP on an MNIST subset,
the LSTM that remembers a sequence's first symbol, and the character RNN that writes. Each is
trained briefly and its result recomputed independently (PyTorch or NumPy from the trained
weights, in evaluation mode)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.files.images import load_images, load_labels
from tensorlang.files.loaders import load_idx

from .test_examples import EXAMPLES, run

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _test_set(mnist_dir, n):
    images = load_idx(str(mnist_dir / "t10k-images-idx3-ubyte.gz"))[:n]
    labels = load_idx(str(mnist_dir / "t10k-labels-idx1-ubyte.gz"))[:n]
    return images.astype(np.float64) / 255.0, labels


def test_keras_convnet_with_dropout(mnist_dir):
    overrides = {"mnist": str(mnist_dir), "train_examples": 2000, "test_examples": 500,
                 "epochs": 1}
    ctx, (trained, tested), out = run("mnist_convnet_dropout.tl", overrides)
    assert tested["acc"] >= 0.6
    v = {k: torch.tensor(a.astype(np.float64)) for k, a in
         ctx.sessions["convnet"].variables.items()}
    images, labels = _test_set(mnist_dir, 500)
    x = torch.tensor(images).reshape(-1, 1, 28, 28)
    h = F.max_pool2d(F.relu(F.conv2d(x, v["c1.k"]) + v["c1.b"]), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, v["c2.k"]) + v["c2.b"]), 2)
    logits = h.flatten(1) @ v["logits.W"] + v["logits.b"]  # dropout: none in evaluation
    acc = float((logits.argmax(1).numpy() == labels).mean())
    assert tested["acc"] == pytest.approx(acc, abs=1e-3)


def test_batchnorm_mlp_evaluates_with_the_running_statistics(mnist_dir):
    overrides = {"mnist": str(mnist_dir), "train_examples": 3000, "test_examples": 500,
                 "epochs": 1}
    ctx, (trained, tested), out = run("mnist_batchnorm.tl", overrides)
    assert tested["acc"] >= 0.8
    v = {k: a.astype(np.float64) for k, a in ctx.sessions["mlp"].variables.items()}
    assert not np.allclose(v["BatchNorm_1.mean"], 0)  # the training steps moved them

    def bn(z, scope):
        return v[f"{scope}.gamma"] * (z - v[f"{scope}.mean"]) / np.sqrt(
            v[f"{scope}.var"] + 1e-5) + v[f"{scope}.beta"]
    images, labels = _test_set(mnist_dir, 500)
    x = images.reshape(-1, 784)
    h1 = np.maximum(bn(x @ v["Dense_1.W"] + v["Dense_1.b"], "BatchNorm_1"), 0)
    h2 = np.maximum(bn(h1 @ v["Dense_2.W"] + v["Dense_2.b"], "BatchNorm_2"), 0)
    logits = h2 @ v["logits.W"] + v["logits.b"]
    assert tested["acc"] == pytest.approx(float((logits.argmax(1) == labels).mean()), abs=1e-3)


def test_lstm_first_symbol_against_pytorch():
    ctx, (trained, tested), out = run("lstm_first_symbol.tl", epochs=2)
    v = ctx.sessions["memory"].variables
    lstm = torch.nn.LSTM(8, 32, batch_first=True).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(v["states.Wx"].T.astype(np.float64)))
        lstm.weight_hh_l0.copy_(torch.tensor(v["states.Wh"].T.astype(np.float64)))
        lstm.bias_ih_l0.copy_(torch.tensor(v["states.b"].astype(np.float64)))
        lstm.bias_hh_l0.zero_()
    data = np.load(EXAMPLES / "data" / "first_symbol.npz")
    x = F.one_hot(torch.tensor(data["x_test"]), 8).double()
    hs, _ = lstm(x)
    logits = hs[:, -1].detach().numpy() @ v["logits.W"] + v["logits.b"]
    acc = float((logits.argmax(1) == data["y_test"]).mean())
    assert tested["acc"] == pytest.approx(acc, abs=1e-3)


def test_char_rnn_learns_the_text_and_writes(tmp_path):
    shutil.copy(EXAMPLES / "char_rnn.tl", tmp_path)
    (tmp_path / "data").mkdir()
    shutil.copy(EXAMPLES / "data" / "char_text.npz", tmp_path / "data")
    program = tl.load(str(tmp_path / "char_rnn.tl"), overrides={"epochs": 25})
    trained, shown = program.run(quiet=True)
    assert trained["loss"] < 0.7 and trained["acc"] > 0.8  # 30 symbols: chance is 3.4 and 0.03
    alphabet = program.lets["alphabet"]
    text = "".join(alphabet[i] for i in shown["text"][0])
    assert len(text) == program.lets["L"]
    source = (EXAMPLES / "data" / "char_text.txt").read_text()
    known = [w for w in text.split() if w.strip(".,") in source.split() or w in source]
    assert len(known) >= len(text.split()) // 2, text  # mostly words of the text it read


def test_keras_mnist_mlp_keeps_its_best_epoch_and_writes_log_and_plot(mnist_dir, tmp_path):
    shutil.copy(EXAMPLES / "keras_mnist_mlp.tl", tmp_path)
    program = tl.load(str(tmp_path / "keras_mnist_mlp.tl"), overrides={
        "mnist": str(mnist_dir), "train_examples": 2000, "test_examples": 500, "epochs": 3})
    results = program.run(quiet=True)
    trained, tested = results
    rows = (tmp_path / "keras_mnist_mlp.csv").read_text().splitlines()
    assert rows[0] == "epoch,step,lr,loss,acc,val_loss,val_acc,seconds" and len(rows) == 4
    assert (tmp_path / "keras_mnist_mlp.png").read_bytes()[:4] == b"\x89PNG"
    best = max(trained.history, key=lambda e: e["metrics"]["val_acc"])
    assert trained.best_epoch == best["epoch"]
    v = {k: a.astype(np.float64) for k, a in results.sessions["mlp"].variables.items()}
    images, labels = _test_set(mnist_dir, 500)
    h = np.maximum(images.reshape(-1, 784) @ v["Dense_1.W"] + v["Dense_1.b"], 0)
    h = np.maximum(h @ v["Dense_2.W"] + v["Dense_2.b"], 0)  # dropout: none in evaluation
    logits = h @ v["logits.W"] + v["logits.b"]
    assert tested["acc"] >= 0.8
    assert tested["acc"] == pytest.approx(float((logits.argmax(1) == labels).mean()), abs=1e-3)


def test_images_folder_convnet_against_pytorch():
    ctx, (trained, tested), out = run("images_folder.tl", epochs=4)
    v = {k: torch.tensor(a.astype(np.float64)) for k, a in
         ctx.sessions["shapes_net"].variables.items()}
    folder = str(EXAMPLES / "data" / "shapes" / "test")
    x = torch.tensor(load_images(folder, channels=1).astype(np.float64) / 255.0)
    labels = load_labels(folder)
    assert sorted(set(labels.tolist())) == [0, 1, 2] and len(labels) == 90
    h = F.max_pool2d(F.relu(F.conv2d(x, v["c1.k"]) + v["c1.b"]), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, v["c2.k"]) + v["c2.b"]), 2)
    logits = h.flatten(1) @ v["logits.W"] + v["logits.b"]
    acc = float((logits.argmax(1).numpy() == labels).mean())
    assert tested["acc"] == pytest.approx(acc, abs=1e-3) and acc > 1 / 3
