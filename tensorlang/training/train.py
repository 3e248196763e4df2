"""`train` blocks: the minibatch/epoch loop around one compiled training step (step.py), with
what a mature tool does around it: the learning rate of each step (schedules, warmup), a
held-out split, early stopping on a monitored metric and the best epoch's variables kept,
checkpoints of the whole run (`save`, `save_every`) that `resume` continues bit for bit, a log
row and a picture of the curves. Every output path is checked before the first step."""

from __future__ import annotations

import math
import os

from ..compiler.blocks import RunSpec
from ..compiler.datablocks import file_paths
from ..errors import DataError, UsageError
from ..files.writable import check_writable
from ..records import record
from ..runtime import checkpoint
from ..transforms.schedules import SCHEDULES, warmed
from . import state as run_state
from .context import Context, batches
from .evaluate import evaluate
from .logs import MetricsLog
from .progress import EpochProgress
from .step import TrainingStep, training_step

__all__ = ["TrainResult", "run_train", "rate_at"]


class TrainResult(dict):
    """The last epoch's metrics (`loss`, `acc`, `val_acc`...), with `.history`: every epoch's
    epoch, step, lr, metrics and seconds; `.steps`: the steps this call took; `.session`: the
    graph's session with the trained variables; `.stopped`: the epoch early stopping ended the
    run in (else None); `.best_epoch`: the best epoch by the monitored metric (else None)."""

    def __init__(self, history: list[dict], steps: int, session=None, stopped=None,
                 best_epoch=None):
        super().__init__(history[-1]["metrics"] if history else {})
        self.history, self.steps, self.session = history, steps, session
        self.stopped, self.best_epoch = stopped, best_epoch


@record
class Extent:
    """How much a run trains: n examples in batches of `size`, `per_epoch` steps an epoch,
    `epochs` epochs and `total` steps in all (counted from the start of the run)."""

    n: int
    size: int
    per_epoch: int
    epochs: int
    total: int


def rate_at(spec: RunSpec, epoch: int, t: int, total: int) -> float:
    """The learning rate of step t (from 0) in epoch `epoch` (from 0) of a `total`-step run."""
    lr = float(dict(spec.optimizer.params)["lr"])
    if spec.schedule is not None:
        lr = SCHEDULES[spec.schedule.name](lr, epoch, t, total, **dict(spec.schedule.params))
    return warmed(lr, t, spec.warmup)


def run_train(ctx: Context, spec: RunSpec) -> TrainResult:
    """Train the block's graph: restore `load` or `resume`, run the epochs, keep the best,
    write `save`, the log and the plot."""
    sess = ctx.restore(spec)
    step = training_step(ctx, spec, sess)
    outputs = Outputs(ctx, spec, step.sess.graph.variables)
    arrays, held = training_data(ctx, spec, sess)
    extent = measure(ctx, spec, arrays)
    # the batch as it runs (the whole data without `batch`): the engine's devices must split it
    ctx.engine.check_batch(extent.size, spec.spans.get("batch", spec.span))
    state, notes = start(ctx, spec, step)
    announce(ctx, spec, extent, state, notes)
    return Loop(ctx, spec, step, arrays, held, extent, state, outputs).run()


KINDS = {"save": "checkpoint", "log": "log", "plot": "plot"}


class Outputs:
    """The block's output files (save, log, plot), resolved and checked before training: a
    folder that takes them (`save` may create its own), the kind's extension, never over a file
    of another kind or one of the program's own files, room on the disk for the checkpoint,
    inside the sandbox of `run --sandbox`."""

    def __init__(self, ctx: Context, spec: RunSpec, variables=()):
        self.paths = {k: ctx.path(getattr(spec, k)) for k in KINDS if getattr(spec, k)}
        protected = _own_files(ctx.program) if self.paths else ()
        for key, path in self.paths.items():
            span = spec.spans[key]
            size = checkpoint.expected_size(variables, 2 if spec.keep_best else 1) \
                if key == "save" else None
            check_writable(path, KINDS[key], span, size=size, protected=protected,
                           create_folder=key == "save")  # a checkpoint's folder is made
        self.log = None
        if "log" in self.paths:
            self.log = MetricsLog(self.paths["log"], spec.log, _columns(spec), spec.spans["log"])


def _own_files(program) -> list[str]:
    """The program's source and data files: never written over."""
    return [os.path.abspath(program.file),
            *file_paths(program.data.values(), program.lets, program.base_dir)]


def _columns(spec: RunSpec) -> list[str]:
    names = list(dict.fromkeys((spec.minimize, *spec.report)))
    return names + ([f"val_{k}" for k in spec.validated] if spec.validate else [])


