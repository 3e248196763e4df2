"""Session.make_callable: a prepared call gives Session.run's values (against NumPy written out),
for one fetch or several, by position or by name, at changing batch sizes, after the variables
change, with dropout's random draws, and with the feed checks still made when dtypes or shapes
change; mistakes are DataErrors."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import DataError, TensorlangError

MLP = """
graph mlp {
    placeholder x: f32[N, 3]
    placeholder scale: f32[] = 2.0
    variable W: f32[3, 2] = [[1, -1], [0.5, 2], [-2, 1]]
    variable b: f32[2] = [0.25, -0.5]
    h = relu(x @ W + b)
    y = h * scale
    s = sum(y)
}
"""


def session() -> tl.Session:
    return tl.Session(tl.compile(MLP, "t.tl").graphs["mlp"], seed=0)


def reference(sess, x, scale=2.0):
    h = np.maximum(x @ sess.variables["W"] + sess.variables["b"], 0)
    return h * np.float32(scale)


def test_one_fetch_matches_run_and_numpy_at_every_batch_size():
    sess = session()
    call = sess.make_callable("y")
    assert call.feeds == ("x",)  # scale has a default: not a feed unless asked for
    rng = np.random.default_rng(0)
    for n in (1, 1, 5, 1, 64, 64):
        x = rng.normal(size=(n, 3)).astype(np.float32)
        got = call(x)
        np.testing.assert_allclose(got, sess.run("y", {"x": x}), rtol=0, atol=0)
        np.testing.assert_allclose(got, reference(sess, x), rtol=1e-6, atol=1e-6)


def test_several_fetches_by_position_and_by_name():
    sess = session()
    call = sess.make_callable(["y", "s"], feeds=["x", "scale"])
    x = np.arange(6, dtype=np.float32).reshape(2, 3) - 2
    y, s = call(x, np.float32(3.0))
    np.testing.assert_allclose(y, reference(sess, x, 3.0), rtol=1e-6)
    np.testing.assert_allclose(s, reference(sess, x, 3.0).sum(), rtol=1e-6)
    y2, _ = call(scale=np.float32(3.0), x=x)
    np.testing.assert_array_equal(y2, y)
    assert sess.run(["y", "s"], {"x": x, "scale": 3.0})[1] == pytest.approx(float(s))


def test_the_variables_are_read_at_every_call():
    sess = session()
    call = sess.make_callable("y")
    x = np.ones((2, 3), np.float32)
    before = call(x)
    sess.assign("W", np.full((3, 2), 2.0))
    after = call(x)
    np.testing.assert_allclose(after, reference(sess, x), rtol=1e-6)
    assert not np.allclose(before, after)


def test_results_are_the_callers_own_across_calls():
    sess = session()
    call = sess.make_callable("y")
    x = np.ones((2, 3), np.float32)
    first = call(x)
    kept = first.copy()
    call(2 * x)
    np.testing.assert_array_equal(first, kept)


def test_feed_checks_still_run_when_the_dtype_or_the_shape_changes():
    sess = session()
    call = sess.make_callable("y")
    call(np.ones((2, 3), np.float32))
    with pytest.raises(DataError, match='feed for "x"'):
        call(np.ones((2, 4), np.float32))
    with pytest.raises(DataError, match="rank"):
        call(np.ones(3, np.float32))
    x64 = np.ones((2, 3), np.float64)  # cast as run casts it, and checked again next time
    np.testing.assert_allclose(call(x64), reference(sess, x64.astype(np.float32)))
    np.testing.assert_allclose(call([[1.0, 2.0, 3.0]]), reference(sess, np.float32([[1, 2, 3]])))


def test_random_ops_draw_fresh_keys_like_run():
    g = tl.compile("graph d {\n    placeholder x: f32[N, 64]\n    y = x + random_uniform([N, 64])"
                   "\n}\n",
                   "t.tl").graphs["d"]
    a, b = tl.Session(g, seed=3), tl.Session(g, seed=3)
    call = a.make_callable("y")
    x = np.ones((4, 64), np.float32)
    first, second = call(x), call(x)
    np.testing.assert_array_equal(first, b.run("y", {"x": x}))
    np.testing.assert_array_equal(second, b.run("y", {"x": x}))
    assert not np.array_equal(first, second)


def test_mistakes_are_data_errors():
    sess = session()
    with pytest.raises(DataError, match='no placeholder "z"'):
        sess.make_callable("y", feeds=["z"])
    call = sess.make_callable("y")
    with pytest.raises(DataError, match="takes 1 arrays"):
        call()
    with pytest.raises(DataError, match='"q" is not a feed'):
        call(np.ones((1, 3)), q=np.ones((1, 3)))
    with pytest.raises(TensorlangError):
        sess.make_callable("nope")
