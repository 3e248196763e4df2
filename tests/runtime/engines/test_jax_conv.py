"""runtime/engines/jax_conv.py: the JAX forms of convolution and pooling against the NumPy
kernels, including what the registry's cases do not reach: a tie inside a pooling window (the
first maximum gets the gradient on both engines) and an integer max pool."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from tensorlang.ops import REGISTRY  # noqa: E402
from tensorlang.runtime.engines.jax_conv import RULES  # noqa: E402


def test_max_pool_gradients_go_to_the_first_maximum_of_a_tie():
    x = np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 1.0, 3.0],
                    [0.0, 0.0, 5.0, 5.0], [0.0, 0.0, 5.0, 5.0]]]], np.float32)
    g = np.arange(1.0, 5.0, dtype=np.float32).reshape(1, 1, 2, 2)
    want = REGISTRY["max_pool2d_grad"].kernel(x, g, size=2, stride=None)
    got = np.asarray(RULES["max_pool2d_grad"](x, g, size=2, stride=None))
    np.testing.assert_array_equal(got, want)
    assert got[0, 0, 0, 1] == 1 and got[0, 0, 1, 0] == 0  # the first 3, not the later ones


def test_integer_max_pooling_and_strided_same_convolution():
    x = np.arange(32, dtype=np.int32).reshape(1, 2, 4, 4)
    np.testing.assert_array_equal(RULES["max_pool2d"](x, size=2, stride=1),
                                  REGISTRY["max_pool2d"].kernel(x, size=2, stride=1))
    rng = np.random.default_rng(0)
    x, k = rng.normal(size=(2, 3, 7, 6)).astype(np.float32), rng.normal(size=(4, 3, 3, 2))
    k = k.astype(np.float32)
    np.testing.assert_allclose(RULES["conv2d"](x, k, stride=2, padding="same"),
                               REGISTRY["conv2d"].kernel(x, k, stride=2, padding="same"),
                               rtol=1e-5, atol=1e-5)
