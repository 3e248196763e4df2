"""Optimizers as a graph transformation: the train graph is the compiled graph plus the gradients
of the loss, the optimizer's state (momentum buffers, Adam's moments and step counter) as extra
variables, and one update node per variable, so a whole training step is one graph run.

Update rules (one function each, written with graph ops; g is the gradient, lr the learning rate):
    sgd                     W <- W - lr * g
    sgd(momentum = mu)      B <- mu * B + g;  W <- W - lr * B              (PyTorch's form)
    sgd(..., nesterov)      B <- mu * B + g;  W <- W - lr * (g + mu * B)
    adam                    t <- t + 1;  M <- b1 * M + (1 - b1) * g;  V <- b2 * V + (1 - b2) * g^2
                            W <- W - lr * (M / (1 - b1^t)) / (sqrt(V / (1 - b2^t)) + eps)
"""

from __future__ import annotations

from ..errors import ProgramError
from ..ir.graph import Builder, Graph, Node
from .autodiff import gradients

STATE = "opt"        # optimizer state variables are named opt/<variable>/<slot> (and opt/t)
SCOPE = "optimizer"  # update nodes live in scope optimizer/<variable>, for the renderer's colour


def train_graph(graph: Graph, spec) -> tuple[Graph, dict[str, Node]]:
    """The graph extended with the gradients of `spec.minimize` (named `grad(loss)/W`), the
    optimizer's state variables and update nodes (named `update(W)`), and a dict mapping every
    variable the step changes (parameters, optimizer state and the graph's state variables) to
    the node holding its next value. Running them and assigning their values is one step."""
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
    updates = OPTIMIZERS[opt.name](b, params, grads, **dict(opt.params))
    updates.update(graph.updates)  # state variables: their `update` values, computed forward
    return b.finish(), updates


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


def sgd(b: Builder, params, grads, lr, momentum=0.0, nesterov=False) -> dict[str, Node]:
    """Stochastic gradient descent, with optional (Nesterov) momentum."""
    out = {}
    for w, g in zip(params, grads):
        b.scope = f"{SCOPE}/{w.name}"
        if momentum == 0:
            step = g
        else:
            buf = state(b, w, "momentum")
            new_buf = update(b, out, buf, b.op("add", b.op("multiply", buf, momentum), g))
            step = b.op("add", g, b.op("multiply", new_buf, momentum)) if nesterov else new_buf
        update(b, out, w, b.op("subtract", w, b.op("multiply", step, lr)))
    return out


def adam(b: Builder, params, grads, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8) -> dict[str, Node]:
    """Adam (Kingma & Ba, Algorithm 1) with bias-corrected moments; one shared step counter.
    The counter and the corrections are f64 scalars: exact counts, and b2^t stays accurate
    long after f32 would round 1 - b2^t."""
    from ..ir.types import TensorType
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
        m, v = state(b, w, "m"), state(b, w, "v")
        m1 = update(b, out, m, b.op("add", b.op("multiply", m, beta1),
                                    b.op("multiply", g, 1.0 - beta1)))
        v1 = update(b, out, v, b.op("add", b.op("multiply", v, beta2),
                                    b.op("multiply", b.op("square", g), 1.0 - beta2)))
        denom = b.op("add", b.op("sqrt", b.op("divide", v1, c2w)), eps)
        update(b, out, w, b.op("subtract", w, b.op("divide", b.op("multiply", m1, a), denom)))
    return out


def _as(b: Builder, x: Node, dtype: str) -> Node:
    return x if x.dtype == dtype else b.op("cast", x, dtype=dtype)


OPTIMIZERS = {f.__name__: f for f in (sgd, adam)}  # each one's hyperparameters: its signature
