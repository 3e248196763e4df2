"""The JAX engine's conformance suite, generated from the op registry: every op with cases (the
fused and gradient-internal ops included), its values and the gradients of every float input,
on the JAX engine against the NumPy engine (whose gradients the registry's own tests check
against finite differences). All cases are one graph, so they cost one jit compile. Random ops
are checked by distribution and by seed-determinism within the engine."""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

pytest.importorskip("jax")

from tensorlang.errors import EngineError  # noqa: E402
from tensorlang.ir.graph import Builder  # noqa: E402
from tensorlang.ir.types import TensorType, from_numpy  # noqa: E402
from tensorlang.ops import REGISTRY  # noqa: E402
from tensorlang.runtime.engines import jax_ops  # noqa: E402
from tensorlang.runtime.session import Session  # noqa: E402
from tensorlang.transforms.autodiff import gradients  # noqa: E402

CASED = sorted(n for n, op in REGISTRY.items()
               if op.cases is not None and op.kernel is not None and not op.random)
# XLA compiles about 10 ms a node: the suite takes each op's first CASES cases (one graph of
# about 2000 nodes); TENSORLANG_ALL_CASES=1 takes all of them (a graph of about 5000)
CASES = None if os.environ.get("TENSORLANG_ALL_CASES") else 2


def _cases(name):
    return REGISTRY[name].cases(np.random.default_rng(zlib.crc32(name.encode())))[:CASES]


def _differentiable(node) -> bool:
    op = node.opdef
    return op.differentiable and op.grad is not None and node.dtype == "f64"


def _build():
    """One graph: every case of every op, and the gradient of sum(case * w) over all of them
    with respect to every float input of a differentiable op."""
    b = Builder("conformance")
    feed, values, wrt, terms = {}, [], [], []
    rng = np.random.default_rng(0)
    for name in CASED:
        for i, (arrays, attrs) in enumerate(_cases(name)):
            phs = []
            for k, a in enumerate(arrays):
                ph = b.add("placeholder", (), {"default": None},
                           type=TensorType(from_numpy(a.dtype), a.shape), name=f"{name}.{i}.{k}")
                feed[ph.name] = a
                phs.append(ph)
            node = b.add(name, phs, attrs)
            values.append((f"{name}-{i}", node))
            if _differentiable(node):
                w = b.constant(rng.normal(size=tuple(int(d) for d in node.type.shape)), "f64")
                terms.append(b.op("sum_to", b.op("multiply", node, w), shape=()))
                wrt += [(f"{name}-{i} d/d input {k}", p) for k, p in enumerate(phs)
                        if p.dtype == "f64"]
    total = terms[0]
    for t in terms[1:]:
        total = b.op("add", total, t)
    grads = gradients(b, total, [p for _, p in wrt])
    labels = [n for n, _ in values] + [n for n, _ in wrt]
    return b.finish(), feed, labels, [n for _, n in values] + list(grads)


@pytest.fixture(scope="module")
def both():
    graph, feed, labels, fetches = _build()
    want = Session(graph).run(fetches, feed)
    got = Session(graph, engine="jax").run(fetches, feed)
    return labels, want, got


def test_every_op_with_cases_is_in_the_suite():
    missing = [n for n, op in REGISTRY.items() if op.kernel is not None and op.cases is None]
    # a scan's cell is a graph, so it has no registry cases: char_rnn.tl trains through scan,
    # scan_grad and scan_part on both engines in test_jax_engine.py
    assert sorted(missing) == ["scan", "scan_grad", "scan_part"]
    assert all(jax_ops.lowering(n) for n in REGISTRY if REGISTRY[n].kernel is not None)


def test_values_and_gradients_match_the_numpy_engine(both):
    labels, want, got = both
    bad = []
    for label, w, g in zip(labels, want, got):
        if g.shape != w.shape or g.dtype != w.dtype or not np.allclose(
                g, w, rtol=1e-6, atol=1e-9, equal_nan=True):
            bad.append(f"{label}: jax {g.dtype}{list(g.shape)} numpy {w.dtype}{list(w.shape)}")
    assert not bad, "\n".join(bad)
    assert sum("d/d" in x for x in labels) > 100  # the gradients are really in it


