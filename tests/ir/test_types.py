"""Dtypes and tensor types: NumPy promotion for tensor operands (against np.result_type), weakly
typed number literals, comparisons, reductions of bool and true division, checked both by the
compiler's inferred types and by the dtypes of the arrays the executor actually produces."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import OpError, ShapeError
from tensorlang.ir import dims as D
from tensorlang.ir.types import (
    DTYPES,
    NUMPY,
    TensorType,
    broadcast_shapes,
    from_numpy,
    normalize_axes,
    normalize_axis,
    np_dtype,
    promote,
)

N, T = D.Dim.sym("N"), D.Dim.sym("T")
PAIRS = list(itertools.product(DTYPES, DTYPES))


def run(src: str, fetch: str, feed: dict):
    """Compile a one-graph program, check the inferred type against the value the executor
    computes, and return (node, value)."""
    g = tl.compile(src, "t.tl").graphs["g"]
    g.verify()
    node = g.node(fetch)
    value = tl.Session(g, seed=0).run([fetch], feed=feed)[0]
    assert value.dtype == np_dtype(node.dtype), (node.type, value.dtype)
    assert value.shape == tuple(D.evaluate_shape(node.type.shape, {"N": len(next(
        iter(feed.values())))} if feed else {}))
    return node, value


def sample(dtype: str, shape=(3,)) -> np.ndarray:
    """Small positive values of a dtype (so integer division and powers stay in range)."""
    if dtype == "bool":
        return np.array([True, False, True][:shape[0]])
    return (np.arange(1, shape[0] + 1) % 5 + 1).astype(np_dtype(dtype))


# ------------------------------------------------------------------ promotion of tensor operands
@pytest.mark.parametrize("a, b", PAIRS)
def test_promotion_of_two_tensors_is_numpys(a, b):
    want = from_numpy(np.result_type(NUMPY[a], NUMPY[b]))
    assert promote(TensorType(a, ()), TensorType(b, ())) == want
    assert promote(TensorType(b, ()), TensorType(a, ())) == want


@pytest.mark.parametrize("a, b", [p for p in PAIRS if p != ("bool", "bool")])
def test_compiled_addition_has_numpys_dtype(a, b):
    src = f"graph g {{\n placeholder a: {a}[N]\n placeholder b: {b}[N]\n c = a + b\n}}"
    node, value = run(src, "c", {"a": sample(a), "b": sample(b)})
    assert node.dtype == from_numpy(np.result_type(NUMPY[a], NUMPY[b]))
    np.testing.assert_array_equal(value, sample(a) + sample(b))


def test_arithmetic_on_two_bools_is_an_error():
    with pytest.raises(ShapeError, match="arithmetic on bool"):
        tl.compile("graph g {\n placeholder a: bool[N]\n c = a * a\n}")


# ------------------------------------------------------------------ weakly typed literals
@pytest.mark.parametrize("dtype", [d for d in DTYPES if d != "bool"])
def test_an_int_literal_takes_the_tensor_dtype(dtype):
    for expr in ("x * 2", "2 * x", "x + 1", "x - 1", "maximum(x, 2)"):
        node, value = run(f"graph g {{\n placeholder x: {dtype}[N]\n y = {expr}\n}}", "y",
                          {"x": sample(dtype)})
        assert node.dtype == dtype, expr


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_float_literal_keeps_floats_and_makes_integers_f32(dtype):
    want = dtype if dtype in ("f16", "f32", "f64") else "f32"
    for expr in ("x * 2.5", "2.5 * x", "x + 0.5", "x - 0.5"):
        if dtype == "bool":
            continue
        node, value = run(f"graph g {{\n placeholder x: {dtype}[N]\n y = {expr}\n}}", "y",
                          {"x": sample(dtype)})
        assert node.dtype == want, expr
    if dtype in ("i32", "i64", "u8"):
        node, value = run(f"graph g {{\n placeholder x: {dtype}[N]\n y = x * 2.5\n}}", "y",
                          {"x": sample(dtype)})
        np.testing.assert_allclose(value, sample(dtype).astype(np.float64) * 2.5)


def test_literal_lists_are_weak_too():
    node, value = run("graph g {\n placeholder x: f16[N, 2]\n y = x * [0.5, 2]\n}", "y",
                      {"x": np.ones((3, 2), np.float16)})
    assert node.dtype == "f16"
    np.testing.assert_array_equal(value, [[0.5, 2]] * 3)


def test_literals_alone_have_their_own_dtype():
    g = tl.compile("graph g {\n a = [1, 2] + 1\n b = [1.5] * 2\n c = 2 * [1, 2.5]\n}").graphs["g"]
    assert g.node("a").dtype == "i64" and g.node("b").dtype == "f32"
    assert g.node("c").dtype == "f32"
    value = tl.Session(g).run(["a", "b", "c"], feed={})
    assert [v.dtype for v in value] == [np.int64, np.float32, np.float32]
    np.testing.assert_array_equal(value[2], [2, 5])


def test_a_named_constant_is_strongly_typed():
    # tensor-tensor promotion, as NumPy: i32 with a declared f32 constant is f64
    g = tl.compile("graph g {\n placeholder x: i32[N]\n constant c: f32[] = 2.5\n"
                   " y = x * c\n}").graphs["g"]
    assert g.node("y").dtype == "f64"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_comparisons_give_bool(dtype, op):
    if dtype == "bool" and op not in ("==", "!="):
        return
    src = f"graph g {{\n placeholder x: {dtype}[N]\n y = x {op} 1\n z = x {op} x\n}}"
    node, value = run(src, "y", {"x": sample(dtype)})
    assert node.dtype == "bool"
    ref = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
           ">": np.greater, ">=": np.greater_equal}[op]
    np.testing.assert_array_equal(value, ref(sample(dtype), 1))


def test_mean_and_sum_of_bool():
    src = "graph g {\n placeholder x: f32[N]\n m = mean(x > 0)\n s = sum(x > 0)\n}"
    x = np.array([1, -1, 2, 3], np.float32)
    node, value = run(src, "m", {"x": x})
    assert node.dtype == "f32" and value == pytest.approx(0.75)
    node, value = run(src, "s", {"x": x})
    assert node.dtype == "i64" and value == 3


@pytest.mark.parametrize("dtype", ["i32", "i64", "u8"])
def test_true_division_of_integers_gives_f32(dtype):
    src = f"graph g {{\n placeholder x: {dtype}[N]\n a = x / 2\n b = x / x\n c = 1 / x\n}}"
    x = sample(dtype)
    for name, ref in (("a", x / 2), ("b", x / x), ("c", 1 / x)):
        node, value = run(src, name, {"x": x})
        assert node.dtype == "f32"
        np.testing.assert_allclose(value, ref, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["f16", "f64"])
def test_division_keeps_float_dtypes(dtype):
    node, _ = run(f"graph g {{\n placeholder x: {dtype}[N]\n a = x / 2\n}}", "a",
                  {"x": sample(dtype)})
    assert node.dtype == dtype


def test_where_takes_the_branches_dtype():
    src = "graph g {\n placeholder x: i32[N]\n y = where(x > 1, x, 0)\n z = where(x > 1, x, 0.5)\n}"
    node, value = run(src, "y", {"x": np.array([1, 2, 3], np.int32)})
    assert node.dtype == "i32"
    np.testing.assert_array_equal(value, [0, 2, 3])
    node, value = run(src, "z", {"x": np.array([1, 2, 3], np.int32)})
    assert node.dtype == "f32"
    np.testing.assert_array_equal(value, [0.5, 2, 3])


# ------------------------------------------------------------------ the type record itself
def test_tensor_type_basics():
    t = TensorType("f32", (N, 28, 28))
    assert str(t) == "f32[N, 28, 28]" and t.rank == 3 and t.volume == 784 * N
    assert str(TensorType("bool", ())) == "bool[]"
    assert t.with_dtype("i32") == TensorType("i32", (N, 28, 28))
    assert t.with_shape([2]).shape == (2,)
    assert TensorType("f32", (), weak=True).with_dtype("f64").weak is False


@pytest.mark.parametrize("name", DTYPES)
def test_numpy_round_trip(name):
    assert from_numpy(np_dtype(name)) == name


def test_from_numpy_maps_other_dtypes_to_wide_ones():
    assert from_numpy(np.int16) == "i64" and from_numpy(np.uint32) == "i64"
    with pytest.raises(OpError):
        from_numpy(np.dtype("U3"))


def test_broadcasting_of_symbolic_shapes():
    assert broadcast_shapes((N, 1), (1, 4)) == (N, 4)
    assert broadcast_shapes((N, 4), (4,)) == (N, 4)
    assert broadcast_shapes((), (N,)) == (N,)
    assert broadcast_shapes((N + 1, T), (1 + N, 1)) == (N + 1, T)
    assert broadcast_shapes((2, 1, 3), (5, 1)) == (2, 5, 3)
    with pytest.raises(OpError, match="dims 3 and 4 do not broadcast"):
        broadcast_shapes((N, 3), (N, 4))
    with pytest.raises(OpError, match="dims N and T"):
        broadcast_shapes((N,), (T,))  # not provably equal


def test_axes():
    assert normalize_axis(-1, 3) == 2 and normalize_axis(0, 1) == 0
    with pytest.raises(OpError, match="out of range"):
        normalize_axis(3, 3)
    with pytest.raises(OpError, match="out of range"):
        normalize_axis(0, 0)  # like NumPy: a scalar has no axis 0
    assert normalize_axes(None, 3) == (0, 1, 2)
    assert normalize_axes((-1, 0), 3) == (0, 2)
    with pytest.raises(OpError, match="repeated"):
        normalize_axes((1, -2), 3)
