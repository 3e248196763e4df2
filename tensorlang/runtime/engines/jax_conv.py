"""Convolution and pooling (conv2d, its two adjoints, the fused conv2d_bias, max and average
pooling and their gradients) in jax.numpy for the JAX engine: the NumPy kernels lean on stride
tricks and views written through, so each op has its form here. conv2d is
lax.conv_general_dilated at full precision; its adjoints are that convolution's own VJPs;
pooling works on the size x size strided offsets of the windows, as ops/pool.py does, so the
first maximum of a window is the one that gets the gradient."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

RULES: dict = {}  # op -> its JAX form (jax_ops.py takes them into its RULES)


def rule(name: str):
    """Register the JAX form of an op."""
    def register(fn):
        RULES[name] = fn
        return fn
    return register


def _float(x):
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def _conv(x, k, stride, padding):
    from ...ops.conv import pads
    dt = jnp.result_type(x, k)
    kh, kw = k.shape[2:]
    pad = [pads(padding, x.shape[2], kh, stride), pads(padding, x.shape[3], kw, stride)]
    return lax.conv_general_dilated(x.astype(dt), k.astype(dt), (stride, stride), pad,
                                    dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                    precision=lax.Precision.HIGHEST)


@rule("conv2d")
def _conv2d(x, k, stride=1, padding=0):
    return _conv(x, k, stride, padding)


@rule("conv2d_bias")
def _conv2d_bias(x, k, b, stride=1, padding=0):
    return _conv(x, k, stride, padding) + b


@rule("conv2d_grad_input")
def _conv2d_grad_input(g, k, hw, stride=1, padding=0):
    dt = jnp.result_type(g, k)
    x0 = jnp.zeros((g.shape[0], k.shape[1], *hw), dt)
    _, pull = jax.vjp(lambda x: _conv(x, k.astype(dt), stride, padding), x0)
    return pull(g.astype(dt))[0]


@rule("conv2d_grad_kernel")
def _conv2d_grad_kernel(x, g, khw, stride=1, padding=0):
    dt = jnp.result_type(x, g)
    k0 = jnp.zeros((g.shape[1], x.shape[1], *khw), dt)
    _, pull = jax.vjp(lambda k: _conv(x.astype(dt), k, stride, padding), k0)
    return pull(g.astype(dt))[0]


def _offsets(x, size, stride):
    stride = stride or size
    oh, ow = (x.shape[2] - size) // stride + 1, (x.shape[3] - size) // stride + 1
    for i in range(size):
        for j in range(size):
            yield i * size + j, _cell(i, j, stride, oh, ow)


def _cell(i, j, stride, oh, ow):
    return (slice(None), slice(None), slice(i, i + stride * (oh - 1) + 1, stride),
            slice(j, j + stride * (ow - 1) + 1, stride))


@rule("max_pool2d")
def _max_pool2d(x, size=2, stride=None):
    views = [x[at] for _, at in _offsets(x, size, stride)]
    return functools.reduce(jnp.maximum, views)


@rule("avg_pool2d")
def _avg_pool2d(x, size=2, stride=None):
    x = _float(x)
    total = functools.reduce(jnp.add, [x[at] for _, at in _offsets(x, size, stride)])
    return total / jnp.asarray(size * size, x.dtype)


def _first_max(x, size, stride):
    top = _max_pool2d(x, size, stride)
    where = jnp.zeros(top.shape, jnp.int32)
    found = jnp.zeros(top.shape, bool)
    for k, at in _offsets(x, size, stride):
        hit = (x[at] == top) & ~found
        found = found | hit
        where = where + hit * k
    return where


def _spread(parts, shape, size, stride, dtype):
    out = jnp.zeros(shape, dtype)
    for k, at in _offsets(jnp.zeros((1, 1, *shape[2:])), size, stride):
        out = out.at[at].add(parts(k))
    return out


@rule("max_pool2d_grad")
def _max_pool2d_grad(x, g, size=2, stride=None):
    first = _first_max(x, size, stride)
    zero = jnp.zeros((), g.dtype)
    return _spread(lambda k: jnp.where(first == k, g, zero), x.shape, size, stride, g.dtype)


@rule("max_pool2d_grad_top")
def _max_pool2d_grad_top(x, top, g, size=2, stride=None):
    return _max_pool2d_grad(x, g, size, stride)


@rule("max_pool2d_pick")
def _max_pool2d_pick(x, u, size=2, stride=None):
    first = _first_max(x, size, stride)
    out = jnp.zeros(first.shape, u.dtype)
    for k, at in _offsets(u, size, stride):
        out = jnp.where(first == k, u[at], out)
    return out


@rule("avg_pool2d_grad")
def _avg_pool2d_grad(g, hw, size=2, stride=None):
    share = g / jnp.asarray(size * size, g.dtype)
    return _spread(lambda k: share, (*g.shape[:2], *hw), size, stride, g.dtype)
