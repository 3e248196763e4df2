"""The round-2 prelude layers against independent NumPy implementations of the contract:
BatchNorm in both modes (with its running statistics after K training steps), LayerNorm,
Embedding, Dropout."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.transforms.retype import retype


def f32(v: float) -> float:
    return float(np.float32(v))


def _bn_reference(x, gamma, beta, mean, var, momentum, eps, training):
    """The contract: statistics over every axis but 1, population variance; running ones move
    by momentum * running + (1 - momentum) * batch."""
    axes = tuple(k for k in range(x.ndim) if k != 1)
    view = [1] * x.ndim
    view[1] = -1
    if training:
        m, v = x.mean(axis=axes), x.var(axis=axes)
        keep, move = f32(momentum), f32(1 - momentum)  # literals are f32 constants in the graph
        mean, var = keep * mean + move * m, keep * var + move * v
    else:
        m, v = mean, var
    out = gamma.reshape(view) * (x - m.reshape(view)) / np.sqrt(v.reshape(view) + eps) + \
        beta.reshape(view)
    return out, mean, var


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5, 5)])
def test_batch_norm_in_both_modes_and_its_running_statistics(shape):
    dims = ", ".join(["N"] + [str(d) for d in shape[1:]])
    text = f"""
graph g {{
    placeholder x: f64[{dims}]
    bn = BatchNorm(x, momentum = 0.8, eps = 0.01)
    loss = sum(bn)
}}
"""
    p = tl.compile(text)  # the layer's f32 variables in f64, as gradcheck runs it
    inf, tr = (retype(g, {"f32": "f64"}) for g in (p.graphs["g"], p.training_graph("g")))
    rng = np.random.default_rng(0)
    sess = tl.Session(inf, seed=1)
    sess.assign("bn.gamma", rng.uniform(0.5, 2, size=shape[1]))
    sess.assign("bn.beta", rng.normal(size=shape[1]))
    step = sess.extend(tr)
    v = sess.variables
    mean, var = np.zeros(shape[1]), np.ones(shape[1])
    for _ in range(3):  # K = 3 training steps
        x = rng.normal(2, 3, size=shape)
        out = step.run("bn", {"x": x}, updates=dict(tr.updates))
        want, mean, var = _bn_reference(x, v["bn.gamma"], v["bn.beta"], mean, var, 0.8, 0.01,
                                        True)
        np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(v["bn.mean"], mean, rtol=1e-12)
        np.testing.assert_allclose(v["bn.var"], var, rtol=1e-12)
    x = rng.normal(size=shape)
    want, _, _ = _bn_reference(x, v["bn.gamma"], v["bn.beta"], v["bn.mean"], v["bn.var"], 0.8,
                               0.01, False)
    np.testing.assert_allclose(sess.run("bn", {"x": x}), want, rtol=1e-12)


def test_evaluation_uses_the_running_statistics_after_training():
    text = """
graph g {
    placeholder x: f32[N, 2]
    variable w: f32[2] = ones()
    bn = BatchNorm(x * w)
    loss = mean(bn * bn)
}
data t {
    x = [[1, 10], [2, 20], [3, 30], [4, 40]]
}
train g {
    data = t
    minimize = loss
    optimizer = sgd(lr = 1e-12)
    epochs = 10
    batch = 4
}
evaluate g {
    data = t
    show = [bn.mean, bn.var]
}
"""
    _, shown = tl.compile(text).run(quiet=True, out=io.StringIO())
    x = np.array([[1, 10], [2, 20], [3, 30], [4, 40]], float)
    mean, var = np.zeros(2), np.ones(2)
    for _ in range(10):
        mean, var = 0.9 * mean + 0.1 * x.mean(0), 0.9 * var + 0.1 * x.var(0)
    np.testing.assert_allclose(shown["bn.mean"], mean, rtol=1e-5)
    np.testing.assert_allclose(shown["bn.var"], var, rtol=1e-5)


def test_layer_norm_and_embedding():
    g = tl.compile("""
graph g {
    placeholder x: f64[N, 3, 5]
    placeholder ids: i64[N, 2]
    ln = LayerNorm(x, eps = 0.001)
    e = Embedding(ids, 7, 4)
}
""").graphs["g"]
    s = tl.Session(g, seed=3)
    rng = np.random.default_rng(1)
    s.assign("ln.gamma", rng.normal(size=5))
    s.assign("ln.beta", rng.normal(size=5))
    x, ids = rng.normal(size=(2, 3, 5)), np.array([[0, 6], [3, 3]])
    ln, e = s.run(["ln", "e"], {"x": x, "ids": ids})
    v = s.variables
    m, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    np.testing.assert_allclose(ln, v["ln.gamma"] * (x - m) / np.sqrt(var + 0.001) + v["ln.beta"],
                               rtol=1e-6)
    table = v["e.table"]
    assert e.shape == (2, 2, 4) and table.shape == (7, 4)
    np.testing.assert_array_equal(e, table[ids])
