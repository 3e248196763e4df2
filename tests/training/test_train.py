"""Training: optimizer update math against hand NumPy, the minibatch loop (shuffling, partial
batches, report averaging, validate), checkpoints, Ctrl-C, NaN provenance and the CLI flags."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import CheckpointError, RuntimeNumericsError
from tensorlang.runtime import checkpoint
from tensorlang.tools import cli
from tensorlang.training.context import Context
from tensorlang.training.evaluate import run_evaluate
from tensorlang.training.step import TrainingStep
from tensorlang.training.train import run_train
from tensorlang.transforms.optimizers import train_graph

# a linear model in f64, so the optimizers can be compared with NumPy to rounding error (the
# data are exact in f32, which literal data blocks are read as)
LINEAR = """
graph lin {{
    placeholder x: f64[N, 2]
    placeholder y: f64[N]
    variable w: f64[2] = [0.5, -0.3]
    variable b: f64[] = 0.1
    pred = x @ w + b
    loss = mean(square(pred - y))
    mx   = mean(x[:, 1])
}}
data d {{
    x = [[1, 2], [0.5, -1], [-2, 0.375], [1.5, 1], [0.25, 0.75]]
    y = [1, -0.5, 2, 0.25, -1]
}}
data v {{
    x = [[3, 1], [-1, 4]]
    y = [0, 1]
}}
train lin {{
    data      = d
    minimize  = loss
    optimizer = {optimizer}
    epochs    = {epochs}
    batch     = {batch}
    shuffle   = {shuffle}
    seed      = {seed}
    report    = [loss, mx]
    {extra}
}}
"""
X = np.array([[1, 2], [0.5, -1], [-2, 0.375], [1.5, 1], [0.25, 0.75]])
Y = np.array([1, -0.5, 2, 0.25, -1])


def linear(tmp_path=None, optimizer="sgd(lr = 0.1)", epochs=2, batch=5, shuffle="false", seed=0,
           extra=""):
    """The LINEAR program with its train block filled in (written to tmp_path when given)."""
    text = LINEAR.format(optimizer=optimizer, epochs=epochs, batch=batch, shuffle=shuffle,
                         seed=seed, extra=extra)
    if tmp_path is None:
        return tl.compile(text)
    path = tmp_path / "lin.tl"
    path.write_text(text)
    return tl.load(str(path))


def train(program, **options):
    """Run the program's blocks with our own Context; returns (ctx, results, output)."""
    out = io.StringIO()
    ctx = Context(program, out=out, **options)
    results = [run_train(ctx, s) if s.kind == "train" else run_evaluate(ctx, s)
               for s in program.runs]
    return ctx, results, out.getvalue()


def grad(w, b, x, y):
    """d/dw, d/db of mean((x @ w + b - y)^2), by hand."""
    r = x @ w + b - y
    return 2 * x.T @ r / len(y), 2 * r.mean()


def reference(rule, steps, **hp):
    """w, b after `steps` full-batch steps of `rule`, in NumPy."""
    params = [np.array([0.5, -0.3]), np.array(0.1)]
    state = [[np.zeros_like(p) for p in params] for _ in range(2)]
    for t in range(1, steps + 1):
        grads = grad(*params, X, Y)
        for i, (p, g) in enumerate(zip(params, grads)):
            if rule == "sgd":
                params[i] = p - hp["lr"] * g
            elif rule in ("momentum", "nesterov"):
                state[0][i] = hp["mu"] * state[0][i] + g
                step = g + hp["mu"] * state[0][i] if rule == "nesterov" else state[0][i]
                params[i] = p - hp["lr"] * step
            else:
                m = state[0][i] = hp["b1"] * state[0][i] + (1 - hp["b1"]) * g
                v = state[1][i] = hp["b2"] * state[1][i] + (1 - hp["b2"]) * g * g
                mhat, vhat = m / (1 - hp["b1"] ** t), v / (1 - hp["b2"] ** t)
                params[i] = p - hp["lr"] * mhat / (np.sqrt(vhat) + hp["eps"])
    return params


