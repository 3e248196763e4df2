"""What a train block prints: a live progress bar per epoch (loss so far, examples per second) when
the output is a terminal, and one summary line per epoch:

    epoch 3/10  loss 0.1234  acc 0.9650  val_acc 0.9702  1.9s

`--log-every K` prints every K-th epoch's line instead (the first and last always); `--quiet`
prints the last line only and never a bar."""

from __future__ import annotations

import time


def format_value(v: float) -> str:
    """4 decimals in the usual range; scientific notation for tiny or huge values."""
    if v == 0 or (1e-3 <= abs(v) < 1e5):
        return f"{v:.4f}"
    return f"{v:.4g}"


def format_seconds(s: float) -> str:
    """`1.9s`, or `4.2ms` for fast epochs."""
    return f"{s:.1f}s" if s >= 0.1 else f"{s * 1000:.1f}ms"


def epoch_line(epoch: int, epochs: int, metrics: dict, seconds: float,
               lr: float | None = None) -> str:
    """`epoch 3/10  loss 0.1234  acc 0.9650  val_acc 0.9702  1.9s`, with `lr 0.0100` after the
    epoch where the learning rate changed."""
    parts = [f"epoch {epoch}/{epochs}"] + ([f"lr {lr:.4g}"] if lr is not None else [])
    parts += [f"{k} {format_value(v)}" for k, v in metrics.items()]
    parts.append(format_seconds(seconds))
    return "  ".join(parts)


class EpochProgress:
    """The output of one train block; a context manager so the live bar always closes."""

    def __init__(self, ctx, epochs: int, examples: int):
        self.ctx, self.epochs, self.examples = ctx, epochs, examples
        self.every = max(1, getattr(ctx, "log_every", 1) or 1)
        live = ctx.progress if ctx.progress is not None else _is_terminal(ctx.out)
        self.bar = None
        if live and not ctx.quiet:
            self.bar = _make_bar(ctx.out)
        self.task = None

    def __enter__(self) -> EpochProgress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def print(self, text: str) -> None:
        """A line of output above the bar (or plain, without one)."""
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            self.ctx.print(text)

    def start_epoch(self, epoch: int) -> None:
        """A fresh bar for this epoch."""
        self.t0 = time.perf_counter()
        self.seen = 0
        if self.bar is not None:
            if self.task is not None:
                self.bar.remove_task(self.task)
            self.task = self.bar.add_task("", total=self.examples, epoch=epoch,
                                          epochs=self.epochs, status="")

    def advance(self, count: int, loss: float) -> None:
        """count more examples done; loss is the epoch's running average."""
        self.seen += count
        if self.bar is not None:
            rate = self.seen / max(time.perf_counter() - self.t0, 1e-9)
            self.bar.update(self.task, advance=count,
                            status=f"loss {format_value(loss)}  {rate:,.0f} ex/s")

    def end_epoch(self, epoch: int, metrics: dict, lr: float | None = None) -> float:
        """Print the epoch's summary line (when its turn comes), with the learning rate when it
        is given (it changed); returns the epoch's seconds."""
        seconds = time.perf_counter() - self.t0
        last = epoch == self.epochs
        due = last if self.ctx.quiet else (last or epoch == 1 or epoch % self.every == 0)
        if due:  # the context may format the line otherwise (`run --json`: a JSON object)
            line = getattr(self.ctx, "epoch_format", None) or epoch_line
            args = (epoch, self.epochs, metrics, seconds) + ((lr,) if lr is not None else ())
            self.print(line(*args))
        return seconds


def _is_terminal(out) -> bool:
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError):
        return False


def _make_bar(out):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )
    console = Console(file=out, force_terminal=True, highlight=False)
    return Progress(
        TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeRemainingColumn(),
        console=console, transient=True, refresh_per_second=8)
