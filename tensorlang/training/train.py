"""`train` blocks: the minibatch/epoch loop around one compiled training step.

A step is one run of the train graph (forward, gradients, optimizer updates: see optimizers.py)
in a session that shares the graph's variables with the program's other run blocks. The step's
new variable values are applied only after the loss, the reports and the new values were checked
to be finite, so when a step goes non-finite the variables from before it are still the session's
and the step is re-run with every node checked, to name the node where NaN/Inf first appeared."""

from __future__ import annotations

import numpy as np

from ..compiler.blocks import RunSpec
from ..errors import DataError, RuntimeNumericsError, UsageError
from ..runtime import checkpoint
from ..transforms.optimizers import train_graph
from ..transforms.passes import optimize_map
from .context import Context, batches
from .evaluate import evaluate
from .progress import EpochProgress

__all__ = ["TrainResult", "run_train", "train_graph"]


class TrainResult(dict):
    """The last epoch's metrics (`loss`, `acc`, `val_acc`...), with `.history`: every epoch's
    metrics and seconds, and `.steps`: how many steps were taken."""

    def __init__(self, history: list[dict], steps: int):
        super().__init__(history[-1]["metrics"] if history else {})
        self.history = history
        self.steps = steps


def run_train(ctx: Context, spec: RunSpec) -> TrainResult:
    """Train the block's graph: restore `load`, run the epochs, then write `save`."""
    sess = ctx.restore(spec)
    step = _training_step(ctx, spec, sess)
    epochs = spec.epochs if ctx.epochs is None else ctx.epochs
    if epochs < 1:
        raise UsageError(f"--epochs must be at least 1, not {epochs}")
    seed = ctx.seed if ctx.seed is not None else (spec.seed or 0)
    arrays = ctx.data(spec.data, sess)
    n = len(next(iter(arrays.values())))
    if n == 0:
        raise DataError(f'train {spec.graph}: data block "{spec.data}" has no examples',
                        spec.spans.get("data", spec.span))
    size = min(spec.batch or n, n)
    steps = -(-n // size)
    if not ctx.quiet:
        ctx.print(f"train {spec.graph} on {spec.data}: {n} examples, batch {size}, "
                  f"{steps} step{'s' if steps != 1 else ''} an epoch, {_describe(spec.optimizer)}")
    rng = np.random.default_rng(seed)
    history: list[dict] = []
    where = [0, 0]  # the epoch and step under way, for the message of an interruption
    try:
        with EpochProgress(ctx, epochs, n) as bar:
            for epoch in range(1, epochs + 1):
                where[0] = epoch
                bar.start_epoch(epoch)
                order = rng.permutation(n) if spec.shuffle else None
                metrics = _epoch(step, arrays, batches(n, size, order), epoch, bar, where)
                if spec.validate:
                    val = evaluate(ctx, spec, spec.validate, step.validated, spec.batch)
                    metrics.update({f"val_{k}": v for k, v in val.items()})
                seconds = bar.end_epoch(epoch, metrics)
                history.append({"epoch": epoch, "metrics": metrics, "seconds": seconds})
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"interrupted in epoch {where[0]}/{epochs}, step {where[1]}/"
                                f"{steps}: training stopped, nothing saved") from None
    if spec.save:
        _save(ctx, spec, sess)
    return TrainResult(history, step.count)


def _training_step(ctx: Context, spec: RunSpec, sess) -> TrainingStep:
    """The block's training step: the graph with gradients and updates, optimized."""
    # parameters the loss cannot reach were already reported when the program was compiled
    # (autodiff.disconnected_warnings, in program.warnings), so tgraph's warnings are not repeated
    tgraph, updates = train_graph(ctx.program.training_graph(spec.graph), spec)
    tgraph, moved = optimize_map(tgraph, keep=updates.values())  # fused, folded, merged
    updates = {k: moved[v.id] for k, v in updates.items()}
    return TrainingStep(sess.extend(tgraph), spec, updates, ctx.check_numerics)


def _epoch(step: TrainingStep, arrays: dict, order, epoch: int, bar, where: list) -> dict:
    """One pass over the batches; the reported values averaged over the examples."""
    sums = dict.fromkeys(step.names, 0.0)
    seen = 0
    for at, idx in enumerate(order, 1):
        where[1] = at
        feed = {k: v[idx] for k, v in arrays.items()}
        values = step(feed, epoch, at)
        count = len(feed[next(iter(feed))])
        seen += count
        for k, v in zip(step.names, values):
            sums[k] += float(v) * count
        bar.advance(count, sums[step.names[0]] / seen)
    return {k: v / seen for k, v in sums.items()}


