"""Optimizers as a graph transformation: the train graph is the compiled graph plus the gradients
of the loss (clipped to a global norm when asked), the optimizer's state (momentum buffers,
moments, step counter) as extra variables, and one update node per variable, so a whole training
step is one graph run. Each optimizer is one function; its signature is its table: the
hyperparameters, their defaults (PyTorch 2.13's) and their domains (the annotations).

Update rules (g the gradient, lr the learning rate, wd the weight decay; PyTorch's torch.optim):
    sgd        g <- g + wd W;  B <- mu B + g;  W <- W - lr B  (Nesterov: W - lr (g + mu B))
    adam       g <- g + wd W;  t <- t + 1;  M <- b1 M + (1 - b1) g;  V <- b2 V + (1 - b2) g^2
               W <- W - lr (M / (1 - b1^t)) / (sqrt(V / (1 - b2^t)) + eps)
    adamw      W <- W (1 - lr wd), then adam's step without wd (decoupled weight decay)
    rmsprop    S <- rho S + (1 - rho) g^2;  B <- mu B + g / (sqrt(S) + eps);  W <- W - lr B
    adagrad    S <- S + g^2;  W <- W - lr g / (sqrt(S) + eps)
The learning rate is a number, or with a schedule or warmup the fed scalar `opt/lr` (the train
loop feeds each step's rate).
"""

from __future__ import annotations

import inspect

import numpy as np

from ..errors import ProgramError
from ..ir.graph import Builder, Graph, Node
from ..ir.types import TensorType
from .autodiff import gradients

STATE = "opt"        # optimizer state variables are named opt/<variable>/<slot> (and opt/t)
LR = "opt/lr"        # the fed learning rate, with a schedule or warmup
SCOPE = "optimizer"  # update nodes live in scope optimizer/<variable>, for the renderer's colour


def train_graph(graph: Graph, spec) -> tuple[Graph, dict[str, Node]]:
    """The graph extended with the gradients of `spec.minimize` (named `grad(loss)/W`), clipped
    to `spec.clip_norm` when it is set, the optimizer's state variables and update nodes (named
    `update(W)`), and a dict mapping every variable the step changes (parameters, optimizer
    state and the graph's state variables) to the node holding its next value."""
    params = list(graph.trainable)
    where = spec.spans.get("optimizer", spec.span)
    if not params:
        raise ProgramError(f'train {graph.name}: the graph has no trainable variables', spec.span)
    b = Builder(graph.name, graph)
    loss = graph.node(spec.minimize)
    b.span = loss.span
    grads = gradients(b, loss, params, warn_name=lambda n: n.name or n.label())
    lname = loss.label()
    for w, g in zip(params, grads):
        b.bind(f"grad({lname})/{w.name}", g, w.span)
    grads = [b.names[f"grad({lname})/{w.name}"] for w in params]
    opt = spec.optimizer
    b.span, b.scope = where, SCOPE
    if getattr(spec, "clip_norm", None):
        grads = clip_by_global_norm(b, grads, spec.clip_norm)
    hyper = dict(opt.params)
    if getattr(spec, "fed_rate", False):  # a schedule or warmup: the loop feeds each step's rate
        rate = b.add("placeholder", (), {"default": np.asarray(hyper["lr"], np.float64)},
                     type=TensorType("f64", ()), name=LR)
        hyper["lr"] = b.bind(LR, rate, b.span)
    updates = OPTIMIZERS[opt.name](b, params, grads, **hyper)
    updates.update(graph.updates)  # state variables: their `update` values, computed forward
    return b.finish(), updates


