"""tools/lsp/complete.py: what may be written at the cursor, by the block it is in (found from
the braces above, so a half-typed block still has one): item words at the top, statement words
at a line's start in a graph, dtypes after a colon, names in scope with their types, ops, layers
and lets in expressions, keys, data blocks and optimizers in run blocks, placeholders and loaders
in data blocks, `h.` members; nothing in comments and strings."""

from __future__ import annotations

import pytest

T = pytest.importorskip("lsprotocol.types", reason="the lsp extra is not installed")

from tensorlang.compiler.blocks import EVALUATE_KEYS, TRAIN_KEYS  # noqa: E402
from tensorlang.compiler.datablocks import LOADERS  # noqa: E402
from tensorlang.frontend import grammar  # noqa: E402
from tensorlang.ops import REGISTRY  # noqa: E402
from tensorlang.tools.lsp.analysis import analyse  # noqa: E402
from tensorlang.tools.lsp.complete import completions, enclosing_block  # noqa: E402
from tensorlang.transforms.optimizers import OPTIMIZERS  # noqa: E402

from .program import FILE, TEXT  # noqa: E402

ANALYSIS = analyse(TEXT, FILE)


def at(text: str, marker: str = "|"):
    """(analysis, lines, line, column) with the cursor where the marker is (the marker removed).
    As in the server, the analysis is the last one of a buffer that parsed (TEXT), while the
    lines are the buffer as it is now, half-typed."""
    k = text.index(marker)
    clean = text[:k] + text[k + 1:]
    line = text.count("\n", 0, k) + 1
    column = k - (text.rfind("\n", 0, k) + 1) + 1
    return ANALYSIS, clean.split("\n"), line, column


def labels(text: str) -> list[str]:
    a, lines, line, column = at(text)
    return [c.label for c in completions(a, a.syntax, lines, line, column)]


def items(text: str) -> dict:
    a, lines, line, column = at(text)
    return {c.label: c for c in completions(a, a.syntax, lines, line, column)}


def inserted(where: str, what: str) -> str:
    """TEXT with `what` (holding the cursor) put on a new line after the line with `where`."""
    k = TEXT.index("\n", TEXT.index(where)) + 1
    return TEXT[:k] + what + "\n" + TEXT[k:]


def test_the_top_level_offers_item_words_and_graphs_after_train():
    assert labels("|") == list(grammar.ITEM_KEYWORDS)
    assert labels(TEXT + "evaluate |") == ["g"]  # the graphs of the last good analysis


def test_a_line_start_in_a_graph_offers_statement_words():
    assert labels(inserted("graph g {", "    |")) == list(grammar.STMT_KEYWORDS)


def test_after_a_colon_the_dtypes():
    assert labels(inserted("graph g {", "    placeholder z: |")) == list(grammar.DTYPES)


def test_an_expression_in_a_graph_offers_names_lets_ops_layers_and_dtypes():
    got = items(inserted("h = Dense", "    u = |"))
    assert got["t"].detail == "f32[N, 6]" and got["x"].detail == "f32[N, 6]"
    assert got["N"].detail == "symbolic dim" and got["k"].detail == "let k = 6"
    assert got["Dense"].kind == T.CompletionItemKind.Class and "Twice" in got
    assert got["sum"].detail == REGISTRY["sum"].signature()
    assert not any(REGISTRY[n].internal or REGISTRY[n].fused for n in got if n in REGISTRY)
    assert "t.W" not in got and set(grammar.DTYPES) <= set(got)


def test_a_layer_body_offers_its_parameters_and_statements():
    got = items(inserted("return x @ W", "    v = |"))
    assert got["x"].detail == "parameter of Twice" and got["W"].detail == "in Twice"
    assert "units" in got and "t" not in got  # the graph's names are not the layer's


def test_members_after_a_dot():
    got = items(inserted("h = Dense", "    u = h.|"))
    assert set(got) == {"W", "b"} and got["W"].detail == "f32[6, 2]"
    assert items(inserted("x = [[", "    y = h.|")) == {}  # no graph in a data block


def test_run_blocks_offer_keys_data_blocks_optimizers_and_nodes():
    got = items(inserted("minimize = s", "    |"))
    assert list(got) == list(TRAIN_KEYS) and got["epochs"].insert_text == "epochs = "
    assert labels(TEXT + "evaluate g {\n    |") == list(EVALUATE_KEYS)
    assert labels(inserted("minimize = s", "    validate = |")) == ["d"]
    assert labels(inserted("minimize = s", "    optimizer = |")) == list(OPTIMIZERS)
    assert {"s", "h", "k"} <= set(labels(inserted("minimize = s", "    report = [|")))


def test_data_blocks_offer_placeholders_and_loaders():
    got = items(inserted("data d {", "    |"))
    assert list(got) == ["x"] and got["x"].detail == "placeholder f32[N, 6]"
    assert set(LOADERS) <= set(labels(inserted("data d {", "    y = |")))


def test_nothing_in_a_comment_or_a_string():
    assert labels(inserted("graph g {", "    # a note |")) == []
    assert labels(inserted("data d {", '    y = npy("fi|')) == []


def test_a_block_that_does_not_parse_still_has_its_place():
    broken = TEXT.replace("    s = sum(h)\n", "    s = sum(h\n    q = |\n")
    assert {"t", "h", "sum"} <= set(labels(broken))


def test_enclosing_block():
    lines = TEXT.split("\n")
    assert enclosing_block(lines, 12, 9) == ("graph", "g")
    assert enclosing_block(lines, 3, 5) == ("layer", "Twice")
    assert enclosing_block(lines, 6, 1) is None
    assert enclosing_block(["graph g", "{", "    x"], 3, 5) == ("graph", "g")  # `{` alone
    assert enclosing_block(["graph g {", "    f({", "    })", "    y"], 4, 5) == ("graph", "g")


def test_a_place_outside_the_text_has_no_completions():
    a = analyse(TEXT, FILE)
    assert completions(a, a.syntax, TEXT.split("\n"), 99, 1) == []
