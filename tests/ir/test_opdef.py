"""ir/opdef.py: signatures as the language writes them (parsed and printed back), the op record's
derived properties, memory descriptions, and the registry (defop once per name, get)."""

from __future__ import annotations

from unittest import mock

import pytest

from tensorlang.ir import opdef as O
from tensorlang.ir.opdef import FRESH, REQUIRED, VIEW, Memory, OpDef, Param, parse_signature


def test_parse_signature_kinds_and_defaults():
    params = parse_signature('x, ys: tensors, axis: axes = None, keep: bool = false, '
                             'on: bool = true, n: int = 3, eps: float = 1e-5, '
                             'dtype: dtype = "f32", how: str = none')
    assert params == (
        Param("x", "tensor"), Param("ys", "tensors"), Param("axis", "axes", None),
        Param("keep", "bool", False), Param("on", "bool", True), Param("n", "int", 3),
        Param("eps", "float", 1e-5), Param("dtype", "dtype", "f32"), Param("how", "str", None))
    assert isinstance(params[5].default, int) and isinstance(params[6].default, float)


def test_parse_signature_without_defaults_or_parameters():
    assert parse_signature("a, b") == (Param("a"), Param("b"))
    assert all(p.default is REQUIRED for p in parse_signature("a, b"))
    assert parse_signature("") == () and parse_signature(" , ") == ()


def test_an_unknown_kind_is_a_bug_in_the_op_table():
    with pytest.raises(ValueError, match="unknown parameter kind 'tensr'"):
        parse_signature("x: tensr")


def test_every_kind_is_a_tensor_or_an_attribute():
    assert Param("x").is_tensor and Param("xs", "tensors").is_tensor
    assert not any(Param("a", k).is_tensor for k in O.ATTR_KINDS)


def record(sig: str, family: str = "test", **extra) -> OpDef:
    return OpDef("f", parse_signature(sig), infer=lambda types, **a: types[0], kernel=None,
                 doc="a test op", family=family, **extra)


def test_signature_reads_like_the_language():
    assert record('x, axis: axes = None, keepdims: bool = false').signature() == \
        "f(x, axis = None, keepdims = false)"
    assert record("xs: tensors, axis: int = 0, on: bool = true").signature() == \
        "f([xs...], axis = 0, on = true)"
    assert record('shape: shape, dtype: dtype = "f32"').signature() == "f(shape, dtype = f32)"
    assert record("").signature() == "f()"


def test_derived_properties():
    op = record("x, ys: tensors, k: int = 1, axis: axes = None")
    assert [p.name for p in op.tensor_params] == ["x", "ys"]
    assert [p.name for p in op.attr_params] == ["k", "axis"]
    assert op.variadic and not record("x, y").variadic
    assert not op.is_source and record("v: any", family="source").is_source


def test_a_record_has_safe_defaults():
    op = record("x")
    assert op.grad is None and op.differentiable and op.memory is VIEW
    assert op.ids == {} and not op.preserves_values and not op.internal and not op.fused
    assert op.promote is None and op.symbol is None and op.prepare is None


def test_memory_descriptions():
    assert VIEW.views is None and not VIEW.fresh and VIEW.out is None
    assert FRESH.fresh and FRESH.out is None and not FRESH.inplace
    when = lambda node: False  # noqa: E731
    m = O.writes_into(when, inplace=True)
    assert m == Memory((), when, True) and m.fresh
    assert O.writes_into().out(object()) is True and not O.writes_into().inplace
    assert not Memory(views=(0,)).fresh


def test_an_id_bound_names_its_bound():
    b = O.IdBound(lambda node: 10, "classes of a loss")
    assert b.bound(None) == 10 and b.what == "classes of a loss"


def test_defop_registers_once_per_name():
    with mock.patch.dict(O.REGISTRY):
        op = O.defop("test_only_op", "x, k: int = 2", infer=lambda types, k: types[0],
                     kernel=lambda x, k=2: x * k, doc="x times k", family="test", symbol="~")
        assert O.REGISTRY["test_only_op"] is op and O.get("test_only_op") is op
        assert op.params == (Param("x"), Param("k", "int", 2)) and op.symbol == "~"
        with pytest.raises(ValueError, match="op 'test_only_op' is defined twice"):
            O.defop("test_only_op", "x", infer=op.infer, kernel=None, doc="", family="test")
        assert O.REGISTRY["test_only_op"] is op
    assert "test_only_op" not in O.REGISTRY


def test_redefining_a_real_op_is_refused_and_changes_nothing():
    import tensorlang.ops  # noqa: F401  (fills the registry)
    before = O.REGISTRY["add"]
    with pytest.raises(ValueError, match="defined twice"):
        O.defop("add", "a, b", infer=before.infer, kernel=before.kernel, doc="", family="x")
    assert O.get("add") is before


def test_get_of_an_unknown_op_is_a_key_error():
    with pytest.raises(KeyError):
        O.get("no_such_op")
