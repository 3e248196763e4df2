"""One training step as a callable: a run of the train graph (forward, gradients, optimizer
updates: see transforms/optimizers.py) in a session that shares the graph's variables with the
program's other run blocks. The step's new variable values are applied only after the loss, the
reports and the new values were checked to be finite, so when a step goes non-finite the
variables from before it are still the session's and the step is re-run with every node checked,
to name the node where NaN/Inf first appeared.

On an engine whose plans carry finite probes (NumPy), each new value's square norm is taken by
the plan right after the step that makes it, while the value is still in cache, and only a
probe that is not finite (a NaN or infinity, or finite values whose squares overflow) makes the
step look at the new values element by element; elsewhere every new value is checked once the
run is over (the engine's first_nonfinite)."""

from __future__ import annotations

import numpy as np

from ..compiler.blocks import RunSpec
from ..errors import RuntimeNumericsError
from ..runtime.finite import probes_finite
from ..transforms.optimizers import LR, train_graph
from ..transforms.passes import optimize_map


def training_step(ctx, spec: RunSpec, sess) -> TrainingStep:
    """The block's training step: the graph with gradients and updates, optimized."""
    # parameters the loss cannot reach were already reported when the program was compiled
    # (autodiff.disconnected_warnings, in program.warnings), so tgraph's warnings are not repeated
    forward = ctx.program.training_graph(spec.graph)
    tgraph, updates = train_graph(forward, spec)
    tgraph, moved = optimize_map(tgraph, keep=updates.values())  # fused, folded, merged
    updates = {k: moved[v.id] for k, v in updates.items()}
    step = TrainingStep(sess.extend(tgraph), spec, updates, ctx.check_numerics)
    step.model_variables = [v.name for v in forward.variables]
    return step


class TrainingStep:
    """One training step as a callable: feed -> the minimized and reported values, with the
    variables updated; raises RuntimeNumericsError naming the first non-finite node."""

    def __init__(self, sess, spec: RunSpec, updates: dict, check_numerics: bool):
        self.sess, self.check_numerics = sess, check_numerics
        self.names = list(dict.fromkeys((spec.minimize, *spec.report)))
        self.validated = tuple(spec.report) or (spec.minimize,)
        self.loss_span = spec.spans.get("minimize", spec.span)
        self.targets = list(updates)
        self.fetch = [sess.graph.node(k) for k in self.names] + [updates[k] for k in self.targets]
        self.probed = [updates[k] for k in self.targets] if sess.engine.probes else []
        self.plan = sess.plan(self.fetch, probes=self.probed)
        self.count = 0
        self.model_variables: list[str] = []  # the forward graph's (not the optimizer's)

    def __call__(self, feed: dict, epoch: int, at: int, rate: float | None = None) -> list:
        """Run one step (at learning rate `rate` when the block feeds it); apply the updates
        only when every value came out finite."""
        if rate is not None:
            feed = {**feed, LR: np.asarray(rate, np.float64)}
        try:
            values = self.sess.execute(self.plan, feed, self.check_numerics)
        except RuntimeNumericsError as e:  # --check-numerics found it already
            raise self.located(e, epoch, at) from None
        k, u = len(self.names), len(self.targets)
        reported, new = values[:k], values[k:k + u]
        probes = [] if self.check_numerics else values[k + u:]  # a checked run skips probes
        bad = self.first_nonfinite(reported, new, probes)  # exact: NaN/Inf anywhere in any value
        if bad is not None:
            raise self.provenance(feed, epoch, at, self.names[bad] if bad < k else None)
        variables = self.sess.variables
        for name, value in zip(self.targets, new):
            variables[name] = value  # a new array: one the user holds is never written
        self.count += 1
        return reported

    def first_nonfinite(self, reported: list, new: list, probes: list) -> int | None:
        """The index (in reported + new) of the first value with a NaN or an infinity, or None:
        the new values are looked at element by element only when a probe is not finite (or
        there are no probes)."""
        check = self.sess.engine.first_nonfinite
        bad = check(reported)
        if bad is not None or (probes and probes_finite(probes)):
            return bad
        bad = check(new)
        return None if bad is None else len(reported) + bad

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


def _hint(message: str) -> str | None:
    if message.startswith(("log ", "sqrt ", "divide ", "power ")):
        return "keep the argument in the op's domain, e.g. log(p + 1e-7), or use a fused loss"
    return "a smaller learning rate often helps"
