"""call_quietly: floating-point warnings off inside, the caller's state back after (also after an
exception), and the same values as without it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tensorlang.runtime.quiet import call_quietly


def divide(x):
    return x / np.zeros_like(x)


def test_no_warning_inside_and_the_values_unchanged():
    x = np.array([1.0, -1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = call_quietly(divide, x)
    with np.errstate(all="ignore"):
        want = divide(x)
    np.testing.assert_array_equal(got, want)


def test_the_callers_state_is_restored_even_after_an_exception():
    with np.errstate(divide="raise"):
        with pytest.raises(ValueError):
            call_quietly(lambda _: (_ for _ in ()).throw(ValueError("boom")), None)
        assert np.geterr()["divide"] == "raise"
        with pytest.raises(FloatingPointError):
            divide(np.ones(2))
    assert call_quietly(lambda _: np.geterr()["invalid"], None) == "ignore"
