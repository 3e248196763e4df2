"""training/plot.py: which panels a history gets, and the figure drawn from it."""

import pytest

from tensorlang.training.plot import draw, panels, save_plot


def history(lrs=(0.1, 0.1, 0.1)):
    return [{"epoch": i + 1, "step": 3 * (i + 1), "lr": lr, "seconds": 0.1,
             "metrics": {"loss": 1.0 / (i + 1), "acc": 0.5 + 0.1 * i,
                         "val_loss": 1.2 / (i + 1), "val_acc": 0.4 + 0.1 * i}}
            for i, lr in enumerate(lrs)]


def test_a_metric_shares_its_panel_with_its_validation_twin():
    assert panels(history()) == [("loss", ["loss", "val_loss"]), ("acc", ["acc", "val_acc"])]


def test_a_changing_rate_gets_a_panel():
    assert panels(history((0.1, 0.05, 0.025)))[-1] == ("learning rate", ["lr"])


def test_the_figure_holds_the_histories_values():
    fig = draw(history((0.1, 0.05, 0.025)), "train g")
    axes = fig.axes
    assert [a.get_title() for a in axes] == ["loss", "acc", "learning rate"]
    train_line, val_line = axes[0].get_lines()
    assert list(train_line.get_ydata()) == pytest.approx([1.0, 0.5, 1 / 3])
    assert list(val_line.get_ydata()) == pytest.approx([1.2, 0.6, 0.4])
    assert list(axes[2].get_lines()[0].get_ydata()) == [0.1, 0.05, 0.025]


def test_the_same_history_draws_the_same_svg(tmp_path):
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    save_plot(str(a), "a.svg", history(), "t", None)
    save_plot(str(b), "b.svg", history(), "t", None)
    assert a.read_bytes() == b.read_bytes() and b"<svg" in a.read_bytes()
