"""ir/graph.py: Node's properties, the Builder (the one way to make nodes: typing by the shape
rule, literals, adopting and rebuilding nodes, renaming, binding, dropping unused nodes), Graph
(lookups, with_nodes carrying every field, verify and its located VerifyError)."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang import records
from tensorlang.errors import NamingError, ShapeError, TensorlangError
from tensorlang.ir import dims as D
from tensorlang.ir.graph import SOURCE_OPS, Builder, Graph, Node, VerifyError, weak_type
from tensorlang.ir.opdef import REGISTRY
from tensorlang.ir.types import TensorType
from tensorlang.source import UNKNOWN, Span

N = D.Dim.sym("N")
TEXT = "graph g {\n    placeholder x: f32[N, 2]\n    y = x @ W + 1\n}\n"


def at(line, col=5, end=6):
    return Span("m.tl", line, col, line, end, TEXT)


def placeholder(b, name, dtype="f32", shape=(N, 2), span=None):
    node = b.add("placeholder", (), {"default": None}, type=TensorType(dtype, shape), name=name,
                 span=span or at(2))
    return b.bind(name, node, node.span)


def variable(b, name, shape, trainable=True):
    node = b.add("variable", (), {"init": ("zeros", ()), "trainable": trainable},
                 type=TensorType("f32", shape), name=name)
    return b.bind(name, node, node.span)


# ------------------------------------------------------------------ Node
def test_node_properties():
    b = Builder("g")
    x = placeholder(b, "x")
    w = variable(b, "W", (2, 3))
    y = b.add("matmul", (x, w), span=at(3, 9, 14))
    assert (y.op, y.inputs, y.dtype, y.shape, y.rank) == ("matmul", (x, w), "f32", ("N", 3), 2)
    assert y.opdef is REGISTRY["matmul"]
    assert x.is_source and x.is_input and w.is_input
    assert b.constant(1.0).is_source and not b.constant(1.0).is_input
    assert not y.is_source and not y.is_input
    assert x.id < w.id < y.id  # ids order nodes by creation


def test_nodes_compare_by_identity_and_are_frozen():
    b = Builder("g")
    a, c = b.constant(1.0), b.constant(1.0)
    assert a != c and a == a
    with pytest.raises(records.FrozenRecordError):
        a.op = "neg"


@pytest.mark.parametrize("scope, backward", [("", False), ("h", False), ("grad", True),
                                             ("grad/h", True), ("gradient_net", False)])
def test_is_backward_is_the_grad_scope(scope, backward):
    b = Builder("g")
    b.scope = scope
    assert b.constant(1.0).is_backward is backward


def test_describe_label_and_repr():
    b = Builder("g")
    x = placeholder(b, "x")
    w = variable(b, "W", (2, 3))
    expr = b.add("matmul", (x, w), span=at(3, 9, 14))  # `x @ W` on line 3
    far = b.add("tanh", (expr,), span=Span("m.tl", 3, 5, 4, 2, TEXT))  # spans two lines
    nowhere = b.add("neg", (expr,), span=UNKNOWN)
    assert x.describe() == "x" and x.label() == "x"
    assert expr.describe() == "x @ W" and expr.label() == f"%{expr.id}"
    assert far.describe() == "the tanh at line 3"
    assert nowhere.describe() == "a neg value"
    assert repr(x) == "<x = placeholder(...) : f32[N, 2]>"
    assert repr(expr) == f"<%{expr.id} = matmul(...) : f32[N, 3]>"


def test_the_source_ops():
    assert SOURCE_OPS[:3] == ("placeholder", "variable", "constant")  # is_input: the first two
    assert all(REGISTRY[op].is_source for op in SOURCE_OPS)


# ------------------------------------------------------------------ Builder.add
def test_add_types_a_node_by_its_shape_rule_at_the_current_span_and_scope():
    b = Builder("g")
    x = placeholder(b, "x")
    b.span, b.scope = at(3), "h"
    y = b.add("tanh", (x,))
    assert y.type == TensorType("f32", (N, 2)) and y.span == at(3) and y.scope == "h"
    z = b.add("tanh", (x,), span=at(4), scope="", name="z")
    assert (z.span, z.scope, z.name) == (at(4), "", "z")
    assert b.nodes == [x, y, z] and all(b.contains(n) for n in (x, y, z))


def test_add_runs_prepare_and_stores_its_attributes():
    b = Builder("g")
    x = placeholder(b, "x", shape=(N, 3, 4))
    s = b.add("sum", (x,), {"axis": -1})
    assert dict(s.attrs)["axis"] == (2,) and s.type.shape == (N, 3)
    with pytest.raises(TypeError):
        s.attrs["axis"] = 0  # attributes are read-only


def test_a_shape_rule_failure_is_a_located_shape_error_naming_both_operands():
    b = Builder("g")
    x = placeholder(b, "x")
    w = variable(b, "W", (3, 4))
    with pytest.raises(ShapeError) as info:
        b.add("matmul", (x, w), span=at(3, 9, 14))
    assert info.value.message.startswith("matmul: f32[N, 2] @ f32[3, 4]: ")
    assert info.value.span == at(3, 9, 14)
    with pytest.raises(ShapeError) as info:
        b.add("concat", (x, w), {"axis": 1})
    assert info.value.message.startswith("concat: f32[N, 2], f32[3, 4]: ")


def test_an_explicit_type_is_taken_as_given():
    b = Builder("g")
    t = TensorType("f64", (5,))
    assert b.add("placeholder", (), {"default": None}, type=t).type is t


def test_number_literals_take_the_dtype_of_the_tensor_they_meet():
    b = Builder("g")
    x = placeholder(b, "x")
    y = b.add("multiply", (x, 2))
    c = y.inputs[1]
    assert c.op == "constant" and c.type == TensorType("f32", ()) and y.dtype == "f32"
    assert c.attrs["value"].dtype == np.float32 and c.attrs["value"] == 2


def test_a_float_literal_with_an_integer_tensor_casts_the_tensor_first():
    b = Builder("g")
    i = placeholder(b, "i", "i32", (3,))
    y = b.add("multiply", (i, 2.5))
    cast, lit = y.inputs
    assert cast.op == "cast" and cast.inputs == (i,) and cast.dtype == "f32"
    assert lit.dtype == "f32" and y.type == TensorType("f32", (3,))


def test_literals_alone_stay_weak():
    b = Builder("g")
    y = b.add("add", (1, 2))
    assert y.type == TensorType("i64", (), weak=True)
    assert all(i.type.weak for i in y.inputs)


def test_one_type_object_per_distinct_type():
    b = Builder("g")
    x = placeholder(b, "x")
    assert b.add("tanh", (x,)).type is b.add("exp", (x,)).type


# ------------------------------------------------------------------ constants and op
def test_constant_is_read_only_and_typed_by_its_value():
    b = Builder("g")
    c = b.constant([[1, 2], [3, 4]])
    assert c.type == TensorType("i64", (2, 2)) and not c.attrs["value"].flags.writeable
    assert b.constant([1.5], "f16").attrs["value"].dtype == np.float16
    weak = b.constant(1.5, weak=True)
    assert weak.type == TensorType("f32", (), weak=True)
    assert weak.attrs["value"].dtype == np.float32
    assert b.constant(1.5).dtype == "f64"  # a strong Python float is f64
    named = b.constant(3, "i32", name="three", span=at(2))
    assert (named.name, named.span) == ("three", at(2))


def test_op_is_add_with_keyword_attributes():
    b = Builder("g")
    x = placeholder(b, "x")
    y = b.op("sum", x, axis=0)
    assert y.op == "sum" and y.inputs == (x,) and y.type.shape == (2,)


# ------------------------------------------------------------------ adopt, with_inputs, rename
def test_adopt_adds_a_node_once():
    src = Builder("g")
    x = placeholder(src, "x")
    y = src.add("tanh", (x,))
    b = Builder.rewriting(src.finish())
    assert b.nodes == [] and not b.contains(x)
    assert b.adopt(x) is x and b.adopt(x) is x and b.adopt(y) is y
    assert b.nodes == [x, y]


def test_with_inputs_keeps_the_node_when_its_inputs_are_the_same():
    src = Builder("g")
    x, z = placeholder(src, "x"), placeholder(src, "z")
    y = src.add("tanh", (x,), span=at(3), scope="h", name="y")
    b = Builder.rewriting(src.finish())
    b.adopt(x)
    assert b.with_inputs(y, (x,)) is y and b.nodes == [x, y]
    b.adopt(z)
    moved = b.with_inputs(y, (z,))
    assert moved is not y and moved.inputs == (z,) and moved.id > y.id
    assert (moved.op, moved.type, moved.span, moved.scope, moved.name) == (
        "tanh", y.type, at(3), "h", "y")
    assert b.nodes[-1] is moved


def test_rename_keeps_the_id_and_the_place_in_the_list():
    b = Builder("g")
    x = placeholder(b, "x")
    y = b.add("tanh", (x,))
    z = b.add("exp", (x,))
    named = b.rename(y, "act")
    assert named.name == "act" and named.id == y.id and named is not y
    assert b.nodes == [x, named, z]


# ------------------------------------------------------------------ bind
def test_bind_names_a_node_just_made_for_the_name():
    b = Builder("g")
    x = placeholder(b, "x")
    y = b.bind("y", b.add("tanh", (x,)), at(3))
    assert y.name == "y" and b.nodes[-1] is y and b.names["y"] is y


def test_bind_leaves_an_earlier_or_already_named_node_as_it_is():
    b = Builder("g")
    x = placeholder(b, "x")
    y = b.add("tanh", (x,))
    b.add("exp", (x,))  # y is no longer the newest node: something may refer to it
    assert b.bind("y", y, at(3)) is y and y.name is None
    assert b.bind("alias", x, at(3)) is x and x.name == "x"  # a second name, the node as is
    assert b.names["alias"] is x and b.names["y"] is y


def test_a_second_definition_is_a_naming_error_pointing_at_the_first():
    b = Builder("g")
    x = placeholder(b, "x", span=at(2))
    with pytest.raises(NamingError) as info:
        b.bind("x", b.add("tanh", (x,)), at(3))
    e = info.value
    assert e.message == '"x" is already defined' and e.span == at(3)
    assert e.notes == (('"x" was first defined here', at(2)),)


# ------------------------------------------------------------------ mark, discard_unused
def test_discard_unused_drops_only_the_new_nodes_not_kept():
    b = Builder("g")
    x = placeholder(b, "x")
    before = b.add("exp", (x,))
    mark = b.mark()
    assert mark == 2
    a, c, d = b.add("tanh", (x,)), b.add("neg", (x,)), b.add("sin", (x,))
    b.discard_unused(mark, {c.id, d.id})
    assert b.nodes == [x, before, c, d]
    assert not b.contains(a) and b.contains(c) and b.contains(before)
    assert b.adopt(a) is a and b.nodes[-1] is a  # a dropped node can come back


# ------------------------------------------------------------------ finish, fail, copies
def test_finish_carries_every_field():
    b = Builder("g")
    b.graph_span = at(1)
    x = placeholder(b, "x")
    b.warnings.append("w")
    b.dims.append("N")
    b.layers["h"] = ("Dense", x.id)
    g = b.finish()
    assert (g.name, g.nodes, dict(g.names), g.span, g.warnings, g.dims, dict(g.layers)) == (
        "g", (x,), {"x": x}, at(1), ("w",), ("N",), {"h": ("Dense", x.id)})
    b.add("tanh", (x,))
    assert len(g.nodes) == 1  # the graph does not change with the builder


def test_a_builder_over_a_graph_extends_a_copy_of_it():
    b = Builder("g")
    b.graph_span = b.span = at(1)
    x = placeholder(b, "x")
    b.dims.append("N")
    g = b.finish()
    more = Builder("g", g)
    y = more.bind("y", more.add("tanh", (x,)), at(3))
    assert more.span == at(1) and more.dims == ["N"] and more.contains(x)
    assert [n.name for n in more.finish().nodes] == ["x", "y"]
    assert list(g.names) == ["x"] and y.name == "y"
    with pytest.raises(NamingError):
        more.bind("x", more.add("exp", (x,)), at(3))


def test_rewriting_starts_empty_at_the_graphs_span():
    b = Builder("g")
    b.graph_span = at(1)
    placeholder(b, "x")
    r = Builder.rewriting(b.finish())
    assert r.name == "g" and r.nodes == [] and r.names == {} and r.span == r.graph_span == at(1)


def test_fail_raises_a_located_error():
    b = Builder("g")
    b.span = at(3)
    with pytest.raises(TensorlangError) as info:
        b.fail("nope", hint="try again")
    assert (info.value.span, info.value.hint) == (at(3), "try again")
    with pytest.raises(TensorlangError) as info:
        b.fail("nope", at(2))
    assert info.value.span == at(2)


def test_pin_places_every_new_node_at_one_span():
    b = Builder("g")
    x = placeholder(b, "x")
    b.pin = at(3)
    assert b.add("tanh", (x,), span=at(4)).span == at(3)
    assert b.add("multiply", (x, 2)).inputs[1].span == at(3)


# ------------------------------------------------------------------ Graph
def small_graph() -> tuple[Graph, dict]:
    b = Builder("g")
    b.graph_span = Span("m.tl", 1, 1, 4, 2, TEXT)
    x = placeholder(b, "x")
    w = variable(b, "W", (2, 3))
    f = variable(b, "F", (3,), trainable=False)
    y = b.bind("y", b.add("add", (b.add("matmul", (x, w), span=at(3, 9, 14)), f), span=at(3)),
               at(3))
    b.layers["lay"] = ("Dense", y.id)
    return b.finish(), {"x": x, "W": w, "F": f, "y": y}


def test_lookups_by_name_and_kind():
    g, n = small_graph()
    assert g.node("y") is n["y"]
    assert g.placeholders == (n["x"],) and g.variables == (n["W"], n["F"])
    assert g.trainable == (n["W"],)


def test_an_unknown_name_is_a_naming_error_with_a_hint():
    g, _ = small_graph()
    with pytest.raises(NamingError) as info:
        g.node("yy")
    assert info.value.message == 'graph "g" has no node "yy"'
    assert info.value.hint == 'did you mean "y"?' and info.value.span == g.span


def test_with_nodes_carries_every_field_and_follows_moved_layer_values():
    b = Builder("g")
    b.graph_span = at(1)
    x = placeholder(b, "x")
    y = b.bind("y", b.add("tanh", (x,)), at(3))
    b.layers.update({"a": ("A", y.id), "b": ("B", x.id)})
    b.warnings.append("careful")
    b.dims.append("N")
    g = b.finish()
    r = Builder.rewriting(g)
    r.adopt(x)
    y2 = r.with_inputs(y, (x,))
    new_y = r.add("exp", (x,), name="y")
    g2 = g.with_nodes(r.nodes, {"x": x, "y": new_y}, {y.id: new_y})
    assert g2.name == "g" and g2.span == at(1) and g2.warnings == ("careful",) and \
        g2.dims == ("N",)
    assert dict(g2.layers) == {"a": ("A", new_y.id), "b": ("B", x.id)}
    assert g2.nodes == (x, y2, new_y) and g2.node("y") is new_y
    same_names = g.with_nodes(g.nodes)
    assert dict(same_names.names) == dict(g.names) and dict(same_names.layers) == dict(g.layers)


def test_graph_fields_are_read_only():
    g, _ = small_graph()
    with pytest.raises(TypeError):
        g.names["z"] = g.nodes[0]
    with pytest.raises(TypeError):
        g.layers["z"] = ("Z", 0)


# ------------------------------------------------------------------ verify
def test_a_well_formed_graph_verifies():
    g, _ = small_graph()
    assert g.verify() is None


def test_verify_finds_a_node_whose_type_its_rule_does_not_give():
    g, n = small_graph()
    y = n["y"]
    bad = records.replace(y, type=TensorType("f32", (N, 4)))
    broken = g.with_nodes(g.nodes[:-1] + (bad,), {"y": bad})
    with pytest.raises(VerifyError) as info:
        broken.verify()
    e = info.value
    assert e.problem == "it is typed f32[N, 4] but the shape rule of add gives f32[N, 3]"
    assert e.message == f'graph "g" is malformed at y: {e.problem}'
    assert e.span == at(3) and e.kind == "internal error"
    # the node among its neighbours (two either side), under the names `tensorlang ir` prints
    shown = [text for text, _ in e.notes]
    assert [line.split(":")[0] for line in shown] == ["  F", "  %0", "> y"]
    assert shown[-1].startswith("> y: f32[N, 4] = add %0 F")
    text = e.format()
    assert text.startswith("m.tl:3:5: internal error: graph \"g\" is malformed at y: ")
    assert f"%{y.id}" not in text


def test_verify_finds_an_input_defined_after_its_user():
    g, n = small_graph()
    order = (n["y"],) + tuple(x for x in g.nodes if x is not n["y"])
    with pytest.raises(VerifyError, match=r"at y: its input 0 \(matmul: f32\[N, 3\]\) is not "
                                          r"defined before it"):
        g.with_nodes(order).verify()


def test_verify_finds_an_unknown_op_and_a_rule_that_rejects_the_inputs():
    g, n = small_graph()
    odd = records.replace(n["y"], op="no_such_op")
    with pytest.raises(VerifyError, match="unknown op no_such_op"):
        g.with_nodes(g.nodes[:-1] + (odd,)).verify()
    x = n["x"]
    wrong = Node("matmul", (x, x), {}, TensorType("f32", (N, N)), at(3))
    with pytest.raises(VerifyError, match="its shape rule rejects its inputs: "):
        g.with_nodes(g.nodes + (wrong,)).verify()


def test_verify_finds_a_name_for_a_node_outside_the_graph():
    g, n = small_graph()
    stray = Builder("other").constant(1.0)
    with pytest.raises(VerifyError) as info:
        g.with_nodes(g.nodes, {**g.names, "lost": stray}).verify()
    assert info.value.message == ('graph "g" is malformed: the name "lost" refers to a node '
                                  "outside the graph")
    assert info.value.span == g.span and info.value.notes == ()


def test_a_node_without_a_place_is_reported_at_the_graph():
    b = Builder("g")
    b.graph_span = at(1)
    x = placeholder(b, "x")
    y = b.add("tanh", (x,), span=UNKNOWN)
    bad = records.replace(y, type=TensorType("f64", (N, 2)))
    with pytest.raises(VerifyError) as info:
        b.finish().with_nodes((x, bad)).verify()
    assert info.value.span == at(1)


# ------------------------------------------------------------------ weak_type
@pytest.mark.parametrize("value, t", [
    (True, TensorType("bool", ())), (3, TensorType("i64", (), True)),
    (2.5, TensorType("f32", (), True)), ([[1, 2]], TensorType("i64", (1, 2), True)),
    (np.array([0.5, 1.5]), TensorType("f32", (2,), True)),
])
def test_weak_type(value, t):
    assert weak_type(value) == t


def test_finish_and_with_nodes_carry_every_field_of_a_graph():
    """Whatever fields a Graph grows, a rewrite over the same nodes keeps them all."""
    b = Builder("g")
    b.graph_span = at(1)
    x = placeholder(b, "x")
    s = b.add("variable", (), {"init": ("zeros", ()), "trainable": False, "state": True},
              type=TensorType("f32", (N, 2)), name="s")
    b.bind("s", s, at(2))
    y = b.bind("y", b.add("add", (x, s)), at(3))
    b.warnings.append("w")
    b.dims.append("N")
    b.layers["lay"] = ("L", y.id)
    b.updates["s"] = y
    b.shared["again"] = "lay"
    b.training = True
    g = b.finish()
    same = g.with_nodes(g.nodes)
    for f in records.fields(Graph):
        a, c = getattr(g, f.name), getattr(same, f.name)
        assert (dict(a) if hasattr(a, "items") else a) == (dict(c) if hasattr(c, "items") else c), \
            f.name


def test_integer_literals_follow_numpy_2s_rule_for_python_integers():
    # `images / 256` on u8 raised OverflowError; `images + 256` is refused, as NumPy 2 does
    import tensorlang as tl
    g = tl.compile("graph g {\n    placeholder a: u8[2]\n    d = a / 256\n}\n").graphs["g"]
    got = tl.Session(g).run("d", {"a": np.array([1, 255], np.uint8)})
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.array([1, 255]) / 256)
    with pytest.raises(tl.ShapeError, match=r"add: the number 256 is out of range for u8 "
                                            r"\(0 to 255\)"):
        tl.compile("graph g {\n    placeholder a: u8[2]\n    d = a + 256\n}\n")
    with pytest.raises(tl.ProgramError, match=r"the number 1e\+39 is too large for f32"):
        tl.compile("graph g {\n    placeholder a: f32[2]\n    d = a + [1e39, 1]\n}\n")
