"""Symbolic dims: polynomial normal forms, printing, exact division, and (with hypothesis) that
every operation commutes with evaluation at integer bindings of the dim names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorlang.ir import dims as D
from tensorlang.ir.dims import Dim

N, T, C = Dim.sym("N"), Dim.sym("T"), Dim.sym("C")


# ------------------------------------------------------------------ normal forms and printing
@pytest.mark.parametrize("dim, text", [
    (N + 5, "N + 5"),
    (5 + N, "N + 5"),
    (4 * N, "4*N"),
    (N * 4, "4*N"),
    (T - 1, "T - 1"),
    (1 - T, "-T + 1"),
    (N * N, "N**2"),
    (N * T + 2 * N - 3, "N*T + 2*N - 3"),
    (-N, "-N"),
    ((N + 1) * (N - 1), "N**2 - 1"),
])
def test_printing_and_normal_form(dim, text):
    assert D.dim_str(dim) == text
    assert str(dim) == text


def test_constant_results_are_plain_ints():
    assert (N + 5) - N == 5 and type((N + 5) - N) is int
    assert N - N == 0 and type(N - N) is int
    assert (4 * N) // 4 == N
    assert 0 * N == 0 and type(0 * N) is int


def test_structural_equality_is_polynomial_equality():
    assert N + 5 == 5 + N
    assert 2 * (N + 1) == N + N + 2
    assert (N + T) * 2 == 2 * T + 2 * N
    assert N + 5 != N + 4
    assert hash(N * T + 1) == hash(T * N + 1)
    assert {N + 1: "a"}[1 + N] == "a"
    assert N != 3 and N != "N"


def test_equal_and_differ():
    assert D.equal(N + 5, 5 + N)
    assert D.equal(3, 3) and not D.equal(3, 4)
    assert not D.equal(N, 3) and not D.equal(N, T)
    assert D.differ(N + 5, N + 4)  # the difference is the constant 1
    assert D.differ(3, 4) and not D.differ(3, 3)
    assert not D.differ(N, 3)  # N might be 3: not provably different
    assert not D.differ(N, T)


def test_floor_division_by_a_constant():
    assert (4 * N + 8) // 4 == N + 2
    assert D.floordiv(9, 2) == 4
    odd = (N - 1) // 2  # not exact: an opaque atom, still evaluable
    assert isinstance(odd, Dim)
    assert D.dim_str(odd) == "(N - 1)//2"
    assert D.evaluate(odd, {"N": 8}) == 3
    assert D.evaluate(odd * 2 + 1, {"N": 9}) == 9
    with pytest.raises(ZeroDivisionError):
        D.floordiv(N, 0)


def test_divide_exact():
    assert D.divide_exact(784 * N, 784) == N
    assert D.divide_exact(784 * N, N) == 784
    assert D.divide_exact(N * T * 3, 3 * T) == N
    assert D.divide_exact(12, 4) == 3
    assert D.divide_exact(12, 5) is None
    assert D.divide_exact(4 * N + 2, 4) is None
    assert D.divide_exact(N + 1, N) is None
    assert D.divide_exact(N, T) is None
    assert D.divide_exact(N + T, N + T) == 1
    assert D.divide_exact(N, 0) is None
    # division by a symbol: reshape(x, [-1, 784]) of [N, 28, 28] infers N
    assert D.floordiv(784 * N, 784) == N
    assert D.floordiv(N * T, T) == N
    with pytest.raises(ValueError):
        D.floordiv(N + 1, T)


def test_volume_symbols_and_shapes():
    assert D.volume((N, 28, 28)) == 784 * N
    assert D.volume(()) == 1
    assert D.volume((3, 4)) == 12
    assert D.dim_str(D.volume((N, T, 2))) == "2*N*T"
    assert D.symbols((N + T, 3, C)) == {"N", "T", "C"}
    assert D.shape_str((N, 2)) == "[N, 2]"
    assert D.shape_str(()) == "[]"
    assert D.evaluate_shape((N + 5, 2, 2 * T), {"N": 3, "T": 4}) == (8, 2, 8)


def test_evaluate_needs_every_name():
    with pytest.raises(KeyError):
        D.evaluate(N + T, {"N": 1})
    assert D.evaluate(7, {}) == 7


def test_unknown_dims_are_fresh_and_print_as_question_marks():
    a, b = Dim.unknown(), Dim.unknown()
    assert a != b and D.equal(a, a) and not D.equal(a, b)
    assert D.dim_str(a) == "?"
    assert D.dim_str(a + 1) == "? + 1"


def test_is_const_and_symbols():
    assert D.is_const(3) and not D.is_const(N)
    assert (N * T + C).symbols == {"N", "T", "C"}


# ------------------------------------------------------ hypothesis: evaluation is a homomorphism
NAMES = ("N", "T", "C")
coeffs = st.integers(-6, 6)


@st.composite
def polys(draw, max_terms=4):
    """A random polynomial of degree <= 2 over N, T, C (an int when it comes out constant)."""
    out: int | Dim = draw(coeffs)
    for _ in range(draw(st.integers(0, max_terms))):
        mono: int | Dim = draw(coeffs)
        for _ in range(draw(st.integers(1, 2))):
            mono = mono * Dim.sym(draw(st.sampled_from(NAMES)))
        out = out + mono
    return out


envs = st.fixed_dictionaries({n: st.integers(-20, 20) for n in NAMES})


@settings(max_examples=300, deadline=None)
@given(polys(), polys(), envs)
def test_arithmetic_commutes_with_evaluation(a, b, env):
    ev = lambda d: D.evaluate(d, env)  # noqa: E731
    assert ev(a + b) == ev(a) + ev(b)
    assert ev(a - b) == ev(a) - ev(b)
    assert ev(a * b) == ev(a) * ev(b)
    assert ev(-a) == -ev(a)
    if D.equal(a, b):
        assert ev(a) == ev(b)
    if D.differ(a, b):
        assert ev(a) != ev(b)


@settings(max_examples=300, deadline=None)
@given(polys(), st.integers(1, 9), envs)
def test_floor_division_by_constants_commutes_with_evaluation(a, k, env):
    assert D.evaluate(a // k, env) == D.evaluate(a, env) // k
    q = D.divide_exact(a, k)
    if q is not None:
        assert D.evaluate(q, env) * k == D.evaluate(a, env)


@settings(max_examples=300, deadline=None)
@given(polys(), polys(max_terms=1), envs)
def test_exact_division_is_exact(a, b, env):
    q = D.divide_exact(a * b, b) if not D.equal(b, 0) else None
    if q is not None:
        assert D.evaluate(q, env) * D.evaluate(b, env) == D.evaluate(a * b, env)


@settings(max_examples=200, deadline=None)
@given(polys(), polys())
def test_equality_is_symmetric_and_printing_is_a_function_of_the_value(a, b):
    assert (a == b) == (b == a) == D.equal(a, b)
    if a == b:
        assert D.dim_str(a) == D.dim_str(b)


def test_a_floor_division_atom_is_bracketed_where_it_is_not_alone():
    # `2*(N - 1)//2` read as (2*(N - 1))//2; the dim is 2*((N - 1)//2)
    import tensorlang as tl
    g = tl.compile("graph g {\n    placeholder x: f32[N]\n    b = x[1:][::2]\n"
                   "    c = concat([b, b], axis = 0)\n    d = x[::2]\n}\n").graphs["g"]
    assert str(g.node("c").type) == "f32[2*((N)//2)]"
    assert str(g.node("d").type) == "f32[(N + 1)//2]"  # alone: as it was
