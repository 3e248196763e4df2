"""transforms/retype.py: a graph with its dtypes renamed, every node rebuilt through the Builder
(so retyped by its shape rule): sources, constants' values, placeholders' defaults and dtype
attributes (given or defaulted) change; names, spans, scopes, layers and other dtypes stay."""

from __future__ import annotations

import numpy as np

import tensorlang as tl
from tensorlang.runtime.session import Session
from tensorlang.transforms.retype import retype

PROGRAM = """\
layer Scale(x: [..., In]) {
    variable k: [In] = [2.0, 3.0]
    return x * k
}
graph g {
    placeholder x: f32[N, 2]
    placeholder s: f32[] = 1.5
    placeholder i: i32[N]
    constant c = [0.25, 0.5]
    h = Scale(x)
    e = eye(2)
    y = (h + c) @ e * s
    z = cast(i, f32) + sum(y, axis = 1)
    n = i * 2
}
"""


def graph():
    return tl.compile(PROGRAM, "r.tl").graphs["g"]


def test_sources_and_results_take_the_new_dtype():
    g = graph()
    r = retype(g, {"f32": "f64"})
    r.verify()
    for name in ("x", "s", "c", "h.k", "h", "e", "y", "z"):
        assert r.node(name).dtype == "f64", name
        assert r.node(name).type.shape == g.node(name).type.shape
    assert r.node("i").dtype == "i32" and r.node("n").dtype == "i32"  # not in the mapping


def test_values_and_defaults_are_converted():
    r = retype(graph(), {"f32": "f64"})
    c = r.node("c").attrs["value"]
    assert c.dtype == np.float64 and c.tolist() == [0.25, 0.5] and not c.flags.writeable
    default = r.node("s").attrs["default"]
    assert default.dtype == np.float64 and default == 1.5


def test_dtype_attributes_given_or_defaulted_are_mapped():
    g = graph()
    r = retype(g, {"f32": "f64"})
    casts = [n for n in r.nodes if n.op == "cast"]
    assert casts and all(n.attrs["dtype"] == "f64" for n in casts)
    assert r.node("e").attrs["dtype"] == "f64"  # eye(2) without a dtype: the default f32
    assert g.node("e").dtype == "f32"  # the original is unchanged


def test_names_spans_scopes_and_layers_stay():
    g = graph()
    r = retype(g, {"f32": "f64"})
    assert list(r.names) == list(g.names) and r.name == g.name and r.span == g.span
    assert [(n.op, n.span, n.scope, n.name) for n in r.nodes] == \
        [(n.op, n.span, n.scope, n.name) for n in g.nodes]
    assert set(r.layers) == {"h"}
    layer, out = r.layers["h"]
    assert layer == "Scale" and {n.id: n for n in r.nodes}[out] is r.node("h")


def test_the_retyped_graph_computes_the_same_values_in_f64():
    g = graph()
    r = retype(g, {"f32": "f64"})
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    feed = {"x": x, "i": np.array([1, 2], np.int32)}
    want = Session(g).run(["y", "z"], feed)
    y, z = Session(r).run(["y", "z"], feed)
    assert y.dtype == z.dtype == np.float64
    np.testing.assert_allclose(y, (x * [2.0, 3.0] + [0.25, 0.5]) * 1.5)
    np.testing.assert_allclose(z, want[1], rtol=1e-6)


def test_an_empty_mapping_rebuilds_the_same_types():
    g = graph()
    r = retype(g, {})
    assert [n.type for n in r.nodes] == [n.type for n in g.nodes]
    assert all(a is not b for a, b in zip(r.nodes, g.nodes))  # new nodes, a new graph
