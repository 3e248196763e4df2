"""Tests generated from the op registry: for every op and each of its cases, the shape rule
agrees with the reference's result, the kernel agrees with an independent NumPy formulation in
f64 and f32 (keeping the dtype), and the gradient rule agrees with central finite differences."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from tensorlang.ir.types import np_dtype
from tensorlang.ops import REGISTRY
from tensorlang.runtime.session import Session

from ..opgraph import check_gradient, one_op
from .references import REFERENCES

PUBLIC = sorted(n for n, op in REGISTRY.items() if not op.internal)
WITH_CASES = sorted(n for n, op in REGISTRY.items() if op.cases is not None)


def _cases(name):
    return REGISTRY[name].cases(np.random.default_rng(zlib.crc32(name.encode())))


def _params(float_inputs_only: bool = False):
    for name in WITH_CASES:
        for i, (arrays, _) in enumerate(_cases(name)):
            if float_inputs_only and not any(a.dtype == np.float64 for a in arrays):
                continue  # nothing to keep in f32 or to differentiate (one_hot, argsort of ints)
            yield pytest.param(name, i, id=f"{name}-{i}")


def test_every_public_op_has_cases_and_a_reference():
    missing = [n for n in PUBLIC if n not in REFERENCES or REGISTRY[n].cases is None]
    assert not missing, f"ops without cases or reference: {missing}"


def test_every_op_has_a_doc_and_a_kernel():
    for name, op in REGISTRY.items():
        assert op.doc, name
        if op.family != "source":
            assert (op.kernel is None) == (op.expand is not None), name


def _run(name, arrays, attrs):
    """(node, value) of op `name` on the arrays: its kernel, or for an op made of other ops
    (`expand`) the nodes it expands to, run by a session."""
    b, phs, node = one_op(name, arrays, attrs)
    op = REGISTRY[name]
    if op.kernel is not None:
        return node, op.kernel(*arrays, **dict(node.attrs))
    feed = {p.name: a for p, a in zip(phs, arrays)}
    return node, Session(b.finish()).run(node, feed)


@pytest.mark.parametrize("name,i", list(_params()))
def test_shape_rule_and_kernel_agree_with_reference(name, i):
    arrays, attrs = _cases(name)[i]
    if name not in REFERENCES:
        pytest.skip(f"no reference for {name}")
    expected = np.asarray(REFERENCES[name](*[a.copy() for a in arrays], **attrs))
    node, got = _run(name, arrays, attrs)
    assert tuple(node.type.shape) == expected.shape, "shape rule disagrees with the reference"
    assert got.shape == expected.shape
    assert got.dtype == np_dtype(node.dtype), f"kernel gives {got.dtype}, rule says {node.dtype}"
    np.testing.assert_allclose(np.asarray(got, np.float64), expected.astype(np.float64),
                               rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name,i", list(_params(float_inputs_only=True)))
def test_kernel_keeps_f32(name, i):
    arrays, attrs = _cases(name)[i]
    arrays32 = [a.astype(np.float32) if a.dtype == np.float64 else a for a in arrays]
    with np.errstate(over="raise", invalid="raise"):
        node, got = _run(name, arrays32, attrs)
    assert got.dtype == np_dtype(node.dtype)
    assert tuple(node.type.shape) == got.shape
    if name in REFERENCES:
        expected = np.asarray(REFERENCES[name](*arrays, **attrs), np.float64)
        np.testing.assert_allclose(got.astype(np.float64), expected, rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("name,i", [p for p in _params(float_inputs_only=True)
                                    if REGISTRY[p.values[0]].differentiable
                                    and REGISTRY[p.values[0]].grad is not None])
def test_gradient_matches_finite_differences(name, i):
    arrays, attrs = _cases(name)[i]
    if one_op(name, arrays, attrs)[2].dtype != "f64":
        pytest.skip("the output is not f64: finite differences would measure rounding")
    for input_name, abs_err, rel_err in check_gradient(name, arrays, attrs):
        assert rel_err < 1e-5, f"{name} d/d{input_name}: abs {abs_err:.3g}, rel {rel_err:.3g}"


def _layouts(a: np.ndarray) -> dict[str, np.ndarray]:
    """The same values in other memory layouts: Fortran order, and a transposed view (the
    transpose of a C copy of the transpose), which is what transpose and .T hand a kernel."""
    if a.ndim < 2:
        return {}
    return {"fortran": np.asfortranarray(a), "view": np.ascontiguousarray(a.T).T}


@pytest.mark.parametrize("layout", ["fortran", "view"])
@pytest.mark.parametrize("name,i", list(_params()))
def test_kernels_are_right_on_non_contiguous_inputs(name, i, layout):
    # the fused softmax_cross_entropy gradient updated a copy of F-ordered logits: every kernel
    # must give the same values whatever the layout of its inputs
    arrays, attrs = _cases(name)[i]
    if not any(a.ndim >= 2 for a in arrays):
        pytest.skip("no input of rank 2 or more")
    _, want = _run(name, [a.copy() for a in arrays], attrs)
    other = [_layouts(a).get(layout, a) for a in arrays]
    assert all(np.array_equal(a, b) for a, b in zip(arrays, other))
    _, got = _run(name, other, attrs)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64),
                               rtol=1e-10, atol=1e-12)
