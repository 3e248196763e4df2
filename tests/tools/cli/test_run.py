"""tools/cli/run.py: `tensorlang run FILE` executes the run blocks with the command's options
(--epochs, --seed, --quiet, --log-every, --check-numerics, --set) and prints what they print."""

from __future__ import annotations

import pytest

from tensorlang.tools.cli import main

PROGRAM = """\
let lr = 0.1
graph g {
    placeholder x: f64[N, 1]
    placeholder y: f64[N, 1]
    variable w: f64[1, 1] = [[0.0]]
    loss = mean((x @ w - y) ** 2)
}
data d {
    x = [[1], [2]]
    y = [[2], [4]]
}
train g {
    data = d
    minimize = loss
    optimizer = sgd(lr = lr)
    epochs = 4
}
evaluate g {
    data = d
    show = [w]
}
"""


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "r.tl"
    p.write_text(PROGRAM, encoding="utf-8")
    return p


def w_after(epochs, lr=0.1):
    # loss = mean((w x - 2 x)^2) over x = 1, 2: its gradient is 5 (w - 2)
    w = 0.0
    for _ in range(epochs):
        w -= lr * 5 * (w - 2)
    return w


def lines(capsys):
    out, err = capsys.readouterr()
    assert err == ""
    return out.splitlines()


def test_run_prints_every_epoch_and_the_evaluation(path, capsys):
    assert main(["run", str(path)]) == 0
    out = lines(capsys)
    assert out[0].startswith("train g on d: 2 examples, batch 2, 1 step an epoch, sgd(lr = 0.1")
    assert [x.split("  ")[0] for x in out[1:5]] == [f"epoch {k}/4" for k in range(1, 5)]
    assert out[1].startswith("epoch 1/4  loss 10.0000  ")  # (4 + 16) / 2 at w = 0
    assert out[5] == "evaluate g on d"
    assert out[6].startswith("w = [[") and float(out[6][6:-2]) == pytest.approx(w_after(4),
                                                                                abs=1e-4)


def test_epochs_set_and_log_every(path, capsys):
    assert main(["run", str(path), "--epochs", "5", "--set", "lr=0.05", "--log-every", "2"]) == 0
    out = lines(capsys)
    assert [x.split("  ")[0] for x in out if x.startswith("epoch")] == [
        "epoch 1/5", "epoch 2/5", "epoch 4/5", "epoch 5/5"]
    assert float(out[-1][6:-2]) == pytest.approx(w_after(5, 0.05), abs=1e-4)


def test_quiet_prints_the_last_epoch_only(path, capsys):
    assert main(["run", str(path), "--quiet", "--seed", "3", "--check-numerics"]) == 0
    out = lines(capsys)
    assert [x.split("  ")[0] for x in out if x.startswith(("epoch", "train"))] == ["epoch 4/4"]


@pytest.mark.parametrize("argv, message", [
    (["--log-every", "0"], "error: --log-every must be at least 1, not 0"),
    (["--epochs", "0"], "error: --epochs must be at least 1, not 0"),
    (["--set", "rate=1"], 'error: --set rate: the program has no "let rate"'),
])
def test_mistakes_exit_1(path, capsys, argv, message):
    assert main(["run", str(path), *argv]) == 1
    assert message in capsys.readouterr().err


def test_a_malformed_option_exits_1_with_the_usage(path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", str(path), "--epochs", "two"])
    assert info.value.code == 1
    assert "argument --epochs: invalid int value" in capsys.readouterr().err