def clip_by_global_norm(b: Builder, grads: list[Node], max_norm: float) -> list[Node]:
    """Every gradient times min(1, max_norm / (norm + 1e-6)), norm the L2 norm of all of them
    together (PyTorch's clip_grad_norm_)."""
    squares = [b.op("cast", b.op("sum", b.op("square", g), axis=None, keepdims=False),
                    dtype="f64") for g in grads]
    total = squares[0]
    for s in squares[1:]:
        total = b.op("add", total, s)
    norm = b.bind(f"{STATE}/grad_norm", b.op("sqrt", total), b.span)
    coef = b.op("minimum", b.op("divide", max_norm, b.op("add", norm, 1e-6)), 1.0)
    return [b.op("multiply", g, _as(b, coef, g.dtype)) for g in grads]


def update(b: Builder, out: dict, var: Node, node: Node) -> Node:
    """Record node as var's next value, named `update(var)` (bound as soon as it is made, so
    the name sticks to the node itself); returns the named node."""
    out[var.name] = node = b.bind(f"update({var.name})", node, b.span)
    return node


def state(b: Builder, like: Node, slot: str, init=("zeros", ())) -> Node:
    """A non-trainable optimizer variable `opt/<like>/<slot>` of like's type (zeros)."""
    name = f"{STATE}/{like.name}/{slot}"
    node = b.add("variable", (), {"init": init, "trainable": False}, type=like.type,
                 scope=f"{SCOPE}/{like.name}", name=name)
    return b.bind(name, node, b.span)


# hyperparameter domains, as the annotations of the optimizers' signatures
Positive = NonNegative = Fraction = float
Flag = bool


def sgd(b: Builder, params, grads, lr: Positive, momentum: NonNegative = 0.0,
        nesterov: Flag = False, weight_decay: NonNegative = 0.0) -> dict[str, Node]:
    """Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay."""
    out = {}
    for w, g in zip(params, grads):
        b.scope = f"{SCOPE}/{w.name}"
        g = _decayed(b, g, w, weight_decay)
        if momentum == 0:
            step = g
        else:
            buf = state(b, w, "momentum")
            new_buf = update(b, out, buf, b.op("add", b.op("multiply", buf, momentum), g))
            step = b.op("add", g, b.op("multiply", new_buf, momentum)) if nesterov else new_buf
        update(b, out, w, b.op("subtract", w, b.op("multiply", step, _as(b, lr, w.dtype))))
    return out


def adam(b: Builder, params, grads, lr: Positive = 1e-3, beta1: Fraction = 0.9,
         beta2: Fraction = 0.999, eps: Positive = 1e-8,
         weight_decay: NonNegative = 0.0) -> dict[str, Node]:
    """Adam (Kingma & Ba, Algorithm 1) with bias-corrected moments and L2 weight decay."""
    return _adam(b, params, grads, lr, beta1, beta2, eps, weight_decay, decoupled=False)


def adamw(b: Builder, params, grads, lr: Positive = 1e-3, beta1: Fraction = 0.9,
          beta2: Fraction = 0.999, eps: Positive = 1e-8,
          weight_decay: NonNegative = 0.01) -> dict[str, Node]:
    """AdamW (Loshchilov & Hutter): Adam with the weight decay applied to the weights."""
    return _adam(b, params, grads, lr, beta1, beta2, eps, weight_decay, decoupled=True)


