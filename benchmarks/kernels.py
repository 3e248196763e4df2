"""Where a plan's time goes: every step of its concrete schedule timed on its own, summed per op
(fusions and gradient helpers by their op names), as shares of the whole. Used by bench_train and
bench_convnet for the per-kernel tables; `python -m benchmarks.kernels` prints the MLP's and the
CNN's."""

from __future__ import annotations

import time
from collections import defaultdict

from tensorlang.runtime.quiet import call_quietly


def kernel_times(sess, plan, feed: dict, repeats: int = 5) -> dict[str, float]:
    """op -> milliseconds per run (the sum over `repeats` runs after a warm-up one, divided by
    them): the steps run in plan order on the plan's slots, as the executor runs them."""
    env, fed = sess.bind(plan, feed)
    steps = plan.concrete_steps(env)
    total: dict[str, float] = defaultdict(float)
    for r in range(repeats + 1):  # the first run warms the caches and the allocator up
        if r == 1:
            total.clear()
        slots = plan.template.copy()
        for s, arr in fed:
            slots[s] = arr
        for s, v in plan.variables:
            slots[s] = sess.variables[v.name]
        for s in plan.keys:
            slots[s] = sess.random.next()
        call_quietly(_timed, (plan, steps, slots, total))
    return {op: t / repeats * 1e3 for op, t in sorted(total.items(), key=lambda kv: -kv[1])}


def _timed(args) -> None:
    plan, steps, slots, total = args
    clock = time.thread_time  # CPU time: waiting for a core left out (BLAS at one thread)
    for call in steps:
        ins = [slots[i] for i in call.ins]
        t0 = clock()
        if call.donor >= 0:
            slots[call.out] = call.fn(*ins, out=slots[call.donor])
        else:
            slots[call.out] = call.fn(*ins)
        step = plan.steps[call.k]
        total["finite_probe" if step.probe else step.node.op] += clock() - t0
        for f in call.free:
            slots[f] = None


def kernel_rows(what: str, times: dict[str, float], top: int = 10) -> list:
    """Rows (name, ms, unit) for the `top` costliest ops and the rest, with their shares."""
    whole = sum(times.values()) or 1.0
    rows = []
    items = list(times.items())
    for op, ms in items[:top]:
        rows.append((f"{what}_kernel_{op}", ms, f"ms ({100 * ms / whole:.0f}%)"))
    rest = sum(ms for _, ms in items[top:])
    if rest:
        rows.append((f"{what}_kernel_others", rest, f"ms ({100 * rest / whole:.0f}%)"))
    rows.append((f"{what}_kernels_total", whole, "ms"))
    return rows


if __name__ == "__main__":
    import numpy as np

    from . import bench_train as B

    rng = np.random.default_rng(0)
    for text, shape, n in ((B.MLP, (128, 784), 128), (B.CNN, (64, 1, 28, 28), 64)):
        sess, step = B.compiled_step(text)
        feed = {"x": rng.normal(size=shape).astype(np.float32), "y": rng.integers(0, 10, n)}
        for name, ms, unit in kernel_rows("step", kernel_times(step.sess, step.plan, feed)):
            print(f"{name:<40} {ms:8.3f} {unit}")
        print()
