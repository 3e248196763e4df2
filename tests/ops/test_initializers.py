"""Variable initializers through the language: statistics against their definitions (Glorot's
limit sqrt(6 / (fan_in + fan_out)), He's std sqrt(2 / fan_in)), literals, dtypes, and seeding."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.ops.initializers import fans


def variables(decls: str, seed: int = 0) -> dict[str, np.ndarray]:
    """The initial variables of a graph made of the given declarations."""
    g = tl.compile(f"graph g {{\n{decls}\n}}\n").graphs["g"]
    return tl.Session(g, seed=seed).variables


def test_glorot_uniform_limits_and_spread():
    w = variables("variable W: f32[300, 500] = glorot_uniform()")["W"]
    limit = np.sqrt(6 / (300 + 500))
    assert w.dtype == np.float32 and w.shape == (300, 500)
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.999 * limit  # it reaches the limit (150000 draws)
    assert abs(w.mean()) < 0.01 * limit
    # uniform on [-l, l] has variance l^2 / 3
    assert w.var() == pytest.approx(limit**2 / 3, rel=0.02)


def test_he_normal_std_for_dense_and_conv_shapes():
    v = variables("""
    variable W: f32[500, 400] = he_normal()
    variable K: f32[64, 32, 3, 3] = he_normal()
    """)
    assert v["W"].std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    assert abs(v["W"].mean()) < 0.01 * np.sqrt(2 / 500)
    # a conv kernel [F, C, KH, KW] has fan_in C * KH * KW
    assert v["K"].std() == pytest.approx(np.sqrt(2 / (32 * 9)), rel=0.02)


def test_fans():
    assert fans((784, 128)) == (784, 128)
    assert fans((16, 3, 5, 5)) == (75, 400)
    assert fans((10,)) == (10, 10)


def test_normal_and_uniform_with_arguments():
    v = variables("""
    variable a: f64[200, 200] = normal(mean = 3, std = 0.5)
    variable b: f64[200, 200] = uniform(low = 2, high = 5)
    variable c: f64[200, 200] = normal()
    variable d: f64[200, 200] = uniform()
    """)
    assert v["a"].dtype == np.float64
    assert v["a"].mean() == pytest.approx(3, abs=0.01)
    assert v["a"].std() == pytest.approx(0.5, rel=0.02)
    assert 2 <= v["b"].min() and v["b"].max() < 5
    assert v["b"].mean() == pytest.approx(3.5, abs=0.02)
    assert v["c"].std() == pytest.approx(1, rel=0.02)
    assert -1 <= v["d"].min() and v["d"].max() < 1 and v["d"].max() > 0.99


def test_constant_initializers_and_literals():
    v = variables("""
    variable z: f32[2, 3] = zeros()
    variable o: f64[4] = ones()
    variable f: f32[2] = full(2.5)
    variable k: i32[3] = zeros()
    variable L: f32[2, 2] = [[1, 2], [3, 4]]
    variable s: f32[3] = 0.5
    """)
    np.testing.assert_array_equal(v["z"], np.zeros((2, 3)))
    assert v["o"].dtype == np.float64 and (v["o"] == 1).all()
    np.testing.assert_array_equal(v["f"], [2.5, 2.5])
    assert v["k"].dtype == np.int32
    np.testing.assert_array_equal(v["L"], [[1, 2], [3, 4]])
    assert v["L"].dtype == np.float32
    np.testing.assert_array_equal(v["s"], [0.5, 0.5, 0.5])


RANDOM = """
variable A: f32[20, 30] = glorot_uniform()
variable B: f32[30] = normal()
variable C: f32[5, 5] = uniform()
variable D: f32[30, 10] = he_normal()
"""


def test_same_seed_same_values_other_seed_other_values():
    first, again, other = variables(RANDOM, 7), variables(RANDOM, 7), variables(RANDOM, 8)
    for name in "ABCD":
        np.testing.assert_array_equal(first[name], again[name])
        assert not np.allclose(first[name], other[name])
    # variables of one session are independent draws, not the same stream restarted
    assert not np.allclose(first["A"][0, :10], first["D"][0])


def test_initialize_restarts_from_a_seed():
    g = tl.compile(f"graph g {{\n{RANDOM}\n}}\n").graphs["g"]
    sess = tl.Session(g, seed=3)
    start = {k: v.copy() for k, v in sess.variables.items()}
    sess.assign("B", np.zeros(30))
    sess.initialize()
    np.testing.assert_array_equal(sess.variables["B"], start["B"])
    sess.initialize(seed=4)
    assert not np.allclose(sess.variables["B"], start["B"])


def test_layer_variables_follow_their_declared_initializers():
    g = tl.compile("""
    graph g {
        placeholder x: f32[N, 64]
        h = Dense(x, 32)
    }
    """).graphs["g"]
    v = tl.Session(g, seed=1).variables
    limit = np.sqrt(6 / (64 + 32))
    assert np.abs(v["h.W"]).max() <= limit and v["h.W"].shape == (64, 32)
    assert not v["h.b"].any() and v["h.b"].shape == (32,)
