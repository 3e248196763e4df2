"""The fuzzer in CI: a fixed-seed batch of generated programs must pass the oracle (no traceback,
inferred types equal to what runs, the interpreted, generated, unreused and optimized runs
agree, fmt keeps the meaning), and the oracle itself must catch what it claims to. The crashes it
found, minimized, are regression tests here."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tensorlang.compiler.program import compile as compile_program
from tensorlang.errors import TensorlangError
from tensorlang.runtime.session import Session
from tensorlang.tools import fuzz

BATCH, CHUNK = 3000, 100  # 3,000 programs in chunks, so pytest-xdist spreads them


@pytest.mark.parametrize("start", range(0, BATCH, CHUNK))
def test_a_fixed_seed_batch_passes_the_oracle(start):
    failures = fuzz.fuzz(range(start, start + CHUNK))
    assert not failures, "\n".join(f"seed {s}: {p}\n{fuzz.minimize(fuzz.generate(s), s)}"
                                   for s, p in failures.items())


def graph_of(body: str) -> str:
    return "graph g {\n" + "".join(f"    {line}\n" for line in body.splitlines()) + "}\n"


def test_the_oracle_sees_a_traceback_and_a_wrong_type(monkeypatch):
    assert fuzz.check(graph_of("placeholder x: f32[2]\na = x + 1")) == []
    assert fuzz.check(graph_of("placeholder x: f32[2]\na = x + y")) == []  # a located error
    real = Session.execute

    def broken(self, plan, feed, check_numerics=False):
        return [v.astype(np.float64) for v in real(self, plan, feed, check_numerics)]

    monkeypatch.setattr(Session, "execute", broken)
    problems = fuzz.check(graph_of("placeholder x: f32[2]\na = sum(x)"))
    assert any("inferred f32, ran float64" in p for p in problems)


def test_minimize_drops_the_lines_that_do_not_matter():
    text = graph_of("placeholder x: f32[2]\nplaceholder z: f32[3]\na = x + 1\nb = sin(z)")
    got = fuzz.minimize(text, 0, keep=lambda problems: True)
    assert got == "graph g {\n}\n"


def test_main_reports_a_batch(capsys):
    assert fuzz.main(["--n", "5", "--seed", "11"]) == 0
    assert "5 programs, 0 failing" in capsys.readouterr().out


# ------------------------------------------------------------ what the fuzzer found, minimized
def run(body: str, feed: dict, *names: str) -> list:
    graph = compile_program(graph_of(body)).graphs["g"]
    return Session(graph).run(list(names), feed)


def test_a_weak_integer_tensor_meeting_f32_computes_in_f32():
    # abs(-1) is a weak i64 node: NumPy computed abs(-1) * x in f64 while its type said f32
    x = np.array([1.5, -2.0], np.float32)
    (a,) = run("placeholder x: f32[2]\na = abs(-1) * x", {"x": x}, "a")
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, x)
    (b,) = run("placeholder i: i32[2]\nb = i + abs(-3)", {"i": np.array([1, 2], np.int32)}, "b")
    assert b.dtype == np.int32 and b.tolist() == [4, 5]


def test_a_zero_d_fetch_is_an_ndarray():
    a, b = run("placeholder x: f32[2]\na = sum(x)\nb = floor(10)", {"x": np.ones(2, np.float32)},
               "a", "b")
    assert type(a) is np.ndarray and a.shape == () and float(a) == 2.0
    assert type(b) is np.ndarray and int(b) == 10


def test_a_mean_of_nothing_warns_nobody():
    # NumPy's RuntimeWarning ("Mean of empty slice") reached the user at run time
    text = graph_of("placeholder x: i32[1]\nv = x[1:]\nm = mse(v, x[1:])")
    with _no_warnings():
        (m,) = Session(compile_program(text).graphs["g"]).run(["m"],
                                                              {"x": np.ones(1, np.int32)})
    assert np.isnan(m)


class _no_warnings:
    """Every warning raised as an error."""

    def __enter__(self):
        self.ctx = warnings.catch_warnings()
        self.ctx.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self.ctx.__exit__(*exc)


def test_list_arithmetic_in_a_let_is_what_it_is_inline():
    text = "let b = [1, 2, 3] * 2\nlet c = [2.5] - 1\n" + graph_of("a = b\nd = [1, 2, 3] * 2")
    program = compile_program(text)
    assert program.lets["b"] == (2, 4, 6) and program.lets["c"] == (1.5,)
    a, d = Session(program.graphs["g"]).run(["a", "d"])
    np.testing.assert_array_equal(a, d)


def test_a_constant_too_large_for_f32_is_an_error_without_a_warning():
    # seed 21594 (a mutant): NumPy's "overflow encountered in cast" reached the user
    text = graph_of("constant c = [1e305]\nv = c")
    assert fuzz.check_mutant(text) == []
    with _no_warnings(), pytest.raises(TensorlangError, match="f32 cannot hold the literal 1e"):
        compile_program(text)


def test_an_inference_identity_of_a_literal_is_a_node():
    # seed 1778: dropout of a let list returned the raw array, and `v5 @ v5` then crashed
    program = compile_program("let k = [1.0, 2.0]\n" + graph_of("v = dropout(k, 0.5)\nw = v @ v"))
    v, w = Session(program.graphs["g"]).run(["v", "w"])
    np.testing.assert_array_equal(v, [1, 2])
    assert float(w) == 5.0


def test_an_integer_literal_beyond_i64_is_a_located_error():
    # seed 106845 (a mutant): sum(9999999999999999999999999999993) raised OverflowError
    for text in (graph_of("v = sum(9999999999999999999999999999993)"),
                 "let k = 99999999999999999999\n" + graph_of("v = k")):
        with pytest.raises(TensorlangError, match="is too large: integers go up to") as e:
            compile_program(text)
        assert e.value.span is not None and e.value.span.line in (1, 2)
    assert fuzz.check_mutant(graph_of("v = sum(9223372036854775807)")) == []
