"""Every optimizer's updates against PyTorch 2.13's torch.optim class of the same name, given the
same gradients and hyperparameters, over 20 steps in float64, to 1e-12; clip_norm against
torch.nn.utils.clip_grad_norm_ (which PyTorch applies before the step, as tensorlang does)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tensorlang.runtime.session import Session
from tensorlang.transforms import optimizers as O

from .test_optimizers import AT, W0, T, model, spec

torch = pytest.importorskip("torch")

STEPS = 20
CASES = [  # (tensorlang name, its hyperparameters, torch class, torch's names for them)
    ("sgd", {"lr": 0.05}, "SGD", {}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}, "SGD", {}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, "SGD", {}),
    ("sgd", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1}, "SGD", {}),
    ("adam", {"lr": 0.01}, "Adam", {}),
    ("adam", {"lr": 0.02, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.05},
     "Adam", {}),
    ("adamw", {"lr": 0.01}, "AdamW", {}),
    ("adamw", {"lr": 0.02, "weight_decay": 0.3, "beta2": 0.9}, "AdamW", {}),
    ("rmsprop", {"lr": 0.01}, "RMSprop", {}),
    ("rmsprop", {"lr": 0.005, "rho": 0.9, "eps": 1e-6, "momentum": 0.8}, "RMSprop", {}),
    ("adagrad", {"lr": 0.1}, "Adagrad", {}),
    ("adagrad", {"lr": 0.3, "eps": 1e-6}, "Adagrad", {}),
]


def torch_kwargs(params: dict) -> dict:
    out = dict(params)
    if "beta1" in out or "beta2" in out:
        out["betas"] = (out.pop("beta1", 0.9), out.pop("beta2", 0.999))
    if "rho" in out:
        out["alpha"] = out.pop("rho")
    return out


def torch_run(cls: str, params: dict, clip: float | None = None):
    """W and s after STEPS steps of torch.optim.<cls> on the test model's loss."""
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    s = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(T, dtype=torch.float64)
    opt = getattr(torch.optim, cls)([w, s], **torch_kwargs(params))
    for _ in range(STEPS):
        opt.zero_grad()
        loss = ((w - t) ** 2).sum() + 0.5 * s
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_([w, s], clip)
        opt.step()
    return w.detach().numpy(), float(s.detach())


def ours(name: str, params: dict, clip: float | None = None):
    sp = spec(name, **params)
    if clip is not None:
        sp = SimpleNamespace(**vars(sp), clip_norm=clip)
    graph, updates = O.train_graph(model(), sp)
    sess = Session(graph)
    for _ in range(STEPS):
        sess.run(["loss"], {"t": T}, updates=updates)
    return sess.variables["W"], float(sess.variables["s"])


@pytest.mark.parametrize("name, params, cls, _", CASES,
                         ids=[f"{c[0]}-{'-'.join(c[1])}" for c in CASES])
def test_updates_equal_torch_optim(name, params, cls, _):
    want_w, want_s = torch_run(cls, params)
    got_w, got_s = ours(name, params)
    np.testing.assert_allclose(got_w, want_w, rtol=1e-12, atol=1e-12)
    assert got_s == pytest.approx(want_s, rel=1e-12, abs=1e-12)
    assert not np.allclose(got_w, W0)  # the steps really moved W


@pytest.mark.parametrize("name, cls", [("sgd", "SGD"), ("adam", "Adam")])
def test_clip_norm_equals_clip_grad_norm(name, cls):
    params = {"lr": 0.05, "momentum": 0.9} if name == "sgd" else {"lr": 0.05}
    want_w, want_s = torch_run(cls, params, clip=0.5)
    got_w, got_s = ours(name, params, clip=0.5)
    np.testing.assert_allclose(got_w, want_w, rtol=1e-12, atol=1e-12)
    assert got_s == pytest.approx(want_s, rel=1e-12, abs=1e-12)
    unclipped, _ = ours(name, params)
    assert not np.allclose(unclipped, got_w)  # the clipping changed the run


def test_the_global_norm_is_reported():
    sp = SimpleNamespace(**vars(spec("sgd", lr=0.1)), clip_norm=1.0)
    graph, updates = O.train_graph(model(), sp)
    sess = Session(graph)
    norm, = sess.run([f"{O.STATE}/grad_norm"], {"t": T})
    g = np.concatenate([2 * (W0 - T), [0.5]])
    assert float(norm) == pytest.approx(np.linalg.norm(g), rel=1e-14)
    assert AT.line == 5
