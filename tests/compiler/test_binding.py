"""compiler/binding.py: the one keyword binder (positional then keyword arguments, each mistake
a located ProgramError) and parameters(), a function's signature read as its table."""

from __future__ import annotations

import pytest

from tensorlang.compiler.binding import REQUIRED, bind, parameters
from tensorlang.errors import ProgramError
from tensorlang.frontend import syntax as S
from tensorlang.source import Span


def at(col):
    return Span("m.tl", 3, col, 3, col + 1)


def n(v, col=1):
    return S.Number(v, at(col))


def kw(name, v, col=1):
    return S.Keyword(name, n(v), at(col))


def test_positional_then_keyword_arguments():
    a, b = n(1), n(2)
    got = bind("f(x, y, z)", ["x", "y", "z"], [a], [S.Keyword("z", b, at(9))], at(1))
    assert got == {"x": a, "z": b} and got["x"] is a
    assert bind("f()", [], [], [], at(1)) == {}


def test_too_many_arguments_points_at_the_first_extra_one():
    with pytest.raises(ProgramError) as info:
        bind("f(x)", ["x"], [n(1, 3), n(2, 6), n(3, 9)], [], at(1))
    assert info.value.message == "f(x) takes at most 1 argument, got 3"
    assert info.value.span == at(6)
    with pytest.raises(ProgramError, match="takes at most 2 arguments, got 3"):
        bind("g", ["a", "b"], [n(1), n(2), n(3)], [], at(1))


def test_an_unknown_keyword_suggests_a_close_one_or_lists_them():
    with pytest.raises(ProgramError) as info:
        bind("sgd()", ["lr", "momentum"], [], [kw("momentun", 0.9, 5)], at(1))
    e = info.value
    assert e.message == 'sgd() has no argument "momentun"' and e.span == at(5)
    assert e.hint == 'did you mean "momentum"?'
    with pytest.raises(ProgramError) as info:
        bind("sgd()", ["lr", "momentum"], [], [kw("zzz", 1)], at(1))
    assert info.value.hint == "its arguments: lr, momentum"
    with pytest.raises(ProgramError) as info:
        bind("zeros()", [], [], [kw("x", 1)], at(1))
    assert info.value.hint == "it takes no arguments"


def test_an_argument_given_twice():
    with pytest.raises(ProgramError) as info:
        bind("f(x)", ["x"], [n(1)], [kw("x", 2, 7)], at(1))
    assert info.value.message == 'f(x) got "x" twice' and info.value.span == at(7)


def test_parameters_are_read_from_the_signature():
    def opt(b, params, grads, lr, momentum=0.0, *rest, nesterov=False, **more):
        pass
    assert parameters(opt, skip=3) == {"lr": REQUIRED, "momentum": 0.0}
    assert parameters(opt) == {"b": REQUIRED, "params": REQUIRED, "grads": REQUIRED,
                               "lr": REQUIRED, "momentum": 0.0}
    assert parameters(opt, skip=3, exclude=("momentum",)) == {"lr": REQUIRED}
    assert list(parameters(lambda rng, shape, mean=0.0, std=1.0: 0, skip=2)) == ["mean", "std"]
