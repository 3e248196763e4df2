"""tools/lsp/hover.py: what a hover shows for each kind of name: a node's type with its layer or
op, an op's signature and doc from its record, a layer's signature and the comment above it, a
let's value and how it was written, data blocks and fields, keys, dims, dtypes, parameters,
functions passed by name, builtins and keywords."""

from __future__ import annotations

import pytest

pytest.importorskip("lsprotocol", reason="the lsp extra is not installed")

from tensorlang.compiler.static import Func  # noqa: E402
from tensorlang.frontend import grammar  # noqa: E402
from tensorlang.ir import dims as D  # noqa: E402
from tensorlang.ops import REGISTRY  # noqa: E402
from tensorlang.source import UNKNOWN  # noqa: E402
from tensorlang.tools.lsp import hover as H  # noqa: E402
from tensorlang.tools.lsp.locate import Target, layers, target_at  # noqa: E402

from .program import LINES, analysed, place  # noqa: E402


@pytest.fixture(scope="module")
def a():
    return analysed()


def hover(a, needle, offset=0):
    t = target_at(a, a.syntax, LINES, *place(needle, offset=offset))
    return H.hover_markdown(t, a, a.syntax)


def code(text):
    return f"```tensorlang\n{text}\n```"


def test_a_layer_instance_shows_its_type_layer_and_parameters(a):
    text = hover(a, "t = Twice")
    assert text.startswith(code("t: f32[N, 6]") + "\n\n")
    assert "`Twice` layer instance, 36 parameters: `t.W` f32[6, 6]" in text
    assert "graph `g`" in text


def test_a_placeholder_and_an_op_node(a):
    assert hover(a, "x, k)").startswith(code("x: f32[N, 6]"))
    assert "placeholder" in hover(a, "x, k)")
    s = hover(a, "s = sum")
    assert s.startswith(code("s: f32[]")) and "`sum`" in s


def test_an_op_shows_its_records_signature_and_doc(a):
    op = REGISTRY["sum"]
    assert hover(a, "sum(h)") == f"{code(op.signature())}\n\n{op.doc}\n\n{op.family} op"


def test_a_layer_shows_its_signature_and_the_comment_above_it(a):
    assert hover(a, "Twice(x, k)") == (code("layer Twice(x: [..., In], units)") +
                                       "\n\nScales twice.\n\nlayer")
    dense = hover(a, "Dense")
    assert dense.startswith(code("layer Dense(x: [..., In], units, activation = identity)"))
    assert dense.endswith("standard layer (the prelude)")


def test_a_let_shows_its_value_and_how_it_was_written(a):
    assert hover(a, "k)") == (code("let k = 6") + "\n\nwritten `2 * 3`\n\n"
                              "compile-time constant; `--set` overrides it")


def test_data_fields_keys_dims_and_dtypes(a):
    assert hover(a, "d\n    min").startswith(code("data d") + "\n\n- `x` = `[[1, 2, 3, 4, 5, 6]]`")
    field = hover(a, "x = [[")
    assert field == ("field `x` of data block `d`: `[[1, 2, 3, 4, 5, 6]]`\n\n"
                     "- feeds `x: f32[N, 6]` of graph `g`")
    assert hover(a, "data = d") == "`data`: a key of train and evaluate blocks"
    assert hover(a, "minimize = s") == "`minimize`: a key of train blocks"
    assert hover(a, "N, 6") == ("symbolic dim `N` of graph `g`: one size, known when the graph "
                                "is fed")
    assert hover(a, "f32") == "dtype `f32`: 32-bit float (the default)"


def test_a_layers_parameters_and_locals(a):
    assert hover(a, "x @ W") == (code("Twice(x: [..., In], units)") +
                                 "\n\nparameter `x` of `Twice` (pattern `[..., In]`)")
    assert hover(a, "units) {").endswith("parameter `units` of `Twice` (compile-time value)")
    assert hover(a, "W: [In") == "`W` in layer `Twice`\n\n- `t.W`: f32[6, 6] (graph `g`)"


def test_a_graph_shows_its_size_and_inputs(a):
    text = hover(a, "graph g", offset=6)
    g = a.graphs["g"]
    assert text.startswith(code("graph g") + f"\n\n{len(g.nodes)} nodes, ")
    assert text.endswith("inputs: `x: f32[N, 6]`")
    assert H.hover_markdown(Target("graph", "broken"), a, a.syntax).endswith(
        "not compiled (see the problems)")


def test_functions_builtins_and_keywords(a):
    from tensorlang.ops.initializers import INITIALIZERS
    normal = H.hover_markdown(Target("initializer", "normal", value=INITIALIZERS["normal"]), a,
                              a.syntax)
    assert normal.startswith(code("normal(mean = 0.0, std = 1.0)"))
    assert normal.endswith("initializer")
    assert H.hover_markdown(Target("builtin", "grad"), a, a.syntax) == H.BUILTINS["grad"]
    for word in grammar.KEYWORDS:  # every reserved word has its line
        assert H.hover_markdown(Target("keyword", word), a, a.syntax) == H.KEYWORDS[word]
    assert H.hover_markdown(Target("no such kind", "x"), a, a.syntax) is None


@pytest.mark.parametrize("value, text", [
    ((1, (2, 3)), "[1, [2, 3]]"), (D.Dim.sym("N") + 1, "N + 1"), (Func("relu", UNKNOWN), "relu"),
    (True, "true"), (0.5, "0.5"), ("s", '"s"'),
])
def test_show_value(value, text):
    assert H.show_value(value) == text


def test_layer_signature_and_doc_comment(a):
    known = layers(a.syntax)
    assert H.layer_signature(known["Twice"]) == "Twice(x: [..., In], units)"
    assert H.doc_comment(known["Twice"], a.syntax) == "Scales twice."
    assert H.doc_comment(known["Twice"], None) == ""
