"""Keras's simple MNIST convnet (Conv 32 3x3 relu, max pool 2, Conv 64 3x3 relu, max pool 2,
Dense 10; batch 128; https://keras.io/examples/vision/mnist_convnet/, without its dropout) as a
training step through tensorlang's compiled step against PyTorch eager, with SGD for both (one
step from the same parameters must give the same parameters: the same work). Measured twice:
with every library's default thread count, as a user runs it, and with one thread (BLAS and
torch); the per-kernel table is the one-thread run's. `python -m benchmarks convnet`."""

from __future__ import annotations

import numpy as np

from . import bench_train as B
from .kernels import kernel_rows, kernel_times

CONVNET = """
graph convnet {
    placeholder x: f32[N, 1, 28, 28]
    placeholder y: i64[N]
    c1     = Conv2D(x, 32, 3, activation = relu)          # [N, 32, 26, 26]
    p1     = max_pool2d(c1, 2)                              # [N, 32, 13, 13]
    c2     = Conv2D(p1, 64, 3, activation = relu)         # [N, 64, 11, 11]
    p2     = max_pool2d(c2, 2)                              # [N, 64, 5, 5]
    logits = Dense(flatten(p2), 10)
    loss   = mean(softmax_cross_entropy(logits, y))
}
data d {
    x = [[[[0.0]]]]
    y = [0]
}
train convnet {
    data      = d
    minimize  = loss
    optimizer = sgd(lr = %(lr)s)
}
"""
NAMES = ["c1.k", "c1.b", "c2.k", "c2.b", "logits.W", "logits.b"]
BATCH = 128


def torch_convnet(torch, ps):
    """(model, optimizer) with the same initial parameters."""
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 10))
    with torch.no_grad():
        for conv, (k, c) in zip((model[0], model[3]), (ps[0:2], ps[2:4])):
            conv.weight.copy_(torch.from_numpy(k))
            conv.bias.copy_(torch.from_numpy(c.reshape(-1)))
    B._load_dense(torch, [model[7]], ps[4:])
    return model, torch.optim.SGD(model.parameters(), lr=B.LR)


def _same_work(torch, sess, step, feed, tx, ty) -> None:
    tm, topt = torch_convnet(torch, B.params(sess, NAMES))
    step(feed, 1, 1)
    B.torch_step(torch, tm, topt, tx, ty)
    want = [p.detach().numpy() for p in tm.parameters()]
    want[1], want[3], want[4] = want[1].reshape(-1, 1, 1), want[3].reshape(-1, 1, 1), want[4].T
    for n, w in zip(NAMES, want):
        np.testing.assert_allclose(sess.variables[n], w, rtol=2e-3, atol=2e-5)


def run(repeats: int = 10) -> list[tuple[str, float, str]]:
    """Rows (name, value, unit): default threads, one thread, and the kernels' shares."""
    try:
        import torch
    except ImportError:
        return [("convnet: skipped, PyTorch not installed", float("nan"), "")]
    default = torch.get_num_threads()  # before bench_train's modules set it
    from threadpoolctl import threadpool_info, threadpool_limits

    rng = np.random.default_rng(3)
    x = rng.normal(size=(BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=BATCH)
    feed = {"x": x, "y": y}
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    rows = []
    blas = max((p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"),
               default=0)
    for label, threads in (("default_threads", None), ("1_thread", 1)):
        sess, step = B.compiled_step(CONVNET)
        torch.set_num_threads(threads or default)
        with threadpool_limits(limits=threads, user_api="blas"):
            _same_work(torch, sess, step, feed, tx, ty)
            tm, topt = torch_convnet(torch, B.params(sess, NAMES))
            fns = {"tensorlang": lambda step=step: step(feed, 1, 1),
                   "torch": lambda tm=tm, topt=topt: B.torch_step(torch, tm, topt, tx, ty)}
            rows += B.rows_for(f"convnet_step_b{BATCH}_{label}", B.interleaved(fns, repeats, 2))
            if threads == 1:
                rows += kernel_rows("convnet_1_thread", kernel_times(step.sess, step.plan, feed))
    rows.append(("convnet_default_threads_torch", float(default), "threads"))
    rows.append(("convnet_default_threads_blas", float(blas), "threads"))
    torch.set_num_threads(B.THREADS)
    return rows


if __name__ == "__main__":  # python -m benchmarks convnet: the same table as make bench
    from benchmarks.__main__ import main

    raise SystemExit(main(["convnet"]))
