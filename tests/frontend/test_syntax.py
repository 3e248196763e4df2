"""frontend/syntax.py: the AST is frozen records whose spans (and a Program's comments and
file) are left out of equality and repr, with the defaults the parser relies on."""

from __future__ import annotations

import pytest

from tensorlang import records
from tensorlang.frontend import syntax as S
from tensorlang.frontend.parser import parse
from tensorlang.source import UNKNOWN, Span

HERE = Span("a.tl", 1, 1, 1, 2)
THERE = Span("b.tl", 7, 3, 7, 9)


def test_spans_do_not_take_part_in_equality_or_hashing():
    a = S.BinOp("+", S.Name("x", HERE), S.Number(1, HERE), HERE)
    b = S.BinOp("+", S.Name("x", THERE), S.Number(1, THERE), THERE)
    assert a == b and hash(a) == hash(b)
    assert a != S.BinOp("-", S.Name("x"), S.Number(1))
    assert len({a, b}) == 1


def test_repr_leaves_spans_out():
    assert repr(S.Name("x", THERE)) == "Name(id='x')"
    assert "span" not in repr(S.Call(S.Name("f"), (S.Number(2),)))


def test_a_node_without_a_span_has_the_unknown_place():
    assert S.Name("x").span is UNKNOWN and S.Unknown().span is UNKNOWN


def test_nodes_are_frozen():
    n = S.Name("x")
    with pytest.raises(records.FrozenRecordError):
        n.id = "y"


def test_defaults():
    call = S.Call(S.Name("f"), (S.Name("a"),))
    assert call.kwargs == ()
    assert S.Placeholder("x", S.TypeExpr(None, ())).default is None
    assert S.Variable("W", S.TypeExpr("f32", (S.Number(2),)), S.Number(0)).frozen is False
    p = S.LayerParam("units")
    assert (p.pattern, p.default) == (None, None)


def test_a_program_compares_by_its_items_only():
    items = (S.Let("a", S.Number(1)),)
    a = S.Program(items, (S.Comment(1, 11, "# one"),), "a.tl", HERE)
    b = S.Program(items, (), "b.tl", THERE)
    assert a == b
    assert a != S.Program((S.Let("a", S.Number(2)),))
    assert S.Program(items).file == "<string>" and S.Program(items).comments == ()


def test_comments_compare_by_place_and_text():
    assert S.Comment(2, 5, "# x") == S.Comment(2, 5, "# x") != S.Comment(3, 5, "# x")


def test_two_layouts_of_one_program_parse_equal():
    dense = parse("graph g {\n    placeholder x: f32[N, 2]\n    y = tanh(x * 2) # c\n}\n")
    loose = parse("\n# header\ngraph g {\n  placeholder x : f32 [ N , 2 ]\n\n"
                  "  y = tanh( x*2 )\n}")
    assert dense == loose
    assert dense.items[0].body[1].span != loose.items[0].body[1].span


def test_the_union_aliases_name_the_node_kinds():
    exprs = {S.Name, S.Attribute, S.Number, S.Bool, S.String, S.ListExpr, S.Unknown,
             S.EllipsisLit, S.BinOp, S.UnaryOp, S.Call, S.Index}
    assert exprs <= set(S.Expr.__args__)
    assert {S.Placeholder, S.Variable, S.Constant, S.Assign, S.Return, S.Let} <= \
        set(S.Stmt.__args__)
    assert {S.Let, S.GraphDef, S.LayerDef, S.DataDef, S.RunBlock} <= set(S.Item.__args__)
    assert not set(S.Expr.__args__) & set(S.Item.__args__)


def test_every_node_but_comment_has_a_span_field():
    for cls in vars(S).values():
        if isinstance(cls, type) and hasattr(cls, "__record_fields__") and \
                cls.__module__ == S.__name__ and cls is not S.Comment:
            fields = {f.name: f for f in records.fields(cls)}
            assert "span" in fields and not fields["span"].compare, cls.__name__
