"""Training and inference speed against what a user would otherwise write: an MLP 784-256-128-10
train step (batch 128, SGD), a LeNet-style CNN train step (batch 64, SGD) and MLP inference at
batch 1 and 1024, each through tensorlang's compiled step, hand-written NumPy (manual backprop,
im2col convolutions) and PyTorch eager (when installed), measured interleaved in one process;
and, with PyTorch, the 200-op elementwise chains that bench_executor (forward) and
bench_autodiff (forward + backward) measure against NumPy. `python -m benchmarks.bench_train
[mlp] [cnn] [chain]` runs some of them.

BLAS is limited to BENCH_THREADS threads (default 1) in this process for every contender alike
(through threadpoolctl when installed, and torch.set_num_threads): on a shared 2-core machine
multithreaded OpenBLAS swings by 40x with the load, which would drown the ratios. Each row is a
median over interleaved repetitions, in wall time and in this process's CPU time (which leaves
out the time spent waiting for a core: the steadier ratio on a busy machine); a ratio is the
median of the repetitions' own ratios. Before timing, one
step of each contender from the same parameters must give the same parameters (same work)."""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

import tensorlang as tl
from tensorlang.training.step import TrainingStep
from tensorlang.transforms.optimizers import train_graph
from tensorlang.transforms.passes import optimize_map

from . import bench_autodiff as AD

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
LR = 0.01
LR32 = np.float32(LR)

MLP = AD.MLP + """
data d {
    x = [[0.0]]
    y = [0]
}
train mlp {
    data      = d
    minimize  = loss
    optimizer = sgd(lr = %(lr)s)
}
"""

CNN = """
graph cnn {
    placeholder x: f32[N, 1, 28, 28]
    placeholder y: i64[N]
    c1     = Conv2D(x, 6, 5, padding = 2, activation = relu)    # [N, 6, 28, 28]
    p1     = max_pool2d(c1, 2)                                   # [N, 6, 14, 14]
    c2     = Conv2D(p1, 16, 5, activation = relu)               # [N, 16, 10, 10]
    p2     = max_pool2d(c2, 2)                                   # [N, 16, 5, 5]
    h1     = Dense(flatten(p2), 120, activation = relu)
    h2     = Dense(h1, 84, activation = relu)
    logits = Dense(h2, 10)
    loss   = mean(softmax_cross_entropy(logits, y))
}
data d {
    x = [[[[0.0]]]]
    y = [0]
}
train cnn {
    data      = d
    minimize  = loss
    optimizer = sgd(lr = %(lr)s)
}
"""


# ------------------------------------------------------------------ tensorlang
def compiled_step(text: str):
    """(session, step): the program's train block compiled the way `tensorlang run` does."""
    program = tl.compile(text % {"lr": LR})
    spec = program.runs[0]
    sess = tl.Session(program.graphs[spec.graph], seed=0)
    tgraph, updates = train_graph(sess.graph, spec)
    tgraph, moved = optimize_map(tgraph, keep=updates.values())
    updates = {k: moved[v.id] for k, v in updates.items()}
    return sess, TrainingStep(sess.extend(tgraph), spec, updates, False)


def params(sess, names: list[str]) -> list[np.ndarray]:
    """Copies of the session's variables, in the given order."""
    return [np.array(sess.variables[n]) for n in names]