@pytest.mark.parametrize("text, rule, hp", [
    ("sgd(lr = 0.1)", "sgd", {"lr": 0.1}),
    ("sgd(lr = 0.05, momentum = 0.9)", "momentum", {"lr": 0.05, "mu": 0.9}),
    ("sgd(lr = 0.05, momentum = 0.8, nesterov = true)", "nesterov", {"lr": 0.05, "mu": 0.8}),
    ("adam(lr = 0.1, beta1 = 0.8, beta2 = 0.95, eps = 1e-3)", "adam",
     {"lr": 0.1, "b1": 0.8, "b2": 0.95, "eps": 1e-3}),
])
def test_optimizer_steps_match_numpy(text, rule, hp):
    ctx, results, _ = train(linear(optimizer=text, epochs=3))
    sess = ctx.sessions["lin"]
    w, b = reference(rule, 3, **hp)
    np.testing.assert_allclose(sess.variables["w"], w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sess.variables["b"], b, rtol=1e-12, atol=1e-14)
    assert results[0].steps == 3
    # the reported loss of the last epoch is the loss before its step
    w2, b2 = reference(rule, 2, **hp)
    assert results[0]["loss"] == pytest.approx(np.mean((X @ w2 + b2 - Y) ** 2), rel=1e-12)


def test_train_graph_has_state_variables_and_update_nodes():
    p = linear(optimizer="adam(lr = 0.1)")
    g, updates = train_graph(p.graphs["lin"], p.runs[0])
    g.verify()
    assert set(updates) == {"w", "b", "opt/t", "opt/w/m", "opt/w/v", "opt/b/m", "opt/b/v"}
    assert {v.name for v in g.variables} == set(updates)
    assert {v.name for v in g.trainable} == {"w", "b"}  # optimizer state is not trained
    assert updates["w"].scope == "optimizer/w" and updates["w"].name == "update(w)"
    assert g.node("grad(loss)/w").is_backward
    assert all(updates[k].dtype == g.node(k).dtype for k in updates)
    # plain sgd keeps no state
    g2, u2 = train_graph(p.graphs["lin"], linear().runs[0])
    assert set(u2) == {"w", "b"} and len(g2.variables) == 2


def test_extended_session_shares_variables():
    p = linear(optimizer="sgd(lr = 0.1, momentum = 0.5)")
    sess = tl.Session(p.graphs["lin"])
    g, updates = train_graph(sess.graph, p.runs[0])
    child = sess.extend(g)
    sess.assign("w", [1.0, 2.0])
    np.testing.assert_array_equal(child.variables["w"], [1.0, 2.0])
    child.run("loss", {"x": X, "y": Y}, updates=updates)
    assert child.variables["w"] is sess.variables["w"]
    assert "opt/w/momentum" in child.variables and "opt/w/momentum" not in sess.variables
    np.testing.assert_allclose(sess.variables["w"], [1.0, 2.0] - 0.1 * grad(
        np.array([1.0, 2.0]), 0.1, X, Y)[0])


def _fed_rows(monkeypatch, program, **options):
    """Train, recording the x rows of every step (as indices into X)."""
    seen = []
    real = TrainingStep.__call__

    def spy(self, feed, epoch, at, rate=None):
        seen.append([int(np.flatnonzero((X == row).all(axis=1))[0]) for row in feed["x"]])
        return real(self, feed, epoch, at, rate)

    monkeypatch.setattr(TrainingStep, "__call__", spy)
    ctx, results, out = train(program, **options)
    return seen, ctx, results, out


def test_seeded_shuffle_and_partial_last_batch(monkeypatch):
    seen, *_ = _fed_rows(monkeypatch, linear(epochs=2, batch=2, shuffle="true", seed=7))
    rng = np.random.default_rng(7)
    want = []
    for _ in range(2):
        order = rng.permutation(5)
        want += [list(order[0:2]), list(order[2:4]), list(order[4:5])]
    assert seen == want
    assert [len(s) for s in seen] == [2, 2, 1, 2, 2, 1]  # the last partial batch is kept
    seen, *_ = _fed_rows(monkeypatch, linear(epochs=2, batch=2, shuffle="false"))
    assert seen == [[0, 1], [2, 3], [4]] * 2


def test_same_seed_gives_identical_variables():
    def final(seed):
        ctx, *_ = train(linear(optimizer="adam(lr = 0.05)", epochs=4, batch=2, shuffle="true",
                               seed=seed))
        return {k: v.copy() for k, v in ctx.sessions["lin"].variables.items()}
    a, b, c = final(3), final(3), final(4)
    for k in a:
        assert a[k].tobytes() == b[k].tobytes()
    assert any(a[k].tobytes() != c[k].tobytes() for k in a)


def test_reports_are_weighted_by_batch_size():
    # mx = mean(x[:, 1]) per batch: batches of 2, 2, 1 -> the epoch value is the mean over all
    # examples, which a plain average of the three batch means would miss
    _, results, _ = train(linear(epochs=1, batch=2))
    assert results[0]["mx"] == pytest.approx(X[:, 1].mean(), rel=1e-12)
    unweighted = np.mean([X[0:2, 1].mean(), X[2:4, 1].mean(), X[4:5, 1].mean()])
    assert abs(unweighted - X[:, 1].mean()) > 1e-2


