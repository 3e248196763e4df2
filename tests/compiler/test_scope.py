"""compiler/scope.py: a Scope qualifies its local names with the layer instance's prefix."""

from __future__ import annotations

from tensorlang.compiler.scope import Scope


def test_graph_level_names_stay_as_they_are():
    s = Scope("")
    assert s.qualify("loss") == "loss"
    assert (s.locals, s.is_layer, s.body) == ({}, False, ())


def test_layer_names_are_prefixed_by_the_instance():
    assert Scope("h").qualify("W") == "h.W"
    assert Scope("o.inner", is_layer=True).qualify("b") == "o.inner.b"


def test_scopes_do_not_share_their_locals():
    a, b = Scope("a"), Scope("b")
    a.locals["x"] = 1
    assert b.locals == {}