# ------------------------------------------------------------------ hand-written NumPy
def _softmax_xent_grad(logits, y):
    """(mean loss, d loss / d logits) for integer labels."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    n = len(y)
    loss = float(np.log(s).sum() - z[np.arange(n), y].sum()) / n
    e /= s
    e[np.arange(n), y] -= 1
    e *= np.float32(1 / n)
    return loss, e


class NumpyMLP:
    """The MLP with manual backprop and SGD in place, written the way a NumPy user would."""

    def __init__(self, ps):
        self.W1, self.b1, self.W2, self.b2, self.W3, self.b3 = ps

    def forward(self, x):
        """Logits."""
        h1 = np.maximum(x @ self.W1 + self.b1, 0)
        h2 = np.maximum(h1 @ self.W2 + self.b2, 0)
        return h2 @ self.W3 + self.b3

    def step(self, x, y, lr=LR32):
        """One SGD step; returns the loss."""
        h1 = x @ self.W1
        h1 += self.b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ self.W2
        h2 += self.b2
        np.maximum(h2, 0, out=h2)
        logits = h2 @ self.W3
        logits += self.b3
        loss, d3 = _softmax_xent_grad(logits, y)
        dW3, db3 = h2.T @ d3, d3.sum(axis=0)
        d2 = d3 @ self.W3.T
        d2 *= h2 > 0
        dW2, db2 = h1.T @ d2, d2.sum(axis=0)
        d1 = d2 @ self.W2.T
        d1 *= h1 > 0
        dW1, db1 = x.T @ d1, d1.sum(axis=0)
        for p, g in ((self.W1, dW1), (self.b1, db1), (self.W2, dW2), (self.b2, db2),
                     (self.W3, dW3), (self.b3, db3)):
            g *= lr
            p -= g
        return loss


def _im2col(x, k, pad):
    """[C*K*K, N*OH*OW]: every window of x (zero-padded) as a column, copied with OW innermost
    (sequential reads), and the output size."""
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, w = x.shape
    oh, ow = h - k + 1, w - k + 1
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # N C OH OW K K
    cols = np.ascontiguousarray(win.transpose(1, 4, 5, 0, 2, 3)).reshape(c * k * k, -1)
    return cols, oh, ow


def _col2im(dcols, shape, k, pad, oh, ow):
    """The adjoint of _im2col: column gradients added back into an image gradient."""
    n, c, h, w = shape
    d = dcols.reshape(c, k, k, n, oh, ow)
    dx = np.zeros((c, n, h + 2 * pad, w + 2 * pad), dcols.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + oh, j:j + ow] += d[:, i, j]
    return dx[:, :, pad:pad + h, pad:pad + w].transpose(1, 0, 2, 3)


def _conv(cols, k, b, n, oh, ow):
    """relu(conv + bias) as [N, F, OH, OW] (a view of the [F, N*OH*OW] product)."""
    out = k.reshape(len(k), -1) @ cols
    out += b.reshape(-1, 1)
    np.maximum(out, 0, out=out)
    return out.reshape(len(k), n, oh, ow).transpose(1, 0, 2, 3)


def _pool(x):
    """2x2 max pooling of even-sized maps (three maxima of strided views), and where the
    maxima came from (ties all get the gradient, rare in floats)."""
    out = np.maximum(np.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2]),
                     np.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]))
    return out, x == out.repeat(2, axis=2).repeat(2, axis=3)


def _unpool(g, mask):
    """max pooling's gradient: g at every window's maximum."""
    return g.repeat(2, axis=2).repeat(2, axis=3) * mask


class NumpyCNN:
    """LeNet-style: conv-relu-pool twice, three dense layers; im2col convolutions, manual
    backprop, SGD in place."""

    def __init__(self, ps):
        (self.k1, self.c1, self.k2, self.c2, self.W1, self.b1, self.W2, self.b2,
         self.W3, self.b3) = ps

    def step(self, x, y, lr=LR32):
        """One SGD step; returns the loss."""
        n = len(x)
        cols1, oh1, ow1 = _im2col(x, 5, 2)
        a1 = _conv(cols1, self.k1, self.c1, n, oh1, ow1)                    # [N, 6, 28, 28]
        p1, m1 = _pool(a1)
        cols2, oh2, ow2 = _im2col(p1, 5, 0)
        a2 = _conv(cols2, self.k2, self.c2, n, oh2, ow2)                    # [N, 16, 10, 10]
        p2, m2 = _pool(a2)
        f = p2.reshape(n, -1)
        h1 = np.maximum(f @ self.W1 + self.b1, 0)
        h2 = np.maximum(h1 @ self.W2 + self.b2, 0)
        logits = h2 @ self.W3 + self.b3
        loss, d = _softmax_xent_grad(logits, y)
        grads = [h2.T @ d, d.sum(axis=0)]
        d = (d @ self.W3.T) * (h2 > 0)
        grads = [h1.T @ d, d.sum(axis=0)] + grads
        d = (d @ self.W2.T) * (h1 > 0)
        grads = [f.T @ d, d.sum(axis=0)] + grads
        d = (d @ self.W1.T).reshape(p2.shape)
        d = _unpool(d, m2) * (a2 > 0)                                       # [N, 16, 10, 10]
        d2 = d.transpose(1, 0, 2, 3).reshape(16, -1)
        grads = [(d2 @ cols2.T).reshape(self.k2.shape), d2.sum(axis=1).reshape(16, 1, 1)] + grads
        d = _col2im(self.k2.reshape(16, -1).T @ d2, p1.shape, 5, 0, oh2, ow2)
        d = _unpool(d, m1) * (a1 > 0)                                       # [N, 6, 28, 28]
        d1 = d.transpose(1, 0, 2, 3).reshape(6, -1)
        grads = [(d1 @ cols1.T).reshape(self.k1.shape), d1.sum(axis=1).reshape(6, 1, 1)] + grads
        for p, g in zip((self.k1, self.c1, self.k2, self.c2, self.W1, self.b1, self.W2,
                         self.b2, self.W3, self.b3), grads):
            g *= lr
            p -= g
        return loss


# ------------------------------------------------------------------ PyTorch (optional)
def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    return torch


def torch_mlp(torch, ps):
    """(model, optimizer) for the MLP with the same initial parameters."""
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    _load_dense(torch, [model[0], model[2], model[4]], ps)
    return model, torch.optim.SGD(model.parameters(), lr=LR)


def torch_cnn(torch, ps):
    """(model, optimizer) for the CNN with the same initial parameters."""
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                          nn.Linear(84, 10))
    with torch.no_grad():
        for conv, (k, c) in zip((model[0], model[3]), (ps[0:2], ps[2:4])):
            conv.weight.copy_(torch.from_numpy(k))
            conv.bias.copy_(torch.from_numpy(c.reshape(-1)))
    _load_dense(torch, [model[7], model[9], model[11]], ps[4:])
    return model, torch.optim.SGD(model.parameters(), lr=LR)


def _load_dense(torch, layers, ps):
    with torch.no_grad():
        for layer, w, b in zip(layers, ps[0::2], ps[1::2]):
            layer.weight.copy_(torch.from_numpy(w.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))


def torch_step(torch, model, opt, x, y):
    """One eager training step; returns the loss tensor."""
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


# ------------------------------------------------------------------ timing
class Timings(dict):
    """contender -> (median wall ms, median CPU ms) a call, with every round's own pair in
    `rounds` (contender -> [(wall, cpu), ...]) for ratios taken round by round (ratio)."""

    def __init__(self, rounds: dict[str, list[tuple[float, float]]]):
        super().__init__({k: tuple(statistics.median(t[i] for t in v) for i in (0, 1))
                          for k, v in rounds.items()})
        self.rounds = rounds


def interleaved(fns: dict, repeats: int, inner: int, warmup: int = 0) -> Timings:
    """(wall, cpu) median milliseconds per call of each function, timed in alternation so that
    the machine's load hits them alike (repeats: best a multiple of the contenders), after
    `warmup` untimed calls of each in alternation (the steady state a training loop reaches).
    CPU time (this process's) leaves out the time the process waited for a core, which on a
    shared machine is most of the noise."""
    rounds: dict[str, list[tuple[float, float]]] = {k: [] for k in fns}
    names = list(fns)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    for r in range(repeats):
        # the order rotates: each contender follows each other one as often (the one before
        # leaves the caches and the allocator in its own state)
        for k in names[r % len(names):] + names[:r % len(names)]:
            fn = fns[k]
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(inner):
                fn()
            rounds[k].append(((time.perf_counter() - w0) / inner * 1e3,
                              (time.process_time() - c0) / inner * 1e3))
    return Timings(rounds)


def ratio(ms: dict, a: str, b: str, cpu: bool = False) -> float:
    """a's time over b's: the median of the rounds' own ratios when ms holds its rounds (the
    contenders of one round ran back to back, so a change of the machine's speed from one
    round to the next cancels out), else the ratio of the medians."""
    i = 1 if cpu else 0
    rounds = getattr(ms, "rounds", None)
    if not rounds:
        return ms[a][i] / ms[b][i]
    return statistics.median(x[i] / y[i] for x, y in zip(rounds[a], rounds[b]))


def rows_for(what: str, ms: dict, ours: str = "tensorlang") -> list[tuple[str, float, str]]:
    """Per-contender wall and CPU milliseconds, and `ours`'s ratios to each of the contenders
    whose names do not start with it (tensorlang_run is one of tensorlang's)."""
    rows = [(f"{what}_{k}", w, "ms") for k, (w, _) in ms.items()]
    rows += [(f"{what}_{k}_cpu", c, "ms cpu") for k, (_, c) in ms.items()]
    label = "" if ours == "tensorlang" else f"{ours}_"
    for k in ms:
        if not k.startswith(ours):
            rows += [(f"{what}_{label}ratio_to_{k}", ratio(ms, ours, k), "x"),
                     (f"{what}_{label}ratio_to_{k}_cpu", ratio(ms, ours, k, cpu=True), "x cpu")]
    return rows


def _check_step(step, feed, ref_update, names, sess) -> None:
    """One step of each from the same start must give the same parameters (same work)."""
    step(feed, 1, 1)
    ref = ref_update()
    for n, want in zip(names, ref):
        np.testing.assert_allclose(sess.variables[n], want, rtol=2e-3, atol=2e-5)


MLP_NAMES = ["h1.W", "h1.b", "h2.W", "h2.b", "logits.W", "logits.b"]
CNN_NAMES = ["c1.k", "c1.b", "c2.k", "c2.b", "h1.W", "h1.b", "h2.W", "h2.b", "logits.W",
             "logits.b"]


def probe_rows(what: str, step, feed: dict, repeats: int) -> list[tuple[str, float, str]]:
    """What the finite check of the new values costs: the step's plan (its fetches and the
    probes of the new values) against the same fetches' plan without the probes, both run
    without applying the updates (the same work every call)."""
    sess = step.sess
    probed, bare = step.plan, sess.plan(step.fetch)
    fns = {"probed": lambda: sess.execute(probed, feed),
           "unprobed": lambda: sess.execute(bare, feed)}
    return rows_for(what, interleaved(fns, repeats, 10), ours="probed")


def mlp_rows(torch, repeats: int) -> list[tuple[str, float, str]]:
    """MLP train step and inference rows."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=128)
    sess, step = compiled_step(MLP)
    hand = NumpyMLP(params(sess, MLP_NAMES))
    feed = {"x": x, "y": y}
    _check_step(step, feed, lambda: (hand.step(x, y), [hand.W1, hand.b1, hand.W2, hand.b2,
                                                       hand.W3, hand.b3])[1], MLP_NAMES, sess)
    fns = {"tensorlang": lambda: step(feed, 1, 1), "numpy": lambda: hand.step(x, y)}
    if torch is not None:
        tm, topt = torch_mlp(torch, params(sess, MLP_NAMES))
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        fns["torch"] = lambda: torch_step(torch, tm, topt, tx, ty)
    rows = rows_for("mlp_step_b128", interleaved(fns, repeats, 10))
    rows += probe_rows("mlp_step_b128", step, feed, repeats)
    for batch, inner in ((1, 200), (1024, 3)):
        xb = rng.normal(size=(batch, 784)).astype(np.float32)
        fb = {"x": xb}
        plan = sess.plan(["logits"])
        got = sess.execute(plan, fb)[0]
        same = NumpyMLP(params(sess, MLP_NAMES))  # the two trained apart: f32 rounding
        np.testing.assert_allclose(got, same.forward(xb), rtol=1e-3, atol=1e-4)
        call = sess.make_callable("logits")
        np.testing.assert_array_equal(call(xb), got)
        fns = {"tensorlang": lambda plan=plan, fb=fb: sess.execute(plan, fb),
               "numpy": lambda xb=xb: hand.forward(xb),
               "tensorlang_run": lambda fb=fb: sess.run("logits", fb),
               "tensorlang_callable": lambda xb=xb, call=call: call(xb)}
        if torch is not None:
            txb = torch.from_numpy(xb)

            def infer(txb=txb):
                with torch.no_grad():
                    return tm(txb)
            fns["torch"] = infer
        ms = interleaved(fns, repeats, inner)
        rows += rows_for(f"mlp_infer_b{batch}", ms)
        rows += [(f"mlp_infer_b{batch}_{k}_ratio_to_numpy{u}", ratio(ms, k, "numpy", cpu), "x")
                 for k in ("tensorlang_run", "tensorlang_callable")
                 for cpu, u in ((False, ""), (True, "_cpu"))]
    return rows


def cnn_rows(torch, repeats: int) -> list[tuple[str, float, str]]:
    """CNN train step rows."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=64)
    sess, step = compiled_step(CNN)
    hand = NumpyCNN(params(sess, CNN_NAMES))
    feed = {"x": x, "y": y}
    _check_step(step, feed, lambda: (hand.step(x, y), [
        hand.k1, hand.c1, hand.k2, hand.c2, hand.W1, hand.b1, hand.W2, hand.b2, hand.W3,
        hand.b3])[1], CNN_NAMES, sess)
    fns = {"tensorlang": lambda: step(feed, 1, 1), "numpy": lambda: hand.step(x, y)}
    if torch is not None:
        tm, topt = torch_cnn(torch, params(sess, CNN_NAMES))
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        fns["torch"] = lambda: torch_step(torch, tm, topt, tx, ty)
    return rows_for("cnn_step_b64", interleaved(fns, repeats, 3))


def chain_rows(torch, repeats: int) -> list[tuple[str, float, str]]:
    """The 200-op elementwise chains of bench_executor (forward) and bench_autodiff (forward +
    backward), which measure them against NumPy, here against PyTorch eager."""
    if torch is None:
        return []
    from tensorlang.transforms.autodiff import backward

    from . import bench_executor as EX
    x = np.random.default_rng(0).normal(size=AD.SHAPE).astype(np.float32)
    fwd = tl.Session(tl.compile(EX.chain_program()).graphs["chain"])
    graph = tl.compile(AD.chain_program()).graphs["chain"]
    fb = tl.Session(backward(graph, "loss", [graph.node("x")]))
    fetch, feed = ["loss", "grad(loss)/x"], {"x": x}
    tx = torch.from_numpy(x)

    def torch_fwd():
        with torch.no_grad():
            y = tx
            for i in range(EX.N_OPS):
                k = i % 4
                y = torch.tanh(y) if k == 0 else y * 0.5 if k == 1 else y + 0.25 if k == 2 \
                    else -y
            return y

    def torch_fwd_bwd():
        xg = tx.detach().requires_grad_(True)
        y = xg
        for i in range(AD.N_OPS):
            k = i % 4
            y = torch.tanh(y) if k == 0 else torch.sin(y) if k == 1 else y * 1.01 if k == 2 \
                else y + 0.1
        loss = y.sum()
        loss.backward()
        return loss, xg.grad

    got = fb.run(fetch, feed)[1]
    np.testing.assert_allclose(got, torch_fwd_bwd()[1].numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(fwd.run(f"y{EX.N_OPS}", feed), torch_fwd().numpy(), rtol=1e-4,
                               atol=1e-5)
    rows = rows_for("chain200_fwd", interleaved(
        {"tensorlang": lambda: fwd.run(f"y{EX.N_OPS}", feed), "torch": torch_fwd}, repeats, 5))
    rows += rows_for("chain200_fwd_bwd", interleaved(
        {"tensorlang": lambda: fb.run(fetch, feed), "torch": torch_fwd_bwd}, repeats, 5))
    return rows


def _limit_blas():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=THREADS, user_api="blas")


PARTS = ("mlp", "cnn", "chain")


def run(repeats: int = 24, only: tuple[str, ...] = PARTS) -> list[tuple[str, float, str]]:
    """Rows (name, value, unit)."""
    limiter = _limit_blas()
    torch = _torch()
    try:
        rows = (mlp_rows(torch, repeats) if "mlp" in only else []) + \
            (cnn_rows(torch, repeats) if "cnn" in only else []) + \
            (chain_rows(torch, repeats) if "chain" in only else [])
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    rows.append(("blas_threads", float(THREADS) if limiter is not None else float("nan"),
                 "threads"))
    rows.append(("torch", "absent" if torch is None else torch.__version__,
                 "pip install '.[bench]' to compare" if torch is None else ""))
    rows.append(("load_average_1min", os.getloadavg()[0], ""))
    return rows


if __name__ == "__main__":
    import sys
    for name, value, unit in run(only=tuple(sys.argv[1:]) or PARTS):
        shown = f"{value:10.3f}" if isinstance(value, float) else f"{value:>10}"
        print(f"{name:<34} {shown}  {unit}")
