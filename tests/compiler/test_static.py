"""compiler/static.py: compile-time values: what counts as one, how messages describe them,
their arithmetic (numbers, dims, strings), the conversions op attributes need, and evaluate()
over literals and lets."""

from __future__ import annotations

import pytest

from tensorlang.compiler import static as C
from tensorlang.errors import ProgramError
from tensorlang.frontend import syntax as S
from tensorlang.frontend.parser import parse
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.source import Span

AT = Span("m.tl", 4, 9, 4, 12)
N = D.Dim.sym("N")
RELU = C.Func("relu", AT)


def test_is_static():
    for v in (1, 2.5, True, "s", N, RELU, None, (1, (N, "a")), ()):
        assert C.is_static(v), v
    node = Builder("g").constant(1.0)
    assert not C.is_static(node) and not C.is_static((1, node))


@pytest.mark.parametrize("value, text", [
    (True, "the bool true"), (False, "the bool false"), (3, "the number 3"),
    (0.5, "the number 0.5"), ("a", 'the string "a"'), (N, "the dim N"),
    (RELU, "the function relu"), ((1, 2), "a list"), (None, "nothing"),
])
def test_describe(value, text):
    assert C.describe(value) == text


def test_describe_a_tensor():
    node = Builder("g").constant([1.0, 2.0], "f32", name="c")
    assert C.describe(node) == "the tensor c (f32[2])"


@pytest.mark.parametrize("a, op, b, want", [
    (7, "+", 2, 9), (7, "-", 2, 5), (7, "*", 2, 14), (7, "//", 2, 3), (7, "/", 2, 3.5),
    (7, "%", 2, 1), (2, "**", 10, 1024), (1.5, "*", 2, 3.0), (3, "<", 4, True),
    (3, ">=", 4, False), ("ab", "+", "cd", "abcd"), ("a", "==", "a", True),
    (True, "!=", False, True), (N, "+", 1, N + 1), (2, "*", N, 2 * N), (N, "-", N, 0),
])
def test_binary(a, op, b, want):
    assert C.binary(op, a, b, AT) == want


@pytest.mark.parametrize("a, op, b, words", [
    (N, "*", 1.5, "the dim N * the number 1.5"), (N, "/", 2, "the dim N / the number 2"),
    (N, "<", 3, "the dim N < the number 3"), ("a", "-", "b", 'the string "a" - the string "b"'),
    (True, "+", 1, "the bool true + the number 1"), ("a", "<", "b", 'the string "a" <'),
])
def test_binary_that_is_undefined_is_a_located_error(a, op, b, words):
    with pytest.raises(ProgramError) as info:
        C.binary(op, a, b, AT)
    assert info.value.message.startswith(f"cannot compute {words}") and info.value.span == AT


@pytest.mark.parametrize("op", ["/", "//", "%"])
def test_division_by_zero(op):
    with pytest.raises(ProgramError, match=rf"division by zero in a compile-time expression "
                                           rf"\({op}\)"):
        C.binary(op, 1, 0, AT)


def test_conversions_accept_their_kind():
    assert C.to_int(3, AT, "n") == 3
    assert C.to_number(2.5, AT, "x") == 2.5 and C.to_number(2, AT, "x") == 2
    assert C.to_float(2, AT, "x") == 2.0 and isinstance(C.to_float(2, AT, "x"), float)
    assert C.to_bool(False, AT, "b") is False
    assert C.to_str("s", AT, "s") == "s"
    assert C.to_axes(None, AT, "a") is None and C.to_axes(1, AT, "a") == 1
    assert C.to_axes((0, 2), AT, "a") == (0, 2)
    assert C.to_shape(4, AT, "s") == (4,) and C.to_shape((N, -1), AT, "s") == (N, -1)
    assert C.to_dtype("i32", AT, "d") == "i32"


@pytest.mark.parametrize("fn, value, words", [
    (C.to_int, True, "n must be an integer, not the bool true"),
    (C.to_int, 2.0, "n must be an integer, not the number 2.0"),
    (C.to_number, "1", 'n must be a number, not the string "1"'),
    (C.to_number, False, "n must be a number, not the bool false"),
    (C.to_bool, 1, "n must be true or false, not the number 1"),
    (C.to_str, 1, "n must be a string, not the number 1"),
    (C.to_axes, (0, True), "n must be an axis or a list of axes, not a list"),
    (C.to_axes, 1.0, "n must be an axis or a list of axes"),
    (C.to_shape, (2, 2.5), "n must be a list of dims like [N, 784], not a list"),
    (C.to_shape, True, "n must be a list of dims"),
    (C.to_dtype, "f8", "n must be a dtype (f16, f32, f64, i32, i64, u8, bool), not the string"),
])
def test_conversions_refuse_other_kinds(fn, value, words):
    with pytest.raises(ProgramError) as info:
        fn(value, AT, "n")
    assert info.value.message.startswith(words) and info.value.span == AT


def test_the_conversion_table_covers_every_attribute_kind():
    from tensorlang.ir.opdef import ATTR_KINDS
    assert set(C.CONVERT) == set(ATTR_KINDS)
    assert C.CONVERT["axis"](None, AT, "a") is None and C.CONVERT["axis"](2, AT, "a") == 2
    assert C.CONVERT["any"](RELU, AT, "a") is RELU


def test_dtype_name():
    assert C.dtype_name(S.Name("f64")) == "f64" and C.dtype_name(S.String("u8")) == "u8"
    assert C.dtype_name(S.Name("x")) is None and C.dtype_name(S.Number(1)) is None


def value_of(text: str, lets=None):
    """evaluate() of the expression of `let v = TEXT`."""
    (item,) = parse(f"let v = {text}\n").items
    return C.evaluate(item.value, lets or {})


def test_evaluate_literals_lets_and_arithmetic():
    assert value_of("1 + 2 * 3") == 7
    assert value_of("-n + 1", {"n": 4}) == -3 and value_of("+n", {"n": 4}) == 4
    assert value_of('"a" + "b"') == "ab" and value_of("true") is True
    assert value_of("[1, [2, n]]", {"n": 5}) == (1, (2, 5))
    assert value_of("2 ** -1") == 0.5 and value_of("h // 2", {"h": N}) == D.floordiv(N, 2)


def test_evaluate_names_only_lets():
    with pytest.raises(ProgramError) as info:
        value_of("hiden * 2", {"hidden": 4})
    assert info.value.message == '"hiden" is not a let constant'
    assert info.value.hint == 'did you mean "hidden"?' and info.value.span.column == 9
    with pytest.raises(ProgramError, match="expected a compile-time value"):
        value_of("f(1)")


def test_a_power_that_overflows_is_a_located_error():
    with pytest.raises(ProgramError) as info:
        C.binary("**", 10.0, 400, AT)
    assert info.value.span == AT
