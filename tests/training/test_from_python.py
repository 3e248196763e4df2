"""training/from_python.py: train blocks run from Python on arrays, their keys as Python values
read by the same parsers as a file's, and the mistakes a caller can make."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import DataError, ProgramError
from tensorlang.training.from_python import source_text

from .test_train import LINEAR, X, Y, grad, reference

TEXT = LINEAR.format(optimizer="sgd(lr = 0.1)", epochs=2, batch=5, shuffle="false", seed=0,
                     extra="")
QUIET = {"quiet": True}


def test_a_block_runs_on_arrays_with_the_files_keys_as_defaults():
    p = tl.compile(TEXT)
    r = p.train("lin", data={"x": X, "y": Y}, epochs=3, options=QUIET)
    w, b = reference("sgd", 3, lr=0.1)  # lr and batch from the file's block, epochs from here
    np.testing.assert_allclose(r.session.variables["w"], w, rtol=1e-12)
    assert len(r.history) == 3 and r.steps == 3


def test_keys_given_replace_the_files():
    p = tl.compile(TEXT)
    r = p.train("lin", data={"x": X, "y": Y}, steps=2, optimizer="adam(lr = 0.1, beta1 = 0.8, "
                "beta2 = 0.95, eps = 1e-3)", options=QUIET)
    w, _ = reference("adam", 2, lr=0.1, b1=0.8, b2=0.95, eps=1e-3)
    np.testing.assert_allclose(r.session.variables["w"], w, rtol=1e-12)


def test_a_session_given_is_trained_further():
    p = tl.compile(TEXT)
    first = p.train("lin", data={"x": X, "y": Y}, epochs=1, options=QUIET)
    again = p.train("lin", data={"x": X, "y": Y}, epochs=2, session=first.session,
                    options=QUIET)
    assert again.session is first.session
    w, _ = reference("sgd", 3, lr=0.1)
    np.testing.assert_allclose(first.session.variables["w"], w, rtol=1e-12)


def test_validation_arrays_and_a_held_out_fraction():
    p = tl.compile(TEXT)
    r = p.train("lin", data={"x": X, "y": Y}, validate={"x": X[:2], "y": Y[:2]}, epochs=1,
                options=QUIET)
    s = r.session.variables
    assert r["val_loss"] == pytest.approx(np.mean((X[:2] @ s["w"] + s["b"] - Y[:2]) ** 2))
    r = p.train("lin", data={"x": X, "y": Y}, validate=0.4, epochs=1, options=QUIET)
    gw, _ = grad(np.array([0.5, -0.3]), np.array(0.1), X[:3], Y[:3])
    np.testing.assert_allclose(r.session.variables["w"], [0.5, -0.3] - 0.1 * gw, rtol=1e-12)


def test_run_keeps_every_session_and_history():
    results = tl.compile(TEXT).run(quiet=True)
    assert list(results.sessions) == ["lin"] and len(results.histories) == 1
    w, _ = reference("sgd", 2, lr=0.1)
    np.testing.assert_allclose(results.sessions["lin"].variables["w"], w, rtol=1e-12)
    assert results[0].history is results.histories[0]


@pytest.mark.parametrize("key, value, text", [
    ("save", 'a "b".npz', '"a \\"b\\".npz"'), ("shuffle", False, "false"), ("lr", 1e-3, "0.001"),
    ("report", ["loss", "acc"], "[loss, acc]"), ("optimizer", "adam()", "adam()"),
    ("epochs", np.int64(3), "3"),
])
def test_python_values_are_written_as_a_block_writes_them(key, value, text):
    assert source_text(key, value) == text


@pytest.mark.parametrize("call, error, match", [
    (lambda p: p.train("lni", data={"x": X}), ProgramError, 'no graph named "lni"'),
    (lambda p: p.train("lin", data=[X, Y]), TypeError, "data must be a dict"),
    (lambda p: p.train("lin", data={"x": X, "y": Y[:3]}), DataError, "first dimension|length"),
    (lambda p: p.train("lin", data={"x": X, "y": Y}, epochs=0), ProgramError, "epochs"),
    (lambda p: p.train("lin", data={"x": X, "y": Y}, optimizer="adma()"), ProgramError,
     "unknown optimizer"),
    (lambda p: p.train("lin", data={"x": X, "y": Y}, epochs=object()), TypeError, "epochs"),
    (lambda p: p.train("lin", data={"x": X, "z": Y}), ProgramError, 'field "z"'),
    (lambda p: p.train("lin", data={"x": X, "y": Y}, session="s"), TypeError, "session"),
])
def test_mistakes_are_errors_not_tracebacks(call, error, match):
    with pytest.raises(error, match=match):
        call(tl.compile(TEXT))
