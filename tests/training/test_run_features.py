"""The train keys of round 2 in real runs: the learning rate of each step under schedules and
warmup (by hand), steps, held-out splits, early stopping and keep_best, resumable checkpoints
(4 epochs == 2 + 2, bit for bit), save_every, logs and plots, and the checks made before the
first step."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import CheckpointError, DataError, WriteError
from tensorlang.runtime import checkpoint
from tensorlang.training.step import TrainingStep

from .test_train import LINEAR, X, Y, grad, linear, train

BAD_VALIDATION = """
graph lin {
    placeholder x: f64[N, 2]
    placeholder y: f64[N]
    variable w: f64[2] = [0.5, -0.3]
    variable b: f64[] = 0.1
    loss = mean(square(x @ w + b - y))
}
data d {
    x = [[1, 2], [0.5, -1], [-2, 0.375], [1.5, 1], [0.25, 0.75]]
    y = [1, -0.5, 2, 0.25, -1]
}
data anti {
    x = [[1, 2], [0.5, -1], [-2, 0.375], [1.5, 1], [0.25, 0.75]]
    y = [-1, 0.5, -2, -0.25, 1]
}
train lin {
    data = d
    minimize = loss
    optimizer = sgd(lr = 0.05)
    epochs = %d
    batch = 5
    %s
}
"""


def rates(monkeypatch, program, **options):
    """Train, recording the learning rate fed to every step."""
    fed = []
    real = TrainingStep.__call__

    def spy(self, feed, epoch, at, rate=None):
        fed.append(rate)
        return real(self, feed, epoch, at, rate)

    monkeypatch.setattr(TrainingStep, "__call__", spy)
    return fed, *train(program, **options)


def test_step_schedule_halves_the_rate_every_epoch_like_hand_sgd(monkeypatch):
    fed, ctx, results, out = rates(monkeypatch, linear(
        epochs=3, extra="schedule = step(every = 1, factor = 0.5)"))
    assert fed == [0.1, 0.05, 0.025]
    w, b = np.array([0.5, -0.3]), np.array(0.1)
    for lr in (0.1, 0.05, 0.025):
        gw, gb = grad(w, b, X, Y)
        w, b = w - lr * gw, b - lr * gb
    np.testing.assert_allclose(ctx.sessions["lin"].variables["w"], w, rtol=1e-12)
    assert [e["lr"] for e in results[0].history] == [0.1, 0.05, 0.025]
    assert "epoch 2/3  lr 0.05  loss" in out  # the epoch line shows the rate as it changes


def test_cosine_with_warmup_follows_the_formula_at_every_step(monkeypatch):
    fed, *_ = rates(monkeypatch, linear(
        epochs=2, batch=2, extra="schedule = cosine(final = 0.01)\n    warmup = 4"))
    total = 6  # 3 steps an epoch (2 + 2 + 1 examples), 2 epochs
    want = [(0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * t / total)) / 2)
            * min(1, (t + 1) / 4) for t in range(total)]
    assert fed == pytest.approx(want, rel=1e-15)


def test_exponential_is_stepped_once_an_epoch(monkeypatch):
    fed, *_ = rates(monkeypatch, linear(epochs=3, batch=3,
                                        extra="schedule = exponential(factor = 0.9)"))
    assert fed == pytest.approx([0.1, 0.1, 0.09, 0.09, 0.081, 0.081], rel=1e-15)


def test_a_constant_rate_is_no_feed(monkeypatch):
    fed, *_ = rates(monkeypatch, linear(epochs=2))
    assert fed == [None, None]  # the rate is a constant of the graph


def test_steps_stop_inside_an_epoch():
    text = LINEAR.format(optimizer="sgd(lr = 0.1)", epochs=1, batch=2, shuffle="false", seed=0,
                         extra="").replace("epochs    = 1", "steps = 4")
    ctx, results, out = train(tl.compile(text))
    assert results[0].steps == 4 and [e["step"] for e in results[0].history] == [3, 4]


def test_split_holds_out_the_last_fraction():
    ctx, results, _ = train(linear(epochs=1, extra="validate = split(d, 0.4)"))
    w, b = ctx.sessions["lin"].variables["w"], ctx.sessions["lin"].variables["b"]
    # trained on the first 3 examples only: one full-batch sgd step
    gw, gb = grad(np.array([0.5, -0.3]), np.array(0.1), X[:3], Y[:3])
    np.testing.assert_allclose(w, np.array([0.5, -0.3]) - 0.1 * gw, rtol=1e-12)
    want = np.mean((X[3:] @ w + b - Y[3:]) ** 2)
    assert results[0]["val_loss"] == pytest.approx(want, rel=1e-12)


def test_a_split_that_leaves_nothing_is_located():
    with pytest.raises(DataError, match=r"split\(d, 0.01\) of 5 examples leaves no validation"):
        train(linear(epochs=1, extra="validate = split(d, 0.01)"))


def test_early_stop_when_validation_worsens_keeps_the_best_epoch():
    keys = "validate = anti\n    early_stop = 2\n    keep_best = true"
    ctx, results, out = train(tl.compile(BAD_VALIDATION % (20, keys)))
    r = results[0]
    val = [e["metrics"]["val_loss"] for e in r.history]
    assert r.best_epoch == 1 and r.stopped == 3 and len(val) == 3
    assert val[0] < val[1] < val[2]  # it worsened on purpose
    assert "early stop after epoch 3: val_loss has not improved for 2 epochs" in out
    assert "kept the variables of epoch 1" in out
    ctx1, _, _ = train(tl.compile(BAD_VALIDATION % (1, "")))
    for k in ("w", "b"):
        np.testing.assert_array_equal(ctx.sessions["lin"].variables[k],
                                      ctx1.sessions["lin"].variables[k])


def test_monitor_max_watches_for_a_rise():
    keys = "validate = anti\n    monitor = max(val_loss)\n    early_stop = 1"
    _, results, _ = train(tl.compile(BAD_VALIDATION % (4, keys)))
    assert results[0].stopped is None and results[0].best_epoch == 4


MODEL = """
graph net {
    placeholder x: f32[N, 4]
    placeholder y: i64[N]
    h = Dropout(relu(BatchNorm(Dense(x, 8))), 0.3)
    logits = Dense(h, 3)
    loss = mean(softmax_cross_entropy(logits, y))
}
data d {
    x = npy("x.npy")
    y = npy("y.npy")
}
train net {
    data = d
    minimize = loss
    optimizer = %s
    epochs = %d
    batch = 4
    seed = 3
    save = "ck.npz"
    %s
}
"""


def program(tmp_path, optimizer, epochs, extra=""):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(size=(10, 4)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, 10))
    (tmp_path / "net.tl").write_text(MODEL % (optimizer, epochs, extra))
    return tl.load(str(tmp_path / "net.tl"))


@pytest.mark.parametrize("optimizer", ["sgd(lr = 0.1, momentum = 0.9)", "adam(lr = 0.01)",
                                       "rmsprop(lr = 0.01)"])
def test_four_epochs_equal_two_and_a_resume_of_two_bit_for_bit(tmp_path, optimizer):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    once, _, _ = train(program(tmp_path / "a", optimizer, 4))
    train(program(tmp_path / "b", optimizer, 2))
    resumed, results, out = train(program(tmp_path / "b", optimizer, 4, 'resume = "ck.npz"'))
    assert "resumed from ck.npz after epoch 2 (step 6)" in out
    assert [e["epoch"] for e in results[0].history] == [1, 2, 3, 4]
    a, b = once.sessions["net"].variables, resumed.sessions["net"].variables
    assert set(a) == set(b) and any(k.startswith("BatchNorm") for k in a)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    with np.load(tmp_path / "b" / "ck.npz") as z:  # the optimizer's state went along
        assert any(k.startswith("opt/") for k in z.files) or optimizer.startswith("sgd(lr = 0.1)")


def test_resume_from_the_save_path_before_it_exists_starts_afresh(tmp_path):
    _, results, out = train(program(tmp_path, "adam()", 1, 'resume = "ck.npz"'))
    assert "no checkpoint at ck.npz yet: starting afresh" in out
    assert (tmp_path / "ck.npz").exists()


def test_resume_with_nothing_left_trains_nothing(tmp_path):
    train(program(tmp_path, "adam()", 2))
    _, results, out = train(program(tmp_path, "adam()", 2, 'resume = "ck.npz"'))
    assert "nothing to train: the run is at epoch 2 of 2" in out and results[0].steps == 0


def test_resume_lists_every_mismatch_at_once(tmp_path):
    train(program(tmp_path, "adam()", 1))
    text = (tmp_path / "net.tl").read_text().replace("Dense(h, 3)", "Dense(h, 5)")
    (tmp_path / "net.tl").write_text(text.replace("adam()", "sgd(lr = 0.1, momentum = 0.5)")
                                     .replace("save =", 'resume = "ck.npz"\n    save ='))
    with pytest.raises(CheckpointError) as e:
        train(tl.load(str(tmp_path / "net.tl")))
    text = str(e.value)
    assert "its optimizer is adam, this run's is sgd" in text
    assert "Dense_1.W" in text or "shape" in text


def test_resume_of_a_variables_only_checkpoint_says_use_load(tmp_path):
    np.savez(tmp_path / "old.npz", w=np.zeros(2), b=np.zeros(()))
    p = linear(tmp_path, epochs=1, extra='resume = "old.npz"')
    with pytest.raises(CheckpointError, match="holds variables only"):
        train(p)
    ctx, _, _ = train(linear(tmp_path, epochs=1, extra='load = "old.npz"'))  # load reads it
    assert ctx.sessions["lin"].variables["b"] != 0.1


def test_save_every_writes_the_run_so_far(tmp_path, monkeypatch):
    calls = []
    real = checkpoint.save

    def spy(path, variables, span=None, meta=None):
        calls.append(meta["epoch"])
        return real(path, variables, span, meta)

    monkeypatch.setattr(checkpoint, "save", spy)
    train(program(tmp_path, "adam()", 5, "save_every = 2"))
    assert calls == [2, 4, 5]
    ck = checkpoint.read(str(tmp_path / "ck.npz"))
    assert ck.meta["epoch"] == 5 and ck.meta["step"] == 15 and len(ck.meta["history"]) == 5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize("name", ["log.csv", "log.jsonl"])
def test_log_has_a_row_per_epoch(tmp_path, name):
    _, results, _ = train(linear(tmp_path, epochs=3, extra=f'log = "{name}"\n    validate = v'))
    text = (tmp_path / name).read_text()
    rows = (list(csv.DictReader(text.splitlines())) if name.endswith(".csv")
            else [json.loads(line) for line in text.splitlines()])
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    for row, entry in zip(rows, results[0].history):
        assert float(row["loss"]) == pytest.approx(entry["metrics"]["loss"], rel=1e-12)
        assert float(row["val_loss"]) == pytest.approx(entry["metrics"]["val_loss"], rel=1e-12)
        assert float(row["lr"]) == 0.1 and int(row["step"]) == entry["step"]


@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"),
                                        ("pdf", b"%PDF")])
def test_plot_is_written_in_its_format(tmp_path, ext, magic):
    train(linear(tmp_path, epochs=3, extra=f'plot = "curves.{ext}"\n    validate = v'))
    assert (tmp_path / f"curves.{ext}").read_bytes().startswith(magic)


@pytest.mark.parametrize("key", ["log", "plot"])
def test_an_output_folder_that_is_missing_is_an_error_before_training(tmp_path, key,
                                                                      monkeypatch):
    ext = "csv" if key == "log" else "png"
    with pytest.raises(WriteError, match=f'the folder of .*/no/out.{ext}" does not exist'):
        rates(monkeypatch, linear(tmp_path, epochs=1, extra=f'{key} = "no/out.{ext}"'))


def test_matplotlib_is_imported_only_for_a_plot(tmp_path):
    p = tmp_path / "lin.tl"
    linear(tmp_path, epochs=1)
    code = ("import sys, tensorlang as tl; tl.load(sys.argv[1]).run(quiet=True); "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True,
                         check=True).stdout
    assert out.split()[-1] == "False"


def test_a_save_over_the_program_or_a_foreign_file_is_refused_before_training(tmp_path,
                                                                              monkeypatch):
    from tensorlang.errors import TensorlangError
    (tmp_path / "notes.npz").write_text("my notes, not a checkpoint")
    for target in ("notes.npz", "lin.npz"):
        p = linear(tmp_path, epochs=1, extra=f'save = "{target}"')
        if target == "lin.npz":  # a data file of the program, given the checkpoint's extension
            np.savez(tmp_path / "lin.npz", w=np.zeros(2))
            text = (tmp_path / "lin.tl").read_text().replace(
                "data v {", 'data extra {\n    x = npz("lin.npz", "w")\n}\ndata v {')
            (tmp_path / "lin.tl").write_text(text)
            p = tl.load(str(tmp_path / "lin.tl"))
        with pytest.raises(TensorlangError) as e:
            rates(monkeypatch, p)
        assert e.value.line is not None and "save" in str(e.value)
    assert (tmp_path / "notes.npz").read_text() == "my notes, not a checkpoint"


def test_a_plot_outside_the_sandbox_is_refused(tmp_path):
    from tensorlang.errors import SandboxError
    from tensorlang.files.sandbox import confined
    (tmp_path / "inner").mkdir()
    p = linear(tmp_path / "inner", epochs=1, extra=f'plot = "{tmp_path}/out.png"')
    with confined(str(tmp_path / "inner")), pytest.raises(SandboxError):
        train(p)
    assert not (tmp_path / "out.png").exists()
