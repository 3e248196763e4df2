"""ops/creation.py: zeros ones full eye arange zeros_like ones_like: values against literal
arrays, dtypes, symbolic sizes made concrete at run time, and the checks on sizes and dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import OpError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY
from tensorlang.runtime.session import Session

N = D.Dim.sym("N")
CREATION = ("zeros", "ones", "full", "eye", "arange", "zeros_like", "ones_like")


def k(op, *arrays, **attrs):
    return REGISTRY[op].kernel(*arrays, **attrs)


def test_kernels_against_literal_arrays():
    z = k("zeros", (2, 3))
    assert z.dtype == np.float32 and z.tolist() == [[0, 0, 0], [0, 0, 0]]
    o = k("ones", (3,), "i32")
    assert o.dtype == np.int32 and o.tolist() == [1, 1, 1]
    f = k("full", (2, 2), 2.5, "f64")
    assert f.dtype == np.float64 and f.tolist() == [[2.5, 2.5], [2.5, 2.5]]
    assert k("eye", 3).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    a = k("arange", 4)
    assert a.dtype == np.int64 and a.tolist() == [0, 1, 2, 3]
    assert k("arange", 3, "f32").tolist() == [0.0, 1.0, 2.0]
    assert k("zeros", ()).shape == ()


def test_like_ops_keep_dtype_and_shape():
    x = np.array([[1.5, -2.0]], np.float16)
    for op, v in (("zeros_like", 0), ("ones_like", 1)):
        got = k(op, x)
        assert got.dtype == np.float16 and got.shape == (1, 2) and (got == v).all()


def test_shape_rules_and_canonical_attributes():
    z = REGISTRY["zeros"]
    attrs = z.prepare([], shape=[2, N])
    assert attrs == {"shape": (2, N), "dtype": "f32"}
    assert z.infer([], **attrs) == TensorType("f32", (2, N))
    assert REGISTRY["full"].prepare([], shape=[3], value=1.5, dtype="i32") == \
        {"shape": (3,), "dtype": "i32", "value": 1.5}
    assert REGISTRY["eye"].infer([], n=N) == TensorType("f32", (N, N))
    assert REGISTRY["arange"].infer([], n=5) == TensorType("i64", (5,))
    assert REGISTRY["ones_like"].infer([TensorType("u8", (N, 2), weak=True)]) == \
        TensorType("u8", (N, 2))  # a strong result even of a weak input


@pytest.mark.parametrize("op, attrs, message", [
    ("zeros", {"shape": (True,)}, "a dim must be an int or a dim, not True"),
    ("zeros", {"shape": (2.0,)}, "a dim must be an int or a dim, not 2.0"),
    ("ones", {"shape": (-1,)}, r"a dim cannot be negative \(-1\)"),
    ("zeros", {"shape": (2,), "dtype": "f8"}, 'unknown dtype "f8"'),
    ("eye", {"n": -2}, r"a size cannot be negative \(-2\)"),
    ("arange", {"n": 1.5}, "a size must be an int or a dim, not 1.5"),
])
def test_bad_sizes_and_dtypes(op, attrs, message):
    with pytest.raises(OpError, match=message):
        rec = REGISTRY[op]
        rec.infer([], **(rec.prepare([], **attrs) if rec.prepare else attrs))


def test_symbolic_sizes_are_made_concrete_when_the_graph_runs():
    b = Builder("g")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f32", (N, 2)), name="x")
    b.bind("x", x, x.span)
    z = b.op("zeros", shape=(N, 3))
    r = b.op("arange", n=N)
    e = b.op("eye", n=N, dtype="f64")
    got_z, got_r, got_e = Session(b.finish()).run([z, r, e], {"x": np.ones((4, 2))})
    assert got_z.shape == (4, 3) and got_r.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(got_e, np.identity(4))


def test_creation_ops_carry_no_gradient():
    for op in CREATION:
        rec = REGISTRY[op]
        assert rec.family == "creation" and not rec.differentiable and rec.grad is None