class TrainingStep:
    """One training step as a callable: feed -> the minimized and reported values, with the
    variables updated; raises RuntimeNumericsError naming the first non-finite node."""

    def __init__(self, sess, spec: RunSpec, updates: dict, check_numerics: bool):
        self.sess, self.check_numerics = sess, check_numerics
        self.names = list(dict.fromkeys((spec.minimize, *spec.report)))
        self.validated = tuple(spec.report) or (spec.minimize,)
        self.loss_span = spec.spans.get("minimize", spec.span)
        self.targets = list(updates)
        fetch = [sess.graph.node(k) for k in self.names] + [updates[k] for k in self.targets]
        self.plan = sess.plan(fetch)
        self.count = 0

    def __call__(self, feed: dict, epoch: int, at: int) -> list:
        """Run one step; apply the updates only when every value came out finite."""
        try:
            values = self.sess.execute(self.plan, feed, self.check_numerics)
        except RuntimeNumericsError as e:  # --check-numerics found it already
            raise self.located(e, epoch, at) from None
        k = len(self.names)
        reported, new = values[:k], values[k:]
        bad = next((i for i, v in enumerate(reported) if not all_finite(v)), None)
        if bad is not None or not all(map(all_finite, new)):
            raise self.provenance(feed, epoch, at, None if bad is None else self.names[bad])
        variables = self.sess.variables
        for name, value in zip(self.targets, new):
            variables[name] = value  # a new array: one the user holds is never written
        self.count += 1
        return reported

    def provenance(self, feed: dict, epoch: int, at: int, name: str | None):
        """Re-run the failed step (the variables are still those from before it) checking every
        node, and return the error for the first one that produced NaN/Inf."""
        try:
            self.sess.execute(self.plan, feed, check_numerics=True)
        except RuntimeNumericsError as e:
            return self.located(e, epoch, at)
        what = f'"{name}" is not finite' if name else "an update is not finite"
        return RuntimeNumericsError(f"{what} in epoch {epoch}, step {at}", self.loss_span,
                                    notes=((KEPT, None),))

    @staticmethod
    def located(e: RuntimeNumericsError, epoch: int, at: int) -> RuntimeNumericsError:
        """The error with the step it happened in."""
        return RuntimeNumericsError(f"{e.message} in epoch {epoch}, step {at}", e.span,
                                    e.hint or _hint(e.message), (*e.notes, (KEPT, None)))


KEPT = "training stopped; the variables keep their values from before this step"
_DOT = (np.dtype(np.float32), np.dtype(np.float64))


def all_finite(v) -> bool:
    """No NaN or infinity in v. For a big f32/f64 array, v . v is finite exactly when v is,
    unless the squares overflow (then the elementwise check decides): one BLAS pass without
    the temporary mask of np.isfinite, which costs twice as much on every step's parameters."""
    if type(v) is not np.ndarray or v.size < 4096 or v.dtype not in _DOT:
        return bool(np.isfinite(v).all())
    flat = v.reshape(-1)
    with np.errstate(over="ignore"):  # an overflow is no NaN: the exact check decides
        square = np.dot(flat, flat)
    return bool(np.isfinite(square)) or bool(np.isfinite(v).all())


def _hint(message: str) -> str | None:
    if message.startswith(("log ", "sqrt ", "divide ", "power ")):
        return "keep the argument in the op's domain, e.g. log(p + 1e-7), or use a fused loss"
    return "a smaller learning rate often helps"


def _save(ctx: Context, spec: RunSpec, sess) -> None:
    path = ctx.path(spec.save)
    try:
        checkpoint.save(path, {v.name: sess.variables[v.name] for v in sess.graph.variables},
                        spec.spans["save"])
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"interrupted while saving: {spec.save} was not written") \
            from None
    if not ctx.quiet:
        ctx.print(f"saved {len(sess.graph.variables)} variables to {spec.save}")


def _describe(opt) -> str:
    args = ", ".join(f"{k} = {_fmt(v)}" for k, v in opt.params)
    return f"{opt.name}({args})"


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:g}"