def _adam(b: Builder, params, grads, lr, beta1, beta2, eps, weight_decay, decoupled):
    """One shared step counter; the counter and the corrections are f64 scalars: exact counts,
    and b2^t stays accurate long after f32 would round 1 - b2^t."""
    b.scope = SCOPE
    t = b.add("variable", (), {"init": ("zeros", ()), "trainable": False},
              type=TensorType("f64", ()), name=f"{STATE}/t")
    t = b.bind(f"{STATE}/t", t, b.span)
    out: dict[str, Node] = {}
    t1 = update(b, out, t, b.op("add", t, 1.0))
    c1 = b.op("subtract", 1.0, b.op("power", beta1, t1))
    c2 = b.op("subtract", 1.0, b.op("power", beta2, t1))
    step_size = b.op("divide", lr, c1)
    per_dtype: dict[str, tuple[Node, Node]] = {}
    for w, g in zip(params, grads):
        if w.dtype not in per_dtype:
            b.scope = SCOPE
            per_dtype[w.dtype] = (_as(b, step_size, w.dtype), _as(b, c2, w.dtype))
        a, c2w = per_dtype[w.dtype]
        b.scope = f"{SCOPE}/{w.name}"
        base = w
        if decoupled and weight_decay:
            keep = (b.op("subtract", 1.0, b.op("multiply", lr, weight_decay))
                    if isinstance(lr, Node) else 1.0 - lr * weight_decay)  # f64, not f32
            base = b.op("multiply", w, _as(b, keep, w.dtype))
        elif weight_decay:
            g = _decayed(b, g, w, weight_decay)
        m, v = state(b, w, "m"), state(b, w, "v")
        m1 = update(b, out, m, b.op("add", b.op("multiply", m, beta1),
                                    b.op("multiply", g, 1.0 - beta1)))
        v1 = update(b, out, v, b.op("add", b.op("multiply", v, beta2),
                                    b.op("multiply", b.op("square", g), 1.0 - beta2)))
        denom = b.op("add", b.op("sqrt", b.op("divide", v1, c2w)), eps)
        update(b, out, w, b.op("subtract", base, b.op("divide", b.op("multiply", m1, a), denom)))
    return out


def rmsprop(b: Builder, params, grads, lr: Positive = 1e-2, rho: Fraction = 0.99,
            eps: Positive = 1e-8, momentum: NonNegative = 0.0) -> dict[str, Node]:
    """RMSprop (Hinton), PyTorch's form: eps outside the square root; rho is PyTorch's alpha."""
    out = {}
    for w, g in zip(params, grads):
        b.scope = f"{SCOPE}/{w.name}"
        sq = state(b, w, "square_avg")
        sq1 = update(b, out, sq, b.op("add", b.op("multiply", sq, rho),
                                      b.op("multiply", b.op("square", g), 1.0 - rho)))
        step = b.op("divide", g, b.op("add", b.op("sqrt", sq1), eps))
        if momentum:
            buf = state(b, w, "momentum")
            step = update(b, out, buf, b.op("add", b.op("multiply", buf, momentum), step))
        update(b, out, w, b.op("subtract", w, b.op("multiply", step, _as(b, lr, w.dtype))))
    return out


def adagrad(b: Builder, params, grads, lr: Positive = 1e-2,
            eps: Positive = 1e-10) -> dict[str, Node]:
    """Adagrad (Duchi et al.): every weight's rate divided by its accumulated squared gradients."""
    out = {}
    for w, g in zip(params, grads):
        b.scope = f"{SCOPE}/{w.name}"
        acc = state(b, w, "sum")
        acc1 = update(b, out, acc, b.op("add", acc, b.op("square", g)))
        step = b.op("divide", g, b.op("add", b.op("sqrt", acc1), eps))
        update(b, out, w, b.op("subtract", w, b.op("multiply", step, _as(b, lr, w.dtype))))
    return out


def _decayed(b: Builder, g: Node, w: Node, weight_decay) -> Node:
    """g + weight_decay * w (L2 regularization folded into the gradient)."""
    return b.op("add", g, b.op("multiply", w, weight_decay)) if weight_decay else g


def _as(b: Builder, x, dtype: str):
    """A scalar (a number, or a node such as the fed rate) in dtype."""
    if not isinstance(x, Node):
        return x
    return x if x.dtype == dtype else b.op("cast", x, dtype=dtype)


OPTIMIZERS = {f.__name__: f for f in (sgd, adam, adamw, rmsprop, adagrad)}


def domains(fn) -> dict[str, str]:
    """{hyperparameter: its domain (a key of DOMAINS)}."""
    return {name: p.annotation for name, p in inspect.signature(fn).parameters.items()
            if isinstance(p.annotation, str) and p.annotation in DOMAINS}


DOMAINS = {"Positive": "must be positive", "NonNegative": "cannot be negative",
           "Fraction": "must lie in [0, 1)", "Flag": "must be true or false"}
