"""A 2-layer LSTM training step on [64, 50, 32] sequences (32 units a layer, the last state into
Dense 10, softmax cross-entropy, SGD) through tensorlang's compiled step (fused lstm kernels
with their tape) against PyTorch eager's nn.LSTM(num_layers = 2) with the same weights, at one
thread; one step from the same parameters is checked to give the same parameters (the same
work). `python -m benchmarks lstm`."""

from __future__ import annotations

import numpy as np

from . import bench_train as B

LSTM2 = """
graph seq {
    placeholder x: f32[N, T, 32]
    placeholder y: i64[N]
    h1     = LSTM(x, 32)
    h2     = LSTM(h1, 32)
    logits = Dense(h2[:, -1, :], 10)
    loss   = mean(softmax_cross_entropy(logits, y))
}
data d {
    x = [[[0.0]]]
    y = [0]
}
train seq {
    data      = d
    minimize  = loss
    optimizer = sgd(lr = %(lr)s)
}
"""
NAMES = ["h1.Wx", "h1.Wh", "h1.b", "h2.Wx", "h2.Wh", "h2.b", "logits.W", "logits.b"]
BATCH, T, D = 64, 50, 32
WARMUP = 40
"""Untimed steps of each contender first: PyTorch's step takes about twice its steady time in
its first steps and reaches it after some 40 (its allocator's caches filling), tensorlang's
after its second (the plan's generated code, runtime/heap.py's thresholds)."""


class TorchLSTM:
    """nn.LSTM(32, 32, num_layers = 2, batch_first) and nn.Linear, with tensorlang's weights."""

    def __init__(self, torch, ps):
        self.lstm = torch.nn.LSTM(D, 32, num_layers=2, batch_first=True)
        self.head = torch.nn.Linear(32, 10)
        with torch.no_grad():
            for layer in range(2):
                wx, wh, b = ps[3 * layer: 3 * layer + 3]
                getattr(self.lstm, f"weight_ih_l{layer}").copy_(torch.from_numpy(wx.T.copy()))
                getattr(self.lstm, f"weight_hh_l{layer}").copy_(torch.from_numpy(wh.T.copy()))
                getattr(self.lstm, f"bias_ih_l{layer}").copy_(torch.from_numpy(b))
                getattr(self.lstm, f"bias_hh_l{layer}").zero_()
        B._load_dense(torch, [self.head], ps[6:])
        params = [*self.lstm.parameters(), *self.head.parameters()]
        self.opt = torch.optim.SGD(params, lr=B.LR)
        self.torch = torch

    def step(self, x, y):
        self.opt.zero_grad(set_to_none=True)
        out, _ = self.lstm(x)
        loss = self.torch.nn.functional.cross_entropy(self.head(out[:, -1]), y)
        loss.backward()
        self.opt.step()
        return loss


def _same_work(torch, sess, step, feed, tx, ty) -> None:
    model = TorchLSTM(torch, B.params(sess, NAMES))
    step(feed, 1, 1)
    model.step(tx, ty)
    got = sess.variables
    np.testing.assert_allclose(got["h2.Wx"], model.lstm.weight_ih_l1.detach().numpy().T,
                               rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(got["logits.W"], model.head.weight.detach().numpy().T,
                               rtol=1e-3, atol=1e-5)


def run(repeats: int = 12) -> list[tuple[str, float, str]]:
    """Rows (name, value, unit) of the step at one thread."""
    try:
        import torch
    except ImportError:
        return [("lstm: skipped, PyTorch not installed", float("nan"), "")]
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(5)
    x = rng.normal(size=(BATCH, T, D)).astype(np.float32)
    y = rng.integers(0, 10, size=BATCH)
    feed = {"x": x, "y": y}
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    sess, step = B.compiled_step(LSTM2)
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):
        _same_work(torch, sess, step, feed, tx, ty)
        model = TorchLSTM(torch, B.params(sess, NAMES))
        fns = {"tensorlang": lambda: step(feed, 1, 1), "torch": lambda: model.step(tx, ty)}
        rows = B.rows_for(f"lstm2_step_b{BATCH}_t{T}", B.interleaved(fns, repeats, 2, WARMUP))
    torch.set_num_threads(B.THREADS)
    return rows


if __name__ == "__main__":  # python -m benchmarks lstm: the same table as make bench
    from benchmarks.__main__ import main

    raise SystemExit(main(["lstm"]))
