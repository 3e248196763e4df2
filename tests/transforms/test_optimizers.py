"""transforms/optimizers.py: the train graph (gradients named grad(loss)/W, state variables
opt/W/slot, update(W) nodes in the optimizer scope), and three steps of sgd, momentum, Nesterov
and Adam against the update rules written out in NumPy."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import numpy as np
import pytest

from tensorlang.compiler.blocks import Optimizer
from tensorlang.errors import ProgramError
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.runtime.session import Session
from tensorlang.source import Span
from tensorlang.transforms import optimizers as O

AT = Span("m.tl", 5, 5, 5, 30)
W0 = np.array([1.0, -2.0, 0.5])
T = np.array([0.0, 1.0, 3.0])


def model(dtype="f64"):
    """loss = sum((W - t) ** 2) + c * s for trainable W and s, a frozen c: grad W = 2 (W - t)."""
    b = Builder("m")
    t = b.bind("t", b.add("placeholder", (), {"default": None}, type=TensorType(dtype, (3,)),
                          name="t"), AT)
    w = b.bind("W", b.add("variable", (), {"init": ("literal", W0), "trainable": True},
                          type=TensorType(dtype, (3,)), name="W", span=AT), AT)
    s = b.bind("s", b.add("variable", (), {"init": ("literal", np.array(2.0)),
                                           "trainable": True},
                          type=TensorType(dtype, ()), name="s", span=AT), AT)
    c = b.bind("c", b.add("variable", (), {"init": ("literal", np.array(0.5)),
                                           "trainable": False},
                          type=TensorType(dtype, ()), name="c", span=AT), AT)
    sq = b.op("sum", b.op("square", b.op("subtract", w, t)))
    b.bind("loss", b.op("add", sq, b.op("multiply", c, s)), AT)
    return b.finish()


def spec(name, **params):
    full = {**{k: v.default for k, v in list(inspect.signature(O.OPTIMIZERS[name]).parameters
                                                .items())[3:]}, **params}
    return SimpleNamespace(minimize="loss", span=AT, spans={"optimizer": AT},
                           optimizer=Optimizer(name, tuple(full.items())))


def steps(name, k=3, **params):
    """W and s after k training steps."""
    graph, updates = O.train_graph(model(), spec(name, **params))
    sess = Session(graph)
    for _ in range(k):
        sess.run(["loss"], {"t": T}, updates=updates)
    return sess.variables["W"], sess.variables["s"], sess


def grads(w, s):
    return 2 * (w - T), 0.5  # d loss / d W and d loss / d s (= c)


def test_plain_sgd():
    w, s = W0.copy(), 2.0
    for _ in range(3):
        gw, gs = grads(w, s)
        w, s = w - 0.1 * gw, s - 0.1 * gs
    got_w, got_s, sess = steps("sgd", lr=0.1)
    np.testing.assert_allclose(got_w, w, rtol=1e-14)
    np.testing.assert_allclose(got_s, s, rtol=1e-14)
    assert sess.variables["c"] == 0.5  # frozen: never updated


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_with_momentum(nesterov):
    w, bw = W0.copy(), np.zeros(3)
    for _ in range(3):
        gw, _ = grads(w, 0)
        bw = 0.9 * bw + gw
        w = w - 0.05 * ((gw + 0.9 * bw) if nesterov else bw)
    got_w, _, sess = steps("sgd", lr=0.05, momentum=0.9, nesterov=nesterov)
    np.testing.assert_allclose(got_w, w, rtol=1e-13)
    np.testing.assert_allclose(sess.variables["opt/W/momentum"], bw, rtol=1e-13)


def test_adam_with_bias_correction():
    lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-6
    w, m, v = W0.copy(), np.zeros(3), np.zeros(3)
    for t in range(1, 4):
        gw, _ = grads(w, 0)
        m = b1 * m + (1 - b1) * gw
        v = b2 * v + (1 - b2) * gw ** 2
        w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    got_w, _, sess = steps("adam", lr=lr, beta1=b1, beta2=b2, eps=eps)
    np.testing.assert_allclose(got_w, w, rtol=1e-12)
    np.testing.assert_allclose(sess.variables["opt/W/m"], m, rtol=1e-12)
    np.testing.assert_allclose(sess.variables["opt/W/v"], v, rtol=1e-12)
    assert sess.variables["opt/t"] == 3 and sess.variables["opt/t"].dtype == np.float64


def test_the_train_graph_names_gradients_state_and_updates():
    graph, updates = O.train_graph(model(), spec("adam"))
    assert set(updates) == {"W", "s", "opt/t", "opt/W/m", "opt/W/v", "opt/s/m", "opt/s/v"}
    for var, node in updates.items():
        assert node.name == f"update({var})" and graph.node(f"update({var})") is node
        assert node.scope.startswith(O.SCOPE)
    assert graph.node("grad(loss)/W").type == graph.node("W").type
    state = graph.node("opt/W/m")
    assert state.op == "variable" and not state.attrs["trainable"]
    assert state.attrs["init"] == ("zeros", ()) and state.scope == "optimizer/W"
    assert [v.name for v in graph.trainable] == ["W", "s"]  # the state is not trained
    graph.verify()


def test_plain_sgd_has_no_state():
    graph, updates = O.train_graph(model(), spec("sgd", lr=0.1))
    assert set(updates) == {"W", "s"}
    assert [v.name for v in graph.variables] == ["W", "s", "c"]


def test_adam_keeps_f32_parameters_in_f32():
    graph, updates = O.train_graph(model("f32"), spec("adam"))
    assert updates["W"].dtype == "f32" and updates["opt/t"].dtype == "f64"


def test_a_graph_without_trainable_variables_cannot_be_trained():
    b = Builder("frozen")
    v = b.add("variable", (), {"init": ("zeros", ()), "trainable": False},
              type=TensorType("f32", ()), name="v")
    b.bind("v", v, AT)
    b.bind("loss", b.op("square", v), AT)
    with pytest.raises(ProgramError, match="train frozen: the graph has no trainable variables"):
        O.train_graph(b.finish(), spec("sgd", lr=0.1))


def test_each_optimizers_defaults_are_its_signature():
    assert {"sgd", "adam"} <= set(O.OPTIMIZERS)
    assert all(O.OPTIMIZERS[name].__name__ == name for name in O.OPTIMIZERS)
    sgd = inspect.signature(O.sgd).parameters
    assert sgd["lr"].default is inspect.Parameter.empty
    assert (sgd["momentum"].default, sgd["nesterov"].default) == (0.0, False)
    adam = inspect.signature(O.adam).parameters
    assert [adam[k].default for k in ("lr", "beta1", "beta2", "eps")] == [1e-3, 0.9, 0.999, 1e-8]