def _random_session(op, attrs, *inputs):
    b = Builder("r")
    key = b.add("random_key", (), {}, type=TensorType("i64", ()), name="key")
    phs = [b.constant(x, from_numpy(x.dtype)) for x in inputs]
    node = b.add(op, [key, *phs], {"salt": 3, **attrs})
    return Session(b.finish(), seed=1, engine="jax"), node


def test_random_draws_follow_their_distribution_and_replay_with_their_key():
    s, u = _random_session("random_uniform", {"shape": (4000,), "low": -1.0, "high": 3.0})
    a, b_ = s.run(u), s.run(u)
    assert a.dtype == np.float32 and a.shape == (4000,)
    assert -1 <= a.min() and a.max() < 3 and abs(a.mean() - 1) < 0.1
    assert abs(a.std() - 4 / np.sqrt(12)) < 0.05
    assert not np.array_equal(a, b_)  # a fresh key every run
    s.random.fixed = 12345
    assert np.array_equal(s.run(u), s.run(u))  # the same key: the same draws
    s, n = _random_session("random_normal", {"shape": (4000,), "mean": 2.0, "std": 0.5})
    d = s.run(n)
    assert abs(d.mean() - 2) < 0.05 and abs(d.std() - 0.5) < 0.03


def test_dropout_and_categorical_draw_like_their_definitions():
    x = np.ones((100, 40))
    s, node = _random_session("dropout", {"rate": 0.25}, x)
    y = s.run(node)
    assert abs((y == 0).mean() - 0.25) < 0.03
    np.testing.assert_allclose(y[y != 0], 1 / 0.75)
    logits = np.log(np.array([[0.2, 0.5, 0.3]] * 3000))
    s, node = _random_session("categorical", {"axis": -1}, logits)
    ids = s.run(node)
    assert ids.dtype == np.int64
    np.testing.assert_allclose(np.bincount(ids, minlength=3) / 3000, [0.2, 0.5, 0.3], atol=0.03)


def test_an_op_the_engine_cannot_run_is_a_located_error(monkeypatch):
    import tensorlang as tl
    graph = tl.compile("graph g {\n placeholder x: f32[N]\n y = tanh(x) * 2\n}\n").graphs["g"]
    monkeypatch.setitem(jax_ops.UNSUPPORTED, "tanh", "no form of it here")
    with pytest.raises(EngineError, match='op "tanh" cannot run on the jax engine: no form') as e:
        Session(graph, engine="jax").run("y", {"x": np.ones(2, np.float32)})
    assert e.value.line == 3 and "^" in e.value.format()
    monkeypatch.delitem(jax_ops.UNSUPPORTED, "tanh")
    monkeypatch.setitem(jax_ops.RULES, "tanh", lambda x: x if bool(x.sum() > 0) else -x)
    with pytest.raises(EngineError, match='op "tanh" cannot run on the jax engine') as e:
        Session(graph, engine="jax").run("y", {"x": np.ones(2, np.float32)})  # a traced bool
    assert e.value.line == 3


def test_the_shim_keeps_numpy_spellings():
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)  # as the engine does for an f64 plan
    shim = jax_ops.SHIM
    assert np.array_equal(shim.sort(jnp.array([3, 1, 2]), kind="stable"), [1, 2, 3])
    assert shim.true_divide(jnp.array([1.0]), 4, dtype=np.float64).dtype == jnp.float64
    buf = shim.zeros((2, 3), np.float32)
    buf[:, 1] = jnp.array([5.0, 6.0], np.float32)
    assert np.array_equal(jax_ops._un(buf), [[0, 5, 0], [0, 6, 0]])
    with pytest.raises(NotImplementedError, match="out="):
        shim.exp(jnp.ones(2), out=jnp.ones(2))
