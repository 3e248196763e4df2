"""ops/sources.py: placeholder, variable and constant, the ops values enter a graph by: internal,
without kernels, typed when made (their shape rule refuses to guess)."""

from __future__ import annotations

import pytest

from tensorlang.errors import OpError, ShapeError
from tensorlang.ir.graph import Builder
from tensorlang.ir.opdef import REQUIRED, Param
from tensorlang.ir.types import TensorType
from tensorlang.ops import REGISTRY

SOURCES = ("placeholder", "variable", "constant")


@pytest.mark.parametrize("op", SOURCES)
def test_a_source_is_internal_has_no_kernel_and_is_typed_when_made(op):
    rec = REGISTRY[op]
    assert rec.is_source and rec.internal and rec.kernel is None and rec.grad is None
    assert rec.tensor_params == ()
    with pytest.raises(OpError, match="a source node's type is given when it is made"):
        rec.infer(())


def test_their_attributes():
    assert REGISTRY["placeholder"].params == (Param("default", "any", None),)
    assert REGISTRY["variable"].params == (Param("init", "any", REQUIRED),
                                           Param("trainable", "bool", True))
    assert REGISTRY["constant"].params == (Param("value", "any", REQUIRED),)


def test_only_variables_carry_gradients():
    # a gradient with respect to a variable is what training asks for; placeholders and
    # constants are data
    assert REGISTRY["variable"].differentiable
    assert not REGISTRY["placeholder"].differentiable
    assert not REGISTRY["constant"].differentiable


def test_the_builder_makes_them_with_the_type_it_is_given():
    b = Builder("g")
    t = TensorType("f64", (3, 2))
    for op, attrs in (("placeholder", {"default": None}),
                      ("variable", {"init": ("zeros", ()), "trainable": True})):
        node = b.add(op, (), attrs, type=t, name=op)
        assert node.type is t and node.is_source and node.is_input
    with pytest.raises(ShapeError, match="a source node's type is given when it is made"):
        b.add("placeholder", (), {"default": None})
