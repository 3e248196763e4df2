"""runtime/engines/jax_recurrent.py: the lax.scan forms of the recurrent kernels give the NumPy
kernels' values, at a few lengths (T = 0 included: an empty sequence) in f64."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from tensorlang.ops import REGISTRY  # noqa: E402
from tensorlang.runtime.engines.jax_recurrent import RULES  # noqa: E402


def _arrays(rng, n, t, d, h, gates):
    return (rng.normal(size=(n, t, d)), rng.normal(size=(n, h)), rng.normal(size=(d, gates * h)),
            rng.normal(size=(h, gates * h)) * 0.5)


@pytest.mark.parametrize("t", [0, 3])
def test_the_tapes_and_their_backprop_match_numpy(t):
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(t)
    x, h0, wx, wh = _arrays(rng, 2, t, 3, 2, 4)
    c0, b = rng.normal(size=(2, 2)), rng.normal(size=8)
    tape = REGISTRY["lstm_tape"].kernel(x, h0, c0, wx, wh, b)
    np.testing.assert_allclose(RULES["lstm_tape"](x, h0, c0, wx, wh, b), tape, rtol=1e-12)
    g = rng.normal(size=tape.shape)
    for op in ("lstm_bptt", "lstm_grad_c0"):
        np.testing.assert_allclose(RULES[op](tape, c0, wh, g), REGISTRY[op].kernel(tape, c0, wh, g),
                                   rtol=1e-12, atol=1e-14, err_msg=op)
    x, h0, wx, wh = _arrays(rng, 2, t, 3, 2, 3)
    bx, bh = rng.normal(size=6), rng.normal(size=6)
    tape = REGISTRY["gru_tape"].kernel(x, h0, wx, wh, bx, bh)
    np.testing.assert_allclose(RULES["gru_tape"](x, h0, wx, wh, bx, bh), tape, rtol=1e-12)
    g = rng.normal(size=tape.shape)
    for op in ("gru_bptt", "gru_grad_h0"):
        np.testing.assert_allclose(RULES[op](tape, h0, wh, g), REGISTRY[op].kernel(tape, h0, wh, g),
                                   rtol=1e-12, atol=1e-14, err_msg=op)
    x, h0, wx, wh = _arrays(rng, 2, t, 3, 2, 1)
    hs = REGISTRY["rnn"].kernel(x, h0, wx, wh, np.zeros(2))
    np.testing.assert_allclose(RULES["rnn"](x, h0, wx, wh, np.zeros(2)), hs, rtol=1e-12)
    g = rng.normal(size=hs.shape)
    np.testing.assert_allclose(RULES["rnn_bptt"](hs, wh, g), REGISTRY["rnn_bptt"].kernel(hs, wh, g),
                               rtol=1e-12, atol=1e-14)