def test_validate_reports_val_values_after_each_epoch():
    ctx, results, out = train(linear(epochs=3, extra="validate = v"))
    res = results[0]
    assert [h["epoch"] for h in res.history] == [1, 2, 3]
    w, b = ctx.sessions["lin"].variables["w"], ctx.sessions["lin"].variables["b"]
    xv, yv = np.array([[3, 1], [-1, 4]]), np.array([0, 1])
    assert res["val_loss"] == pytest.approx(np.mean((xv @ w + b - yv) ** 2), rel=1e-12)
    assert res["val_mx"] == pytest.approx(2.5)
    w1, b1 = reference("sgd", 1, lr=0.1)
    assert res.history[0]["metrics"]["val_loss"] == pytest.approx(
        np.mean((xv @ w1 + b1 - yv) ** 2), rel=1e-12)
    assert "epoch 3/3  loss " in out and "  val_loss " in out and "  val_mx 2.5000  " in out


def test_save_writes_every_variable_and_load_restores(tmp_path):
    p = linear(tmp_path, epochs=2, extra='save = "ck/model.npz"')
    ctx, _, out = train(p)
    with np.load(tmp_path / "ck" / "model.npz") as z:
        stored = {k: z[k] for k in z.files}
    assert set(stored) == {"w", "b", "__tensorlang__"}  # and the run's state, as JSON
    for k in ("w", "b"):
        v = stored[k]
        np.testing.assert_array_equal(v, ctx.sessions["lin"].variables[k])
    assert "saved 2 variables and the run's state to ck/model.npz" in out
    # load restores before training: 0 extra steps would give the same; 1 more step continues
    p2 = linear(tmp_path, epochs=1, extra='load = "ck/model.npz"')
    ctx2, _, _ = train(p2)
    w3, _ = reference("sgd", 3, lr=0.1)
    np.testing.assert_allclose(ctx2.sessions["lin"].variables["w"], w3, rtol=1e-12)


def test_failed_save_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    p = linear(tmp_path, epochs=1, extra='save = "model.npz"')
    train(p)
    before = (tmp_path / "model.npz").read_bytes()

    def broken(fh, arrays):
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "_write_npz", broken)
    with pytest.raises(CheckpointError, match="No space left"):
        train(p)
    assert (tmp_path / "model.npz").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["lin.tl", "model.npz"]  # no temporary file left


def test_ctrl_c_stops_cleanly_and_saves_nothing(tmp_path, monkeypatch, capsys):
    calls = []
    real = TrainingStep.__call__

    def interrupted(self, feed, epoch, at, rate=None):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(self, feed, epoch, at, rate)

    monkeypatch.setattr(TrainingStep, "__call__", interrupted)
    p = linear(tmp_path, epochs=5, batch=2, extra='save = "model.npz"')
    with pytest.raises(KeyboardInterrupt, match=r"epoch 2/5, step 1/3.*nothing saved"):
        train(p)
    assert not (tmp_path / "model.npz").exists()
    calls.clear()
    assert cli.main(["run", str(tmp_path / "lin.tl")]) == 130
    err = capsys.readouterr().err
    assert "interrupted in epoch 2/5, step 1/3: training stopped, nothing saved" in err
    assert "Traceback" not in err and not (tmp_path / "model.npz").exists()