def training_data(ctx: Context, spec: RunSpec, sess) -> tuple[dict, dict | None]:
    """The arrays to train on and, for `validate = split(DATA, f)`, the held-out last part."""
    arrays = ctx.data(spec.data, sess)
    n = len(next(iter(arrays.values())))
    if n == 0:
        raise DataError(f'train {spec.graph}: data block "{spec.data}" has no examples',
                        spec.spans.get("data", spec.span))
    if spec.split is None:
        return arrays, None
    held = int(round(n * spec.split))
    if held == 0 or held == n:
        what = "no validation examples" if held == 0 else "no training examples"
        raise DataError(f"split({spec.data}, {spec.split:g}) of {n} examples leaves {what}",
                        spec.spans["validate"], hint="hold out a fraction that leaves both parts "
                        "at least one example")
    return ({k: v[:n - held] for k, v in arrays.items()},
            {k: v[n - held:] for k, v in arrays.items()})


def measure(ctx: Context, spec: RunSpec, arrays: dict) -> Extent:
    """The run's extent: `--epochs` over `steps` over the block's `epochs`."""
    n = len(next(iter(arrays.values())))
    size = min(spec.batch or n, n)
    per_epoch = -(-n // size)
    if ctx.epochs is not None:
        if ctx.epochs < 1:
            raise UsageError(f"--epochs must be at least 1, not {ctx.epochs}")
        return Extent(n, size, per_epoch, ctx.epochs, ctx.epochs * per_epoch)
    if spec.steps is not None:
        return Extent(n, size, per_epoch, math.ceil(spec.steps / per_epoch), spec.steps)
    return Extent(n, size, per_epoch, spec.epochs, spec.epochs * per_epoch)


def start(ctx: Context, spec: RunSpec, step: TrainingStep) -> tuple:
    """A fresh run state, or the one `resume` names (when that file exists: resuming from the
    block's own `save` path before it was ever written starts afresh, and says so)."""
    seed = ctx.seed if ctx.seed is not None else (spec.seed or 0)
    if not spec.resume:
        return run_state.RunState.fresh(seed), []
    path, span = ctx.path(spec.resume), spec.spans["resume"]
    if not os.path.exists(path) and spec.save and ctx.path(spec.save) == path:
        return run_state.RunState.fresh(seed), [f"no checkpoint at {spec.resume} yet: "
                                                "starting afresh"]
    state, changed = run_state.resume(path, spec, step, span)
    notes = [f"resumed from {spec.resume} after epoch {state.epoch} (step {state.step})"]
    return state, notes + [f"changed: {c}" for c in changed]


def announce(ctx: Context, spec: RunSpec, extent: Extent, state, notes: list[str]) -> None:
    """The block's first lines: what trains on what, how, and from where."""
    if ctx.quiet:
        return
    steps = extent.per_epoch
    line = (f"train {spec.graph} on {spec.data}: {extent.n} examples, batch {extent.size}, "
            f"{steps} step{'s' if steps != 1 else ''} an epoch, {_describe(spec.optimizer)}")
    extras = [f"schedule {_describe(spec.schedule)}" if spec.schedule else "",
              f"warmup {spec.warmup} steps" if spec.warmup else "",
              f"clip_norm {spec.clip_norm:g}" if spec.clip_norm else "",
              f"{extent.total} steps" if spec.steps and ctx.epochs is None else ""]
    ctx.print(", ".join([line, *filter(None, extras)]))
    for note in notes:
        ctx.print(note)


class Loop:
    """The epochs of one run, from the state's epoch to the extent's last."""

    def __init__(self, ctx, spec, step, arrays, held, extent, state, outputs):
        self.ctx, self.spec, self.step, self.arrays, self.held = ctx, spec, step, arrays, held
        self.extent, self.state, self.outputs = extent, state, outputs
        self.where = [0, 0]  # the epoch and step under way, for the message of an interruption
        self.stopped = None
        self.shown_rate = None

    def run(self) -> TrainResult:
        """Every epoch left, then the best kept, the checkpoint, the plot."""
        ctx, spec, state, extent = self.ctx, self.spec, self.state, self.extent
        if state.epoch >= extent.epochs or state.step >= extent.total:
            ctx.print(f"nothing to train: the run is at epoch {state.epoch} of "
                      f"{extent.epochs} (step {state.step} of {extent.total})")
            return self.result(0)
        first = self.step.count
        if self.outputs.log:
            self.outputs.log.open(state.history)
        try:
            with EpochProgress(ctx, extent.epochs, extent.n) as bar:
                for epoch in range(state.epoch + 1, extent.epochs + 1):
                    if self.epoch(epoch, bar):
                        break
        except KeyboardInterrupt:
            self.close()
            raise KeyboardInterrupt(f"interrupted in epoch {self.where[0]}/{extent.epochs}, "
                                    f"step {self.where[1]}/{extent.per_epoch}: training "
                                    f"stopped, {self.saved_so_far()}") from None
        self.keep_best()
        if spec.save:
            self.save(final=True)
        self.close()
        return self.result(self.step.count - first)

    def epoch(self, epoch: int, bar) -> bool:
        """Train one epoch, validate, log, watch; True when early stopping ends the run."""
        self.where[0] = epoch
        bar.start_epoch(epoch)
        metrics, rate = self.train_epoch(epoch, bar)
        if self.spec.validate:
            metrics.update(self.validate())
        stop = self.watch(epoch, metrics)
        seconds = bar.end_epoch(epoch, metrics, self.shown(rate))
        entry = {"epoch": epoch, "step": self.state.step, "lr": rate, "metrics": metrics,
                 "seconds": seconds}
        self.state.history.append(entry)
        self.state.epoch = epoch
        if self.outputs.log:
            self.outputs.log.write(entry)
        last = epoch == self.extent.epochs or self.state.step >= self.extent.total
        if self.spec.save_every and epoch % self.spec.save_every == 0 and not (stop or last):
            self.save(final=False)
        if stop:
            bar.print(stop)
        return bool(stop)

    def train_epoch(self, epoch: int, bar) -> tuple[dict, float]:
        """One pass over the batches (fewer at the end of a `steps` run): the reported values
        averaged over the examples, and the last step's learning rate."""
        step, state, extent, spec = self.step, self.state, self.extent, self.spec
        order = state.shuffle.permutation(extent.n) if spec.shuffle else None
        left = extent.total - state.step
        sums = dict.fromkeys(step.names, 0.0)
        seen, rate = 0, None
        for at, idx in enumerate(batches(extent.n, extent.size, order), 1):
            if at > left:
                break
            self.where[1] = at
            rate = rate_at(spec, epoch - 1, state.step, extent.total)
            feed = {k: v[idx] for k, v in self.arrays.items()}
            values = step(feed, epoch, at, rate if spec.fed_rate else None)
            state.step += 1
            count = len(feed[next(iter(feed))])
            seen += count
            for k, v in zip(step.names, values):
                sums[k] += float(v) * count
            bar.advance(count, sums[step.names[0]] / seen)
        return {k: v / seen for k, v in sums.items()}, rate

    def validate(self) -> dict:
        """The validation metrics, `val_NAME`, on the held-out split or the validate block."""
        spec = self.spec
        val = evaluate(self.ctx, spec, spec.validate, spec.validated, spec.batch,
                       arrays=self.held)
        return {f"val_{k}": v for k, v in val.items()}

    def watch(self, epoch: int, metrics: dict) -> str | None:
        """Track the best epoch by the monitored metric; the early stop's message when the
        metric has not improved for `early_stop` epochs."""
        spec, best = self.spec, self.state.best
        if not spec.monitor:
            return None
        value = metrics[spec.monitor.name]
        if best.improved_by(value, spec.monitor.higher):
            best.value, best.epoch, best.wait = value, epoch, 0
            if spec.keep_best:
                sess = self.step.sess
                best.variables = {k: sess.variables[k] for k in self.step.model_variables}
            return None
        best.wait += 1
        if spec.early_stop and best.wait >= spec.early_stop:
            self.stopped = epoch
            return (f"early stop after epoch {epoch}: {spec.monitor.name} has not improved for "
                    f"{best.wait} epochs (best {best.value:.4f} at epoch {best.epoch})")
        return None

    def shown(self, rate: float | None) -> float | None:
        """The rate for the epoch line: where a schedule or warmup changed it."""
        if not self.spec.fed_rate or rate == self.shown_rate:
            return None
        self.shown_rate = rate
        return rate

    def keep_best(self) -> None:
        """With keep_best, the variables of the best epoch back in the session."""
        best = self.state.best
        if not (self.spec.keep_best and best.variables) or best.epoch == self.state.epoch:
            return
        for k, v in best.variables.items():
            self.step.sess.variables[k] = v
        self.ctx.print(f"kept the variables of epoch {best.epoch} ({self.spec.monitor.name} "
                       f"{best.value:.4f})")

    def save(self, final: bool) -> None:
        """The run so far as a checkpoint at `save` (atomic: a whole file or the old one)."""
        spec = self.spec
        try:
            run_state.save(self.outputs.paths["save"], self.state, spec, self.step,
                           spec.spans["save"])
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"interrupted while saving: {spec.save} was not written") \
                from None
        if final and not self.ctx.quiet:
            n = len(self.step.model_variables)
            self.ctx.print(f"saved {n} variables and the run's state to {spec.save}")

    def saved_so_far(self) -> str:
        """What an interrupted run leaves: nothing, or the last save_every checkpoint."""
        every = self.spec.save_every
        last = (self.state.epoch // every) * every if every else 0
        return f"{self.spec.save} holds epoch {last}" if last else "nothing saved"

    def close(self) -> None:
        """The log closed and the curves drawn (also after an interruption)."""
        if self.outputs.log:
            self.outputs.log.close()
        if "plot" in self.outputs.paths and self.state.history:
            from .plot import save_plot
            save_plot(self.outputs.paths["plot"], self.spec.plot, self.state.history,
                      f"train {self.spec.graph}", self.spec.spans["plot"])

    def result(self, steps: int) -> TrainResult:
        best = self.state.best.epoch or None
        return TrainResult(self.state.history, steps, self.ctx.session(self.spec),
                           self.stopped, best)


def _describe(choice) -> str:
    args = ", ".join(f"{k} = {_fmt(v)}" for k, v in choice.params)
    return f"{choice.name}({args})"


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:g}"
