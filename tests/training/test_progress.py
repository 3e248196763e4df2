"""training/progress.py: the epoch line's format (values, seconds), which epochs print under
--log-every and --quiet, and the live bar on a terminal."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from tensorlang.training import progress as P


@pytest.mark.parametrize("v, text", [
    (0, "0.0000"), (0.1234567, "0.1235"), (1.0, "1.0000"), (12345.678, "12345.6780"),
    (0.001, "0.0010"), (0.000987, "0.000987"), (123456.0, "1.235e+05"), (-0.5, "-0.5000"),
    (-2e-5, "-2e-05"), (float("nan"), "nan"),
])
def test_format_value(v, text):
    assert P.format_value(v) == text


@pytest.mark.parametrize("s, text", [(1.94, "1.9s"), (0.1, "0.1s"), (0.0042, "4.2ms"),
                                     (63.0, "63.0s"), (0.0, "0.0ms")])
def test_format_seconds(s, text):
    assert P.format_seconds(s) == text


def test_epoch_line():
    line = P.epoch_line(3, 10, {"loss": 0.1234, "acc": 0.965, "val_acc": 0.97021}, 1.9)
    assert line == "epoch 3/10  loss 0.1234  acc 0.9650  val_acc 0.9702  1.9s"
    assert P.epoch_line(1, 1, {}, 0.0004) == "epoch 1/1  0.4ms"


def ctx(quiet=False, log_every=1, progress=False):
    out = io.StringIO()
    c = SimpleNamespace(out=out, quiet=quiet, log_every=log_every, progress=progress)
    c.print = lambda text="": print(text, file=out)
    return c


def run_epochs(c, epochs):
    with P.EpochProgress(c, epochs, examples=8) as bar:
        for e in range(1, epochs + 1):
            bar.start_epoch(e)
            bar.advance(4, 0.5)
            bar.advance(4, 0.25)
            assert bar.seen == 8
            seconds = bar.end_epoch(e, {"loss": 0.25})
            assert seconds >= 0
    return [line.split("  ")[0] for line in c.out.getvalue().splitlines()]


def test_every_epoch_prints_by_default():
    assert run_epochs(ctx(), 3) == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]


def test_log_every_keeps_the_first_and_the_last():
    assert run_epochs(ctx(log_every=4), 10) == ["epoch 1/10", "epoch 4/10", "epoch 8/10",
                                                "epoch 10/10"]
    assert run_epochs(ctx(log_every=0), 2) == ["epoch 1/2", "epoch 2/2"]  # 0 counts as 1


def test_quiet_prints_the_last_line_only_and_never_a_bar():
    c = ctx(quiet=True, progress=True)
    assert run_epochs(c, 4) == ["epoch 4/4"]
    assert P.EpochProgress(c, 1, 1).bar is None


def test_no_bar_unless_the_output_is_a_terminal():
    assert P.EpochProgress(ctx(progress=None), 1, 1).bar is None  # a StringIO is no terminal

    class Tty(io.StringIO):
        def isatty(self):
            return True
    c = ctx(progress=None)
    c.out = Tty()
    assert P.EpochProgress(c, 1, 1).bar is not None


def test_the_live_bar_prints_the_epoch_lines_above_it():
    c = ctx(progress=True)
    with P.EpochProgress(c, 2, 8) as bar:
        assert bar.bar is not None
        for e in (1, 2):
            bar.start_epoch(e)
            bar.advance(8, 0.125)
            bar.end_epoch(e, {"loss": 0.125})
        assert len(bar.bar.tasks) == 1  # one bar at a time: the last epoch's
    text = c.out.getvalue()
    assert "epoch 1/2  loss 0.1250  " in text and "epoch 2/2  loss 0.1250  " in text