def test_sigint_through_the_cli(tmp_path):
    path = tmp_path / "long.tl"
    path.write_text(LINEAR.format(optimizer="sgd(lr = 0.01)", epochs=10**7, batch=1,
                                  shuffle="true", seed=0, extra='save = "never.npz"'))
    exe = Path(sys.executable).parent / "tensorlang"
    # one epoch line (the first): the pipe never fills while this test waits for a core
    argv = [str(exe), "run", str(path), "--log-every", str(10**8)]
    # a shell's background job ignores SIGINT, and so would the child: a small launcher gives
    # it the default, as a terminal's foreground command has, then becomes the command (no
    # preexec_fn: forking this multithreaded test process that way may deadlock)
    launcher = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                "os.execv(sys.argv[1], sys.argv[1:])")
    proc = subprocess.Popen([sys.executable, "-c", launcher, *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        while line and not line.startswith("epoch 1/"):
            line = proc.stdout.readline()
        assert line.startswith("epoch 1/")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "nothing saved" in err and "Traceback" not in err
    assert not (tmp_path / "never.npz").exists()


NAN = """graph g {{
    placeholder x: f32[N, 1]
    variable w: f32[1] = [1.0]
    y = x * w
    loss = mean(log(y))
}}
data d {{
    x = [[1.0], [2.0]]
}}
train g {{
    data = d
    minimize = loss
    optimizer = sgd(lr = {lr})
    epochs = 5
}}
"""


@pytest.mark.parametrize("check", [False, True])
def test_nan_names_the_first_bad_node_and_its_line(tmp_path, check):
    # d loss / d w = 1 / w: w = 1 -> 0.5 -> -0.5, and the third step takes log of negatives
    p = tl.compile(NAN.format(lr=0.5), "nan.tl")
    ctx = Context(p, out=io.StringIO(), check_numerics=check)
    with pytest.raises(RuntimeNumericsError) as info:
        run_train(ctx, p.runs[0])
    e = info.value
    assert e.line == 5 and e.column == 17
    assert e.message.startswith("log produced NaN") and "epoch 3, step 1" in e.message
    text = e.format()
    assert "loss = mean(log(y))" in text and "ranges over [-1, -0.5]" in text
    assert "variables keep their values from before this step" in text
    np.testing.assert_allclose(ctx.sessions["g"].variables["w"], [-0.5])  # from before step 3


def test_overflowing_update_is_blamed_on_the_optimizer_line(tmp_path):
    # the loss stays finite, but lr * gradient overflows f32: the update multiply is named
    p = tl.compile(NAN.format(lr="1e38").replace("log(y)", "y * 1e3"), "big.tl")
    with pytest.raises(RuntimeNumericsError) as info:
        run_train(Context(p, out=io.StringIO()), p.runs[0])
    e = info.value
    assert e.message.startswith("multiply produced Inf") and "epoch 1, step 1" in e.message
    assert e.line == 13  # optimizer = sgd(lr = 1e38)
    assert "lower the learning rate" in e.hint or "smaller learning rate" in e.hint


def test_nan_through_the_cli_exits_1(tmp_path, capsys):
    path = tmp_path / "nan.tl"
    path.write_text(NAN.format(lr=0.5))
    assert cli.main(["run", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:5:17: error: log produced NaN" in err and "Traceback" not in err


XOR = Path(__file__).resolve().parents[2] / "examples" / "xor.tl"


def test_cli_epochs_seed_set_and_quiet(capsys):
    assert cli.main(["run", str(XOR), "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    lines = [x for x in out.splitlines() if x.startswith("epoch ")]
    assert [x.split()[1] for x in lines] == ["1/3", "2/3", "3/3"]
    assert out.startswith("train xor on table: 4 examples, batch 4, 1 step an epoch, sgd(")

    def last(*args):
        assert cli.main(["run", str(XOR), "--epochs", "5", "--quiet", *args]) == 0
        got = capsys.readouterr().out
        epoch_lines = [x for x in got.splitlines() if x.startswith("epoch ")]
        assert len(epoch_lines) == 1 and not got.startswith("train ")  # quiet: last line only
        return epoch_lines[0].rsplit("  ", 1)[0]  # without the time

    assert last("--seed", "1") == last("--seed", "1") != last("--seed", "2")
    assert last("--set", "hidden=8") != last()
    assert cli.main(["run", str(XOR), "--epochs", "0"]) == 1
    assert "--epochs must be at least 1" in capsys.readouterr().err


def test_every_epoch_has_a_summary_line_unless_thinned_with_log_every():
    from tensorlang.training.progress import epoch_line
    assert epoch_line(3, 10, {"loss": 0.12344, "acc": 0.965, "val_acc": 0.97021}, 1.94) == \
        "epoch 3/10  loss 0.1234  acc 0.9650  val_acc 0.9702  1.9s"
    _, _, out = train(linear(epochs=100))
    shown = [int(x.split()[1].split("/")[0]) for x in out.splitlines() if x.startswith("epoch")]
    assert shown == list(range(1, 101))
    _, _, out = train(linear(epochs=100), log_every=20)
    shown = [int(x.split()[1].split("/")[0]) for x in out.splitlines() if x.startswith("epoch")]
    assert shown == [1, 20, 40, 60, 80, 100]


def test_live_progress_bar_renders_and_closes():
    _, results, out = train(linear(epochs=2), progress=True)
    assert "ex/s" in out and "epoch 2/2  loss " in out
    assert out.rstrip().endswith("\x1b[?25h") or "\x1b[?25h" in out  # the cursor comes back
