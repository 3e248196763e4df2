"""ir/printing.py: deterministic names, one line per node, the whole graph, parameter counts by
kind and the outputs, against hand-written text."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.ir import dims as D
from tensorlang.ir.graph import Builder
from tensorlang.ir.printing import (
    Namer,
    format_attr,
    format_graph,
    format_init,
    format_node,
    outputs,
    param_count,
    variable_kind,
)
from tensorlang.ir.types import TensorType
from tensorlang.source import Span

TEXT = "graph g {\n    placeholder x: f32[N, 2]\n    h = Dense(x, 3)\n    s = sum(h)\n}\n"
N = D.Dim.sym("N")


def at(line: int, file: str = "m.tl") -> Span:
    return Span(file, line, 5, line, 6, TEXT)


def variable(b, name, shape, init, trainable=True, line=3):
    node = b.add("variable", (), {"init": init, "trainable": trainable},
                 type=TensorType("f32", shape), name=name, span=at(line))
    return b.bind(name, node, at(line))


def dense_graph():
    """x -> a layer instance h (h.W, a frozen h.b) -> s = sum(h), and one gradient node."""
    b = Builder("g")
    b.graph_span = Span("m.tl", 1, 1, 5, 2, TEXT)
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f32", (N, 2)), name="x",
              span=at(2))
    x = b.bind("x", x, at(2))
    b.scope = "h"
    w = variable(b, "h.W", (2, 3), ("normal", (("mean", 0.0), ("std", 0.5))))
    k = variable(b, "h.b", (3,), ("literal", np.array([1.0, 2.0, 3.0])), trainable=False)
    h = b.add("add", (b.add("matmul", (x, w), span=at(3)), k), span=at(3))
    h = b.bind("h", h, at(3))
    b.layers["h"] = ("Dense", h.id)
    b.scope = ""
    s = b.bind("s", b.add("sum", (h,), {"axis": (0, 1), "keepdims": False}, span=at(4)), at(4))
    b.scope = "grad"
    b.add("broadcast_to", (s,), {"shape": (N, 3)})  # no place: a gradient node without a span
    return b.finish()


GRAPH_TEXT = """\
graph g {
    x: f32[N, 2] = placeholder                                    # line 2
    h.W: f32[2, 3] = variable normal(mean = 0.0, std = 0.5)       # line 3 [h]
    h.b: f32[3] = variable [1., 2., 3.] frozen                    # line 3 [h]
    %0: f32[N, 3] = matmul x h.W                                  # line 3 [h]
    h: f32[N, 3] = add %0 h.b                                     # line 3 [h]
    s: f32[] = sum h axis=[0, 1] keepdims=false                   # line 4
    %1: f32[N, 3] = broadcast_to s shape=[N, 3]                   # [grad]
}"""

def test_format_graph():
    g = dense_graph()
    assert format_graph(g) == GRAPH_TEXT
    assert str(g) == GRAPH_TEXT


def test_format_graph_without_the_backward_nodes_or_over_some_nodes():
    g = dense_graph()
    lines = GRAPH_TEXT.splitlines()
    assert format_graph(g, backward=False) == "\n".join(lines[:-2] + lines[-1:])
    assert format_graph(g, nodes=g.nodes[:1]) == "\n".join([lines[0], lines[1], lines[-1]])


def test_namer_uses_user_names_then_numbers_in_graph_order():
    g = dense_graph()
    name = Namer(g)
    assert [name(n) for n in g.nodes] == ["x", "h.W", "h.b", "%0", "h", "s", "%1"]
    stranger = Builder("other").constant(1.0)
    assert name(stranger) == f"%?{stranger.id}"


def test_namer_takes_the_first_name_a_graph_gives_an_unnamed_node():
    b = Builder("g")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f32", (2,)), name="x")
    b.bind("x", x, x.span)
    y = b.op("neg", x)
    b.op("tanh", x)  # y is no longer the newest node: binding keeps it unnamed
    b.bind("first", y, x.span)
    b.bind("second", y, x.span)
    g = b.finish()
    assert y.name is None and Namer(g)(y) == "first"
    assert Namer(g)(g.nodes[2]) == "%0"


def test_format_node_says_where_the_node_came_from():
    g = dense_graph()
    name, h = Namer(g), g.node("h")
    head = "h: f32[N, 3] = add %0 h.b"
    assert format_node(h, name, "m.tl") == f"{head:<60}  # line 3 [h]"
    assert format_node(h, name, "other.tl") == f"{head:<60}  # m.tl:3 [h]"
    assert format_node(h, name) == f"{head:<60}  # m.tl:3 [h]"
    b = Builder("g")
    c = b.constant([1, 2], "i32")
    assert format_node(c, Namer(b.finish())) == "%0: i32[2] = constant [1, 2]"


def test_format_node_of_sources():
    b = Builder("g")
    x = b.add("placeholder", (), {"default": np.array([[0.5, 1.0]])},
              type=TensorType("f64", (N, 2)), name="x")
    v = b.add("variable", (), {"init": ("zeros", ())}, type=TensorType("f32", ()), name="v")
    name = Namer(b.finish())
    assert format_node(x, name) == "x: f64[N, 2] = placeholder = [[0.5, 1. ]]"
    assert format_node(v, name) == "v: f32[] = variable zeros()"


@pytest.mark.parametrize("value, text", [
    (True, "true"), (False, "false"), (None, "none"), (3, "3"), (0.1, "0.1"), (1.0, "1.0"),
    ("same", '"same"'), ((1, (2, 3)), "[1, [2, 3]]"), ((), "[]"),
    (N, "N"), (N + 1, "N + 1"), ((N, 2), "[N, 2]"),
    (np.array([1, 2, 3]), "[1, 2, 3]"), (np.array(2.5), "2.5"),
    (np.arange(9.0).reshape(3, 3), "<float64[3, 3]>"),
])
def test_format_attr(value, text):
    assert format_attr(value) == text


def test_format_init():
    assert format_init(("glorot_uniform", ())) == "glorot_uniform()"
    assert format_init(("normal", (("mean", 0.0), ("std", 0.1)))) == \
        "normal(mean = 0.0, std = 0.1)"
    assert format_init(("literal", [[1, 2], [3, 4]])) == "[[1, 2], [3, 4]]"


def test_param_count_by_scope_and_trainability():
    g = dense_graph()
    assert param_count(g) == 9
    assert param_count(g, "h") == 9 and param_count(g, "x") == 0
    assert param_count(g, trainable=True) == 6 and param_count(g, trainable=False) == 3
    assert param_count(g, "h", trainable=False) == 3


def test_outputs_are_named_values_no_forward_node_uses():
    g = dense_graph()
    assert [n.name for n in outputs(g)] == ["s"]  # a gradient node reading s does not count


def test_variable_kinds():
    g = dense_graph()
    assert variable_kind(g.node("h.W")) == "trainable" and variable_kind(g.node("h.b")) == "frozen"
    b = Builder("g")
    s = b.add("variable", (), {"init": ("zeros", ()), "trainable": False, "state": True},
              type=TensorType("f32", (4,)), name="s")
    assert variable_kind(s) == "state"
    assert format_node(s, Namer(b.finish())) == "s: f32[4] = variable zeros() state"
    assert param_count(g, kind="trainable") == 6 and param_count(g, kind="frozen") == 3
    assert param_count(g, kind="state") == 0
