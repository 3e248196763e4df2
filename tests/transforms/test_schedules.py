"""transforms/schedules.py: each schedule equals its PyTorch 2.13 scheduler (StepLR and
ExponentialLR stepped once an epoch, CosineAnnealingLR stepped every step), and the warmup is
the linear ramp min(1, (t + 1) / S)."""

from __future__ import annotations

import math

import pytest

from tensorlang.transforms import schedules as S

torch = pytest.importorskip("torch")

EPOCHS, STEPS = 7, 5  # steps an epoch


def torch_rates(make, per_step: bool) -> list[float]:
    """The rate torch's scheduler gives each of EPOCHS * STEPS steps."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.5)
    sched = make(opt)
    out = []
    for _ in range(EPOCHS):
        for _ in range(STEPS):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_step:
                sched.step()
        if not per_step:
            sched.step()
    return out


def ours(fn, **kw) -> list[float]:
    total = EPOCHS * STEPS
    return [fn(0.5, t // STEPS, t, total, **kw) for t in range(total)]


def test_step_equals_steplr():
    want = torch_rates(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.2),
                       per_step=False)
    assert ours(S.step, every=3, factor=0.2) == pytest.approx(want, rel=1e-12)


def test_exponential_equals_exponentiallr():
    want = torch_rates(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.7),
                       per_step=False)
    assert ours(S.exponential, factor=0.7) == pytest.approx(want, rel=1e-12)


def test_cosine_equals_cosineannealinglr():
    total = EPOCHS * STEPS
    want = torch_rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(
        o, T_max=total, eta_min=0.01), per_step=True)
    assert ours(S.cosine, final=0.01) == pytest.approx(want, rel=1e-9)


def test_cosine_ends_at_final():
    assert S.cosine(0.5, 0, 100, 100, final=0.02) == pytest.approx(0.02)
    assert S.cosine(0.5, 0, 50, 100) == pytest.approx(0.25)


def test_warmup_is_a_linear_ramp_then_one():
    assert [S.warmed(1.0, t, 4) for t in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert S.warmed(0.3, 0, None) == 0.3
    assert math.isclose(S.warmed(0.3, 1, 10), 0.06)


def test_table_names_every_schedule():
    assert set(S.SCHEDULES) == {"step", "exponential", "cosine"}
