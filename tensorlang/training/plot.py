"""A train block's `plot`: the curves of its history drawn with matplotlib, one panel per metric
(training and validation together: `loss` beside `val_loss`), and a panel for the learning rate
when it changes; PNG, SVG or PDF by the file's extension, written atomically. matplotlib is
imported here only, when a plot is asked for (its Agg canvas: no display, no pyplot state)."""

from __future__ import annotations

import io
import os

from ..errors import UsageError
from ..files.atomic import write_atomic

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def panels(history: list[dict]) -> list[tuple[str, list[str]]]:
    """(title, the metrics drawn in it) for each panel: a metric with its `val_` twin."""
    names = list(dict.fromkeys(k for e in history for k in e["metrics"]))
    out = []
    for name in names:
        if name.startswith("val_") and name[4:] in names:
            continue  # drawn with its training twin
        twin = f"val_{name}"
        out.append((name, [name, twin] if twin in names else [name]))
    if len({e["lr"] for e in history if e.get("lr") is not None}) > 1:
        out.append(("learning rate", ["lr"]))
    return out


def draw(history: list[dict], title: str):
    """The figure of a history (a matplotlib Figure on an Agg canvas)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    layout = panels(history)
    fig = Figure(figsize=(4.2 * len(layout), 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    epochs = [e["epoch"] for e in history]
    for i, (name, series) in enumerate(layout, 1):
        ax = fig.add_subplot(1, len(layout), i)
        for key in series:
            ys = [e["lr"] if key == "lr" else e["metrics"].get(key) for e in history]
            label = "validation" if key.startswith("val_") else "training"
            ax.plot(epochs, ys, marker="o" if len(epochs) < 30 else None, markersize=3,
                    label=label if key != "lr" else None)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if len(series) > 1:
            ax.legend()
    fig.suptitle(title)
    return fig


def save_plot(path: str, written: str, history: list[dict], title: str, span) -> None:
    """Draw the history to `path`, atomically, in the format its extension names."""
    fmt = FORMATS[os.path.splitext(path)[1].lower()]
    if not history:
        return
    from matplotlib import rc_context

    buf = io.BytesIO()
    with rc_context({"svg.hashsalt": "tensorlang"}):  # SVG ids from a fixed salt, not random
        draw(history, title).savefig(buf, format=fmt, metadata=_metadata(fmt))
    try:
        write_atomic(path, buf.getvalue())
    except OSError as e:
        raise UsageError(f'plot: cannot write "{written}": {e.strerror or e}', span) from None


def _metadata(fmt: str) -> dict:
    """No creation date or software version in the file: the same run draws the same bytes."""
    if fmt == "png":
        return {"Software": None}
    if fmt == "svg":
        return {"Date": None, "Creator": None}
    return {"CreationDate": None, "Creator": None, "Producer": None}
