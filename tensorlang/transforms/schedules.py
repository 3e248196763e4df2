"""Learning-rate schedules: one function each, `(lr, epoch, t, total, **hyperparameters)` -> the
rate of the step t (counted from 0 over the whole run of `total` steps) in epoch `epoch`
(counted from 0); the signature is the table of hyperparameters, defaults and domains. They
equal PyTorch's: step and exponential are StepLR and ExponentialLR stepped once an epoch, cosine
is CosineAnnealingLR with T_max = total stepped every step. A warmup of S steps multiplies the
rate by min(1, (t + 1) / S)."""

from __future__ import annotations

import math

# hyperparameter domains, read off the annotations (as the optimizers')
Positive = NonNegative = float
PositiveInt = int


def step(lr: float, epoch: int, t: int, total: int, every: PositiveInt,
         factor: Positive = 0.1) -> float:
    """lr * factor ** (epoch // every): the rate cut by factor every `every` epochs."""
    return lr * factor ** (epoch // every)


def exponential(lr: float, epoch: int, t: int, total: int, factor: Positive) -> float:
    """lr * factor ** epoch: the rate multiplied by factor every epoch."""
    return lr * factor ** epoch


def cosine(lr: float, epoch: int, t: int, total: int, final: NonNegative = 0.0) -> float:
    """final + (lr - final) * (1 + cos(pi * t / total)) / 2: from lr down to final over the run."""
    return final + (lr - final) * (1 + math.cos(math.pi * t / total)) / 2


def warmed(rate: float, t: int, warmup: int | None) -> float:
    """The rate of step t with a linear warmup over the first `warmup` steps."""
    return rate * min(1.0, (t + 1) / warmup) if warmup else rate


SCHEDULES = {f.__name__: f for f in (step, exponential, cosine)}
