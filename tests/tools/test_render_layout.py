"""tools/render_layout.py: what a picture shows, before any DOT: scopes and phases, the kind and
label of every node, folded constants, tooltips, focus neighbourhoods, collapsed layers, typed
edges of each kind, clusters and the legend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import NamingError
from tensorlang.ir.graph import Builder
from tensorlang.ir.printing import Namer
from tensorlang.ir.types import TensorType
from tensorlang.source import Span
from tensorlang.tools import render_layout as R
from tensorlang.tools.cli.common import with_gradient
from tensorlang.transforms.optimizers import train_graph

XOR = Path(__file__).resolve().parents[2] / "examples" / "xor.tl"
SMALL = '<font point-size="8" color="#555555">'


@pytest.fixture(scope="module")
def xor():
    return tl.load(str(XOR))


@pytest.mark.parametrize("scope, path, phase, key", [
    ("", [], "forward", None),
    ("h", ["h"], "forward", "h"),
    ("o.inner", ["o", "o.inner"], "forward", "o"),
    ("grad", ["grad"], "grad", None),
    ("grad/h.a", ["grad", "grad/h", "grad/h.a"], "grad", "grad/h"),
    ("optimizer/h.W", ["optimizer", "optimizer/h", "optimizer/h.W"], "optimizer",
     "optimizer/h"),
    ("gradient_net", ["gradient_net"], "forward", "gradient_net"),
])
def test_scope_path_phase_and_layer_key(scope, path, phase, key):
    assert R.scope_path(scope) == path
    assert R.phase(scope) == phase
    assert R.layer_key(scope) == key


def nodes():
    b = Builder("g")
    x = b.add("placeholder", (), {"default": np.array(0.5)}, type=TensorType("f32", ()),
              name="x")
    w = b.add("variable", (), {"init": ("normal", (("mean", 0.0), ("std", 0.1)))},
              type=TensorType("f32", (2,)), name="W")
    f = b.add("variable", (), {"init": ("zeros", ()), "trainable": False},
              type=TensorType("f32", (2,)), name="F")
    half = b.constant(0.5, "f32")
    gt = b.op("greater", w, half)
    b.scope = "grad"
    g = b.op("neg", w)
    b.scope = "optimizer/W"
    st = b.add("variable", (), {"init": ("zeros", ()), "trainable": False},
               type=TensorType("f32", (2,)), name="opt/W/m")
    up = b.op("subtract", w, g)
    return dict(x=x, w=w, f=f, half=half, gt=gt, g=g, st=st, up=up)


def test_kind_of():
    n = nodes()
    assert {k: R.kind_of(v) for k, v in n.items()} == {
        "x": "placeholder", "w": "variable", "f": "frozen", "half": "constant", "gt": "op",
        "g": "gradient", "st": "state", "up": "update"}
    assert set(R.kind_of(v) for v in n.values()) <= set(R.STYLES)


def test_foldable_small_unnamed_constants():
    b = Builder("g")
    small, big = b.constant(0.5), b.constant([1.0, 2.0])
    named = b.constant(1.0, name="one")
    assert R.foldable(small, set()) and not R.foldable(big, set())
    assert not R.foldable(small, {small.id}) and R.foldable(named, set())


@pytest.mark.parametrize("value, text", [
    (0.5, "0.5"), (np.float32(1.1920929e-07), "1.192e-07"), (3, "3"), (True, "true"),
    (np.array([[2]]), "2"), (np.arange(4), "[0, 1, 2, 3]"),
    (np.arange(20.0), "<float64[20]>"),
])
def test_short_value(value, text):
    assert R.short_value(value) == text


def test_a_long_value_is_clipped():
    assert R.short_value(np.array([1.5, 2.5, 3.5, 4.5, 5.5])).endswith("\u2026")
    assert len(R.short_value(np.array([1.5, 2.5, 3.5, 4.5, 5.5]))) == 24


def test_attr_lines_show_what_differs_from_the_defaults_wrapped():
    b = Builder("g")
    x = b.constant(np.zeros((2, 3, 4)), "f32")
    assert R.attr_lines(b.op("sum", x, axis=1)) == ["axis=[1]"]  # keepdims=false is a default
    assert R.attr_lines(b.op("sum", x, axis=1, keepdims=True)) == ["axis=[1], keepdims=true"]
    t = b.op("transpose", x, axes=(2, 0, 1))
    r = b.op("reshape", t, shape=(4, 6), order="F")
    assert R.attr_lines(r) == ["shape=[4, 6], order=F"]
    long = R.attr_lines(b.op("conv2d", b.constant(np.zeros((1, 1, 9, 9)), "f32"),
                             b.constant(np.zeros((1, 1, 3, 3)), "f32"), stride=2,
                             padding="same"))
    assert long == ["stride=2, padding=same"]
    assert all(len(line) <= R.ATTR_WIDTH for line in long)


def test_call_text_writes_folded_constants_in():
    n = nodes()
    assert R.call_text(n["gt"], set()) == "greater"
    assert R.call_text(n["gt"], {n["half"].id}) == f"greater({R.DOT_ARG}, 0.5)"


def test_node_labels():
    n = nodes()
    assert R.node_label(n["x"], "x", set()) == f"<b>x</b><br/>{SMALL}placeholder = 0.5</font>"
    assert R.node_label(n["w"], "W", set()) == \
        f"<b>W</b><br/>{SMALL}normal(mean = 0.0, std = 0.1)</font>"
    assert R.node_label(n["f"], "F", set()) == f"<b>F</b><br/>{SMALL}zeros()  frozen</font>"
    assert R.node_label(n["st"], "opt/W/m", set()) == f"<b>opt/W/m</b><br/>{SMALL}zeros()</font>"
    assert R.node_label(n["half"], "%0", set()) == f"0.5<br/>{SMALL}constant</font>"
    assert R.node_label(n["gt"], "%1", {n["half"].id}) == "greater(\u00b7, 0.5)"
    assert R.node_label(n["gt"], "big", set()) == f"<b>big</b><br/>{SMALL}greater</font>"
    b = Builder("g")
    lt = b.op("less", b.constant([1.0]), b.constant([2.0]))
    assert R.node_label(lt, "a<b", set()) == f"<b>a&lt;b</b><br/>{SMALL}less</font>"


def test_tooltips_quote_the_source_line_or_fall_back_to_the_ir():
    text = "graph g {\n    y  =   tanh(x)    # note\n}\n"
    b = Builder("g")
    x = b.add("placeholder", (), {"default": None}, type=TensorType("f32", (2,)), name="x")
    y = b.add("tanh", (x,), span=Span("t.tl", 2, 5, 2, 6, text), name="y")
    namer = Namer(b.finish())
    assert R.tooltip(y, namer) == "t.tl:2: y = tanh(x) # note"
    assert R.tooltip(x, namer) == "x: f32[2] = placeholder"


def test_neighbourhood_follows_edges_both_ways():
    b = Builder("g")
    a = b.constant(1.0)
    c = b.op("neg", a)
    d = b.op("exp", c)
    e = b.op("sin", d)
    links = [(a, c), (c, d), (d, e)]
    assert R.neighbourhood(d, 1, links) == {c.id, d.id, e.id}
    assert R.neighbourhood(d, 0, links) == {d.id}
    assert R.neighbourhood(a, 5, links) == {a.id, c.id, d.id, e.id}


def test_update_pairs_by_name_or_by_node():
    n = nodes()
    assert R.update_pairs(None) == []
    assert R.update_pairs({"W": n["up"]}) == [("W", n["up"])]
    assert R.update_pairs([(n["w"], n["up"])]) == [("W", n["up"])]


def test_the_layout_of_xor(xor):
    g = xor.graphs["xor"]
    d = R.layout(g)
    assert d.name == "xor" and d.title == "graph xor"
    assert d.legend == ["placeholder", "variable", "op"]  # in STYLES order, kinds present
    assert d.clusters == {"h": "h: Dense  (12 params)", "p": "p: Dense  (5 params)"}
    ids = [n.id for n in d.nodes]
    assert ids[:3] == ["x", "y", "h.W"] and "%5" not in ids  # the constant 0.5 is folded in
    assert [n.id for n in d.nodes if n.output] == ["loss", "acc"]
    by_id = {n.id: n for n in d.nodes}
    assert by_id["h"].cluster == "h" and by_id["x"].cluster == ""
    assert R.DrawEdge("x", "%0", "f32[N, 2]") in d.edges
    assert all(e.kind == "data" and not e.upward for e in d.edges)
    assert len(R.layout(g, fold=False).nodes) == len(g.nodes)
    assert R.layout(g, legend=False).legend == []


def test_collapse_draws_each_layer_as_one_box(xor):
    d = R.layout(xor.graphs["xor"], collapse=True)
    boxes = [n for n in d.nodes if n.kind == "layer"]
    assert [b.id for b in boxes] == ["h", "p"]
    assert boxes[0].label == (f"<b>h</b><br/>{SMALL}Dense \u2192 f32[N, 4]</font><br/>{SMALL}"
                              f"12 params</font><br/>{SMALL}5 nodes</font>")
    assert ("x", "h", "f32[N, 2]") in [(e.src, e.dst, e.label) for e in d.edges]
    assert len(d.edges) == len({(e.src, e.dst, e.label) for e in d.edges})


def test_focus_keeps_a_neighbourhood_found_by_any_printed_name(xor):
    g = xor.graphs["xor"]
    d = R.layout(g, focus="loss", depth=1)
    assert [n.id for n in d.nodes] == ["%4", "loss"] and d.title == \
        "graph xor (around loss, depth 1)"
    assert {n.id for n in R.layout(g, focus="%4", depth=1).nodes} == {"p", "y", "%4", "loss"}
    with pytest.raises(NamingError, match='has no node "los"'):
        R.layout(g, focus="los")


def test_gradients_flow_upwards_and_forward_values_are_used(xor):
    g = with_gradient(xor, xor.graphs["xor"])
    d = R.layout(g)
    kinds = {e.kind for e in d.edges}
    assert {"data", "grad", "uses"} <= kinds
    assert all(e.upward for e in d.edges if e.kind == "grad" and
               {n.id: n for n in d.nodes}[e.dst].kind == "gradient")
    assert "gradient" in d.legend and "grad/h" in d.clusters
    collapsed = R.layout(g, collapse=True)
    assert "grad_layer" in {n.kind for n in collapsed.nodes}


def test_updates_are_drawn_into_their_variables(xor):
    tg, updates = train_graph(xor.graphs["xor"], xor.runs[0])
    d = R.layout(tg, updates=updates)
    assigns = [e for e in d.edges if e.kind == "assign"]
    assert ("update(h.W)", "h.W", "update") in [(e.src, e.dst, e.label) for e in assigns]
    assert len(assigns) == len(updates)
    assert {"update", "state"} <= set(d.legend)
    outputs = {n.id for n in d.nodes if n.output}
    assert "update(h.W)" not in outputs  # it feeds its variable
